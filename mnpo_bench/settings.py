"""The one config loader: strict pydantic sections read from YAML, with `--set a.b=c` overrides.

Every config object in the project (run config, persona, recipe, panel preset, benchmark task) derives
from `Section`, so unknown keys are errors with a "did you mean", and every validation error becomes one
`UserError` line naming the file and the dotted field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from mnpo_bench.errors import UserError, did_you_mean
from mnpo_bench.redact import redact

S = TypeVar("S", bound="Section")
SECRET_FIELDS = ("api_key", "token", "secret", "password")  # a bad value in these is never echoed


class Section(BaseModel):
    """Base of every config model: unknown keys are errors, defaults are validated too, and no float field
    takes inf or nan (a temperature of .inf samples gibberish, a weight of .inf swamps every other)."""

    model_config = ConfigDict(extra="forbid", validate_default=True, protected_namespaces=(), allow_inf_nan=False)


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, except that a key given twice in one mapping is an error (PyYAML keeps the last
    silently, so `seed: 1` then `seed: 2` would run seed 2 without a word)."""

    def construct_mapping(self, node, deep=False):
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, (str, int, float, bool)) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key '{key}' appears twice (first on line {seen[key] + 1})", key_node.start_mark)
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


def read_text(path: Path, what: str = "file") -> str:
    """The UTF-8 text of `path`; a UserError naming it when it is missing, a directory or not UTF-8."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"{what} not found", where=str(path), fix="check the path")
    if path.is_dir():
        raise UserError(f"is a directory, not a {what}", where=str(path), fix="give the path of a file")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise UserError(f"not UTF-8 text (byte 0x{exc.object[exc.start]:02x} on line {line})", where=str(path),
                        fix="save the file as UTF-8") from None


def read_yaml(path: Path) -> dict[str, Any]:
    """Parse a YAML mapping from `path`; a UserError naming the file and line when it is not one (missing,
    a directory, not UTF-8, not YAML, a duplicate key, not a mapping)."""
    path = Path(path)
    text = read_text(path)
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or "not valid YAML"
        fix = "keep one of them" if "appears twice" in problem else "fix the YAML syntax"
        raise UserError(f"malformed YAML ({problem})", where=where, fix=fix) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UserError("expected a mapping of keys to values at the top level", where=str(path))
    return data


def parse_overrides(pairs: list[str] | None) -> dict[str, Any]:
    """Turn ["a.b=1", "c=x"] into the nested dict {"a": {"b": 1}, "c": "x"}; values are parsed as YAML."""
    nested: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise UserError(f"bad override '{pair}'", where="--set", fix="write it as key.subkey=value")
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw
        node = nested
        parts = key.strip().split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise UserError(f"override '{pair}' conflicts with another --set", where="--set")
        node[parts[-1]] = value
    return nested


def deep_merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """A copy of `base` with `update` merged in recursively (update wins)."""
    merged = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def changes(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> list[str]:
    """Where two config mappings differ, as 'dotted.key: old -> new' lines ('(absent)' for a missing key), in
    the order of `new`'s keys, then keys only `old` has. Lists and scalars compare by value."""
    out = []
    for key in [*new, *(k for k in old if k not in new)]:
        name = f"{prefix}{key}"
        a, b = old.get(key, "(absent)"), new.get(key, "(absent)")
        if isinstance(a, dict) and isinstance(b, dict):
            out += changes(a, b, f"{name}.")
        elif a != b:
            out.append(f"{name}: {a} -> {b}")
    return out


def _field_names(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The field names allowed at `loc` inside `model` (for "did you mean" on unknown keys)."""
    current: Any = model
    for part in loc:
        if not (isinstance(current, type) and issubclass(current, BaseModel)) or part not in current.model_fields:
            return []
        annotation = current.model_fields[part].annotation
        candidates = [annotation, *getattr(annotation, "__args__", ())]
        current = next((c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def to_user_error(exc: ValidationError, model: type[BaseModel], source: str) -> UserError:
    """The first error of a pydantic ValidationError as one UserError line naming file and field."""
    error = exc.errors()[0]
    loc = tuple(error["loc"])
    field = ".".join(str(p) for p in loc) or "(top level)"
    if error["type"] == "extra_forbidden":
        allowed = _field_names(model, loc[:-1])
        return UserError(f"unknown key '{field}'", where=source, fix=did_you_mean(str(loc[-1]), allowed))
    if error["type"] == "missing":
        return UserError(f"field '{field}' is required", where=source, fix="add it")
    got = error.get("input")
    got_text = f" (got {got!r})" if got is not None and not isinstance(got, dict) else ""
    if any(word in field for word in SECRET_FIELDS):  # never echo what may be a secret
        got_text = ""
    got_text = redact(got_text)
    meaning = _description(model, loc)
    return UserError(f"field '{field}': {error['msg']}{got_text}", where=source,
                     fix=f"{loc[-1]}: {meaning}" if meaning else None)


def _description(model: type[BaseModel], loc: tuple[Any, ...]) -> str | None:
    """The description of the field at `loc` inside `model` (None when there is none), as the fix's hint."""
    current: Any = model
    info = None
    for part in loc:
        if not (isinstance(current, type) and issubclass(current, BaseModel)) or part not in current.model_fields:
            return None
        info = current.model_fields[part]
        candidates = [info.annotation, *getattr(info.annotation, "__args__", ())]
        current = next((c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None)
    return info.description if info is not None else None


def build(model: type[S], data: dict[str, Any], source: str) -> S:
    """Validate `data` as `model`; a UserError naming `source` and the field on failure."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise to_user_error(exc, model, source) from None


def load(model: type[S], path: Path | None, overrides: list[str] | None = None) -> S:
    """Load `model` from the YAML file `path` (None: all defaults) with `--set` overrides applied."""
    data = read_yaml(path) if path is not None else {}
    data = deep_merge(data, parse_overrides(overrides))
    return build(model, data, str(path) if path is not None else "config")


def describe(model: type[BaseModel], prefix: str = "") -> list[tuple[str, str, str]]:
    """Every field of `model` as (dotted name, default, description), nested sections flattened."""
    rows: list[tuple[str, str, str]] = []
    for name, field in model.model_fields.items():
        dotted = f"{prefix}{name}"
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            rows.extend(describe(annotation, dotted + "."))
            continue
        default = field.get_default(call_default_factory=True)
        rows.append((dotted, repr(default), field.description or ""))
    return rows

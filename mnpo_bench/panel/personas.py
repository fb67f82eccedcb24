"""Personas and panels as data: load, validate and fingerprint the YAML files in `annotators/`.

A persona file (`annotators/<name>.yaml`) names a backend, the backend's `params`, and the biases laid on
top of it; `include:` another persona to make a variant. A panel preset (`annotators/panels/<name>.yaml`)
seats personas with weights and an aggregation. Both are looked up by name (in `./annotators/`, then the
built-in folder) or by path. Every mistake is one `UserError` naming the file and the field.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, create_model

from mnpo_bench import settings
from mnpo_bench.errors import UserError, did_you_mean
from mnpo_bench.panel.backends import BACKENDS
from mnpo_bench.panel.config import PanelConfig
from mnpo_bench.paths import builtin_dir
from mnpo_bench.settings import Section
from mnpo_bench.store import file_hash, stable_hash

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
TEMPLATE_FIELDS = {"prompt", "response_a", "response_b", "gold"}
TEMPLATE_SUFFIXES = (".txt", ".md", ".jinja", ".tmpl")
FILE_PARAMS = ("template", "path")  # params naming a file, resolved against the file that sets them


class Biases(Section):
    """Biases laid on a backend's verdict, in logit units (see the README, "Persona files", for the formulas)."""

    position: float = Field(0.0, ge=-10, le=10, description="logit added for the response shown first (1.0 turns 50/50 into 73/27)")
    length: float = Field(0.0, ge=-10, le=10, description="logit added for the longer response, times (len1-len2)/max(len1,len2) in characters; negative prefers shorter")
    noise: float = Field(0.0, ge=0, le=1, description="probability that a verdict is flipped, drawn from the seed per comparison")


class PersonaFile(Section):
    """The fields of a persona YAML."""

    name: str = Field(..., pattern=NAME_PATTERN, description="persona name, as it appears in judgments.parquet")
    description: str = Field(..., min_length=1, description="one line: what this persona values")
    version: int | str = Field(..., description="bump when the persona's behaviour changes")
    backend: str = Field(..., description="rule, embedding, reward_model, lm_judge, openai or labels")
    params: dict[str, Any] = Field(default_factory=dict, description="the backend's parameters")
    biases: Biases = Field(default_factory=Biases, description="position, length and noise biases")
    temperature: float = Field(1.0, ge=0, description="divides the final logit: <1 sharper, >1 softer, 0 hard 0/1 verdicts")
    tie_margin: float = Field(0.0, ge=0, lt=0.5, description="a verdict with |prob-0.5| <= tie_margin is labelled a tie")
    include: str | None = Field(None, description="persona name or path this one extends (its fields are defaults)")


@dataclass(frozen=True)
class Persona:
    """A loaded persona: the validated file, the backend's validated params and its cache identity."""

    file: PersonaFile
    params: Section
    source: str
    hash: str

    @property
    def name(self) -> str:
        return self.file.name

    @property
    def backend(self) -> str:
        return self.file.backend


class PanelMember(Section):
    """One seat on a panel."""

    persona: str = Field(..., description="persona name or path")
    weight: float = Field(1.0, gt=0, description="weight in vote/mean aggregation and sampling probability in sample")


class PanelFile(Section):
    """The fields of a panel preset YAML."""

    name: str = Field(..., pattern=NAME_PATTERN, description="panel name")
    description: str = Field(..., min_length=1, description="one line: what this panel is for")
    aggregation: Literal["sample", "vote", "mean"] = Field("mean", description="how verdicts of several personas combine")
    personas: list[PanelMember | str] = Field(..., min_length=1, description="persona names (or {persona, weight})")
    shared_quality: float = Field(0.0, ge=0, le=1, description="mix of the quality persona into every persona's probability")
    quality_persona: str | None = Field(None, description="persona whose verdict is the shared quality term")


@dataclass(frozen=True)
class Panel:
    """A resolved panel: personas with weights, aggregation and the shared-quality term."""

    name: str
    aggregation: str
    members: tuple[tuple[Persona, float], ...]
    shared_quality: float = 0.0
    quality: Persona | None = None
    source: str = ""
    description: str = ""
    weights: dict[str, float] = field(default_factory=dict)

    def persona(self, name: str) -> Persona:
        """The member called `name`; a UserError with a "did you mean" when none is."""
        for persona, _ in self.members:
            if persona.name == name:
                return persona
        names = [p.name for p, _ in self.members]
        raise UserError(f"persona '{name}' is not on panel '{self.name}'", where="persona", fix=did_you_mean(name, names))


# -- lookup -------------------------------------------------------------------------------------------
def search_dirs(sub: str = "") -> list[Path]:
    """Folders searched for a persona (sub="") or panel (sub="panels") name: ./annotators, then built-in."""
    dirs = [Path.cwd() / "annotators" / sub, builtin_dir("annotators") / sub]
    unique = []
    for d in dirs:
        if d.is_dir() and d.resolve() not in [u.resolve() for u in unique]:
            unique.append(d)
    return unique


def _find(name_or_path: str, sub: str, kind: str, base: Path | None, where: str) -> Path:
    """The YAML file for a name or path; a UserError with "did you mean" when there is none."""
    text = str(name_or_path)
    if "/" in text or text.endswith((".yaml", ".yml")):
        for root in ([base] if base else []) + [Path.cwd()]:
            candidate = (root / text).expanduser()
            if candidate.is_file():
                return candidate.resolve()
        raise UserError(f"{kind} file '{text}' not found", where=where, fix="check the path")
    for root in ([base] if base else []) + search_dirs(sub):
        candidate = root / f"{text}.yaml"
        if candidate.is_file():
            return candidate.resolve()
    names = _names(sub)
    raise UserError(f"unknown {kind} '{text}'", where=where, fix=did_you_mean(text, names))


def _names(sub: str) -> list[str]:
    return sorted({p.stem for d in search_dirs(sub) for p in d.glob("*.yaml")})


def list_personas() -> list[str]:
    """Names of every persona file found in ./annotators and the built-in folder, sorted."""
    return _names("")


def list_panels() -> list[str]:
    """Names of every panel preset found in ./annotators/panels and the built-in folder, sorted."""
    return _names("panels")


# -- personas -----------------------------------------------------------------------------------------
def load_persona(name_or_path: str | Path, overrides: dict[str, Any] | None = None, *, base: Path | None = None) -> Persona:
    """The persona named `name_or_path` (or at that path), with `overrides` merged over its file."""
    path = _find(str(name_or_path), "", "persona", base, where="persona")
    data = _read_with_includes(path, seen=(path,))
    if overrides:
        data = settings.deep_merge(data, overrides)
    source = str(path)
    label = f"{source} (with --set overrides)" if overrides else source  # where a bad value came from
    persona_file = settings.build(PersonaFile, data, label)
    backend = BACKENDS.get(persona_file.backend, where=f"{label}: backend")
    params = settings.build(_params_model(backend.Params), {"params": persona_file.params}, label).params
    _check_template(params, source)
    dumped = persona_file.model_dump(mode="json", exclude={"include", "description"})
    for key in FILE_PARAMS:  # a file's contents, not where the checkout happens to live
        digest = _file_fingerprint(getattr(params, key, None))
        if digest:
            dumped["params"][key] = f"file:{digest}"
    identity = stable_hash(dumped, backend.fingerprint(params))
    return Persona(persona_file, params, source, identity)


@lru_cache(maxsize=None)
def _params_model(params: type[Section]) -> type[Section]:
    """A model with one field, `params`, so validation errors name the field as `params.<name>`."""
    return create_model(f"{params.__name__}Wrapper", __base__=Section, params=(params, ...))


def _read_with_includes(path: Path, seen: tuple[Path, ...]) -> dict[str, Any]:
    """The persona file's mapping with `include:` chains merged in (this file's fields win)."""
    data = settings.read_yaml(path)
    params = data.get("params")
    if isinstance(params, dict):
        for key in FILE_PARAMS:
            if isinstance(params.get(key), str):
                params[key] = _resolve_file_param(key, params[key], path)
    include = data.get("include")
    if include is None:
        return data
    if not isinstance(include, str):
        raise UserError("field 'include' must be a persona name or path", where=str(path))
    parent = _find(include, "", "persona", path.parent, where=f"{path}: include")
    if parent in seen:
        raise UserError(f"include cycle through '{parent.name}'", where=f"{path}: include", fix="remove one include")
    if "name" not in data:
        raise UserError("field 'name' is required", where=str(path), fix="a persona that includes another needs its own name")
    merged = settings.deep_merge(_read_with_includes(parent, seen + (parent,)), data)
    merged["include"] = include
    return merged


def _resolve_file_param(key: str, value: str, path: Path) -> str:
    """An absolute path when `value` names a file beside `path`; inline text stays as it is."""
    if "\n" in value or "{" in value:
        return value
    candidate = (path.parent / value).expanduser()
    if candidate.is_file():
        return str(candidate.resolve())
    if key == "template" and not value.endswith(TEMPLATE_SUFFIXES):
        return value
    raise UserError(f"file '{value}' not found", where=f"{path}: params.{key}", fix=f"put it beside {path.name} or give a full path")


def template_text(value: str) -> str:
    """The template itself: the file's contents when `value` is a file path, else `value`."""
    return settings.read_text(Path(value), "template file") if "\n" not in value and Path(value).is_file() else value


def _check_template(params: Section, source: str) -> None:
    value = getattr(params, "template", None)
    if not value:
        return
    text = template_text(value)
    try:
        used = {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}
    except ValueError as exc:
        raise UserError(f"template is not a valid format string ({exc})", where=f"{source}: params.template",
                        fix="write literal braces as {{ and }}") from None
    unknown = used - TEMPLATE_FIELDS
    if unknown:
        bad = sorted(unknown)[0]
        raise UserError(f"template uses unknown field '{{{bad}}}'", where=f"{source}: params.template",
                        fix="use only " + ", ".join("{" + f + "}" for f in sorted(TEMPLATE_FIELDS)))
    missing = {"response_a", "response_b"} - used
    if missing:
        raise UserError(f"template lacks '{{{sorted(missing)[0]}}}'", where=f"{source}: params.template",
                        fix="a pairwise template shows both {response_a} and {response_b}")


def _file_fingerprint(value: Any) -> str | None:
    if isinstance(value, str) and "\n" not in value and Path(value).is_file():
        return file_hash(Path(value))
    return None


# -- panels -------------------------------------------------------------------------------------------
def load_panel(preset_or_path: str | Path) -> Panel:
    """The panel preset named `preset_or_path` (or at that path) with every persona it seats loaded."""
    path = _find(str(preset_or_path), "panels", "panel preset", None, where="panel.preset")
    source = str(path)
    spec = settings.build(PanelFile, settings.read_yaml(path), source)
    base = path.parent.parent if path.parent.name == "panels" else path.parent
    members = []
    for i, seat in enumerate(spec.personas):
        seat = PanelMember(persona=seat) if isinstance(seat, str) else seat
        members.append((_member(seat.persona, base, path.parent, f"{source}: personas.{i}"), seat.weight))
    names = [p.name for p, _ in members]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate:
        raise UserError(f"persona '{duplicate}' is seated twice", where=f"{source}: personas", fix="raise its weight instead")
    quality = None
    if spec.quality_persona:
        quality = _member(spec.quality_persona, base, path.parent, f"{source}: quality_persona")
    elif spec.shared_quality > 0:
        raise UserError("field 'quality_persona' is required when shared_quality > 0", where=source, fix="name the persona")
    return Panel(spec.name, spec.aggregation, tuple(members), spec.shared_quality, quality, source,
                 spec.description, {p.name: w for p, w in members})


def _member(ref: str, base: Path, panel_dir: Path, where: str) -> Persona:
    if "/" in ref or ref.endswith((".yaml", ".yml")):
        return load_persona(_find(ref, "", "persona", panel_dir, where=where))
    return load_persona(_find(ref, "", "persona", base, where=where))


def resolve_panel(config: PanelConfig) -> Panel:
    """The run's panel: the preset with the config's aggregation and shared-quality overrides applied."""
    panel = load_panel(config.preset)
    aggregation = config.aggregation or panel.aggregation
    shared = panel.shared_quality if config.shared_quality is None else config.shared_quality
    if shared > 0 and panel.quality is None:
        raise UserError(f"panel '{panel.name}' names no quality_persona", where="panel.shared_quality",
                        fix=f"add quality_persona to {panel.source} or set panel.shared_quality to 0")
    return Panel(panel.name, aggregation, panel.members, shared, panel.quality, panel.source, panel.description,
                 panel.weights)


def validate_panel(config: PanelConfig) -> list[str]:
    """Check the preset and every persona it seats (files, fields, backend parameters, API-key variables,
    model locations); one line per persona. Raises UserError on the first bad one."""
    panel = resolve_panel(config)
    lines = [f"ok  panel {panel.name} ({panel.source}): {len(panel.members)} personas, aggregation {panel.aggregation}"
             + (f", shared_quality {panel.shared_quality} from '{panel.quality.name}'" if panel.quality and panel.shared_quality else "")]
    personas = [p for p, _ in panel.members] + ([panel.quality] if panel.quality else [])
    for persona in personas:
        BACKENDS.get(persona.backend).check(persona)
        lines.append(f"ok  persona {persona.name} ({persona.backend}, v{persona.file.version}, {persona.source})")
    return lines

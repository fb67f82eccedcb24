"""Resolve and load a policy: the embedded tiny model, a local checkpoint or a Hugging Face model id."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from mnpo_bench.policy.config import PolicyConfig
from mnpo_bench.errors import UserError
from mnpo_bench.policy.chat import ensure_chat_template
from mnpo_bench.progress import Progress, hf_progress_hidden


def resolve_policy(config: PolicyConfig, progress: Progress | None = None) -> str:
    """A loadable location for the configured policy: the tiny model's cache dir (built if needed), a
    local checkpoint directory, or a hub id that resolves (from the local HF cache when offline)."""
    if config.model == "tiny":
        from mnpo_bench.policy.tiny import build_tiny

        return str(build_tiny(config.tiny, progress))
    return check_model_location(config.model, where="policy.model")


def check_model_location(name: str, where: str) -> str:
    """`name` if it is a local HF checkpoint or a resolvable hub id; otherwise a UserError."""
    local = Path(name).expanduser()
    if local.exists():
        if not (local / "config.json").exists():
            raise UserError(f"'{name}' has no config.json", where=where,
                            fix="point it at a directory written by save_pretrained")
        return str(local.resolve())
    looks_like_path = name.startswith((".", "/", "~")) or name.count("/") > 1
    if not looks_like_path:
        from transformers import AutoConfig

        try:
            AutoConfig.from_pretrained(name)
            return name
        except Exception:  # noqa: BLE001 - hub lookups raise many error types
            pass
    raise UserError(f"model '{name}' not found locally or in the Hugging Face cache", where=where,
                    fix="give a save_pretrained directory or a hub id (offline, it must already be cached)")


def read_policies(root: Path) -> dict[str, str]:
    """The run's policies.json as {name: loadable location}: run-relative paths made absolute, `tiny:<key>`
    resolved (policy/locations.py), hub ids kept as given."""
    path = Path(root) / "policies.json"
    if not path.exists():
        raise UserError("no policies.json", where=str(root), fix="give a run directory whose policy stage has run")
    try:
        policies = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise UserError(f"not valid JSON ({exc.msg})", where=str(path)) from None
    if not isinstance(policies, dict) or not policies or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in policies.items()):
        raise UserError("expected a non-empty object {policy name: checkpoint path}", where=str(path))
    from mnpo_bench.policy.locations import resolve_location

    return {name: resolve_location(location, Path(root)) for name, location in policies.items()}


def policy_spec(spec: str, where: str) -> tuple[str, str]:
    """(name, location) of a policy given as 'name=path_or_hub_id' or a bare location (named after its
    last path component); the location is checked with `check_model_location`."""
    name, sep, location = spec.partition("=")
    location, name = (location, name) if sep else (spec, Path(spec.rstrip("/")).name)
    return name, check_model_location(location, where=where)


def checkpoint_fingerprint(location: str) -> str:
    """A fingerprint of what a checkpoint holds: its files' names and bytes (a hub id stands for itself). The
    same for a copy of the checkpoint (a copied run re-uses its answers), different once it is rewritten.
    Memoised per process on the files' names, sizes and modification times, so each checkpoint is read once."""
    path = Path(location)
    if not path.is_dir():
        return location
    files = sorted(p for p in path.rglob("*") if p.is_file())
    stats = tuple((str(p.relative_to(path)), p.stat().st_size, p.stat().st_mtime_ns) for p in files)
    key = (str(path.resolve()), stats)
    if key not in _FINGERPRINTS:
        from mnpo_bench.store import file_hash, stable_hash

        _FINGERPRINTS[key] = stable_hash([(name, size, file_hash(path / name)) for name, size, _ in stats])
    return _FINGERPRINTS[key]


_FINGERPRINTS: dict[tuple, str] = {}


def location_identity(location: str, root: Path) -> str:
    """What a stage's input hash holds for the policy at `location` in the run at `root`: `tiny:<key>` for the
    tiny model (its build key), else `checkpoint_fingerprint` (a checkpoint's file names and bytes; a hub id
    as itself). Never where the run or the cache lives, so a copied run or a moved cache re-runs nothing."""
    from mnpo_bench.policy.locations import TINY_PREFIX, portable_location

    stored = portable_location(location, root)
    return stored if stored.startswith(TINY_PREFIX) else checkpoint_fingerprint(location)


def pick_device(device: str = "auto") -> torch.device:
    """The torch device for `device` ("auto": CUDA when available, else CPU)."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def pick_dtype(dtype: str, device: torch.device) -> torch.dtype:
    """The weights dtype for `dtype` ("auto": bf16 on GPU, fp32 on CPU)."""
    if dtype == "auto":
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    return getattr(torch, dtype)


@hf_progress_hidden
def load_policy(path: str, device: str = "auto", dtype: str = "auto") -> tuple[Any, Any]:
    """(model, tokenizer) of the causal LM at `path`, in eval mode, tokenizer with a chat template and a
    pad token, left padding for batched generation."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch_device = pick_device(device)
    tokenizer = ensure_chat_template(AutoTokenizer.from_pretrained(path))
    tokenizer.padding_side = "left"
    model = AutoModelForCausalLM.from_pretrained(path, dtype=pick_dtype(dtype, torch_device))
    model.to(torch_device).eval()
    return model, tokenizer

"""Shared helpers of the Hugging Face judge backends (reward_model, lm_judge): resolve, fingerprint, load."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mnpo_bench.errors import UserError
from mnpo_bench.panel.backends import Backend
from mnpo_bench.progress import hf_progress_hidden


def resolve_model(name: str, where: str) -> str:
    """A loadable location for `name`: "tiny" (the embedded default policy, built if needed), a local
    save_pretrained directory, or a hub id already in the local cache; a UserError otherwise."""
    from mnpo_bench.policy.load import check_model_location

    if name == "tiny":
        from mnpo_bench.policy.config import PolicyConfig
        from mnpo_bench.policy.load import resolve_policy

        return resolve_policy(PolicyConfig())
    return check_model_location(name, where=where)


def model_fingerprint(name: str) -> Any:
    """For a local model directory, `checkpoint_fingerprint` (its files' names and bytes: retrained weights at
    the same path invalidate cached verdicts); None for a hub id."""
    from mnpo_bench.policy.load import checkpoint_fingerprint

    path = Path(name).expanduser()
    return checkpoint_fingerprint(str(path)) if path.is_dir() else None


@hf_progress_hidden
def load_pretrained(auto_class: Any, name: str, device: str, dtype: str, where: str) -> tuple[Any, Any]:
    """(model in eval mode on the device, tokenizer with a pad token) for `name` via `auto_class`."""
    from transformers import AutoTokenizer

    from mnpo_bench.policy.load import pick_device, pick_dtype

    location = resolve_model(name, where)
    torch_device = pick_device(device)
    try:
        tokenizer = AutoTokenizer.from_pretrained(location)
        model = auto_class.from_pretrained(location, dtype=pick_dtype(dtype, torch_device))
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot load '{name}' ({exc})".splitlines()[0], where=where,
                        fix="point params.model at a save_pretrained directory or a cached hub id") from None
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
    if getattr(model.config, "pad_token_id", None) is None:
        model.config.pad_token_id = tokenizer.pad_token_id
    return model.to(torch_device).eval(), tokenizer


class LocalModelBackend(Backend):
    """Base of the backends that run a local Hugging Face model named by `params.model` (reward_model,
    lm_judge): the model must resolve, and its files join the cache key."""

    @classmethod
    def check(cls, persona: Any) -> None:
        resolve_model(persona.params.model, where=f"{persona.source}: params.model")

    @classmethod
    def fingerprint(cls, params: Any) -> Any:
        return model_fingerprint(params.model)

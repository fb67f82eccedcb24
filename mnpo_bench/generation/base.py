"""The generation interface: a backend turns rendered prompts into K sampled completions each.

Rows of a generations table (see docs/ARCHITECTURE.md): policy, prompt_id, sample, response_id, text,
n_tokens, finish_reason ("stop" | "length"), is_empty, is_truncated. Empty and truncated generations are kept
and flagged, never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from mnpo_bench.schemas import GENERATION_COLUMNS

COLUMNS = GENERATION_COLUMNS


@dataclass
class Completion:
    """One sampled response."""

    text: str
    n_tokens: int
    finish_reason: str  # "stop" (end-of-turn emitted) or "length" (hit max_new_tokens)


class Backend(Protocol):
    """Samples `n` completions for each rendered prompt."""

    def complete(self, prompts: list[str], n: int, seed: int) -> list[list[Completion]]:
        """For each prompt text, `n` completions drawn with `seed` (same seed, same completions)."""
        ...


def response_id(policy: str, prompt_id: str, sample: int) -> str:
    """The id of a response: "<policy>|<prompt_id>|<sample>"."""
    return f"{policy}|{prompt_id}|{sample}"

"""Judge backends: what turns one comparison into the probability that the first-shown response wins.

Each backend is a class with a pydantic `Params` model (the persona's `params:`), a `judge(items)` that
returns one `Verdict` per `Comparison`, and optional `check` (cheap pre-flight for `mnpo-bench validate`) and
`fingerprint` (extra cache identity, e.g. a local model's weights). They are registered by name and
imported on first use, so choosing `rule` never imports torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from mnpo_bench.registry import Registry
from mnpo_bench.settings import Section


@dataclass(frozen=True)
class Comparison:
    """One judging task: a prompt and two responses in the order they are shown."""

    prompt: str
    first: str
    second: str
    gold: str | None = None
    meta: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)


@dataclass
class Verdict:
    """A backend's answer: P(first wins) in [0, 1], or an error (then prob_first is None).

    latency_s is wall seconds spent computing this item (for an endpoint: inside its requests, every attempt
    counted), queue_s the seconds it waited for a free concurrency slot or a retry's backoff (not part of
    latency_s), cost_usd its price in US dollars, calls the number of requests or forward passes it took (0
    when it came from the cache).
    """

    prob_first: float | None
    error: str | None = None
    latency_s: float = 0.0
    cost_usd: float = 0.0
    calls: int = 1
    tokens_in: int = 0
    tokens_out: int = 0
    queue_s: float = 0.0


class Backend:
    """Base of the judge backends; subclasses set `Params` and implement `judge`."""

    Params: ClassVar[type[Section]] = Section

    def __init__(self, persona: Any, device: str = "auto"):
        self.persona = persona
        self.params = persona.params
        self.device = device

    @classmethod
    def check(cls, persona: Any) -> None:
        """Raise a UserError if the persona cannot run here (missing key, model, file); cheap."""

    @classmethod
    def fingerprint(cls, params: Section) -> Any:
        """Extra content for the cache key beyond the persona's config (e.g. a local model's files)."""
        return None

    def judge(self, items: list[Comparison]) -> list[Verdict]:
        """One Verdict per item, in order."""
        raise NotImplementedError


BACKENDS: Registry[type[Backend]] = Registry("judge backend")
BACKENDS.add("rule", "mnpo_bench.panel.backends.rule:RuleBackend")
BACKENDS.add("embedding", "mnpo_bench.panel.backends.embedding:EmbeddingBackend")
BACKENDS.add("reward_model", "mnpo_bench.panel.backends.reward_model:RewardModelBackend")
BACKENDS.add("lm_judge", "mnpo_bench.panel.backends.lm_judge:LMJudgeBackend")
BACKENDS.add("openai", "mnpo_bench.panel.backends.openai_chat:OpenAIBackend")
BACKENDS.add("labels", "mnpo_bench.panel.backends.labels:LabelsBackend")

_instances: dict[tuple[str, str], Backend] = {}


def get_backend(persona: Any, device: str = "auto") -> Backend:
    """The backend instance for `persona` on `device`, built once per process (models load once)."""
    key = (persona.hash, device)
    if key not in _instances:
        _instances[key] = BACKENDS.get(persona.backend, where=f"{persona.source}: backend")(persona, device)
    return _instances[key]

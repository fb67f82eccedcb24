"""Loop shapes: the sub-stages of one online iteration, as data.

An iteration t of a method is a short list of steps, each a sub-stage `train/<method>/iter<t>/<step>` of the
run (so it shows in manifest.json, `ls runs` and the dashboard, and resumes on its own):

- `generate`: K samples per train prompt from a policy (`source`: the last iterate, the reference, or the
  output of an earlier fit step of this iteration);
- `annotate`: the panel labels every pair among those samples (`source`: a generate step; HT-MNPO players
  only by their own persona);
- `fit`: train from `start` on the preferences of `source` (an annotate step, or `run`: the run's own
  preferences.parquet) and save `output` (`iterate`: iter<t>; any other name: an intermediate policy the
  later steps of the iteration may sample from or start from).

The standard shape is generate → annotate → fit (at t = 1 the run's generate and annotate stages already
labelled the reference's samples, so only fit remains). A shape with two fits per iteration (an
extragradient half-step, an optimistic extra fit) is another list of the same steps: no special case in the
loop. A generate step may take half the samples or sample a policy/reference geometric mixture; an annotate
step may keep only the cross pairs of two generate steps (tagging each side `chosen_other`/`rejected_other`,
1 where it came from `against`), or pair demonstrations with samples instead of asking the panel.
Shapes are registered by name in `LOOP_SHAPES`; a recipe picks one with `loop:`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from mnpo_bench.registry import Registry

LAST, REFERENCE, RUN, ITERATE = "last", "reference", "run", "iterate"
PREVIOUS = "previous"  # a fit's source: the pairs iterate t − 1 was fitted on (at t = 1: the run's preferences)


@dataclass(frozen=True)
class Step:
    """One sub-stage of an iteration (see the module docstring for `source`, `start` and `output`)."""

    name: str  # the sub-stage's leaf name, unique within the iteration
    kind: Literal["generate", "annotate", "fit"]
    source: str = LAST
    start: str = LAST  # fit only
    output: str = ITERATE  # fit only
    half: bool = False  # generate only: K/2 samples per prompt (two samplers share one iteration's budget)
    mixture: bool = False  # generate only: sample the geometric mixture of `source` and the reference
    against: str | None = None  # annotate only: a second generate step; keep the cross pairs (source vs it)
    labels: Literal["panel", "demonstration"] = "panel"  # annotate only: demonstration = SPIN's pairs, no panel


Shape = Callable[[int, bool], list[Step]]  # (t, whether players are personas (HT-MNPO)) -> the steps


def standard(t: int, per_persona: bool) -> list[Step]:
    """generate → annotate → fit; at t = 1 the reference's samples are the run's own (annotated by the
    panel, or by each persona alone for HT-MNPO players)."""
    fit = Step("fit", "fit", source="annotate")
    if t == 1:
        return [Step("annotate", "annotate", source=RUN), fit] if per_persona else [Step("fit", "fit", source=RUN)]
    return [Step("generate", "generate", source=LAST), Step("annotate", "annotate", source="generate"), fit]


def extragradient(t: int, per_persona: bool) -> list[Step]:
    """EGPO, Nash-MP: a half-step π_{t+½} fitted from π_t on π_t's labelled samples, then the step from π_t on
    π_{t+½}'s samples and labels."""
    first = standard(t, per_persona)
    first[-1] = Step("half", "fit", source=first[-1].source, output="half")
    return first + [Step("generate-half", "generate", source="half"),
                    Step("annotate-half", "annotate", source="generate-half"),
                    Step("fit", "fit", source="annotate-half")]


def optimistic(t: int, per_persona: bool) -> list[Step]:
    """ONPO: the optimistic prediction π′_t fitted from π_t on the pairs iterate t − 1 was fitted on (the
    run's preferences at t = 1), then the step from π_t on π′_t's samples and labels."""
    return [Step("prime", "fit", source=RUN if t == 1 else PREVIOUS, output="prime"),
            Step("generate", "generate", source="prime"), Step("annotate", "annotate", source="generate"),
            Step("fit", "fit", source="annotate")]


def _two_samplers(t: int, per_persona: bool, mixture: bool) -> list[Step]:
    """K/2 samples of π_t against K/2 of the other sampler (the mixture, or the reference), cross pairs
    labelled. At t = 1 both samplers are π_ref: the standard shape (untagged pairs)."""
    if t == 1:
        return standard(t, per_persona)
    other = Step("generate-other", "generate", source=LAST, half=True, mixture=True) if mixture else \
        Step("generate-other", "generate", source=REFERENCE, half=True)
    return [Step("generate", "generate", source=LAST, half=True), other,
            Step("annotate", "annotate", source="generate", against="generate-other"),
            Step("fit", "fit", source="annotate")]


def mixture(t: int, per_persona: bool) -> list[Step]:
    """Nash-MD: π_t's samples against the geometric mixture π_t^{1−m}·π_ref^{m}'s (m = the recipe's mixture)."""
    return _two_samplers(t, per_persona, mixture=True)


def reference_samples(t: int, per_persona: bool) -> list[Step]:
    """XPO: π_t's samples against the reference's."""
    return _two_samplers(t, per_persona, mixture=False)


def demonstrations(t: int, per_persona: bool) -> list[Step]:
    """SPIN: each prompt's demonstration against π_t's samples (the run's reference samples at t = 1)."""
    pairs = Step("annotate", "annotate", source=RUN if t == 1 else "generate", labels="demonstration")
    fit = Step("fit", "fit", source="annotate")
    return [pairs, fit] if t == 1 else [Step("generate", "generate", source=LAST), pairs, fit]


LOOP_SHAPES: Registry[Shape] = Registry("loop shape")
for _name in ("standard", "extragradient", "optimistic", "mixture", "reference_samples", "demonstrations"):
    LOOP_SHAPES.add(_name, f"mnpo_bench.train.shapes:{_name}")


def check_shape(steps: list[Step]) -> list[Step]:
    """`steps` if they form a valid iteration (unique names, sources that come earlier, exactly one fit that
    outputs the iterate, last); else ValueError naming the step."""
    seen: dict[str, Step] = {}
    for step in steps:
        if step.name in seen:
            raise ValueError(f"two steps are called '{step.name}'")
        wanted = {"generate": ("fit",), "annotate": ("generate",), "fit": ("annotate",)}[step.kind]
        if step.kind == "generate":
            ok = step.source in (LAST, REFERENCE) or (step.source in seen and seen[step.source].kind in wanted)
        else:
            ok = step.source == RUN or (step.source in seen and seen[step.source].kind in wanted) or (
                step.kind == "fit" and step.source == PREVIOUS)
        if step.against is not None and (step.against not in seen or seen[step.against].kind != "generate"):
            raise ValueError(f"step '{step.name}' pairs against '{step.against}', which is not an earlier generate step")
        if not ok:
            raise ValueError(f"step '{step.name}' reads '{step.source}', which is not an earlier "
                             f"{' or '.join(wanted)} step")
        if step.kind == "fit" and step.output not in (ITERATE, step.name):
            raise ValueError(f"fit step '{step.name}' must be named after its output '{step.output}' (later steps "
                             "read an intermediate policy by the name of the step that fitted it)")
        if step.kind == "fit" and step.start not in (LAST, REFERENCE) and step.start not in seen:
            raise ValueError(f"step '{step.name}' starts from '{step.start}', which is not an earlier fit step")
        seen[step.name] = step
    iterates = [s for s in steps if s.kind == "fit" and s.output == ITERATE]
    if len(iterates) != 1 or steps[-1] is not iterates[0]:
        raise ValueError("an iteration ends with exactly one fit whose output is the iterate")
    return steps

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
loop. Shapes are registered by name in `LOOP_SHAPES`; a recipe picks one with `loop:`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from mnpo_bench.registry import Registry

LAST, REFERENCE, RUN, ITERATE = "last", "reference", "run", "iterate"


@dataclass(frozen=True)
class Step:
    """One sub-stage of an iteration (see the module docstring for `source`, `start` and `output`)."""

    name: str  # the sub-stage's leaf name, unique within the iteration
    kind: Literal["generate", "annotate", "fit"]
    source: str = LAST
    start: str = LAST  # fit only
    output: str = ITERATE  # fit only


Shape = Callable[[int, bool], list[Step]]  # (t, whether players are personas (HT-MNPO)) -> the steps


def standard(t: int, per_persona: bool) -> list[Step]:
    """generate → annotate → fit; at t = 1 the reference's samples are the run's own (annotated by the
    panel, or by each persona alone for HT-MNPO players)."""
    fit = Step("fit", "fit", source="annotate")
    if t == 1:
        return [Step("annotate", "annotate", source=RUN), fit] if per_persona else [Step("fit", "fit", source=RUN)]
    return [Step("generate", "generate", source=LAST), Step("annotate", "annotate", source="generate"), fit]


LOOP_SHAPES: Registry[Shape] = Registry("loop shape")
LOOP_SHAPES.add("standard", "mnpo_bench.train.shapes:standard")


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
            ok = step.source == RUN or (step.source in seen and seen[step.source].kind in wanted)
        if not ok:
            raise ValueError(f"step '{step.name}' reads '{step.source}', which is not an earlier "
                             f"{' or '.join(wanted)} step")
        if step.kind == "fit" and step.start not in (LAST, REFERENCE) and step.start not in seen:
            raise ValueError(f"step '{step.name}' starts from '{step.start}', which is not an earlier fit step")
        seen[step.name] = step
    iterates = [s for s in steps if s.kind == "fit" and s.output == ITERATE]
    if len(iterates) != 1 or steps[-1] is not iterates[0]:
        raise ValueError("an iteration ends with exactly one fit whose output is the iterate")
    return steps

"""train.common_random_numbers: each method's online samples come from its own stream unless it is set."""

from __future__ import annotations

from types import SimpleNamespace

from mnpo_bench.config import load_config
from mnpo_bench.seeds import stream_seed
from mnpo_bench.train.online import OnlineIteration


def _seed(method: str, t: int, kind: str, index: int = 0, *overrides: str) -> int:
    ctx = SimpleNamespace(config=load_config(None, ["seed=3", *overrides]))
    it = OnlineIteration(ctx=ctx, method=method, recipe=None, t=t, players=[None], reference="ref", previous=())
    return it._seed(kind, index)


def test_each_method_samples_from_its_own_stream_by_default():
    assert _seed("mnpo", 2, "generate") != _seed("inpo", 2, "generate")
    assert _seed("mnpo", 2, "generate") != _seed("mnpo", 3, "generate")
    assert _seed("mnpo", 2, "generate", 0) != _seed("mnpo", 2, "generate", 1)  # a second sampler in one iteration
    assert _seed("mnpo", 2, "generate") == stream_seed(3, "train", "mnpo", 2, 0)  # the tournament's helper
    # the panel's labelling seed is the iteration's, whatever the method
    assert _seed("mnpo", 2, "annotate") == _seed("inpo", 2, "annotate")


def test_common_random_numbers_restores_one_shared_stream():
    crn = "train.common_random_numbers=true"
    assert _seed("mnpo", 2, "generate", 0, crn) == _seed("inpo", 2, "generate", 0, crn) == 3 * 7919 + 2
    assert _seed("mnpo", 3, "generate", 0, crn) != _seed("mnpo", 2, "generate", 0, crn)

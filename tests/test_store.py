from pathlib import Path

import pandas as pd
import pytest

from mnpo_bench.errors import UserError
from mnpo_bench.store import RunStore, atomic_path, stable_hash


def test_atomic_write_leaves_nothing_when_interrupted(tmp_path: Path):
    target = tmp_path / "table.parquet"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"half a table")
            raise RuntimeError("killed")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_stage_is_done_only_with_same_inputs_and_outputs_present(tmp_path: Path):
    store = RunStore.open(tmp_path / "run")
    store.write_table("t", pd.DataFrame({"x": [1]}))
    store.mark_running("s", "h1")
    assert not store.is_done("s", "h1")  # running is not done
    store.mark_done("s", "h1", ["t.parquet"], started=0.0)
    assert store.is_done("s", "h1")
    assert not store.is_done("s", "h2")  # inputs changed
    store.path("t.parquet").unlink()
    assert not store.is_done("s", "h1")  # output gone


def test_parts_resume_and_reset_on_new_inputs(tmp_path: Path):
    store = RunStore.open(tmp_path)
    calls = []

    def make(n):
        calls.append(n)
        return pd.DataFrame({"n": [n]})

    parts = store.parts("gen", "h1")
    parts.compute("a", lambda: make(1))
    again = store.parts("gen", "h1")
    assert again.compute("a", lambda: make(2))["n"].item() == 1  # reused, not recomputed
    assert calls == [1]
    fresh = store.parts("gen", "h2")  # different inputs: old chunks are dropped
    assert fresh.compute("a", lambda: make(3))["n"].item() == 3


def test_unwritable_run_dir_is_a_user_error(tmp_path: Path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(UserError, match="cannot write the run directory"):
        RunStore.open(blocker / "run")


def test_missing_table_names_it(tmp_path: Path):
    with pytest.raises(UserError, match="table 'battles' is missing"):
        RunStore.open(tmp_path).read_table("battles")


def test_stable_hash_is_order_insensitive_for_dicts():
    assert stable_hash({"a": 1, "b": 2}) == stable_hash({"b": 2, "a": 1})
    assert stable_hash({"a": 1}) != stable_hash({"a": 2})


def test_json_safe_makes_strict_json():
    import json

    import numpy as np

    from mnpo_bench.store import json_safe

    value = {1: [np.float64("nan"), np.int64(3), float("inf")], "ok": (0.5, "x")}
    assert json.dumps(json_safe(value), allow_nan=False) == '{"1": [null, 3, null], "ok": [0.5, "x"]}'


def test_atomic_dir_replaces_a_directory_whole_or_not_at_all(tmp_path: Path):
    from mnpo_bench.store import atomic_dir

    out = tmp_path / "ckpt"
    out.mkdir()
    (out / "old.bin").write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_dir(out) as scratch:
            (scratch / "half.bin").write_text("half")
            raise RuntimeError("killed mid-save")
    assert [p.name for p in out.iterdir()] == ["old.bin"]  # the old copy is intact
    with atomic_dir(out) as scratch:
        (scratch / "new.bin").write_text("new")
    assert [p.name for p in out.iterdir()] == ["new.bin"]
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt"]  # no scratch left behind


@pytest.mark.parametrize("name, expected", [("dpo/iter1", "dpo__iter1"), ("ht_mnpo-concise/iter2", "ht_mnpo-concise__iter2"),
                                            ("..", "_"), ("../x", "__x"), ("a b|c", "a__b__c"), ("", "_")])
def test_safe_name_is_one_harmless_path_component(name, expected):
    from mnpo_bench.store import safe_name

    assert safe_name(name) == expected
    assert "/" not in safe_name(name) and safe_name(name) not in (".", "..")

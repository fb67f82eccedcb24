"""A bad battles file gets one clear line (file, column, fix), exit code 2, and nothing written."""

from __future__ import annotations

import os

import pandas as pd
import pytest

from mnpo_bench.cli import main
from mnpo_bench.errors import UserError
from mnpo_bench.ratings.leaderboard import OUTPUTS, build_leaderboard

GOOD = pd.DataFrame({"model_a": ["x", "y", "z", "x"], "model_b": ["y", "z", "x", "z"],
                     "winner": ["model_a", "tie", "model_b", "model_a"]})


def _cli(args: list[str], capsys) -> tuple[int, list[str]]:
    code = main(["leaderboard", *args])
    return code, [line for line in capsys.readouterr().err.splitlines() if line.strip()]


@pytest.mark.parametrize("frame, where, message", [
    (GOOD.drop(columns=["winner"]), "bad.csv", "missing column(s) winner"),
    (GOOD.assign(winner=["model_a", "A", "tie", "B"]), "bad.csv", "column 'winner' has 2 row(s) with unknown values ('A', 'B')"),
    (GOOD.assign(winner=["model_a", "model_a", None, None], model_b=["y", "x", "w", "w"]), "bad.csv",
     "model(s) w, z have no valid battles (every row of theirs failed)"),
    (GOOD.assign(model_b=["y", "z", "x", "x"]), "bad.csv", "pit a model against itself"),
    (GOOD.assign(prob_a=[0.2, 1.5, None, 0.1]), "bad.csv", "column 'prob_a' has 1 value(s) outside [0, 1]"),
    (pd.DataFrame({"model_a": ["x", "u"], "model_b": ["y", "v"], "winner": ["tie", "tie"]}), "bad.csv",
     "2 groups that never meet"),
])
def test_bad_battles_file_one_line_exit_2_nothing_written(tmp_path, capsys, frame, where, message):
    path = tmp_path / "bad.csv"
    frame.to_csv(path, index=False)
    out = tmp_path / "board"
    code, lines = _cli([str(path), "--out", str(out)], capsys)
    assert code == 2
    assert len(lines) == 1 and lines[0].startswith(f"error: {path}") and message in lines[0], lines
    assert not out.exists()


def test_unreadable_and_missing_files(tmp_path, capsys):
    broken = tmp_path / "battles.parquet"
    broken.write_bytes(b"PAR1 this is not parquet")
    code, lines = _cli([str(broken), "--out", str(tmp_path / "o")], capsys)
    assert code == 2 and len(lines) == 1 and "cannot read as parquet" in lines[0] and str(broken) in lines[0]
    code, lines = _cli([str(tmp_path / "nope.jsonl"), "--out", str(tmp_path / "o")], capsys)
    assert code == 2 and lines == [f"error: {tmp_path / 'nope.jsonl'}: file not found; check the path"]
    odd = tmp_path / "battles.xlsx"
    odd.write_text("x")
    code, lines = _cli([str(odd), "--out", str(tmp_path / "o")], capsys)
    assert code == 2 and "use .parquet, .jsonl, .json or .csv" in lines[0]


def test_unknown_reference_and_source(tmp_path, capsys):
    path = tmp_path / "b.jsonl"
    GOOD.to_json(path, orient="records", lines=True)
    code, lines = _cli([str(path), "--out", str(tmp_path / "o"), "--reference", "xx"], capsys)
    assert code == 2 and "reference model 'xx' has no battles" in lines[0] and "did you mean 'x'?" in lines[0]
    code, lines = _cli([str(path), "--out", str(tmp_path / "o"), "--from", "arnea"], capsys)
    assert code == 2 and lines == ["error: --from: unknown battles source 'arnea'; did you mean 'arena'?"]


def test_a_failed_run_leaves_the_previous_leaderboard_intact(tmp_path, monkeypatch):
    out = tmp_path / "board"
    build_leaderboard(GOOD, out, reference=None, bootstrap=10, seed=0)
    before = {name: (out / name).read_bytes() for name in OUTPUTS}
    with pytest.raises(UserError):
        build_leaderboard(GOOD.assign(winner="?"), out, reference=None, bootstrap=10, seed=0)
    calls = []

    def failing_fsync(fd):  # the disk fills up while the second file is being written
        calls.append(fd)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real_fsync(fd)

    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OSError):
        build_leaderboard(GOOD.assign(winner="tie"), out, reference=None, bootstrap=10, seed=1)
    assert {name: (out / name).read_bytes() for name in OUTPUTS} == before
    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUTS)  # no staging directory left behind

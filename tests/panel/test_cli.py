"""The panel's verbs: `ls personas`, `ls panels`, `personas test`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mnpo_bench.cli import main
from mnpo_bench.panel.personas import list_personas
from tests.panel.conftest import write_yaml


def first_shown_rate(report: str) -> int:
    """The first-position rate (percent) printed by `personas test`."""
    line = next(line for line in report.splitlines() if "first-shown" in line)
    return int(re.search(r"(\d+)%", line).group(1))


def test_ls_personas_and_panels(capsys: pytest.CaptureFixture):
    assert main(["ls", "personas"]) == 0
    out = capsys.readouterr().out
    for name in list_personas():
        assert f"\n{name} " in "\n" + out
    assert "pos +1.5" in out and "noise 0.20" in out  # sloppy-grader's biases are visible
    assert main(["ls", "panels"]) == 0
    out = capsys.readouterr().out
    assert "cyclic" in out and "vote" in out and "correctnessx2" in out


@pytest.mark.slow
def test_personas_test_measures_biases(capsys: pytest.CaptureFixture, tmp_path: Path):
    lefty = write_yaml(tmp_path / "lefty.yaml", "name: lefty\ninclude: concise\nbiases: {position: 3.0}\n")
    assert main(["personas", "test", str(lefty), "--prompts", "6", "-q"]) == 0
    out = capsys.readouterr().out
    assert first_shown_rate(out) > 80  # position 3.0 logits: mostly the first-shown one
    assert "concise" in out and "kappa" in out and "not compared" in out
    assert main(["personas", "test", "concise", "--prompts", "6", "-q", "--set", "biases.position=-3"]) == 0
    assert first_shown_rate(capsys.readouterr().out) < 20


def test_personas_test_bad_file_exits_2(capsys: pytest.CaptureFixture, tmp_path: Path):
    bad = write_yaml(tmp_path / "bad.yaml", "name: bad\ndescription: d\nversion: 1\nbackend: rule\n"
                     "params: {scorers: {length: 1}}\ntemperature: hot\n")
    assert main(["personas", "test", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and str(bad) in err and "temperature" in err

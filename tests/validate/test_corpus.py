"""The malformed-input corpus (tests/validate/corpus.py, 250+ cases over configs, personas, panels, recipes, prompt
files, battles and preference files): each gives one line naming the file or field, exit code 2, no traceback,
no work started and nothing written. Config cases are also given to `validate`, which must refuse them with
the same line (validate and run share `validate_parts`). In-process through `mnpo_bench.cli.main`; a few
through a real subprocess."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.validate.corpus import CASES
from tests.validate.harness import attempt
from tests.validate.materialise import materialise

BY_ID = {case.id: case for case in CASES}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_malformed_input_gives_one_clear_line(case, tmp_path):
    root = tmp_path / "case"
    argv = materialise(case, root)
    outcome = attempt(argv, root, case.expect.replace("{d}", str(root)))
    assert outcome.kind == "clear", str(outcome)
    if argv[0] == "run":  # validate refuses it with the very same line
        check = attempt(["validate", *[a for a in argv[1:] if a != "--out" and not a.endswith("/out")]], root,
                        case.expect.replace("{d}", str(root)))
        assert check.kind == "clear" and check.stderr == outcome.stderr, (str(check), outcome.stderr)


def test_corpus_covers_every_kind_of_input():
    groups = {case.group for case in CASES}
    assert {"config", "set", "persona", "panel", "recipe", "prompts", "battles", "prefs"} <= groups
    assert len(CASES) >= 150


def test_the_console_script_prints_one_line_and_exits_2(tmp_path):
    """The same through a real process: stderr is the one error line, no traceback, nothing written."""
    case = BY_ID["config-validate-non-utf8"]
    root = tmp_path / "case"
    argv = materialise(case, root)
    before = sorted(p.name for p in root.rglob("*"))
    done = subprocess.run([sys.executable, "-m", "mnpo_bench.cli", *argv], cwd=root, capture_output=True, text=True,
                          timeout=120)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert case.expect in lines[0] and "Traceback" not in done.stderr
    assert sorted(p.name for p in root.rglob("*")) == before

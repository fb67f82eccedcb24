"""The CLI as a user meets it: one clear line and exit 2 on bad input, nothing half-written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


from mnpo_bench.cli import main


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mnpo_bench.cli", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=600)


def assert_one_line_error(result: subprocess.CompletedProcess, *needles: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0], result.stderr  # progress notes may precede it
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in errors[0], errors[0]


def test_missing_config(tmp_path):
    assert_one_line_error(run_cli("run", str(tmp_path / "nope.yaml"), "--out", str(tmp_path / "r")),
                          "nope.yaml", "file not found")
    assert not (tmp_path / "r").exists()


def test_malformed_config_names_line(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("seed: 1\ngeneration: {n_samples: 2\n")
    assert_one_line_error(run_cli("run", str(config), "--out", str(tmp_path / "r")), f"{config}:", "malformed YAML")
    assert not (tmp_path / "r").exists()


def test_unknown_key_did_you_mean(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("generaton:\n  n_samples: 2\n")
    assert_one_line_error(run_cli("validate", str(config)), "unknown key 'generaton'", "did you mean 'generation'")


def test_unknown_model_path(tmp_path):
    result = run_cli("run", "--set", "policy.model=./no/such/model", "--out", str(tmp_path / "r"))
    assert_one_line_error(result, "policy.model", "not found")
    assert not (tmp_path / "r").exists()


def test_bad_prompts_row_leaves_nothing_trusted(tmp_path):
    prompts = tmp_path / "p.jsonl"
    prompts.write_text('{"prompt": "Say hi."}\n{"gold": "x"}\n')
    out = tmp_path / "r"
    assert_one_line_error(run_cli("run", "--set", f"prompts.source={prompts}", "--out", str(out)), f"{prompts}:2")
    assert not out.exists()  # refused by the checks before any work: no run directory at all


def test_unwritable_out_dir(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert_one_line_error(run_cli("run", "--out", str(blocker / "run")), "cannot write the run directory", "--out")


def test_debug_shows_traceback(tmp_path, capsys):
    code = main(["validate", str(tmp_path / "nope.yaml"), "--debug"])
    assert code == 2
    assert "Traceback" in capsys.readouterr().err


def test_usage_error_is_nonzero():
    assert run_cli("no-such-verb").returncode == 2


def test_help_names_debug_and_config_describes_fields(capsys):
    assert main(["--help"]) == 0
    assert "--debug" in capsys.readouterr().out
    assert main(["config", "--describe"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(line.startswith("seed ") for line in lines) and any(line.startswith("panel.") for line in lines)

"""The worked example in the README works as written: the persona and panel YAML blocks are copied out
of the README section and used the way it says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mnpo_bench.cli import main
from mnpo_bench.panel.annotate import annotate
from mnpo_bench.panel.config import PanelConfig
from mnpo_bench.panel.personas import load_persona, validate_panel
from mnpo_bench.progress import Progress

DOC = Path(__file__).resolve().parents[2] / "README.md"


def example(name: str) -> str:
    """The YAML block after `<!-- worked-example:<name> -->` in the README."""
    found = re.search(rf"<!-- worked-example:{name} -->\n```yaml\n(.*?)```", DOC.read_text(), re.DOTALL)
    assert found, f"worked example {name} not found in {DOC}"
    return found.group(1)


def test_worked_example_runs_as_documented(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture, probe):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "annotators" / "panels").mkdir(parents=True)
    (tmp_path / "annotators" / "teacher.yaml").write_text(example("teacher"))
    (tmp_path / "annotators" / "panels" / "classroom.yaml").write_text(example("classroom"))
    assert main(["personas", "test", "teacher", "--prompts", "4", "-q"]) == 0
    out = capsys.readouterr().out
    assert "persona teacher (rule)" in out and "kappa" in out
    assert "persona teacher" in "\n".join(validate_panel(PanelConfig(preset="classroom")))
    prompts, generations, _ = probe
    judgments, prefs = annotate(prompts, generations, PanelConfig(preset="classroom"), seed=0,
                                progress=Progress(quiet=True))
    assert set(judgments["persona"]) == {"teacher", "correctness", "concise"} and len(prefs) > 0


def test_vllm_variant_in_the_docs_loads(tmp_path: Path):
    block = re.search(r"`annotators/llama-judge.yaml`:\n\n```yaml\n(.*?)```", DOC.read_text(), re.DOTALL).group(1)
    (tmp_path / "llama-judge.yaml").write_text(block)
    persona = load_persona(tmp_path / "llama-judge.yaml")
    assert persona.backend == "openai" and persona.params.base_url == "http://localhost:8000/v1"
    assert persona.params.template.endswith("pairwise-judge.txt")  # inherited through include

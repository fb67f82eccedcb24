"""Persona and panel files: every shipped one validates, and every kind of mistake is one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest

from mnpo_bench.errors import UserError
from mnpo_bench.panel.config import PanelConfig
from mnpo_bench.panel.personas import list_panels, list_personas, load_panel, load_persona, validate_panel
from mnpo_bench.paths import builtin_dir
from tests.panel.conftest import write_yaml


def test_every_shipped_persona_and_panel_loads():
    names = list_personas()
    personas = [load_persona(n) for n in names]
    assert [p.name for p in personas] == names  # file stem == persona name
    assert len(personas) >= 8
    backends = {p.backend for p in personas}
    assert {"rule", "embedding", "openai", "reward_model", "lm_judge"} <= backends
    assert any(p.backend == "embedding" and p.params.model == "minilm" for p in personas)
    for yaml_file in builtin_dir("annotators").glob("*.yaml"):
        assert yaml_file.read_text().startswith("#"), f"{yaml_file.name} should start with how to use it"
    panels = {n: load_panel(n) for n in list_panels()}
    assert {"default", "cyclic", "pool"} <= set(panels)
    assert {p.backend for p, _ in panels["default"].members} <= {"rule", "embedding"}  # local and fast
    assert panels["cyclic"].quality is not None and panels["pool"].aggregation == "sample"


def test_include_makes_a_variant(tmp_path: Path):
    base = load_persona("correctness")
    variant = load_persona(write_yaml(tmp_path / "v.yaml", "name: v\ninclude: correctness\nbiases: {position: 0.7}\n"))
    assert variant.params == base.params and variant.file.biases.position == 0.7
    assert variant.file.description == base.file.description and variant.hash != base.hash
    sloppy = load_persona("sloppy-grader")
    assert sloppy.params == base.params and sloppy.file.biases.noise == 0.2


@pytest.mark.parametrize(("text", "needle"), [
    ("description: d\nversion: 1\nbackend: rule\nparams: {scorers: {length: 1}}\n", "field 'name' is required"),
    ("name: x\ndescription: d\nversion: 1\nparams: {scorers: {length: 1}}\n", "field 'backend' is required"),
    ("name: x\ndescription: d\nversion: 1\nbackend: rul\n", "unknown judge backend 'rul'; did you mean 'rule'?"),
    ("name: x\ndescription: d\nversion: 1\nbackend: rule\nparams: {scorers: {lenght: 1}}\n", "did you mean 'length'?"),
    ("name: x\ndescription: d\nversion: 1\nbackend: rule\nparams: {scorers: {keywords: 1}}\n", "field 'params.scorers': Value error, scorer 'keywords', option 'words': Field required"),
    ("name: x\ndescription: d\nversion: 1\nbackend: rule\nparams: {scorers: {length: 1}}\nbiases: {noise: 2}\n",
     "field 'biases.noise'"),
    ("name: x\ndescription: d\nversion: 1\nbackend: rule\nparams: {scorers: {length: 1}}\nbias: {noise: 0.1}\n",
     "unknown key 'bias'; did you mean 'biases'?"),
    ("name: x\ndescription: d\nversion: 1\nbackend: openai\nparams: {template: '{response_a} {response_b}'}\n",
     "field 'params.model' is required"),
    ("name: x\ndescription: d\nversion: 1\nbackend: openai\nparams: {model: m, template: '{response_a} {answer}'}\n",
     "unknown field '{answer}'"),
    ("name: x\ndescription: d\nversion: 1\nbackend: openai\nparams: {model: m, template: judge.txt}\n",
     "params.template: file 'judge.txt' not found"),
    ("name: x\ndescription: d\nversion: 1\nbackend: labels\nparams: {path: labels.csv}\n", "params.path: file 'labels.csv'"),
    ("name: x\ninclude: x\ndescription: d\n", "include cycle"),
    ("include: correctness\nbiases: {noise: 0.1}\n", "a persona that includes another needs its own name"),
    ("name: [x\n", "malformed YAML"),
])
def test_bad_persona_file_is_one_line_naming_file_and_field(tmp_path: Path, text: str, needle: str):
    path = write_yaml(tmp_path / "x.yaml", text)
    with pytest.raises(UserError) as info:
        load_persona(path)
    line = info.value.line()
    assert "\n" not in line and str(path) in line and needle in line


def test_unknown_persona_name_suggests_the_closest():
    with pytest.raises(UserError, match="did you mean 'concise'"):
        load_persona("consise")


def test_hash_follows_behaviour_not_wording(tmp_path: Path):
    template = write_yaml(tmp_path / "t.txt", "A: {response_a}\nB: {response_b}\n")
    spec = "name: j\ndescription: {d}\nversion: 1\nbackend: openai\nparams: {{model: m, template: t.txt, api_key_env: null}}\n"
    path = write_yaml(tmp_path / "j.yaml", spec.format(d="first wording"))
    first = load_persona(path).hash
    write_yaml(path, spec.format(d="second wording"))
    assert load_persona(path).hash == first  # the description does not change verdicts
    template.write_text("Which is better?\nA: {response_a}\nB: {response_b}\n")
    assert load_persona(path).hash != first  # the template's text does


def test_validate_panel_checks_every_persona(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    lines = validate_panel(PanelConfig())
    assert len(lines) == 1 + len(load_panel("default").members) and all(x.startswith("ok  ") for x in lines)
    panel = write_yaml(tmp_path / "p.yaml", "name: p\ndescription: d\npersonas: [correctness, gpt-4o-mini]\n")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(UserError, match="OPENAI_API_KEY is not set") as info:
        validate_panel(PanelConfig(preset=str(panel)))
    assert "gpt-4o-mini.yaml: params.api_key_env" in info.value.line()
    typo = write_yaml(tmp_path / "q.yaml", "name: q\ndescription: d\npersonas: [correctnes]\n")
    with pytest.raises(UserError, match=r"q.yaml: personas.0: unknown persona 'correctnes'; did you mean 'correctness'"):
        validate_panel(PanelConfig(preset=str(typo)))
    with pytest.raises(UserError, match="names no quality_persona"):
        validate_panel(PanelConfig(preset="default", shared_quality=0.5))
    with pytest.raises(UserError, match="unknown panel preset 'cyclc'; did you mean 'cyclic'"):
        validate_panel(PanelConfig(preset="cyclc"))

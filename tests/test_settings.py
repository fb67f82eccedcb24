from pathlib import Path

import pytest

from mnpo_bench.config import load_config
from mnpo_bench.errors import UserError
from mnpo_bench.settings import describe, parse_overrides
from mnpo_bench.config import RunConfig


def test_defaults_need_no_file():
    config = load_config(None)
    assert config.generation.backend == "hf"
    assert config.prompts.n_train > 0


def test_overrides_are_parsed_as_yaml_and_nest():
    assert parse_overrides(["a.b=3", "a.c=x", "d=[1, 2]"]) == {"a": {"b": 3, "c": "x"}, "d": [1, 2]}
    config = load_config(None, ["generation.n_samples=3", "seed=7"])
    assert (config.generation.n_samples, config.seed) == (3, 7)


def test_unknown_key_suggests_the_closest(tmp_path: Path):
    path = tmp_path / "run.yaml"
    path.write_text("generation:\n  max_new_tokenz: 5\n")
    with pytest.raises(UserError) as err:
        load_config(path)
    line = err.value.line()
    assert str(path) in line and "generation.max_new_tokenz" in line and "did you mean 'max_new_tokens'" in line


def test_wrong_type_names_field_and_value():
    with pytest.raises(UserError, match=r"generation.n_samples.*'many'"):
        load_config(None, ["generation.n_samples=many"])


def test_malformed_yaml_names_the_line(tmp_path: Path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: ok\nprompts:\n  n_train: [1, 2\n")
    with pytest.raises(UserError, match=rf"{path}:\d+: malformed YAML"):
        load_config(path)


def test_missing_file_is_a_user_error(tmp_path: Path):
    with pytest.raises(UserError, match="file not found"):
        load_config(tmp_path / "nope.yaml")


def test_bad_override_syntax():
    with pytest.raises(UserError, match="--set"):
        load_config(None, ["generation.n_samples"])


def test_every_field_is_documented():
    undocumented = [name for name, _default, text in describe(RunConfig) if not text]
    assert undocumented == []

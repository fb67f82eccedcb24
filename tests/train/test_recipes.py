"""Every shipped recipe and accelerate config loads; recipe errors are one line naming file and field."""

import pytest
import yaml

from mnpo_bench.errors import UserError
from mnpo_bench.paths import builtin_dir
from mnpo_bench.train.config import TrainConfig
from mnpo_bench.train.recipes import builtin_recipe_files, list_recipes, load_recipe, validate_recipes

METHODS = {"mnpo", "inpo", "dpo", "ipo", "ipo_norm", "simpo", "sppo", "sppo_pair", "ht_mnpo", "egpo", "onpo", "nash_md", "nash_mp", "dno", "apo",
           "spo", "xpo", "spin", "rdpo", "cdpo"}


def test_every_shipped_recipe_loads_in_both_profiles_and_starts_with_its_command():
    files = builtin_recipe_files()
    assert {f.stem for f in files} == METHODS
    for path in files:
        assert path.read_text().splitlines()[0].startswith("# mnpo-bench "), path
        for profile in ("tiny", "paper"):
            recipe = load_recipe(str(path), profile)
            assert recipe.method == path.stem


def test_every_accelerate_config_parses_and_starts_with_its_launch_command():
    folder = builtin_dir("trainer") / "accelerate"
    names = {p.stem for p in folder.glob("*.yaml")}
    assert names == {"single_gpu", "ddp", "fsdp", "deepspeed_zero3"}
    for path in folder.glob("*.yaml"):
        first = path.read_text().splitlines()[0]
        assert first.startswith(f"# accelerate launch --config_file trainer/accelerate/{path.name} -m mnpo_bench.cli train")
        config = yaml.safe_load(path.read_text())
        assert config["distributed_type"] in {"NO", "MULTI_GPU", "FSDP", "DEEPSPEED"}


def test_new_methods_declare_their_loop_shapes_and_official_settings():
    shapes = {m: load_recipe(m).loop for m in METHODS}
    assert shapes["egpo"] == shapes["nash_mp"] == "extragradient" and shapes["onpo"] == "optimistic"
    assert (shapes["nash_md"], shapes["xpo"], shapes["spin"]) == ("mixture", "reference_samples", "demonstrations")
    apo = load_recipe("apo")
    assert apo.opponents.weights == [1.3, -0.3] and apo.opponents.negative_weights
    egpo = load_recipe("egpo", "paper")  # zhourunlong/EGPO lms/train_nlhf.py
    assert (egpo.loss.beta, egpo.optim.lr, egpo.optim.weight_decay) == (0.1, 5e-7, 0.01)
    assert load_recipe("nash_md").mixture == 0.125 and load_recipe("nash_md", "paper").mixture == 0.5
    assert load_recipe("xpo", "paper").loss.alpha == 1e-5  # TRL's XPOConfig default


def test_mnpo_paper_profile_has_the_papers_settings():
    paper = load_recipe("mnpo", "paper")
    assert (paper.loss.beta, round(paper.loss.ratio, 4), paper.opponents.k) == (0.0075, 0.3333, 2)
    assert (paper.optim.lr, paper.optim.schedule, paper.optim.warmup_ratio) == (5e-7, "cosine", 0.1)
    tiny = load_recipe("mnpo")
    assert tiny.optim.lr != paper.optim.lr  # the tiny model trains with its own settings


def test_validate_recipes_and_listing():
    lines = validate_recipes(TrainConfig())
    assert [line.split()[2].rstrip(":") for line in lines] == ["mnpo", "inpo", "dpo"]
    assert validate_recipes(TrainConfig(enabled=False)) == ["ok  train disabled"]
    assert {line.split()[0] for line in list_recipes()} == METHODS


@pytest.mark.parametrize("config, message", [
    (TrainConfig(methods=["mnop"]), "unknown recipe 'mnop'; did you mean 'mnpo'?"),
    (TrainConfig(overrides={"mnpo": {"optim": {"lr": -1}}}), "field 'optim.lr'"),
    (TrainConfig(overrides={"mnpo": {"loss": {"betaa": 1}}}), "unknown key 'loss.betaa'; did you mean 'beta'?"),
    (TrainConfig(overrides={"simpo": {}}), "overrides for 'simpo', which is not in train.methods"),
    (TrainConfig(methods=["inpo"], overrides={"inpo": {"opponents": {"population": "none"}}}), "needs opponents"),
    (TrainConfig(overrides={"mnpo": {"opponents": {"weights": [1.0]}}}), "exactly k entries"),
    (TrainConfig(overrides={"mnpo": {"opponents": {"weights": [1.3, -0.3]}}}), "negative_weights: true"),
    (TrainConfig(overrides={"mnpo": {"opponents": {"weights": [1.3, -0.3], "negative_weights": True}}}),
     "negative opponent weights are APO's anchor"),
    (TrainConfig(methods=["rdpo"], overrides={"rdpo": {"loss": {"epsilon": 0.5}}}), "field 'loss.epsilon'"),
    (TrainConfig(methods=["nash_md"], overrides={"nash_md": {"loop": "mixtur"}}), "did you mean 'mixture'"),
])
def test_bad_recipe_settings_are_user_errors(config, message):
    with pytest.raises(UserError) as info:
        validate_recipes(config)
    assert message in info.value.line()
    assert "\n" not in info.value.line()


def test_a_recipe_file_with_a_bad_field_names_the_file(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("method: mine\nloss: {name: dpo, beta: 0}\n")
    with pytest.raises(UserError, match=r"mine\.yaml: field 'loss.beta'"):
        load_recipe(str(path))


def test_opponent_populations():
    from mnpo_bench.train.population import ht_opponents, opponents_for, td_opponents
    from mnpo_bench.train.recipes import OpponentSettings

    assert td_opponents(["ref"], 2) == ["ref"]  # t = 1: the reference alone
    assert td_opponents(["ref", "it1", "it2"], 2) == ["it2", "it1"]  # the last k iterates, most recent first
    assert ht_opponents({"b": "pb", "a": "pa", "c": "pc"}, "b") == ["pa", "pc"]  # everyone but me
    assert opponents_for(OpponentSettings(), history=["ref"]) == []
    with pytest.raises(UserError, match="INPO plays exactly one opponent"):
        validate_recipes(TrainConfig(methods=["inpo"], overrides={"inpo": {"opponents": {"k": 2}}}))

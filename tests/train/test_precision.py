"""Precision: MNPO's first-step loss is its analytic value under every mixed precision offered on this
machine, fp16 on a CPU is refused, checkpoints keep the dtype they came in, YAML booleans are read."""

from __future__ import annotations

import json

import pytest
import torch

from mnpo_bench.errors import UserError
from mnpo_bench.train.offline import train_offline
from mnpo_bench.train.recipes import load_recipe
from tests.train.conftest import arithmetic_pairs

ONE_STEP = {"optim": {"epochs": 1, "batch_size": 16}, "max_length": 64}


@pytest.fixture(autouse=True)
def _fresh_accelerator_state():
    """accelerate keeps one AcceleratorState per process, fixed by the first Accelerator's precision."""
    from accelerate.state import AcceleratorState

    AcceleratorState._reset_state(reset_partial_state=True)
    yield
    AcceleratorState._reset_state(reset_partial_state=True)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    path = tmp_path_factory.mktemp("prefs") / "prefs.parquet"
    arithmetic_pairs(16).to_parquet(path)
    return str(path)


@pytest.mark.parametrize("precision", ["no", "bf16", "auto"])  # auto is none on a CPU; fp16 is refused here (below)
def test_mnpo_first_step_loss_is_analytic(tmp_path, small_policy, data, precision):
    # At step 0 the policy is the reference and (t = 1) the only opponent, so every log-ratio is 0 and
    # the MNPO loss per pair is (0 - 1/(2 eta))^2, provided precompute scored under the training precision.
    eta = load_recipe("mnpo").loss.beta  # MNPO's η
    train_offline("mnpo", data, model=small_policy, out=tmp_path, overrides={**ONE_STEP, "mixed_precision": precision},
                  device="cpu")
    first = json.loads((tmp_path / "mnpo" / "metrics.jsonl").read_text().splitlines()[0])
    assert first["loss"] == pytest.approx((1 / (2 * eta)) ** 2, rel=1e-6)


def test_fp16_on_a_cpu_is_refused_with_one_line(tmp_path, small_policy, data):
    with pytest.raises(UserError) as caught:
        train_offline("mnpo", data, model=small_policy, out=tmp_path, overrides={**ONE_STEP, "mixed_precision": "fp16"},
                      device="cpu")
    line = caught.value.line()
    assert "\n" not in line and line.startswith("mixed_precision: fp16") and "bf16" in line


def test_a_bf16_checkpoint_is_saved_in_bf16_and_its_config_says_so(tmp_path, small_policy, data):
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM, AutoTokenizer

    start = tmp_path / "bf16"
    AutoModelForCausalLM.from_pretrained(small_policy, dtype=torch.bfloat16).save_pretrained(start)
    AutoTokenizer.from_pretrained(small_policy).save_pretrained(start)
    saved = train_offline("mnpo", data, model=str(start), out=tmp_path / "out", overrides=ONE_STEP, device="cpu")
    out = tmp_path / "out" / "mnpo" / "iter1"
    assert list(saved.values()) == [str(out)]
    assert {t.dtype for t in load_file(out / "model.safetensors").values()} == {torch.bfloat16}
    assert json.loads((out / "config.json").read_text())["dtype"] == "bfloat16"


def test_yaml_booleans_for_no_and_on_are_read_as_the_words():
    recipe = load_recipe("mnpo", overrides={"mixed_precision": False, "gradient_checkpointing": True})
    assert (recipe.mixed_precision, recipe.gradient_checkpointing) == ("no", "on")
    assert load_recipe("mnpo", overrides={"gradient_checkpointing": False}).gradient_checkpointing == "off"

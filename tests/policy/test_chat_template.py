"""A checkpoint without a chat template is refused with the fix, never given the tiny model's template; loading
a policy leaves transformers' progress bars as the process had them."""

from __future__ import annotations

from pathlib import Path

import pytest
from transformers.utils import logging as hf_logging

from mnpo_bench.cli import main
from mnpo_bench.errors import UserError
from mnpo_bench.policy.load import load_policy
from tests.bench.tiny_models import build_model, build_tokenizer


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """Two real save_pretrained checkpoints of a tiny Llama: one with a chat template, one without."""
    root = tmp_path_factory.mktemp("chat")
    tokenizer = build_tokenizer(["Say one.", "one", "Say two.", "two"], vocab_size=300)
    model = build_model(tokenizer)
    model.save_pretrained(root / "with")
    tokenizer.save_pretrained(root / "with")
    model.save_pretrained(root / "without")
    tokenizer.chat_template = None
    tokenizer.save_pretrained(root / "without")
    return root


def test_a_model_without_a_chat_template_is_an_error_naming_the_fix(checkpoints):
    with pytest.raises(UserError, match="has no chat template") as caught:
        load_policy(str(checkpoints / "without"), device="cpu")
    assert "tokenizer.chat_template" in caught.value.line() and "save_pretrained" in caught.value.line()
    _, tokenizer = load_policy(str(checkpoints / "with"), device="cpu")
    assert tokenizer.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False)


def test_run_refuses_it_before_any_work(checkpoints, tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["run", "--set", f"policy.model={checkpoints / 'without'}", "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "policy.model" in err[0] and "no chat template" in err[0], err
    assert not out.exists()


def test_loading_a_policy_leaves_transformers_progress_bars_on(checkpoints):
    hf_logging.enable_progress_bar()
    load_policy(str(checkpoints / "with"), device="cpu")
    assert hf_logging.is_progress_bar_enabled()  # it was disabled for the whole process once
    hf_logging.disable_progress_bar()
    load_policy(str(checkpoints / "with"), device="cpu")
    assert not hf_logging.is_progress_bar_enabled()  # and a user's own choice is kept too
    hf_logging.enable_progress_bar()


CHATML = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
          "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


@pytest.mark.parametrize("value, says", [
    ("{% for m in messages %}{{ m.content }", "not a valid Jinja template"),
    ("no/such/template.jinja", "neither a Jinja template"),
    (".", "it is a directory"),
])
def test_a_bad_policy_chat_template_is_one_line_before_any_work(value, says, tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["run", "--set", f"policy.chat_template={value}", "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "policy.chat_template" in err[0] and says in err[0], err
    assert not out.exists()


def test_a_template_that_does_not_render_is_refused_by_validate(checkpoints, capsys):
    code = main(["validate", "--set", f"policy.model={checkpoints / 'without'}",
                 "--set", "policy.chat_template={{ raise_exception('no system turns') }}"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "policy.chat_template" in err[0] and "no system turns" in err[0], err


def test_policy_chat_template_gives_the_reference_that_template(checkpoints, tmp_path, capsys):
    """A template file makes validate pass for a checkpoint without one; the policy stage writes the reference
    inside the run with that template (weights hard-linked, the source checkpoint untouched), and loading it
    renders prompts in that format."""
    from mnpo_bench.config import load_config
    from mnpo_bench.pipeline import open_run
    from mnpo_bench.policy.stage import policy_stage, reference_path

    template_file = tmp_path / "chatml.jinja"
    template_file.write_text(CHATML, encoding="utf-8")
    source = checkpoints / "without"
    before = {p.name: p.read_bytes() for p in source.iterdir() if p.is_file()}
    overrides = [f"policy.model={source}", f"policy.chat_template={template_file}"]
    assert main(["validate", *sum((["--set", o] for o in overrides), [])]) == 0
    ctx = open_run(load_config(None, overrides), tmp_path / "run", quiet=True)
    policy_stage(ctx)
    ctx.store.unlock()
    location = reference_path(ctx.store)
    assert location == str((tmp_path / "run" / "policy" / "reference").resolve())
    _, tokenizer = load_policy(location, device="cpu")
    rendered = tokenizer.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False,
                                             add_generation_prompt=True)
    assert rendered == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
    weights = "model.safetensors"
    assert (Path(location) / weights).stat().st_ino == (source / weights).stat().st_ino  # linked, not copied
    assert {p.name: p.read_bytes() for p in source.iterdir() if p.is_file()} == before
    with pytest.raises(UserError, match="has no chat template"):
        load_policy(str(source), device="cpu")  # the setting never changes the checkpoint itself


def test_quiet_training_prints_no_transformers_bars(tmp_path, capfd):
    """Saving a trained policy inside our calls shows none of transformers' bars ("Writing model shards")."""
    from mnpo_bench.train.loop import TrainJob, run_recipe
    from mnpo_bench.train.precompute import add_logps
    from mnpo_bench.train.recipes import load_recipe
    from tests.train.conftest import arithmetic_pairs, build_small_policy

    hf_logging.enable_progress_bar()
    policy = build_small_policy(tmp_path / "policy")
    pairs = add_logps(arithmetic_pairs(4), policy, [policy], max_length=48)
    recipe = load_recipe("dpo", overrides={"optim": {"epochs": 1, "batch_size": 4, "grad_accum": 1}, "max_length": 48})
    capfd.readouterr()
    run_recipe(TrainJob(recipe, policy, pairs, tmp_path / "out", tmp_path / "state", tmp_path / "m.jsonl", "dpo"))
    captured = capfd.readouterr()
    assert (tmp_path / "out" / "model.safetensors").exists()
    assert "Writing model shards" not in captured.err and "Loading weights" not in captured.err, captured.err[-500:]
    assert hf_logging.is_progress_bar_enabled()

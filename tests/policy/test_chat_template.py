"""A checkpoint without a chat template is refused with the fix, never given the tiny model's template; loading
a policy leaves transformers' progress bars as the process had them."""

from __future__ import annotations

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

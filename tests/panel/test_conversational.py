"""TRL's DPOTrainer on our conversational preference export: it renders the prompt through the policy's chat
template, so it trains on the tokens our policy sees (the plain export gives it bare text instead)."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest
import torch

from mnpo_bench.panel.conversational import conversational_preferences
from mnpo_bench.policy.chat import encode_prompt
from tests.train.conftest import arithmetic_pairs, build_small_policy


@pytest.fixture(scope="module")
def small_policy(tmp_path_factory) -> str:
    return build_small_policy(tmp_path_factory.mktemp("policy"))


def _dpo(policy: str, data: pd.DataFrame, out):
    """A TRL DPOTrainer over `data` read back from parquet, trained 2 steps; returns (trainer, tokenizer)."""
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import DPOConfig, DPOTrainer

    path = out / "prefs.parquet"
    data.to_parquet(path, index=False)
    dataset = Dataset.from_parquet(str(path)).select_columns(["prompt", "chosen", "rejected"])
    tokenizer = AutoTokenizer.from_pretrained(policy)
    model = AutoModelForCausalLM.from_pretrained(policy, dtype=torch.float32)
    args = DPOConfig(output_dir=str(out / "trl"), per_device_train_batch_size=4, max_steps=2, max_length=64,
                     bf16=False, report_to="none", save_strategy="no", disable_tqdm=True, learning_rate=1e-2,
                     dataloader_num_workers=0, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer = DPOTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer)
        before = [p.detach().clone() for p in model.parameters()]
        trainer.train()
    assert any(not torch.equal(b, a) for b, a in zip(before, model.parameters()))  # it trained
    return trainer, tokenizer


def test_trl_tokenises_the_conversational_export_with_the_chat_template(small_policy, tmp_path):
    plain = arithmetic_pairs(8)
    trainer, tokenizer = _dpo(small_policy, conversational_preferences(plain), tmp_path)
    row = trainer.train_dataset[0]
    ids = list(row["prompt_ids"])  # TRL's tokenised prompt
    text = tokenizer.decode(ids)
    assert "<|user|>" in text and "<|assistant|>" in text  # the template's role markers
    ours = encode_prompt(tokenizer, plain["prompt"].iloc[0])  # what our policy is given at sampling time
    assert ids[: len(ours)] == ours


def test_the_plain_export_reaches_trl_without_the_template(small_policy, tmp_path):
    """Why the conversational form exists: plain strings are tokenised as bare text."""
    trainer, tokenizer = _dpo(small_policy, arithmetic_pairs(8), tmp_path)
    row = trainer.train_dataset[0]
    ids = list(row["prompt_ids"])  # TRL's tokenised prompt
    assert "<|user|>" not in tokenizer.decode(ids)

"""The tiny default policy: a real HF checkpoint whose samples differ in length, format and correctness."""

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from mnpo_bench.generation.config import GenerationConfig
from mnpo_bench.prompts.config import PromptsConfig
from mnpo_bench.generation import generate
from mnpo_bench.prompts.load import load_prompts

pytestmark = pytest.mark.slow


def test_checkpoint_loads_with_plain_transformers(tiny_policy):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_policy)
    model = AutoModelForCausalLM.from_pretrained(tiny_policy)
    assert model.config.model_type == "llama"
    rendered = tokenizer.apply_chat_template([{"role": "user", "content": "What is 2 + 2?"}], tokenize=False,
                                             add_generation_prompt=True)
    assert rendered == "<|user|>\nWhat is 2 + 2?<|end|>\n<|assistant|>\n"
    info = json.loads((Path(tiny_policy) / "mnpo_bench_tiny.json").read_text())
    assert info["sft_loss_last"] < info["sft_loss_first"] / 3  # SFT actually learned the corpus


@pytest.fixture(scope="module")
def samples(tiny_policy) -> pd.DataFrame:
    prompts = load_prompts(PromptsConfig(n_train=40, n_eval=1), seed=3)
    frame = generate(tiny_policy, prompts[prompts.split == "train"], GenerationConfig(n_samples=4),
                     policy_name="reference", seed=0)
    return frame.merge(prompts, on="prompt_id")


def test_samples_vary_in_length(samples):
    spread = samples.groupby("prompt_id")["n_tokens"].agg(lambda s: s.max() - s.min())
    assert (spread >= 4).mean() > 0.5, "most prompts should get both short and long answers"


def test_samples_vary_in_format(samples):
    lists = samples[samples.family == "listing"]
    formats = {
        "numbered": lists.text.str.contains(r"^\s*1\. ", regex=True, flags=re.M).sum(),
        "bullets": lists.text.str.contains(r"^\s*- ", regex=True, flags=re.M).sum(),
        "comma": lists.text.str.contains(",").sum(),
    }
    assert all(count > 0 for count in formats.values()), formats
    hedged = samples.text.str.contains("not sure|could be wrong|I think|Maybe|Probably").sum()
    chatty = samples.text.str.contains("hope this helps|Sure!|Of course|Happy to help|Great question").sum()
    assert hedged > 0 and chatty > 0


def test_samples_vary_in_correctness(samples):
    numeric = samples[samples.family.isin(["arithmetic", "counting"])]
    last_number = numeric.text.str.findall(r"-?\d+").str[-1]
    correct = last_number == numeric.gold
    assert 0.1 < correct.mean() < 0.9, f"correct share {correct.mean():.2f}"
    mixed = numeric.assign(correct=correct).groupby("prompt_id")["correct"].nunique()
    assert (mixed == 2).any(), "some prompt should get both right and wrong answers"

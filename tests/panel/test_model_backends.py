"""reward_model and lm_judge backends on tiny random Llama models built here (nothing downloaded), checked
against a direct computation with the same model."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from mnpo_bench.errors import UserError
from mnpo_bench.panel.backends import Comparison, get_backend
from mnpo_bench.panel.config import PanelConfig
from mnpo_bench.panel.judge import run_panel
from mnpo_bench.panel.personas import Panel, load_persona, validate_panel
from mnpo_bench.policy.chat import TINY_CHAT_TEMPLATE
from mnpo_bench.progress import Progress
from tests.panel.conftest import write_yaml

pytestmark = pytest.mark.slow
ITEMS = [Comparison("What is 3 + 4?", "7", "The answer is 8, I think."),
         Comparison("List 2 fruits.", "apple, pear", "1. apple\n2. pear\n3. plum"),
         Comparison("Is snow cold?", "Yes.", "No, it is not.")]


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A BPE tokenizer trained on a few sentences and two random tiny Llamas (reward head, causal LM)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, LlamaForSequenceClassification, PreTrainedTokenizerFast

    root = tmp_path_factory.mktemp("tiny-judges")
    core = Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    specials = ["<|end|>", "<|pad|>", "<|user|>", "<|assistant|>"]
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=specials, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    core.train_from_iterator([f"{i.prompt} {i.first} {i.second} Response A B better" for i in ITEMS] * 5, trainer)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=core, eos_token="<|end|>", pad_token="<|pad|>")
    tokenizer.chat_template = TINY_CHAT_TEMPLATE
    config = dict(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                  num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=512,
                  pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id, bos_token_id=None)
    torch.manual_seed(0)
    paths = {}
    for name, cls, extra in (("reward", LlamaForSequenceClassification, {"num_labels": 1}),
                             ("causal", LlamaForCausalLM, {})):
        model = cls(LlamaConfig(**config, **extra))
        paths[name] = root / name
        model.save_pretrained(paths[name])
        tokenizer.save_pretrained(paths[name])
    return paths


def persona(tmp_path: Path, base: str, model: Path, **params):
    extra = "".join(f", {k}: {v}" for k, v in params.items())
    return load_persona(write_yaml(tmp_path / f"{base}-tiny.yaml",
                                   f"name: {base}-tiny\ninclude: {base}\nparams: {{model: '{model}'{extra}}}\n"))


def test_reward_model_is_bradley_terry_on_the_model_scores(tiny_models, tmp_path: Path):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    judge = persona(tmp_path, "reward-model", tiny_models["reward"], input_format="chat", batch_size=4)
    verdicts = get_backend(judge, "cpu").judge(ITEMS)
    model = AutoModelForSequenceClassification.from_pretrained(tiny_models["reward"]).eval()
    tokenizer = AutoTokenizer.from_pretrained(tiny_models["reward"])

    def reward(prompt: str, response: str) -> float:  # one text at a time: no padding involved
        text = tokenizer.apply_chat_template([{"role": "user", "content": prompt},
                                              {"role": "assistant", "content": response}], tokenize=False)
        with torch.no_grad():
            return model(**tokenizer(text, add_special_tokens=False, return_tensors="pt")).logits[0, 0].item()

    for item, verdict in zip(ITEMS, verdicts):
        expected = 1 / (1 + math.exp(-(reward(item.prompt, item.first) - reward(item.prompt, item.second))))
        assert verdict.prob_first == pytest.approx(expected, abs=1e-5)
    assert len({round(v.prob_first, 6) for v in verdicts}) == 3  # a real, untrained model: not all 0.5


def test_lm_judge_reads_the_two_choice_logits(tiny_models, tmp_path: Path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    judge = persona(tmp_path, "lm-judge", tiny_models["causal"], batch_size=3)
    backend = get_backend(judge, "cpu")
    verdicts = backend.judge(ITEMS)  # one left-padded batch
    model = AutoModelForCausalLM.from_pretrained(tiny_models["causal"]).eval()
    tokenizer = AutoTokenizer.from_pretrained(tiny_models["causal"])
    a, b = (tokenizer(c, add_special_tokens=False)["input_ids"][0] for c in ("A", "B"))
    for item, verdict in zip(ITEMS, verdicts):
        ids = tokenizer(backend.render(item), add_special_tokens=False, return_tensors="pt")["input_ids"]
        assert "Which response" in backend.render(item) and item.second in backend.render(item)
        with torch.no_grad():
            logits = model(ids).logits[0, -1]
        assert verdict.prob_first == pytest.approx(torch.softmax(logits[[a, b]], -1)[0].item(), abs=1e-5)


def test_model_judges_run_in_a_panel(tiny_models, tmp_path: Path, probe):
    reward = persona(tmp_path, "reward-model", tiny_models["reward"], input_format="text")
    lm = persona(tmp_path, "lm-judge", tiny_models["causal"])
    pairs = probe[2].head(6)
    panel = Panel("m", "mean", ((reward, 1.0), (lm, 1.0)), weights={reward.name: 1.0, lm.name: 1.0})
    judgments, stats = run_panel(pairs, panel, PanelConfig(device="cpu"), seed=0, progress=Progress(quiet=True))
    assert len(judgments) == 24 and judgments["error"].isna().all()
    rm = judgments[judgments["persona"] == reward.name].pivot_table(index="response_b_id", columns="order", values="prob_a")
    assert (rm["ab"] - rm["ba"]).abs().max() < 1e-5  # a reward model has no position bias
    config = tiny_models["reward"] / "config.json"
    config.write_text(config.read_text() + "\n")  # "retrained": other bytes at the same path (a copy is the same)
    assert persona(tmp_path, "reward-model", tiny_models["reward"], input_format="text").hash != reward.hash


def test_missing_model_is_a_user_error(tmp_path: Path):
    panel = write_yaml(tmp_path / "p.yaml", "name: p\ndescription: d\npersonas: [correctness, reward-tiny]\n")
    write_yaml(tmp_path / "reward-tiny.yaml", "name: reward-tiny\ninclude: reward-model\nparams: {model: ./no/such/model}\n")
    with pytest.raises(UserError, match="reward-tiny.yaml: params.model: model './no/such/model' not found"):
        validate_panel(PanelConfig(preset=str(panel)))

"""Tiny Llama policies built locally for the bench tests (nothing downloaded).

`build_tokenizer` trains a byte-level BPE on the built-in task texts; `build_model` makes a 2-layer
Llama; `teach` fine-tunes it on (question, answer) dialogues so that it knows those answers.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

from mnpo_bench.bench.local_tasks import TASKS_DIR
from mnpo_bench.policy.chat import END_TOKEN, TINY_CHAT_TEMPLATE, encode_dialogue

SPECIALS = ["<pad>", END_TOKEN, "<|user|>", "<|assistant|>", "<|system|>"]


def task_dialogues() -> list[tuple[str, str]]:
    """(question, right answer) for every document of the built-in tasks."""
    pairs = []
    for path in sorted(TASKS_DIR.glob("*.jsonl")):
        for line in path.read_text().splitlines():
            doc = json.loads(line)
            answer = doc["choices"][doc["answer"]] if "choices" in doc else doc["answer"]
            pairs.append((doc["question"], str(answer)))
    return pairs


def build_tokenizer(texts: list[str], vocab_size: int = 400) -> PreTrainedTokenizerFast:
    """A byte-level BPE tokenizer trained on `texts`, with the tiny chat template."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIALS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(texts, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token=END_TOKEN, pad_token="<pad>")
    fast.chat_template = TINY_CHAT_TEMPLATE
    return fast


def build_model(tokenizer: PreTrainedTokenizerFast, seed: int = 0) -> LlamaForCausalLM:
    """A randomly initialised 2-layer Llama sized for `tokenizer` (about 0.1M parameters)."""
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=128,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, bos_token_id=None,
    )
    return LlamaForCausalLM(config)


def teach(model: LlamaForCausalLM, tokenizer, pairs: list[tuple[str, str]], steps: int = 90, lr: float = 3e-3) -> float:
    """Fine-tune `model` on `pairs` (loss on the answer tokens only); returns the final loss (nats/token)."""
    rows = [encode_dialogue(tokenizer, q, a, max_length=64) for q, a in pairs]
    width = max(len(ids) for ids, _ in rows)
    input_ids = torch.full((len(rows), width), tokenizer.pad_token_id)  # (N, T)
    labels = torch.full((len(rows), width), -100)  # (N, T)
    mask = torch.zeros((len(rows), width), dtype=torch.long)  # (N, T)
    for i, (ids, n_prompt) in enumerate(rows):
        input_ids[i, : len(ids)] = torch.tensor(ids)
        labels[i, n_prompt: len(ids)] = torch.tensor(ids[n_prompt:])
        mask[i, : len(ids)] = 1
    optimiser = torch.optim.AdamW(model.parameters(), lr=lr)
    model.train()
    loss = torch.tensor(float("nan"))
    for _ in range(steps):
        loss = model(input_ids=input_ids, attention_mask=mask, labels=labels).loss
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    model.eval()
    return float(loss.detach())


def save(model, tokenizer, path: Path) -> Path:
    """Save `model` and `tokenizer` as a Hugging Face checkpoint in `path`; returns `path`."""
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path

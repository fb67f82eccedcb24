"""The embedded default policy: a tiny Llama with its own BPE tokenizer, SFT'd on the built-in corpus.

`build_tiny(config)` returns a directory that any Hugging Face tool loads (`save_pretrained` format, chat
template set on the tokenizer). It is built once per config and cached under
`cache_dir()/tiny/<hash>`; the build writes to a temp directory and renames it, under a file lock, so a
killed or concurrent build never leaves a half-written model that a later run would trust.
"""

from __future__ import annotations

import fcntl
import json
import math
import time
from pathlib import Path

import torch

from mnpo_bench.policy.config import TinyModelConfig
from mnpo_bench.paths import cache_dir
from mnpo_bench.policy.chat import END_TOKEN, TINY_CHAT_TEMPLATE, encode_dialogue
from mnpo_bench.policy.corpus import CORPUS_VERSION, build_corpus
from mnpo_bench.progress import Progress, hf_progress_hidden
from mnpo_bench.store import atomic_dir, stable_hash
from mnpo_bench.threads import tiny_threads, torch_threads

SPECIAL_TOKENS = [END_TOKEN, "<|pad|>", "<|user|>", "<|assistant|>", "<|system|>"]


def tiny_model_dir(config: TinyModelConfig) -> Path:
    """Where the tiny model for `config` is cached (whether or not it is built yet)."""
    # The corpus sample makes the key follow any change of the corpus code, even without a version bump.
    key = stable_hash(config.model_dump(mode="json"), CORPUS_VERSION, TINY_CHAT_TEMPLATE, build_corpus(64, 0))
    return cache_dir() / "tiny" / key


def build_tiny(config: TinyModelConfig, progress: Progress | None = None) -> Path:
    """The directory of the tiny model for `config`, built (tokenizer, weights, SFT) if not cached."""
    progress = progress or Progress(quiet=True)
    target = tiny_model_dir(config)
    if (target / "config.json").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f"{target.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be building the same model
        if (target / "config.json").exists():
            return target
        progress.note(f"building the tiny default policy (first use; cached at {target})")
        with atomic_dir(target) as scratch:
            _build_into(scratch, config, progress)
    return target


def train_tokenizer(texts: list[str], vocab_size: int):
    """A byte-level BPE tokenizer trained on `texts`, wrapped for transformers, with the chat template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False,
    )
    core.train_from_iterator(texts, trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core, eos_token=END_TOKEN, pad_token="<|pad|>",
        additional_special_tokens=SPECIAL_TOKENS[2:], model_max_length=1024,
    )
    tokenizer.chat_template = TINY_CHAT_TEMPLATE
    return tokenizer


@hf_progress_hidden
def _build_into(directory: Path, config: TinyModelConfig, progress: Progress) -> None:
    from transformers import LlamaConfig, LlamaForCausalLM


    started = time.time()
    corpus = build_corpus(config.corpus_size, config.seed)
    tokenizer = train_tokenizer([f"{d['prompt']}\n{d['response']}" for d in corpus], config.vocab_size)
    torch.manual_seed(config.seed)
    model = LlamaForCausalLM(LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=config.hidden_size, intermediate_size=config.hidden_size * 2,
        num_hidden_layers=config.num_layers, num_attention_heads=config.num_heads,
        num_key_value_heads=config.num_heads, max_position_embeddings=config.max_length,
        tie_word_embeddings=True, bos_token_id=None, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    ))
    encoded = [encode_dialogue(tokenizer, d["prompt"], d["response"], config.max_length) for d in corpus]
    # The cache key does not hold the thread count, so the build only uses counts that give the same weights
    # (1 or 2; 3 threads moved them by 2.6e-7): two, 1.5x faster, when a core is free (mnpo_bench/threads.py).
    threads = tiny_threads()
    with torch_threads(threads):
        losses = _sft(model, encoded, tokenizer.pad_token_id, config, progress)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    (directory / "mnpo_bench_tiny.json").write_text(json.dumps({
        "config": config.model_dump(mode="json"), "corpus_version": CORPUS_VERSION,
        "parameters": sum(p.numel() for p in model.parameters()),
        "sft_loss_first": losses[0], "sft_loss_last": losses[-1], "sft_threads": threads,
        "build_seconds": round(time.time() - started, 1),
    }, indent=2))


def _sft(model, encoded: list[tuple[list[int], int]], pad_id: int, config: TinyModelConfig,
         progress: Progress) -> list[float]:
    """Supervised fine-tuning on the responses (prompt tokens masked); returns the loss per step."""
    generator = torch.Generator().manual_seed(config.seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.sft_lr, weight_decay=0.01)
    warmup = max(1, config.sft_steps // 20)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (
        1 + math.cos(math.pi * min(1.0, s / config.sft_steps))))
    model.train()
    losses = []
    for _ in progress.track(range(config.sft_steps), "SFT tiny policy"):
        batch = torch.randint(len(encoded), (config.sft_batch_size,), generator=generator).tolist()
        rows = [encoded[i] for i in batch]
        width = max(len(ids) for ids, _ in rows)
        input_ids = torch.full((len(rows), width), pad_id)  # (B, T)
        labels = torch.full((len(rows), width), -100)  # (B, T), -100 = not scored
        attention = torch.zeros((len(rows), width), dtype=torch.long)
        for r, (ids, n_prompt) in enumerate(rows):
            input_ids[r, : len(ids)] = torch.tensor(ids)
            labels[r, n_prompt: len(ids)] = torch.tensor(ids[n_prompt:])
            attention[r, : len(ids)] = 1
        loss = model(input_ids=input_ids, attention_mask=attention, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(round(loss.item(), 4))
    model.eval()
    return losses

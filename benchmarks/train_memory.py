"""Peak memory and time of one training step as the vocabulary V and the sequence length T grow: our MNPO step
against TRL 1.16's DPO step at its fastest, on the same model, batch and sequences.

  ours  mnpo_bench.train.loop.PreferenceRecipe, MNPO with two opponents; the reference's and the opponents'
        log-probs precomputed (untimed; its peak is reported too), so a step runs the policy only;
  trl   trl.DPOTrainer with precompute_ref_log_probs=True and gradient checkpointing off (its fastest), fp32.

Model: a random-init Llama (hidden 128, intermediate 512, 2 layers, 4 heads, untied head of V entries), built
here and saved once per V, nothing downloaded. Tokenizer: one word per token ("w17" -> one id), so every
sequence is exactly T tokens: a prompt of T/2 tokens (T/2 - 3 words in our chat template, whose rendered text
TRL gets as its prompt) and responses of T words, cut to T tokens, so T/2 scored tokens per sequence for both. 2 pairs per step (4 sequences), fp32, CPU, `--threads` threads.

Method: each (side, V, T) runs in a fresh subprocess: build the trainer, run one warm-up step (optimiser state
allocated), then `--steps` measured steps. Before each measured step the process's peak resident set (VmHWM)
is reset to its current RSS by writing 5 to /proc/self/clear_refs (Linux >= 4.0); after the step, VmHWM minus
that pre-step RSS is the step's peak memory above the pre-step resident set, exact (the kernel tracks it; no
sampling can miss a short peak). Workers run with MALLOC_MMAP_THRESHOLD_=131072 so glibc returns freed
blocks to the OS instead of keeping them in its heap, where they would hide later peaks from RSS. TRL's step
is timed by its on_step_begin/on_step_end callbacks, ours around forward, backward and optimiser step, both
in wall seconds and in the process's CPU seconds (user + system); with one thread the CPU seconds are the wall
time of a quiet machine, and the time ratio uses them because other processes' load inflates wall time and
the two sides of a configuration run at different moments (the wall-time ratio is reported too).
Configurations run one after another (never in parallel) and ours/TRL alternate order to spread load bursts.

The last line printed is one JSON object with peak_ratio_vs_trl_at_128k_2048 (target <= 0.8),
time_ratio_vs_trl_at_128k_2048 (target <= 0.5) and our_peak_growth_128k_1024_to_2048 (target < 1.3).

    python benchmarks/train_memory.py [--vocabs 8192,32768,131072] [--lengths 256,1024,2048] [--steps 2]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

GIB = 2**30
SPECIALS = ["[PAD]", "[EOS]", "[UNK]", "<|user|>", "<|assistant|>", "<|end|>"]


class StepPeak:
    """Context measuring the peak resident set above the RSS at entry (bytes), and the wall and CPU seconds inside
    (CPU: this process's user + system time, which other processes' load does not inflate)."""

    def __enter__(self) -> "StepPeak":
        gc.collect()
        Path("/proc/self/clear_refs").write_text("5")  # VmHWM := current RSS
        self.before = _status("VmRSS")
        self.tick, self.cpu_tick = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds, self.cpu_seconds = time.perf_counter() - self.tick, time.process_time() - self.cpu_tick
        self.peak = _status("VmHWM") - self.before


def _status(field: str) -> int:
    """A field of /proc/self/status in bytes (VmRSS: resident now, VmHWM: peak since the last reset)."""
    return int(re.search(rf"{field}:\s+(\d+) kB", Path("/proc/self/status").read_text()).group(1)) * 1024


def build_model(directory: Path, vocab: int, length: int) -> None:
    """A random-init Llama (hidden 128, 2 layers, V = `vocab`) and a one-word-per-token tokenizer, saved."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    words = SPECIALS + [f"w{i}" for i in range(vocab - len(SPECIALS))]
    core = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="[UNK]"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=core, pad_token="[PAD]", eos_token="[EOS]", unk_token="[UNK]")
    tokenizer.add_tokens(SPECIALS[3:], special_tokens=True)  # the chat template's markers split out of words
    assert len(tokenizer) == vocab
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(
        vocab_size=vocab, hidden_size=128, intermediate_size=512, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=4, max_position_embeddings=max(4096, length), tie_word_embeddings=False,
        bos_token_id=None, eos_token_id=1, pad_token_id=0))
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)


def make_pairs(n: int, vocab: int, length: int):
    """`n` pairs of random words: a prompt of T/2 - 3 words (T/2 tokens with the chat template's 3 markers),
    responses of T words (cut to T tokens)."""
    import pandas as pd

    rng = random.Random(0)
    text = lambda k: " ".join(f"w{rng.randrange(vocab - len(SPECIALS))}" for _ in range(k))  # noqa: E731
    return pd.DataFrame([{"prompt_id": f"p{i}", "prompt": text(length // 2 - 3), "chosen": " " + text(length),
                          "rejected": " " + text(length), "prob": 0.8} for i in range(n)])


def run_ours(model_dir: str, vocab: int, length: int, steps: int, work: Path) -> dict:
    """Peaks (bytes) and seconds of `steps` optimiser steps of our MNPO recipe after one warm-up step."""
    from mnpo_bench.train.loop import PreferenceRecipe, TrainJob
    from mnpo_bench.train.precompute import add_logps
    from mnpo_bench.train.recipes import load_recipe

    pairs = make_pairs(2 * (steps + 1), vocab, length)
    with StepPeak() as pre:
        scored = add_logps(pairs, model_dir, [model_dir, model_dir], max_length=length, batch_size=2, device="cpu")
    recipe = load_recipe("mnpo", overrides={"optim": {"batch_size": 2, "epochs": 1, "lr": 1e-6},
                                            "max_length": length, "opponents": {"k": 2}})
    run = PreferenceRecipe(TrainJob(recipe, model_dir, scored, work / "out", work / "state", work / "metrics.jsonl",
                                    "mnpo", device="cpu"))
    run.setup()
    batches = [run._collate(run.items[i: i + 2]) for i in range(0, len(run.items), 2)]
    scored_tokens = int(batches[0]["response_mask"][:, 1:].sum())
    peaks, seconds, cpu = [], [], []
    for n, batch in enumerate(batches):
        with StepPeak() as step:
            with run.accelerator.accumulate(run.model):
                loss, stats = run._forward(batch)
                run.accelerator.backward(loss)
                run._optimizer_step([stats], 0.0)
        if n:  # the first step is the warm-up
            peaks.append(step.peak)
            seconds.append(step.seconds)
            cpu.append(step.cpu_seconds)
    return {"peaks": peaks, "seconds": seconds, "cpu_seconds": cpu, "scored_tokens": scored_tokens, "precompute_peak": pre.peak}


def run_trl(model_dir: str, vocab: int, length: int, steps: int, work: Path) -> dict:
    """Peaks (bytes) and seconds of `steps` DPOTrainer steps (precomputed reference, no checkpointing)
    after one warm-up step."""
    import torch
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
    from trl import DPOConfig, DPOTrainer

    from mnpo_bench.policy.chat import ensure_chat_template, render_prompt

    class Measure(TrainerCallback):
        def __init__(self):
            self.peaks, self.seconds, self.cpu_seconds, self.current = [], [], [], None

        def on_step_begin(self, args, state, control, **kwargs):
            self.current = StepPeak().__enter__()

        def on_step_end(self, args, state, control, **kwargs):
            self.current.__exit__()
            if state.global_step > 1:  # the first step is the warm-up
                self.peaks.append(self.current.peak)
                self.seconds.append(self.current.seconds)
                self.cpu_seconds.append(self.current.cpu_seconds)

    tokenizer = ensure_chat_template(AutoTokenizer.from_pretrained(model_dir))
    pairs = make_pairs(2 * (steps + 1), vocab, length)
    pairs["prompt"] = [render_prompt(tokenizer, p) for p in pairs["prompt"]]  # the very tokens ours scores
    args = DPOConfig(output_dir=str(work / "trl"), per_device_train_batch_size=2, max_length=length, bf16=False,
                     max_steps=steps + 1, learning_rate=1e-6, precompute_ref_log_probs=True,
                     gradient_checkpointing=False, report_to="none", save_strategy="no", logging_steps=10_000,
                     disable_tqdm=True, dataloader_num_workers=0, seed=0)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    measure = Measure()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer = DPOTrainer(model=model, args=args, train_dataset=Dataset.from_pandas(pairs[["prompt", "chosen",
                             "rejected"]]), processing_class=tokenizer, callbacks=[measure])
        first = trainer.get_train_dataloader().__iter__().__next__()
        scored_tokens = int(first["completion_mask"][:, 1:].sum())
        trainer.train()
    return {"peaks": measure.peaks, "seconds": measure.seconds, "cpu_seconds": measure.cpu_seconds, "scored_tokens": scored_tokens}


def worker(side: str, model_dir: str, vocab: int, length: int, steps: int, threads: int) -> None:
    """One configuration in this (fresh) process; prints one JSON line."""
    import torch

    torch.set_num_threads(threads)
    work = Path(tempfile.mkdtemp(prefix=f"train_memory_{side}_"))
    try:
        result = (run_ours if side == "ours" else run_trl)(model_dir, vocab, length, steps, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps({"side": side, "vocab": vocab, "length": length, **result}))


def measure(side: str, model_dir: str, vocab: int, length: int, steps: int, threads: int) -> dict:
    """Run `worker` in a fresh subprocess; its JSON result."""
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "131072", "OMP_NUM_THREADS": str(threads)}
    cmd = [sys.executable, __file__, "--worker", side, "--model-dir", model_dir, "--vocabs", str(vocab),
           "--lengths", str(length), "--steps", str(steps), "--threads", str(threads)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"{side} V={vocab} T={length} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vocabs", default="8192,32768,131072")
    parser.add_argument("--lengths", default="256,1024,2048")
    parser.add_argument("--steps", type=int, default=2, help="measured steps per configuration (after one warm-up)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--worker", choices=["ours", "trl"], help=argparse.SUPPRESS)
    parser.add_argument("--model-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    vocabs, lengths = [int(v) for v in args.vocabs.split(",")], [int(t) for t in args.lengths.split(",")]
    if args.worker:
        return worker(args.worker, args.model_dir, vocabs[0], lengths[0], args.steps, args.threads)

    scratch = Path(tempfile.mkdtemp(prefix="train_memory_"))
    rows = []
    try:
        for vocab in vocabs:
            model_dir = scratch / f"v{vocab}"
            build_model(model_dir, vocab, max(lengths))
            for length in lengths:
                sides = ("ours", "trl") if len(rows) % 2 == 0 else ("trl", "ours")
                got = {s: measure(s, str(model_dir), vocab, length, args.steps, args.threads) for s in sides}
                ours, trl = got["ours"], got["trl"]
                row = {"vocab": vocab, "length": length, "scored_tokens": {"ours": ours["scored_tokens"],
                                                                           "trl": trl["scored_tokens"]},
                       "peak_gib": {"ours": max(ours["peaks"]) / GIB, "trl": max(trl["peaks"]) / GIB},
                       "seconds": {"ours": statistics.median(ours["seconds"]), "trl": statistics.median(trl["seconds"])},
                       "cpu_seconds": {s: statistics.median(got[s]["cpu_seconds"]) for s in ("ours", "trl")},
                       "ours_precompute_peak_gib": ours["precompute_peak"] / GIB}
                row["peak_ratio"] = row["peak_gib"]["ours"] / row["peak_gib"]["trl"]
                row["time_ratio"] = row["cpu_seconds"]["ours"] / row["cpu_seconds"]["trl"]
                row["wall_time_ratio"] = row["seconds"]["ours"] / row["seconds"]["trl"]
                rows.append(row)
                print(f"V={vocab:>6} T={length:>4}: peak ours {row['peak_gib']['ours']:.3f} GiB, trl "
                      f"{row['peak_gib']['trl']:.3f} GiB (ratio {row['peak_ratio']:.3f}); step CPU ours "
                      f"{row['cpu_seconds']['ours']:.2f} s, trl {row['cpu_seconds']['trl']:.2f} s (ratio "
                      f"{row['time_ratio']:.3f}; wall {row['wall_time_ratio']:.3f});"
                      f" precompute peak {row['ours_precompute_peak_gib']:.3f} GiB", flush=True)
            shutil.rmtree(model_dir, ignore_errors=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    at = {(r["vocab"], r["length"]): r for r in rows}

    def pick(vocab, length, key):
        return round(at[(vocab, length)][key], 3) if (vocab, length) in at else None

    def growth(side):
        if (131072, 1024) not in at or (131072, 2048) not in at:
            return None
        return round(at[(131072, 2048)]["peak_gib"][side] / at[(131072, 1024)]["peak_gib"][side], 3)

    print(json.dumps({
        "benchmark": "train_memory", "threads": args.threads, "measured_steps": args.steps, "pairs_per_step": 2,
        "memory": "peak RSS above pre-step RSS (VmHWM reset via /proc/self/clear_refs), GiB",
        "time": "time_ratio: CPU seconds (user + system, one thread) of one step, ours / TRL's; wall_time_ratio too",
        "configs": [{k: (round(v, 4) if isinstance(v, float) else
                         {a: round(b, 4) for a, b in v.items()} if isinstance(v, dict) else v) for k, v in r.items()}
                    for r in rows],
        "peak_ratio_vs_trl_at_128k_2048": pick(131072, 2048, "peak_ratio"),
        "time_ratio_vs_trl_at_128k_2048": pick(131072, 2048, "time_ratio"),
        "our_peak_growth_128k_1024_to_2048": growth("ours"), "trl_peak_growth_128k_1024_to_2048": growth("trl"),
        "targets": {"peak_ratio_vs_trl_at_128k_2048": 0.8, "time_ratio_vs_trl_at_128k_2048": 0.5,
                    "our_peak_growth_128k_1024_to_2048": 1.3},
    }))


if __name__ == "__main__":
    main()

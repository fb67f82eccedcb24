"""Time per optimiser step of our MNPO step against TRL's DPOTrainer and against a bare training step.

Same ~20M-parameter Llama (built locally, BPE tokenizer trained here, nothing downloaded), same batch of
preference pairs, every sequence 256 tokens, CPU, fp32:
  ours      mnpo_bench.train.loop.PreferenceRecipe, MNPO with two opponents whose log-probs (and the
            reference's) were precomputed, so a step runs the policy only (chosen + rejected in one pass);
  trl       trl.DPOTrainer with its defaults (sigmoid loss, reference model forward every step, gradient
            checkpointing on) except bf16, which TRL cannot use on a CPU without use_cpu, so fp32 like ours;
  trl_nogc  the same with gradient checkpointing off (ours does not checkpoint on CPU), a stricter baseline;
  bare      model(input_ids, labels).loss.backward() + AdamW step on the same 2B sequences.
Each method runs `--steps` timed steps (after one warm-up step) per round, rounds interleave the methods
in rotating order, and medians over all timed steps are reported (other processes share the cores).
The last line printed is one JSON object with ratio_vs_trl_dpo (target <= 0.75) and ratio_vs_bare_step
(target <= 1.15).

    python benchmarks/train_step.py [--rounds 3] [--steps 3] [--batch 2] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import tempfile
import time
import warnings
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pandas as pd  # noqa: E402
import torch  # noqa: E402

SEQ_LEN = 256
_letters = random.Random(1)
WORDS = ["".join(_letters.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(_letters.randint(3, 9)))
         for _ in range(6000)]  # a synthetic lexicon rich enough for an 8k BPE vocabulary


def build_model(directory: Path, vocab: int = 8192) -> int:
    """A 20M-parameter Llama and a BPE tokenizer saved to `directory`; returns the parameter count."""
    from transformers import LlamaConfig, LlamaForCausalLM

    from mnpo_bench.policy.tiny import train_tokenizer

    rng = random.Random(0)
    texts = [" ".join(rng.choice(WORDS) for _ in range(60)) for _ in range(4000)]
    tokenizer = train_tokenizer(texts, vocab_size=vocab)
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=384, intermediate_size=1024, num_hidden_layers=8,
        num_attention_heads=6, num_key_value_heads=6, max_position_embeddings=512, tie_word_embeddings=False,
        bos_token_id=None, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
    ))
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return sum(p.numel() for p in model.parameters())


def make_pairs(n: int, seed: int) -> pd.DataFrame:
    """`n` pairs: a ~125-token prompt and responses long enough that every sequence is cut to SEQ_LEN tokens
    (about half prompt, half response, for TRL and for ours alike)."""
    rng = random.Random(seed)
    text = lambda k: " ".join(rng.choice(WORDS) for _ in range(k))  # noqa: E731
    return pd.DataFrame([{"prompt_id": f"p{i}", "prompt": text(62), "chosen": text(200), "rejected": text(200),
                          "prob": 0.8} for i in range(n)])


def time_ours(model_dir: str, pairs: pd.DataFrame, batch: int, work: Path) -> list[float]:
    """Seconds per optimiser step of PreferenceRecipe (MNPO, two precomputed opponents), first step dropped."""
    from mnpo_bench.train.loop import PreferenceRecipe, TrainJob
    from mnpo_bench.train.recipes import load_recipe

    recipe = load_recipe("mnpo", overrides={"optim": {"batch_size": batch, "epochs": 1, "lr": 1e-6},
                                            "max_length": SEQ_LEN, "opponents": {"k": 2}})
    shutil.rmtree(work, ignore_errors=True)
    stamps: list[float] = []
    job = TrainJob(recipe, model_dir, pairs, work / "out", work / "state", work / "metrics.jsonl", "mnpo",
                   device="cpu", on_step=lambda row: stamps.append(time.perf_counter()))
    run = PreferenceRecipe(job)
    run.setup()
    assert all(len(v) == 2 for v in pairs["opp_chosen_logp"]), "two opponents"
    start = time.perf_counter()
    run.train()
    run.cleanup()
    times = [b - a for a, b in zip([start, *stamps[:-1]], stamps)]
    return times[1:]


def time_trl(model_dir: str, pairs: pd.DataFrame, batch: int, work: Path, checkpointing: bool | None) -> list[float]:
    """Seconds per optimiser step of trl.DPOTrainer (defaults; bf16 off on CPU), first step dropped."""
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
    from trl import DPOConfig, DPOTrainer

    class StepTimer(TrainerCallback):
        def __init__(self):
            self.times: list[float] = []
            self._start = 0.0

        def on_step_begin(self, args, state, control, **kwargs):
            self._start = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            self.times.append(time.perf_counter() - self._start)

    extra = {} if checkpointing is None else {"gradient_checkpointing": checkpointing}
    args = DPOConfig(output_dir=str(work / "trl"), per_device_train_batch_size=batch, max_length=SEQ_LEN, bf16=False,
                     max_steps=len(pairs) // batch, report_to="none", save_strategy="no", logging_steps=10_000,
                     disable_tqdm=True, dataloader_num_workers=0, seed=0, **extra)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    dataset = Dataset.from_pandas(pairs[["prompt", "chosen", "rejected"]])
    timer = StepTimer()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer = DPOTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer, callbacks=[timer])
        trainer.train()
    return timer.times[1:]


def time_bare(model_dir: str, pairs: pd.DataFrame, batch: int) -> list[float]:
    """Seconds per bare step: HF causal-LM loss on the same 2B sequences, backward, AdamW."""
    from mnpo_bench.policy.load import load_policy
    from mnpo_bench.train.logprobs import collate_sequences, encode_pair

    model, tokenizer = load_policy(model_dir, device="cpu", dtype="float32")
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-6)
    encoded = [encode_pair(tokenizer, r.prompt, r.chosen, r.rejected, SEQ_LEN) for r in pairs.itertuples()]
    times = []
    for start in range(0, len(encoded) - batch + 1, batch):
        tick = time.perf_counter()
        b = collate_sequences(encoded[start: start + batch], tokenizer.pad_token_id)  # (2B, T)
        labels = b["input_ids"].masked_fill(~b["response_mask"], -100)
        loss = model(input_ids=b["input_ids"], attention_mask=b["attention_mask"], labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        times.append(time.perf_counter() - tick)
    return times[1:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=3, help="timed steps per method and round")
    parser.add_argument("--batch", type=int, default=2, help="preference pairs per step (2x sequences)")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    from mnpo_bench.train.precompute import add_logps

    scratch = Path(tempfile.mkdtemp(prefix="train_step_"))
    try:
        model_dir = str(scratch / "model")
        n_params = build_model(Path(model_dir))
        pairs = make_pairs(args.batch * (args.steps + 1), seed=0)
        scored = add_logps(pairs, model_dir, [model_dir, model_dir], max_length=SEQ_LEN, batch_size=8, device="cpu")
        methods = {
            "ours": lambda: time_ours(model_dir, scored, args.batch, scratch / "ours"),
            "trl": lambda: time_trl(model_dir, pairs, args.batch, scratch, None),
            "trl_nogc": lambda: time_trl(model_dir, pairs, args.batch, scratch, False),
            "bare": lambda: time_bare(model_dir, pairs, args.batch),
        }
        times: dict[str, list[float]] = {name: [] for name in methods}
        order = list(methods)
        for round_ in range(args.rounds):
            for name in order[round_ % len(order):] + order[: round_ % len(order)]:
                times[name].extend(methods[name]())
                print(f"round {round_ + 1} {name:<9} median so far {statistics.median(times[name]):.3f} s/step",
                      flush=True)
        median = {name: statistics.median(values) for name, values in times.items()}
        result = {
            "benchmark": "train_step", "model_parameters": n_params, "seq_len": SEQ_LEN, "pairs_per_step": args.batch,
            "threads": args.threads, "rounds": args.rounds, "timed_steps_per_method": len(times["ours"]),
            "seconds_per_step": {k: round(v, 4) for k, v in median.items()},
            "ratio_vs_trl_dpo": round(median["ours"] / median["trl"], 3),
            "ratio_vs_trl_dpo_no_checkpointing": round(median["ours"] / median["trl_nogc"], 3),
            "ratio_vs_bare_step": round(median["ours"] / median["bare"], 3),
            "targets": {"ratio_vs_trl_dpo": 0.75, "ratio_vs_bare_step": 1.15},
        }
        print(json.dumps(result))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()

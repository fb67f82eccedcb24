"""Time per optimiser step of our MNPO step against TRL's DPOTrainer and against a bare training step.

Same ~20M-parameter Llama (built locally, BPE tokenizer trained here, nothing downloaded), same batch of
preference pairs, every sequence 256 tokens, CPU, fp32:
  ours      mnpo_bench.train.loop.PreferenceRecipe, MNPO with two opponents whose log-probs (and the
            reference's) were precomputed, so a step runs the policy only (chosen + rejected in one pass);
  trl       trl.DPOTrainer with its defaults (sigmoid loss, reference model forward every step, gradient
            checkpointing on) except bf16, which TRL cannot use on a CPU without use_cpu, so fp32 like ours;
  trl_nogc  the same with gradient checkpointing off (ours does not checkpoint on CPU), a stricter baseline;
  trl_fastest  TRL at its fastest: gradient checkpointing off and precompute_ref_log_probs=True (the reference's
            log-probs computed once before training, as ours are), the strictest baseline;
  bare      model(input_ids, labels).loss.backward() + AdamW step on the same 2B sequences.
Steps interleave one by one: after every TRL step (timed by TRL's own step callbacks) one step of ours and
one bare step run, in rotating order, so a burst of load from other processes hits all methods alike;
each round runs TRL with and without checkpointing. Medians over all timed steps are reported.
The last line printed is one JSON object with ratio_vs_trl_dpo (target <= 0.75), ratio_vs_trl_dpo_fastest
(target <= 0.8) and ratio_vs_bare_step (target <= 1.15).

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


class OurStep:
    """One optimiser step of PreferenceRecipe (MNPO, two precomputed opponents), through its own methods."""

    def __init__(self, model_dir: str, scored: pd.DataFrame, batch: int, work: Path):
        from mnpo_bench.train.loop import PreferenceRecipe, TrainJob
        from mnpo_bench.train.recipes import load_recipe

        recipe = load_recipe("mnpo", overrides={"optim": {"batch_size": batch, "epochs": 1, "lr": 1e-6},
                                                "max_length": SEQ_LEN, "opponents": {"k": 2}})
        assert all(len(v) == 2 for v in scored["opp_chosen_logp"]), "two opponents"
        shutil.rmtree(work, ignore_errors=True)
        self.run = PreferenceRecipe(TrainJob(recipe, model_dir, scored, work / "out", work / "state",
                                             work / "metrics.jsonl", "mnpo", device="cpu"))
        self.run.setup()
        self.batches = [self.run._collate(self.run.items[i: i + batch]) for i in range(0, len(self.run.items), batch)]
        self.n = 0

    def __call__(self) -> float:
        """Seconds for forward (chosen + rejected), loss, backward, clip, AdamW, schedule, metrics row."""
        batch = self.batches[self.n % len(self.batches)]
        self.n += 1
        tick = time.perf_counter()
        with self.run.accelerator.accumulate(self.run.model):
            loss, stats = self.run._forward(batch)
            self.run.accelerator.backward(loss)
            self.run._optimizer_step([stats], time.perf_counter() - tick)
        return time.perf_counter() - tick


class BareStep:
    """model(input_ids, labels).loss.backward() + AdamW on the same 2B sequences (HF's causal-LM loss)."""

    def __init__(self, model_dir: str, pairs: pd.DataFrame, batch: int):
        from mnpo_bench.policy.load import load_policy
        from mnpo_bench.train.logprobs import collate_sequences, encode_pair

        self.model, tokenizer = load_policy(model_dir, device="cpu", dtype="float32")
        self.model.train()
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=1e-6)
        encoded = [encode_pair(tokenizer, r.prompt, r.chosen, r.rejected, SEQ_LEN) for r in pairs.itertuples()]
        self.batches = [collate_sequences(encoded[i: i + batch], tokenizer.pad_token_id)
                        for i in range(0, len(encoded), batch)]  # (2B, T) each
        self.n = 0

    def __call__(self) -> float:
        b = self.batches[self.n % len(self.batches)]
        self.n += 1
        tick = time.perf_counter()
        labels = b["input_ids"].masked_fill(~b["response_mask"], -100)
        loss = self.model(input_ids=b["input_ids"], attention_mask=b["attention_mask"], labels=labels).loss
        loss.backward()
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        return time.perf_counter() - tick


def run_trl(model_dir: str, pairs: pd.DataFrame, batch: int, work: Path, checkpointing: bool | None,
            between: list, precompute: bool = False) -> list[float]:
    """Seconds per optimiser step of trl.DPOTrainer.train() (defaults; bf16 off on CPU), first step dropped.
    After each TRL step, every callable in `between` runs once (in rotating order), outside TRL's timing.
    `precompute` sets precompute_ref_log_probs (the reference pass then runs before training, untimed)."""
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
    from trl import DPOConfig, DPOTrainer

    class Interleave(TrainerCallback):
        def __init__(self):
            self.times: list[float] = []
            self._start = 0.0

        def on_step_begin(self, args, state, control, **kwargs):
            self._start = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            self.times.append(time.perf_counter() - self._start)
            k = len(self.times) % len(between)
            for other in between[k:] + between[:k]:
                other()

    extra = {} if checkpointing is None else {"gradient_checkpointing": checkpointing}
    if precompute:
        extra["precompute_ref_log_probs"] = True
    args = DPOConfig(output_dir=str(work / "trl"), per_device_train_batch_size=batch, max_length=SEQ_LEN, bf16=False,
                     max_steps=len(pairs) // batch, report_to="none", save_strategy="no", logging_steps=10_000,
                     disable_tqdm=True, dataloader_num_workers=0, seed=0, **extra)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    dataset = Dataset.from_pandas(pairs[["prompt", "chosen", "rejected"]])
    timer = Interleave()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer = DPOTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer, callbacks=[timer])
        trainer.train()
    return timer.times[1:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=4, help="TRL steps per run; ours and bare step after each")
    parser.add_argument("--batch", type=int, default=2, help="preference pairs per step (2x sequences)")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    from mnpo_bench.train.precompute import add_logps

    scratch = Path(tempfile.mkdtemp(prefix="train_step_"))
    try:
        model_dir = str(scratch / "model")
        n_params = build_model(Path(model_dir))
        pairs = make_pairs(args.batch * (args.steps + 1), seed=0)  # one warm-up step, then args.steps timed
        scored = add_logps(pairs, model_dir, [model_dir, model_dir], max_length=SEQ_LEN, batch_size=8, device="cpu")
        ours = OurStep(model_dir, scored, args.batch, scratch / "ours")
        bare = BareStep(model_dir, pairs, args.batch)
        times: dict[str, list[float]] = {"ours": [], "bare": [], "trl": [], "trl_nogc": [], "trl_fastest": []}

        def timed(name, step):
            return lambda: times[name].append(step())

        between = [timed("ours", ours), timed("bare", bare)]
        for _ in range(2):  # warm-up steps, not timed
            ours(), bare()
        for round_ in range(args.rounds):
            variants = (("trl", None, False), ("trl_nogc", False, False), ("trl_fastest", False, True))
            for name, checkpointing, precompute in variants[:: 1 if round_ % 2 == 0 else -1]:
                times[name].extend(run_trl(model_dir, pairs, args.batch, scratch, checkpointing, between, precompute))
                print(f"round {round_ + 1}: " + ", ".join(f"{k} {statistics.median(v):.3f}" for k, v in times.items()
                                                         if v) + " s/step (medians so far)", flush=True)
        median = {name: statistics.median(values) for name, values in times.items()}
        result = {
            "benchmark": "train_step", "model_parameters": n_params, "seq_len": SEQ_LEN, "pairs_per_step": args.batch,
            "threads": args.threads, "rounds": args.rounds, "timed_steps": {k: len(v) for k, v in times.items()},
            "seconds_per_step": {k: round(v, 4) for k, v in median.items()},
            "ratio_vs_trl_dpo": round(median["ours"] / median["trl"], 3),
            "ratio_vs_trl_dpo_no_checkpointing": round(median["ours"] / median["trl_nogc"], 3),
            "ratio_vs_trl_dpo_fastest": round(median["ours"] / median["trl_fastest"], 3),
            "ratio_vs_bare_step": round(median["ours"] / median["bare"], 3),
            "targets": {"ratio_vs_trl_dpo": 0.75, "ratio_vs_trl_dpo_fastest": 0.8, "ratio_vs_bare_step": 1.15},
        }
        print(json.dumps(result))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()

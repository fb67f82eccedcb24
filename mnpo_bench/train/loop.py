"""The step loop: one recipe trains one player on one table of preference pairs.

`PreferenceRecipe` follows torchtune's shape (setup / train / save_checkpoint / cleanup), in plain
PyTorch driven by `accelerate` so `accelerate launch` runs it under DDP, FSDP or DeepSpeed unchanged.
The pairs arrive with the reference and opponent log-probs already computed (`precompute.py`), so a step
runs only the policy: chosen and rejected in one forward pass, the loss from the registry, backward,
clip, AdamW. Pairs with an empty response or a non-finite log-prob are masked out and counted as
`skipped`; a step whose gradient is not finite is skipped whole, so the weights never see a NaN.
"""

from __future__ import annotations

import contextlib
import json
import math
import shutil
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from mnpo_bench.progress import hf_progress_hidden
from mnpo_bench.store import atomic_dir, write_json
from mnpo_bench.train.data import is_empty
from mnpo_bench.train.logprobs import collate_sequences, encode_pair, sequence_logps
from mnpo_bench.train.metrics import MetricsLog
from mnpo_bench.train.objectives import OBJECTIVES, PairLogps, masked_mean
from mnpo_bench.train.recipes import Recipe, resolve_precision
from mnpo_bench.train.tracking import mark_failed, tracked_values, tracker_kwargs, tracking_store

PRECOMPUTED = ("ref_chosen_logp", "ref_rejected_logp", "opp_chosen_logp", "opp_rejected_logp")


@dataclass
class TrainJob:
    """What one run of a recipe trains: the starting policy, the pairs, and where results go."""

    recipe: Recipe
    policy_path: str  # checkpoint the policy starts from
    pairs: pd.DataFrame  # prompt, chosen, rejected, prob + PRECOMPUTED columns (opp_* are lists, most recent first)
    output_dir: Path  # the trained policy (save_pretrained)
    state_dir: Path  # resumable mid-iteration checkpoints
    metrics_path: Path
    method: str
    iteration: int = 1
    player: str | None = None
    seed: int = 0
    device: str = "auto"
    on_step: Callable[[dict[str, Any]], None] | None = None  # sees each metrics row (progress, fault injection)
    report_to: tuple[str, ...] = ()  # accelerate trackers (train.report_to) that also get each metrics row
    tracking_dir: Path | None = None  # where trackers write (train/tracking.py; None: <output_dir>/../tracking)
    tracking_name: str | None = None  # the tracker run's name (None: "<method>__iter<t>")


class PreferenceRecipe:
    """setup() → train() → save_policy() → cleanup(); save_checkpoint() runs every `checkpoint_every` steps."""

    def __init__(self, job: TrainJob):
        self.job = job
        self.recipe = job.recipe
        self.objective = OBJECTIVES.get(job.recipe.loss.name, where="loss.name")

    # -- setup ------------------------------------------------------------------------------------------
    def setup(self) -> None:
        """Load the policy, encode the pairs, build optimiser and schedule, and resume if a checkpoint exists."""
        from accelerate import Accelerator
        from accelerate.utils import InitProcessGroupKwargs
        from transformers import AutoConfig, get_scheduler

        from mnpo_bench.policy.load import load_policy
        from mnpo_bench.train.ranks import accelerator_args, train_device

        job, optim = self.job, self.recipe.optim
        on_gpu = train_device(job.device).type == "cuda"
        precision = resolve_precision(self.recipe, on_gpu)
        self.tracking_dir = Path(job.tracking_dir or Path(job.output_dir).parent / "tracking")
        tracking = {"log_with": list(job.report_to), "project_dir": str(self.tracking_dir)} if job.report_to else {}
        args = accelerator_args(job.device)
        handlers = [InitProcessGroupKwargs(backend=args.pop("backend"))] if "backend" in args else []
        self.accelerator = Accelerator(gradient_accumulation_steps=optim.grad_accum, mixed_precision=precision,
                                       kwargs_handlers=handlers, **args, **tracking)
        if job.report_to:
            self._init_trackers()
        torch.manual_seed(job.seed)
        model, self.tokenizer = load_policy(job.policy_path, device=str(self.accelerator.device), dtype="float32")
        self.save_dtype = AutoConfig.from_pretrained(job.policy_path).dtype or torch.float32  # master weights are fp32
        if self.recipe.gradient_checkpointing == "on" or (self.recipe.gradient_checkpointing == "auto" and on_gpu):
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.train()
        self.items = self._encode(job.pairs)
        n_batches = math.ceil(len(self.items) / optim.batch_size)
        self.steps_per_epoch = math.ceil(n_batches / optim.grad_accum)
        total = self.steps_per_epoch * optim.epochs
        optimizer = torch.optim.AdamW(model.parameters(), lr=optim.lr, weight_decay=optim.weight_decay)
        schedule = "constant_with_warmup" if optim.schedule == "constant" else optim.schedule
        scheduler = get_scheduler(schedule, optimizer, num_warmup_steps=int(optim.warmup_ratio * total),
                                  num_training_steps=total)
        plugin = getattr(self.accelerator.state, "deepspeed_plugin", None)
        if plugin is not None:  # our DataLoader has a batch_sampler (batch_size None): DeepSpeed cannot infer it
            plugin.deepspeed_config["train_micro_batch_size_per_gpu"] = optim.batch_size
        self.model, self.optimizer, self.scheduler = self.accelerator.prepare(model, optimizer, scheduler)
        self.metrics = MetricsLog(job.metrics_path, method=job.method, player=job.player, iteration=job.iteration)
        self.step, self.epoch, self.batches_done = 0, 0, 0
        self._resume()

    def _init_trackers(self) -> None:
        """Start accelerate's trackers for this fit: one tracker run per iterate ("<method>/iter<t>" as a path
        component), its recipe as the run's hyperparameters; files stay under tracking_dir (train/tracking.py)."""
        from mnpo_bench.store import safe_name

        name = self.job.tracking_name or safe_name(f"{self.job.method}/iter{self.job.iteration}")
        hyper = {"method": self.job.method, "iteration": self.job.iteration, "loss": self.recipe.loss.name,
                 "lr": self.recipe.optim.lr, "batch_size": self.recipe.optim.batch_size, "seed": self.job.seed}
        self._tracking = contextlib.ExitStack()
        self._tracking.enter_context(tracking_store(self.job.report_to, self.tracking_dir))
        kwargs = tracker_kwargs(self.job.report_to, self.tracking_dir, name)
        self.accelerator.init_trackers(name, config=hyper, init_kwargs=kwargs)

    def end_trackers(self, failed: bool = False) -> None:
        """Close the trackers (flushing their files), marked failed where they keep that state when `failed`;
        does nothing when none were started."""
        stack, self._tracking = getattr(self, "_tracking", None), None
        if stack is None:
            return
        with stack:  # restores the environment tracking_store changed
            if failed:
                mark_failed(self.accelerator)
            self.accelerator.end_training()

    def _encode(self, pairs: pd.DataFrame) -> list[dict[str, Any]]:
        missing = [c for c in PRECOMPUTED if c not in pairs.columns]
        if missing:
            raise ValueError(f"pairs lack precomputed columns {missing}; run precompute first")
        items = []
        tagged = {"chosen_other", "rejected_other"} <= set(pairs.columns)  # sampler tags (train/shapes.py)
        rated = {"chosen_winrate", "rejected_winrate"} <= set(pairs.columns)  # data.add_win_rates (SPPO)
        for row in pairs.itertuples(index=False):
            encoded = encode_pair(self.tokenizer, row.prompt, row.chosen, row.rejected, self.recipe.max_length)
            items.append({
                "pair": encoded, "prob": float(row.prob), "nonempty": not (is_empty(row.chosen) or is_empty(row.rejected)),
                "ref": (float(row.ref_chosen_logp), float(row.ref_rejected_logp)),
                "opp": ([float(x) for x in row.opp_chosen_logp], [float(x) for x in row.opp_rejected_logp]),
                "other": (float(row.chosen_other), float(row.rejected_other)) if tagged else None,
                "win": (float(row.chosen_winrate), float(row.rejected_winrate)) if rated else None,
            })
        return items

    def _collate(self, items: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        batch = collate_sequences([it["pair"] for it in items], self.tokenizer.pad_token_id)  # (2B, T) each
        batch["ref"] = torch.tensor([it["ref"] for it in items], dtype=torch.float32)  # (B, 2)
        batch["opp"] = torch.tensor([it["opp"] for it in items], dtype=torch.float32)  # (B, 2, n)
        batch["prob"] = torch.tensor([it["prob"] for it in items], dtype=torch.float32)  # (B,)
        batch["nonempty"] = torch.tensor([it["nonempty"] for it in items], dtype=torch.bool)  # (B,)
        if items and items[0]["other"] is not None:
            batch["other"] = torch.tensor([it["other"] for it in items], dtype=torch.float32)  # (B, 2)
        if items and items[0]["win"] is not None:
            batch["win"] = torch.tensor([it["win"] for it in items], dtype=torch.float32)  # (B, 2)
        return batch

    def _epoch_batches(self, epoch: int) -> list[list[int]]:
        """Micro-batches of pair indices for `epoch`, from a permutation seeded by (seed, epoch)."""
        order = torch.randperm(len(self.items), generator=torch.Generator().manual_seed(self.job.seed * 1009 + epoch))
        size = self.recipe.optim.batch_size
        return [order[i: i + size].tolist() for i in range(0, len(order), size)]

    # -- train ------------------------------------------------------------------------------------------
    def train(self) -> dict[str, Any]:
        """Run the remaining optimiser steps; returns {steps, skipped, seconds, last loss}."""
        from torch.utils.data import DataLoader

        started, skipped, last = time.time(), 0, None
        for epoch in range(self.epoch, self.recipe.optim.epochs):
            # batches_done counts this process's micro-batches; each process took every num_processes-th
            batches = self._epoch_batches(epoch)[self.batches_done * self.accelerator.num_processes:]
            loader = self.accelerator.prepare_data_loader(
                DataLoader(self.items, batch_sampler=batches, collate_fn=self._collate))
            window, tick = [], time.time()
            for batch in loader:
                with self.accelerator.accumulate(self.model):
                    loss, stats = self._forward(batch)
                    self.accelerator.backward(loss)
                    window.append(stats)
                    self.batches_done += 1
                    if self.accelerator.sync_gradients:
                        row = self._optimizer_step(window, time.time() - tick)
                        skipped, last = skipped + row["skipped"], row
                        window, tick = [], time.time()
            self.epoch, self.batches_done = epoch + 1, 0
        return {"steps": self.step, "skipped": skipped, "seconds": round(time.time() - started, 3),
                "loss": last["loss"] if last else None}

    def _forward(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        """Mean loss over the valid pairs of one micro-batch, and its statistics."""
        with self.accelerator.autocast():
            logps, lengths = sequence_logps(self.model, batch["input_ids"], batch["attention_mask"],
                                            batch["response_mask"], tiles=self.recipe.logprob_tiles)
        b = batch["prob"].shape[0]
        ref, opp = batch["ref"], batch["opp"]  # (B, 2), (B, 2, n)
        valid = (batch["nonempty"] & torch.isfinite(ref).all(1) & torch.isfinite(opp).flatten(1).all(1)
                 & torch.isfinite(logps.detach()).view(2, b).all(0))  # (B,)

        def keep(x: torch.Tensor) -> torch.Tensor:  # zero the skipped pairs so no NaN enters the loss
            return torch.where(valid.expand_as(x), x, torch.zeros_like(x))

        pairs = PairLogps(
            policy_chosen=keep(logps[:b]), policy_rejected=keep(logps[b:]),
            ref_chosen=keep(ref[:, 0]), ref_rejected=keep(ref[:, 1]),
            opp_chosen=keep(opp[:, 0].T), opp_rejected=keep(opp[:, 1].T),  # (n, B)
            chosen_tokens=lengths[:b], rejected_tokens=lengths[b:], prob=batch["prob"],
            opp_weights=self._opponent_weights(opp.shape[-1]), other=batch.get("other"), win_rates=batch.get("win"),
        )
        loss = masked_mean(self.objective(pairs, self.recipe.loss), valid)
        n_valid = max(1, int(valid.sum()))
        stats = {
            "loss": float(loss.detach()), "valid": int(valid.sum()), "skipped": int(b - valid.sum()),
            "margin": float((pairs.policy_chosen - pairs.policy_rejected).detach().sum()) / n_valid,
            "chosen_logp": float(pairs.policy_chosen.detach().sum()) / n_valid,
            "rejected_logp": float(pairs.policy_rejected.detach().sum()) / n_valid,
            "tokens": int(batch["attention_mask"].sum()),
        }
        return loss, stats

    def _opponent_weights(self, n: int) -> torch.Tensor | None:
        weights = self.recipe.opponents.weights
        if weights is None or n == 0:
            return None
        return torch.tensor(weights[:n], dtype=torch.float32, device=self.accelerator.device)

    def _window_totals(self, window: list[dict[str, float]]) -> dict[str, float]:
        """Sums over this step's micro-batches on every rank (valid, skipped, tokens, and the loss, margin and
        log-probs weighted by valid pairs), so the metrics row describes the whole global batch."""
        keys = ("valid", "skipped", "tokens", "loss", "margin", "chosen_logp", "rejected_logp")
        local = [[s[k] * (s["valid"] if k in keys[3:] else 1) for k in keys] for s in window]
        totals = torch.tensor(local, dtype=torch.float64, device=self.accelerator.device).sum(0)  # (7,)
        if self.accelerator.num_processes > 1:
            totals = self.accelerator.reduce(totals, reduction="sum")
        return dict(zip(keys, totals.tolist()))

    def _optimizer_step(self, window: list[dict[str, float]], seconds: float) -> dict[str, Any]:
        """Clip, step (unless the gradient is not finite), schedule; log and return the metrics row
        (summed over every rank's micro-batches)."""
        max_norm = self.recipe.optim.max_grad_norm or float("inf")
        grad_norm = float(self.accelerator.clip_grad_norm_(self.model.parameters(), max_norm))
        lr = self.scheduler.get_last_lr()[0]
        totals = self._window_totals(window)
        skipped = int(totals["skipped"])
        if self._deepspeed_stepped(grad_norm):  # the engine stepped (or skipped) the weights in backward
            skipped += 0 if math.isfinite(grad_norm) else int(totals["valid"])
            self.scheduler.step()  # ours to step; accelerate holds it when DeepSpeed skipped the step
        elif math.isfinite(grad_norm):
            self.optimizer.step()
            self.scheduler.step()
        else:  # a NaN/inf gradient: drop the whole step, count its pairs as skipped; the schedule moves on
            skipped += int(totals["valid"])
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # "scheduler.step() before optimizer.step()"
                self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.step += 1
        valid = totals["valid"] or 1
        row = {
            "step": self.step, "loss": totals["loss"] / valid, "margin": totals["margin"] / valid,
            "chosen_logp": totals["chosen_logp"] / valid, "rejected_logp": totals["rejected_logp"] / valid,
            "grad_norm": grad_norm if math.isfinite(grad_norm) else None, "lr": lr,
            "tokens_per_s": totals["tokens"] / max(seconds, 1e-9), "skipped": skipped,
            "time": time.time(),
        }
        if self.accelerator.is_main_process:
            row = self.metrics.write(row)
        if self.job.report_to:  # accelerate logs on the main process only
            self.accelerator.log(tracked_values(row), step=self.step)
        if self.recipe.checkpoint_every and self.step % self.recipe.checkpoint_every == 0:
            self.save_checkpoint()
        if self.job.on_step:
            self.job.on_step(row)
        return row

    def _deepspeed_stepped(self, grad_norm: float) -> bool:
        """True under DeepSpeed, whose engine already stepped the weights inside `accelerator.backward`.
        ZeRO-3 (deepspeed 0.19.8) skips a step whose gradient norm is not finite in every dtype (tested on its
        CPU accelerator, tests/train/test_deepspeed_cpu.py); where an engine applied one anyway (other stages
        or versions), training stops with one line instead of going on with non-finite weights (nothing is
        saved; the last checkpoint in state_dir is intact)."""
        if getattr(self.accelerator, "deepspeed_engine_wrapped", None) is None:
            return False
        if not math.isfinite(grad_norm) and self.model.was_step_applied():
            raise RuntimeError(
                f"training step {self.step + 1}: the gradient is not finite (norm {grad_norm}) and DeepSpeed "
                f"applied it; the weights are no longer finite and nothing is "
                f"saved: resume from the last checkpoint in {self.job.state_dir} with a lower optim.lr, or train "
                f"without DeepSpeed (DDP/FSDP skip such a step)")
        return True

    # -- checkpoints ------------------------------------------------------------------------------------
    def save_checkpoint(self) -> Path:
        """Save model, optimiser, schedule, RNG and position to state_dir/step-<n>; LATEST points to it."""
        state_dir = Path(self.job.state_dir)
        target = state_dir / f"step-{self.step:06d}"
        self.accelerator.save_state(str(target))
        if self.accelerator.is_main_process:
            write_json(target / "position.json", {"step": self.step, "epoch": self.epoch,
                                                  "batches_done": self.batches_done})
            write_json(state_dir / "LATEST.json", {"dir": target.name})
            for old in state_dir.glob("step-*"):
                if old != target:
                    shutil.rmtree(old, ignore_errors=True)
        self.accelerator.wait_for_everyone()
        return target

    def _resume(self) -> None:
        latest = Path(self.job.state_dir) / "LATEST.json"
        if not latest.exists():
            if self.accelerator.is_main_process:
                self.metrics.restart_from(0)
            return
        source = latest.parent / json.loads(latest.read_text())["dir"]
        self.accelerator.load_state(str(source))
        position = json.loads((source / "position.json").read_text())
        self.step, self.epoch, self.batches_done = position["step"], position["epoch"], position["batches_done"]
        if self.accelerator.is_main_process:
            self.metrics.restart_from(self.step)

    # -- output -----------------------------------------------------------------------------------------
    @hf_progress_hidden  # no "Writing model shards" bar: ours is the one display
    def save_policy(self) -> Path:
        """Write the trained policy (weights in the checkpoint's dtype, tokenizer) to output_dir atomically."""
        out = Path(self.job.output_dir)
        full_state = self.accelerator.get_state_dict(self.model)  # every rank takes part (FSDP/ZeRO-3 gather)
        if self.accelerator.is_main_process:
            model = self.accelerator.unwrap_model(self.model)
            dtype = self.save_dtype if isinstance(self.save_dtype, torch.dtype) else getattr(torch, str(self.save_dtype))
            state = {k: v.to(dtype) if v.is_floating_point() else v for k, v in full_state.items()}
            with atomic_dir(out) as scratch:
                model.save_pretrained(scratch, state_dict=state)
                config = json.loads((scratch / "config.json").read_text())  # save_pretrained names the fp32 masters
                config["dtype"] = str(dtype).removeprefix("torch.")  # dtype: what the saved weights are stored in
                write_json(scratch / "config.json", config)
                self.tokenizer.save_pretrained(scratch)
        self.accelerator.wait_for_everyone()
        return out

    def cleanup(self) -> None:
        """Drop the checkpoints and free the model."""
        if self.accelerator.is_main_process:
            shutil.rmtree(self.job.state_dir, ignore_errors=True)
        self.end_trackers()
        self.accelerator.free_memory()
        del self.model, self.optimizer, self.scheduler


def run_recipe(job: TrainJob) -> dict[str, Any]:
    """Train `job` to the end (resuming from its state_dir if a checkpoint is there) and save the policy;
    returns the summary of `PreferenceRecipe.train` plus the output path."""
    recipe = PreferenceRecipe(job)
    try:
        recipe.setup()
        summary = recipe.train()
        summary["output_dir"] = str(recipe.save_policy())
    except BaseException:  # an error or an interrupt: the tracker runs close as failed, the error surfaces
        recipe.end_trackers(failed=True)
        raise
    recipe.cleanup()
    return summary

"""Where two-process DDP and one-process training differ (python benchmarks/ddp_float_noise.py).

Trains MNPO (4 optimiser steps, global batch 8, lr 3e-4) on the same 32 arithmetic pairs three ways,
with torchrun/gloo on CPU, in float32 and again in float64 (weights, logits and log-probs):
  two    two ranks, 4 pairs each per step (gradients averaged by DDP's all-reduce);
  accum  one process, micro-batches of 4, two accumulated per step (the same micro-batches as `two`);
  one    one process, one micro-batch of 8.
Prints, per precision, the max |Δ| between the final weights of each pair of runs. Baseline: `accum`, the
same micro-batches without the all-reduce. The float64 runs patch the two places that fix float32 (the
loaded dtype and `Tensor.float`) in a wrapper around the CLI; nothing else changes.
Prints one JSON object as its last line.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
WRAPPER = '''import sys, torch
import mnpo_bench.policy.load as load
load.pick_dtype = lambda dtype, device: torch.float64
_float = torch.Tensor.float
torch.Tensor.float = lambda self, *a, **k: self if self.dtype == torch.float64 else _float(self, *a, **k)
from mnpo_bench.cli import main
sys.exit(main())
'''


def build(root: Path) -> None:
    """The tests' 2-layer Llama in float32 (policy/) and float64 (policy64/), and 32 arithmetic pairs."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from tests.train.conftest import arithmetic_pairs, build_small_policy

    path = build_small_policy(root / "policy")
    AutoModelForCausalLM.from_pretrained(path, dtype=torch.float64).save_pretrained(root / "policy64")
    AutoTokenizer.from_pretrained(path).save_pretrained(root / "policy64")
    arithmetic_pairs(32).to_parquet(root / "prefs.parquet")
    (root / "f64_cli.py").write_text(WRAPPER)


def train(root: Path, bits: int, name: str, processes: int, batch: int, accum: int) -> Path:
    """Runs one training; returns its iter1 directory."""
    entry = [str(root / "f64_cli.py")] if bits == 64 else ["-m", "mnpo_bench.cli"]
    launch = ([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(processes), "--master_port",
               str(29700 + random.randrange(200))] if processes > 1 else [sys.executable])
    out = root / f"f{bits}-{name}"
    command = [*launch, *entry, "train", "mnpo", "--data", str(root / "prefs.parquet"), "--model",
               str(root / ("policy64" if bits == 64 else "policy")), "--out", str(out), "-q",
               "--set", "optim.epochs=1", "--set", "max_length=64", "--set", f"optim.batch_size={batch}",
               "--set", f"optim.grad_accum={accum}", *(["--set", "logprob_tiles.kernel=full"] if bits == 64 else [])]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise SystemExit(done.stderr[-3000:])
    return out / "mnpo" / "iter1"


def max_diff(a: Path, b: Path) -> float:
    """Max |Δ| over every weight of two checkpoints (compared in float64)."""
    from safetensors.torch import load_file

    x, y = load_file(a / "model.safetensors"), load_file(b / "model.safetensors")
    return max(float((x[k].double() - y[k].double()).abs().max()) for k in x)


def main() -> None:
    sys.path.insert(0, str(ROOT))
    result = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        build(root)
        for bits in (32, 64):
            runs = {"two": train(root, bits, "two", 2, 4, 1), "accum": train(root, bits, "accum", 1, 4, 2),
                    "one": train(root, bits, "one", 1, 8, 1)}
            result[f"float{bits}"] = {f"{a}_vs_{b}": max_diff(runs[a], runs[b])
                                      for a, b in (("two", "accum"), ("two", "one"), ("accum", "one"))}
            print(f"float{bits}: {result[f'float{bits}']}", file=sys.stderr)
    print(json.dumps(result))


if __name__ == "__main__":
    main()

"""DeepSpeed ZeRO-3 on DeepSpeed's CPU accelerator: two ranks through `accelerate launch` and the shipped
ZeRO-3 settings, the same trainer code as on GPUs. Runs where `deepspeed` is importable (on this machine:
its own venv, see docs/train.md); skipped elsewhere, so CI skips it. The first start JIT-builds DeepSpeed's
shared-memory op (minutes), hence TORCH_EXTENSIONS_DIR is kept across runs."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.train.conftest import arithmetic_pairs
from tests.train.test_distributed import run, train_command, weights

pytestmark = [pytest.mark.slow, pytest.mark.heavy,
              pytest.mark.skipif(importlib.util.find_spec("deepspeed") is None,
                                 reason="deepspeed is not installed (its own venv; docs/train.md, GPU checklist)")]
SHIPPED = Path(__file__).resolve().parents[2] / "trainer" / "accelerate" / "deepspeed_zero3.yaml"
# the fault: the policy's final norm outputs NaN in the first forward, so the step's gradient is NaN
POISON = '''import sys
import mnpo_bench.train.loop as loop
real, calls = loop.sequence_logps, []
def poisoned(model, *args, **kwargs):
    calls.append(1)
    if len(calls) > 1:
        return real(model, *args, **kwargs)
    hook = getattr(model, "module", model).base_model.norm.register_forward_hook(lambda m, i, out: out * float("nan"))
    try:
        return real(model, *args, **kwargs)
    finally:
        hook.remove()
loop.sequence_logps = poisoned
from mnpo_bench.cli import main
sys.exit(main())
'''


def zero3(tmp_path: Path, data: Path, model: str, out: str, *, entry: list[str], precision: str = "no",
          port: int = 29671) -> subprocess.CompletedProcess:
    """`mnpo-bench train mnpo` on two ranks of ZeRO-3 (the shipped config, 2 processes, `precision`)."""
    config = SHIPPED.read_text().replace("num_processes: 8", "num_processes: 2").replace(
        "mixed_precision: bf16", f"mixed_precision: '{precision}'")
    (tmp_path / "zero3.yaml").write_text(config)
    command = [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(tmp_path / "zero3.yaml"),
               "--main_process_port", str(port), *entry, "train", "mnpo", "--data", str(data), "--model", model,
               "--out", str(tmp_path / out), "--set", "optim.epochs=1", "--set", "max_length=64",
               "--set", "optim.batch_size=4", "--set", f"mixed_precision={precision}", "-q"]
    env = {**os.environ, "DS_ACCELERATOR": "cpu", "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1",
           "TORCH_EXTENSIONS_DIR": os.environ.get("TORCH_EXTENSIONS_DIR",
                                                  str(Path.home() / ".cache" / "mnpo_bench" / "torch_extensions"))}
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)


def test_zero3_trains_on_two_cpu_ranks_like_ddp_from_the_analytic_first_loss(tmp_path, small_policy):
    data = tmp_path / "prefs.parquet"
    arithmetic_pairs(32).to_parquet(data)
    done = zero3(tmp_path, data, small_policy, "zero3", entry=["-m", "mnpo_bench.cli"])
    assert done.returncode == 0, done.stderr[-3000:]
    reports = [line for line in done.stdout.splitlines() if line.startswith("mnpo/")]  # DeepSpeed prints too
    assert len(reports) == 1  # only rank 0 reports
    rows = [json.loads(line) for line in (tmp_path / "zero3" / "mnpo" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2, 3, 4]
    eta = 0.1  # trainer/mnpo.yaml; at step 0 every log-ratio is 0, so the loss is (1/(2 eta))^2
    assert rows[0]["loss"] == pytest.approx((1 / (2 * eta)) ** 2, rel=1e-6)
    ddp = run(train_command(data, small_policy, tmp_path / "ddp", processes=2, batch_size=4))
    assert ddp.returncode == 0, ddp.stderr[-2000:]
    a, b, start = (weights(p) for p in (tmp_path / "zero3" / "mnpo" / "iter1", tmp_path / "ddp" / "mnpo" / "iter1",
                                        Path(small_policy)))
    assert {t.dtype for t in a.values()} == {torch.float32}
    assert max(float((a[k] - start[k]).abs().max()) for k in a) > 1e-4  # it trained
    # ZeRO-3 reduce-scatters where DDP all-reduces (other summation order): measured max |diff| 3.6e-7
    assert max(float((a[k] - b[k]).abs().max()) for k in a) <= 1e-5


def test_a_nan_gradient_under_zero3_skips_the_step_not_the_weights(tmp_path, small_policy):
    data = tmp_path / "prefs.parquet"
    arithmetic_pairs(16).to_parquet(data)
    (tmp_path / "poison.py").write_text(POISON)
    done = zero3(tmp_path, data, small_policy, "nan", entry=[str(tmp_path / "poison.py")], port=29672)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [json.loads(line) for line in (tmp_path / "nan" / "mnpo" / "metrics.jsonl").read_text().splitlines()]
    assert [(r["step"], r["skipped"], r["grad_norm"]) for r in rows] == [(1, 8, None), (2, 0, rows[1]["grad_norm"])]
    assert rows[1]["grad_norm"] is not None
    assert rows[1]["loss"] == pytest.approx(25.0, rel=1e-6)  # step 1 left the weights at the reference
    # accelerate holds the schedule on a step DeepSpeed skipped (its scheduler checks step_was_skipped);
    # without DeepSpeed the schedule moves on (test_loop)
    assert rows[1]["lr"] == rows[0]["lr"]
    saved = weights(tmp_path / "nan" / "mnpo" / "iter1")
    assert all(bool(torch.isfinite(t).all()) for t in saved.values())


def test_zero3_bf16_first_loss_is_analytic(tmp_path, small_policy):
    # DeepSpeed's bf16 engine runs bf16 parameters without autocast; precompute scores the same way
    # (cast_weights), so the stored reference log-probs equal the policy's at step 0 (it missed by 0.0036 before)
    data = tmp_path / "prefs.parquet"
    arithmetic_pairs(16).to_parquet(data)
    done = zero3(tmp_path, data, small_policy, "bf16", entry=["-m", "mnpo_bench.cli"], precision="bf16", port=29673)
    assert done.returncode == 0, done.stderr[-3000:]
    first = json.loads((tmp_path / "bf16" / "mnpo" / "metrics.jsonl").read_text().splitlines()[0])
    assert first["loss"] == pytest.approx((1 / (2 * 0.1)) ** 2, rel=1e-6)

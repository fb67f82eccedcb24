"""Training in several processes (torchrun, `accelerate launch`): which device a rank uses, who writes.

Every rank runs the same code. The rules that keep ranks from racing one another:
- one process writes the shared files (the scored pairs, the data tables, the `done-*` markers, the saved
  policy): the main process (`is_main`); the others only read;
- a rank waits for all the others (`wait_for_everyone`) before anyone reads what the main process wrote or
  removes a directory another rank may still be writing to.
The process group is started here, before the reference is loaded for precompute, by accelerate's
`PartialState` (the same state the trainer's `Accelerator` then reuses), so each rank scores on its own
device (cuda:LOCAL_RANK), never all of them on cuda:0.
"""

from __future__ import annotations

import os

import torch


def deepspeed_on_cpu(device: str = "auto") -> bool:
    """True when `accelerate launch` asked for DeepSpeed on a machine without CUDA (DeepSpeed's CPU
    accelerator, DS_ACCELERATOR=cpu). accelerate then needs `cpu=False` (with `cpu=True` it silently runs
    DDP instead) and the gloo backend named (it finds no backend of its own and counts one process)."""
    wanted = os.environ.get("ACCELERATE_USE_DEEPSPEED", "false").lower() == "true"
    return wanted and device in ("auto", "cpu") and not torch.cuda.is_available()


def accelerator_args(device: str = "auto") -> dict:
    """The keyword arguments that select `device` for accelerate's `PartialState` / `Accelerator`."""
    if deepspeed_on_cpu(device):
        return {"cpu": False, "backend": "gloo"}
    return {"cpu": device == "cpu" or (device == "auto" and not torch.cuda.is_available())}


def train_state(device: str = "auto"):
    """accelerate's process state for training on `device` ("auto": CUDA when available, else CPU;
    under torchrun/accelerate launch each rank gets its own GPU, on CPU the gloo backend)."""
    from accelerate import PartialState

    return PartialState(**accelerator_args(device))


def train_device(device: str = "auto") -> torch.device:
    """The torch device this rank trains and precomputes on: `device` when it names one ("cuda:1"), else
    the rank's own (cuda:LOCAL_RANK, or cpu)."""
    if device not in ("auto", "cuda"):
        return torch.device(device)
    return train_state(device).device


def engine_casts_params() -> bool:
    """True when this process trains under an engine that runs the module with its parameters cast to the
    mixed-precision dtype (bf16/fp16) instead of autocast over fp32 weights: DeepSpeed's bf16/fp16 engine and
    FSDP's mixed-precision parameter policy (FSDP1 `MixedPrecision` / FSDP2 `MixedPrecisionPolicy(param_dtype)`,
    which accelerate builds from `mixed_precision`). Precompute then scores with cast parameters too."""
    from accelerate.utils import DistributedType

    return train_state().distributed_type in (DistributedType.DEEPSPEED, DistributedType.FSDP)


def is_main() -> bool:
    """True on the process that writes shared files (rank 0; the only process outside a launcher)."""
    return train_state().is_main_process


def wait_for_everyone() -> None:
    """Block until every rank gets here (a no-op in one process)."""
    train_state().wait_for_everyone()

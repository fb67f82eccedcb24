"""Device names in configs and flags: 'auto', 'cpu', 'cuda' or 'cuda:N', checked against this host.

`DEVICE_PATTERN` is the spelling every device field accepts (a typo such as `gpu0` or `tpu` fails as the config
is read); `check_device` then asks torch whether the device exists here, so `cuda` on a CPU-only host is
refused before any work instead of failing deep inside the first stage that moves a tensor.
"""

from __future__ import annotations

from mnpo_bench.errors import UserError

DEVICE_PATTERN = r"^(auto|cpu|cuda(:[0-9]+)?)$"
DEVICE_HELP = "'auto', 'cpu', 'cuda' or 'cuda:N'"


def check_device(value: str, where: str) -> str:
    """`value` when this host has that device ('auto' always does); a UserError naming `where` otherwise."""
    import re

    if not re.match(DEVICE_PATTERN, value or ""):
        raise UserError(f"unknown device {value!r}", where=where, fix=f"use {DEVICE_HELP}")
    if value in ("auto", "cpu"):
        return value
    import torch

    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if count == 0:
        raise UserError(f"device {value!r} asked for, but this host has no CUDA device", where=where,
                        fix="use auto (the GPU when there is one, else the CPU) or cpu")
    index = int(value.partition(":")[2] or 0)
    if index >= count:
        raise UserError(f"device {value!r} asked for, but this host has {count} CUDA device(s) (cuda:0..cuda:{count - 1})",
                        where=where, fix="pick an existing index, or use auto")
    return value

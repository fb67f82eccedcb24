"""How many torch CPU threads the pipeline uses (`policy.cpu_threads`), and a scoped override.

The tiny model's results do not depend on the thread count between 1 and 2: SFT weights, MiniLM embeddings and
every table of a default run came out bit-identical at 1 and 2 threads on the 2-core x86 machine (tests in
tests/policy/test_threads.py; 3 threads moved the SFT weights by 2.6e-7). So the count is a speed choice, made
from {1, 2} only:
- on an idle 2-core machine two threads made the default run 1.3x faster (SFT 1.5x, MiniLM 2x; sampling alone
  1.1x slower);
- on a busy one they are a disaster: OpenMP's waiting threads spin, and an SFT step took 3.17 s on two threads
  against 0.34 s on one at load 5. Sleeping waiters (OMP_WAIT_POLICY=PASSIVE) fix the busy case but halve the
  idle one (0.19 s against 0.10 s), so instead two threads are used only when a core is free for the second:
  the 1-minute load average leaves at least 1.5 CPUs idle.
An experiment's local launcher gives each of its parallel runs its share through $MNPO_BENCH_CPU_THREADS.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

ENV = "MNPO_BENCH_CPU_THREADS"  # the default thread count of this process (set by the experiment launcher)


def available_cpus() -> int:
    """The CPUs this process may run on (its affinity mask: what taskset, cgroups and Slurm grant it)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def idle_cpus() -> float:
    """Available CPUs minus the 1-minute load average (what other work leaves this process)."""
    try:
        return available_cpus() - os.getloadavg()[0]
    except OSError:  # no load average on this platform
        return float(available_cpus())


def tiny_threads() -> int:
    """Threads for the tiny model's work: 2 when at least 1.5 CPUs are idle, else 1 (same results either way)."""
    return 2 if idle_cpus() >= 1.5 else 1


def default_threads(model: str) -> int | None:
    """The torch thread count when `policy.cpu_threads` is unset: $MNPO_BENCH_CPU_THREADS, else `tiny_threads()`
    for the tiny model; None (torch's own default) for any other model."""
    if os.environ.get(ENV):
        return max(1, int(os.environ[ENV]))
    return tiny_threads() if model == "tiny" else None


def share_cpus(runs: int) -> None:
    """Give each of `runs` processes running at once on this machine its share of the CPUs (at least one
    thread each), unless $MNPO_BENCH_CPU_THREADS is already set; call it in each process before its run."""
    if not os.environ.get(ENV):
        os.environ[ENV] = str(max(1, min(2, available_cpus() // max(1, runs))))


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """torch's process-wide intra-op thread count set to `n` inside the block, restored after it."""
    import torch  # here, not at import: the CLI's light verbs (validate, ls) never load torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)

"""One process at a time in a run directory, and `ls runs` telling running, rejected and interrupted runs apart."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from mnpo_bench.cli import main
from mnpo_bench.store import RunStore, list_runs

HOLD = textwrap.dedent("""
    import sys, time
    from mnpo_bench.store import RunStore
    store = RunStore.open(sys.argv[1]).lock()  # kept: a collected FileLock frees itself
    print("held", flush=True)
    time.sleep(120)
""")


def _holder(out):
    """A second real process that holds `out`'s run lock until killed."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(out)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_run_on_the_same_out_says_so_and_exits_2(tmp_path, capsys):
    out = tmp_path / "runs" / "busy"
    holder = _holder(out)
    try:
        code = main(["run", "--out", str(out), "--set", "train.enabled=false"])
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 2 and len(err) == 1, err
        assert "another mnpo-bench process is working in this run directory" in err[0] and str(out) in err[0]
        assert not (out / "config.yaml").exists() and not (out / "manifest.json").exists()  # nothing written
        assert "busy" not in "\n".join(list_runs(tmp_path / "runs"))  # no manifest yet: not listed as a run
    finally:
        holder.kill()
        holder.wait()
    store = RunStore.open(out).lock()  # the lock died with its process (an OS lock, freed even by kill -9)
    store.unlock()


def test_ls_runs_shows_rejected_running_and_interrupted(tmp_path, capsys):
    runs = tmp_path / "runs"
    # a stage stopped by bad input at run time (an offline hub dataset): the run is rejected, not interrupted
    code = main(["run", "--out", str(runs / "bad"), "--set", "prompts.source=hf:no-such-org/no-such-dataset"])
    assert code == 2 and "prompts.source=hf:no-such-org/no-such-dataset" in capsys.readouterr().err
    stalled = RunStore.open(runs / "stalled")
    stalled.mark_running("prompts", "0" * 16)  # as a process killed mid-stage leaves it
    lines = {line.split()[0]: line for line in list_runs(runs)}
    assert "rejected in prompts" in lines["bad"] and "interrupted" not in lines["bad"]
    assert "interrupted in prompts" in lines["stalled"]
    holder = _holder(runs / "stalled")  # the same manifest while a live process holds the lock: running
    try:
        assert "running prompts" in {line.split()[0]: line for line in list_runs(runs)}["stalled"]
    finally:
        holder.kill()
        holder.wait()
    capsys.readouterr()
    assert main(["ls", "runs", "--runs-dir", str(runs)]) == 0
    assert "rejected in prompts" in capsys.readouterr().out

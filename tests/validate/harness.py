"""Run one CLI invocation in-process and classify what it did with malformed input.

Outcomes: "clear" (exit 2, exactly one stderr line `error: ...` naming the expected file or field, nothing
written, no work started), "unclear" (exit 2, but several lines, a line not naming the file or field, or files
written), "traceback" (any other exception), "hang" (still busy after the time limit) and "accepted" (exit 0,
or the stages / training began).
"""

from __future__ import annotations

import contextlib
import io
import signal
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

from mnpo_bench import cli


class Hang(Exception):
    """Raised by the alarm when a command runs past its time limit."""


class WorkStarted(Exception):
    """Raised where a verb's real work begins: the input got past every check."""


WORK = ("mnpo_bench.runner.run_stages", "mnpo_bench.train.offline._reference",  # where work begins: the stages,
        "mnpo_bench.train.offline.train_players")  # building or loading the starting policy, training


@dataclass
class Outcome:
    kind: str  # clear | unclear | traceback | hang | accepted
    rc: int | None
    stderr: str

    def __str__(self) -> str:
        return f"{self.kind} (rc={self.rc}): {self.stderr.strip()[-600:]}"


def _snapshot(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def _alarm(signum, frame):
    raise Hang()


def attempt(argv: list[str], root: Path, expect: str, *, limit_s: float = 20.0) -> Outcome:
    """Run `mnpo-bench argv` in-process with cwd `root` and classify it (see module docstring); `expect` must
    appear in the one error line (the file or field it names)."""
    before = _snapshot(root)
    err, out = io.StringIO(), io.StringIO()
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, limit_s)
    rc, kind = None, None
    try:
        with contextlib.ExitStack() as stack:
            for target in WORK:
                stack.enter_context(mock.patch(target, side_effect=WorkStarted()))
            stack.enter_context(contextlib.chdir(root))
            stack.enter_context(contextlib.redirect_stderr(err))
            stack.enter_context(contextlib.redirect_stdout(out))
            rc = cli.main(list(argv))
    except Hang:
        kind = "hang"
    except WorkStarted:
        kind = "accepted"
    except BaseException as exc:  # noqa: BLE001 - anything else is a crash the user would see
        kind = "traceback"
        err.write(f"\n{type(exc).__name__}: {exc}")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    text = err.getvalue()
    if kind is None:
        lines = [line for line in text.splitlines() if line.strip()]
        written = _snapshot(root) - before
        if rc == 0:
            kind = "accepted"
        elif rc == 2 and len(lines) == 1 and lines[0].startswith("error: ") and expect in lines[0] and not written:
            kind = "clear"
        else:
            kind = "unclear"
            text += f"\n[written: {sorted(written)[:5]}]" if written else ""
    return Outcome(kind, rc, text)

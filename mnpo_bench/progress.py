"""The one progress display: rich progress bars and notes on stderr, quiet when asked."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress as RichProgress, TextColumn, TimeElapsedColumn

T = TypeVar("T")


class Progress:
    """Progress bars for long loops and one-line notes, both on stderr (stdout stays for results)."""

    def __init__(self, quiet: bool = False):
        self.quiet = quiet
        self.console = Console(stderr=True, quiet=quiet)

    def note(self, message: str) -> None:
        """Print one line of status."""
        self.console.print(message)

    def track(self, items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
        """Iterate `items` with a progress bar labelled `description`."""
        if self.quiet:
            yield from items
            return
        columns = (TextColumn("  {task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with RichProgress(*columns, console=self.console, transient=False) as bar:
            task = bar.add_task(description, total=total if total is not None else _len(items))
            for item in items:
                yield item
                bar.advance(task)

    def bar(self, description: str, total: int) -> "Bar":
        """A manual progress bar for work that is not a simple loop (call .advance(n), then .close())."""
        return Bar(self, description, total)


class Bar:
    """A progress bar advanced by hand."""

    def __init__(self, progress: Progress, description: str, total: int):
        columns = (TextColumn("  {task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        self._rich = RichProgress(*columns, console=progress.console, disable=progress.quiet)
        self._task = self._rich.add_task(description, total=total)
        self._rich.start()

    def advance(self, n: int = 1) -> None:
        self._rich.advance(self._task, n)

    def close(self) -> None:
        self._rich.stop()

    def __enter__(self) -> "Bar":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _len(items: Iterable[object]) -> int | None:
    return len(items) if hasattr(items, "__len__") else None  # type: ignore[arg-type]


def hf_progress_hidden(fn):
    """Decorate `fn` so that transformers' own progress bars (weight loading, downloads) are off while it runs
    and back as they were afterwards: ours is the one display inside our calls, but a user's own transformers
    code in the same process keeps its bars (transformers' switch is process-wide)."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from transformers.utils import logging as hf_logging

        was_on = hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()
        try:
            return fn(*args, **kwargs)
        finally:
            if was_on:
                hf_logging.enable_progress_bar()

    return wrapper

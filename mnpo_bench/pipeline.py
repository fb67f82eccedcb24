"""The pipeline: stages run in order over one run store, each skipped when its inputs are unchanged.

A stage is a function `fn(stage: StageRun) -> list[str]` returning the run-relative paths it wrote. Its
input hash covers its own inputs (config sections, files) and the hashes of the stages it runs after, so a
changed input re-runs that stage and everything downstream of it, and nothing else.

A stage whose judgments partly failed calls `StageRun.mark_incomplete`: the manifest records it as
incomplete, so the next run runs it again (the judge cache then asks only for the failed judgments), and the
hash downstream stages see includes what it did produce, so they re-run once it heals. A stage that stops
on a `UserError` is recorded as rejected, with the error line.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mnpo_bench.config import RunConfig
from mnpo_bench.errors import UserError
from mnpo_bench.progress import Progress
from mnpo_bench.store import Parts, RunStore, stable_hash, write_text
from mnpo_bench.threads import default_threads


@dataclass
class StageRun:
    """One execution of a stage: its name, input hash and the run it belongs to."""

    name: str
    input_hash: str
    ctx: "Context"
    spend: dict[str, Any] = field(default_factory=dict)
    incomplete: str | None = None  # why the stage is not done although it wrote its outputs
    produced: str | None = None  # a digest of what an incomplete stage did produce, for downstream hashes

    def mark_incomplete(self, reason: str, produced: str) -> None:
        """Finish this stage as incomplete: its outputs are written, but a re-run runs it again. `produced`
        digests what it did produce (e.g. the successful judgments), so downstream stages re-run when it
        changes."""
        if self.incomplete is not None:  # several judging steps in one stage (HT-MNPO players)
            reason, produced = f"{self.incomplete}; {reason}", stable_hash(self.produced, produced)
        self.incomplete, self.produced = reason, produced

    def record_spend(self, calls: int, cost_usd: float) -> None:
        """Add judge calls made and their US dollars to this stage's manifest record."""
        self.spend["judge_calls"] = self.spend.get("judge_calls", 0) + int(calls)
        self.spend["judge_cost_usd"] = round(self.spend.get("judge_cost_usd", 0.0) + float(cost_usd), 6)

    def parts(self) -> Parts:
        """Chunk storage for resuming this stage inside itself (cleared when the stage finishes)."""
        return self.ctx.store.parts(self.name, self.input_hash)


@dataclass
class Context:
    """What every stage sees: the resolved config, the run store and the progress display."""

    config: RunConfig
    store: RunStore
    progress: Progress = field(default_factory=Progress)
    hashes: dict[str, str] = field(default_factory=dict)
    ran: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    incomplete: list[str] = field(default_factory=list)

    def stage(
        self,
        name: str,
        fn: Callable[[StageRun], list[str]],
        *,
        inputs: Any,
        after: tuple[str, ...] = (),
    ) -> str:
        """Run stage `name` unless it already finished with the same inputs; returns its input hash.

        `inputs` is anything JSON-serialisable (pydantic models are dumped); `after` names the stages
        whose outputs this one reads, so their hashes join this one's.
        """
        upstream = {dep: self.hashes[dep] for dep in after}
        input_hash = stable_hash(_jsonable(inputs), upstream)
        self.hashes[name] = input_hash
        if self.store.is_done(name, input_hash):
            self.skipped.append(name)
            self.progress.note(f"[dim]skip[/dim] {name} (done, inputs unchanged)")
            return input_hash
        started = time.time()
        self.store.mark_running(name, input_hash)
        self.progress.note(f"[bold]run[/bold]  {name}")
        run = StageRun(name, input_hash, self)
        try:
            outputs = fn(run)
        except UserError as exc:
            from mnpo_bench.redact import redact

            self.store.mark_done(name, input_hash, [], started, status="rejected", note=redact(exc.line()),
                                 spend=run.spend)
            raise
        if run.incomplete is not None:
            self.store.mark_done(name, input_hash, outputs, started, status="incomplete", note=run.incomplete,
                                 spend=run.spend)
            self.hashes[name] = stable_hash(input_hash, run.produced)
            self.incomplete.append(name)
            self.progress.note(f"[yellow]incomplete[/yellow] {name}: {run.incomplete}")
        else:
            self.store.mark_done(name, input_hash, outputs, started, spend=run.spend)
        self.store.clear_parts(name)
        self.ran.append(name)
        return self.hashes[name]


def open_run(config: RunConfig, out: Path | None, *, quiet: bool, record: bool = True) -> Context:
    """The context of the run at --out (None: <runs_dir>/<name>), named after its directory unless the config
    names it; holds the run directory's lock (a UserError when another process works there; `runner.run_stages`
    frees it however the stages end); applies policy.cpu_threads and (`record`) writes the config to
    config.yaml."""
    if out is not None and config.name == RunConfig.model_fields["name"].default:
        config = config.model_copy(update={"name": Path(out).name})
    threads = config.policy.cpu_threads or default_threads(config.policy.model)
    if threads:  # process-wide, as torch's thread pool is
        import torch

        torch.set_num_threads(threads)
    store = RunStore.open(Path(out) if out is not None else Path(config.runs_dir) / config.name).lock()
    progress = Progress(quiet=quiet)
    if record:
        dumped = config.model_dump(mode="json")
        _note_changes(store, dumped, progress)
        write_text(store.path("config.yaml"), yaml.safe_dump(dumped, sort_keys=False))
    return Context(config=config, store=store, progress=progress)


def _note_changes(store: RunStore, config: dict, progress: Progress) -> None:
    """One line when the run directory was last run with another config: what differs (the stages whose inputs
    changed re-run, the others are kept)."""
    from mnpo_bench.settings import changes

    path = store.path("config.yaml")
    if not path.exists():
        return
    try:
        found = changes(yaml.safe_load(path.read_text()) or {}, config)
    except yaml.YAMLError:
        return
    if found:
        from rich.markup import escape

        more = f" and {len(found) - 3} more" if len(found) > 3 else ""
        found_text = "; ".join(found[:3]) + more
        progress.note(escape(f"{store.root} was last run with another config ({found_text}): the stages whose "
                             "inputs changed re-run"))


def _jsonable(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value

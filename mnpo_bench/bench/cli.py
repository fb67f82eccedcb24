"""Verbs of the bench subsystem: `mnpo-bench bench` and `mnpo-bench ls tasks`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from mnpo_bench.errors import UserError

DTYPES = ("auto", "float32", "bfloat16", "float16")
OUT_FORMATS = (".parquet", ".csv", ".json")


def register(app: typer.Typer, ls_app: typer.Typer) -> None:
    """Add `bench` to the main app and `tasks` to `mnpo-bench ls`."""
    app.command("bench")(bench)
    ls_app.command("tasks")(ls_tasks)


def bench(
    target: Annotated[str, typer.Argument(help="a run directory (benchmarks every policy in its policies.json), "
                                               "a save_pretrained directory, or a Hugging Face model id")],
    tasks: Annotated[Optional[str], typer.Option(help="comma-separated lm-eval task names or YAML paths "
                                                      "(default: the built-in tasks)")] = None,
    limit: Annotated[Optional[int], typer.Option(help="at most N documents per task")] = None,
    task_dir: Annotated[Optional[list[Path]], typer.Option("--task-dir", "--include_path", "--include-path",
                                                           help="extra folder of lm-eval task YAMLs (repeatable; "
                                                           "lm-eval's --include_path)")] = None,
    num_fewshot: Annotated[Optional[int], typer.Option("--num-fewshot", "--num_fewshot",
                                                       help="few-shot examples per prompt")] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", "--batch_size", help="sequences per forward pass")] = 32,
    chat_template: Annotated[bool, typer.Option(help="render prompts with the tokenizer's chat template")] = True,
    device: Annotated[str, typer.Option(help="'auto', 'cpu', 'cuda' or 'cuda:N'")] = "auto",
    dtype: Annotated[str, typer.Option(help="auto, float32, bfloat16 or float16")] = "auto",
    seed: Annotated[int, typer.Option(help="seed of few-shot sampling and any sampled generation")] = 0,
    name: Annotated[Optional[str], typer.Option(help="model name in the results (single model only)")] = None,
    out: Annotated[Optional[Path], typer.Option(help="also write the rows to FILE (.parquet, .csv or .json)")] = None,
    alpaca_dir: Annotated[Optional[Path], typer.Option(help="write each policy's eval answers as "
                                                            "DIR/<policy>/model_outputs.json (run directory only)")] = None,
    log_dir: Annotated[Optional[Path], typer.Option("--log-dir", "--output_path", "--output-path",
                                                    help="also keep lm-eval's results JSON and per-sample logs in "
                                                    "DIR/<policy>/ (lm-eval's --output_path with --log_samples; a run "
                                                    "keeps them in RUN/bench/<policy>/)")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress display")] = False,
) -> None:
    """Score checkpoints on lm-evaluation-harness tasks; print model, task, metric, value ± stderr."""
    from mnpo_bench.bench.config import BenchConfig
    from mnpo_bench.bench.stage import bench_policies
    from mnpo_bench.bench.taskset import load_tasks, task_dirs
    from mnpo_bench.progress import Progress
    from mnpo_bench.settings import build

    if out is not None and out.suffix not in OUT_FORMATS:
        raise UserError(f"unsupported output format '{out.suffix or out.name}'", where="--out",
                        fix="end the file name in .parquet, .csv or .json")
    if dtype not in DTYPES:
        raise UserError(f"unknown dtype '{dtype}'", where="--dtype", fix="choose one of: " + ", ".join(DTYPES))
    data: dict = {"batch_size": batch_size, "chat_template": chat_template, "limit": limit,
                  "num_fewshot": num_fewshot, "task_dirs": [str(d) for d in task_dir or []]}
    if tasks is not None:
        data["tasks"] = [t.strip() for t in tasks.split(",") if t.strip()]
    config = build(BenchConfig, data, source="mnpo-bench bench")
    policies = _policies(target, name)
    if alpaca_dir is not None and not (Path(target) / "policies.json").exists():
        raise UserError("needs a run directory as TARGET", where="--alpaca-dir",
                        fix="give a run directory as TARGET, or leave --alpaca-dir out")
    progress = Progress(quiet=quiet)
    taskset = load_tasks(config.tasks, task_dirs(config.task_dirs), config.num_fewshot, seed, progress, "--tasks")
    frame = bench_policies(policies, taskset, config, seed=seed, device=device, dtype=dtype, progress=progress,
                           log_root=log_dir)
    typer.echo(format_rows(frame))
    if out is not None:
        _write(frame, out)
        progress.note(f"wrote {out}")
    if alpaca_dir is not None:
        _export(Path(target), alpaca_dir, list(policies), progress)


# lm-eval's spellings that mean something else here: what to write instead (`mnpo-bench bench` usage errors)
LM_EVAL_FLAGS = {
    "--model": "give the checkpoint (or a run directory) as TARGET; the backend is always Hugging Face",
    "--model_args": "give pretrained=... as TARGET and dtype=... as --dtype",
    "--log_samples": "give --log-dir DIR (lm-eval's --output_path): per-sample logs are always kept there",
    "--apply_chat_template": "the chat template is on by default (--no-chat-template turns it off)",
    "--fewshot_as_multiturn": "few-shot examples are chat turns whenever the chat template is on",
    "--gen_kwargs": "generation settings come from each task's YAML (generation_kwargs)",
}


def lm_eval_hint(option: str | None) -> str | None:
    """What to write instead of lm-eval's option `option`, or None when it is not one of theirs."""
    return LM_EVAL_FLAGS.get(option or "")


def _policies(target: str, name: Optional[str]) -> dict[str, str]:
    """{name: location} of what TARGET names: every policy of a run directory, or one model."""
    from mnpo_bench.policy.load import read_policies
    from mnpo_bench.policy.load import check_model_location

    if (Path(target) / "policies.json").exists():
        if name is not None:
            raise UserError("--name is for a single model", where="--name", fix="leave it out for a run directory")
        return read_policies(Path(target))
    location = check_model_location(target, where="TARGET")
    default = Path(target).resolve().name if Path(target).exists() else target  # a folder's name, or the hub id
    return {name or default: location}


def _write(frame, out: Path) -> None:
    from mnpo_bench.store import write_table, write_text

    if out.suffix == ".parquet":
        write_table(out, frame)
    elif out.suffix == ".csv":
        write_text(out, frame.to_csv(index=False))
    else:
        write_text(out, json.dumps(json.loads(frame.to_json(orient="records")), indent=2) + "\n")


def _export(run: Path, alpaca_dir: Path, policies: list[str], progress) -> None:
    from mnpo_bench.bench.alpaca import eval_answers, model_outputs, outputs_path, write_model_outputs
    from mnpo_bench.store import RunStore

    answers = eval_answers(RunStore(run))
    for policy in policies:
        records = model_outputs(answers, policy)
        if records:
            progress.note(f"wrote {write_model_outputs(outputs_path(alpaca_dir, policy), records)}")
        else:
            progress.note(f"{policy}: no answers on the eval prompts in {run} (the tournament writes them)")


def format_rows(frame) -> str:
    """Bench rows as an aligned text table: model, task, metric (filter when not 'none'), value ± stderr, n."""
    lines = [f"{'model':<24} {'task':<22} {'metric':<28} {'value':>8} {'± stderr':>9} {'n':>6}"]
    for row in frame.itertuples(index=False):
        metric = row.metric if row.filter == "none" else f"{row.metric} ({row.filter})"
        stderr = "" if row.stderr != row.stderr else f"{row.stderr:.4f}"  # NaN: no stderr
        lines.append(f"{row.model:<24} {row.task:<22} {metric:<28} {row.value:>8.4f} {stderr:>9} {row.n!s:>6}")
    return "\n".join(lines)


def ls_tasks(
    task_dir: Annotated[Optional[list[Path]], typer.Option("--task-dir", "--include_path", "--include-path",
                                                           help="extra folder of task YAMLs")] = None,
) -> None:
    """The built-in benchmark tasks (and those in --task-dir folders): name, kind, version, documents."""
    from mnpo_bench.bench.taskset import describe_tasks, task_dirs

    for row in describe_tasks(task_dirs([str(d) for d in task_dir or []])):
        docs = "?" if row["docs"] is None else row["docs"]
        typer.echo(f"{row['name']:<24} {row['output_type']:<16} v{row['version']}  {docs:>5} docs  {row['path']}")

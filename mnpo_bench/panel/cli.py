"""Verbs of the panel subsystem, mounted by mnpo_bench.cli: `ls personas`, `ls panels`,
`personas test PATH_OR_NAME` and `annotate RUN_DIR`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

SetOpt = Annotated[Optional[list[str]], typer.Option("--set", help="override a field: key.sub=value (repeatable)")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="no progress bars")]

personas_app = typer.Typer(help="Try out annotator personas.", no_args_is_help=True)


def register(app: typer.Typer, ls_app: typer.Typer) -> None:
    """Add this subsystem's verbs to the main app (and its listings to `mnpo-bench ls`)."""
    ls_app.command("personas")(ls_personas)
    ls_app.command("panels")(ls_panels)
    app.add_typer(personas_app, name="personas")
    app.command("annotate")(annotate)


def ls_personas() -> None:
    """Every persona in ./annotators and the built-in folder: backend, version, biases, description."""
    from mnpo_bench.errors import UserError
    from mnpo_bench.panel.personas import list_personas, load_persona

    for name in list_personas():
        try:
            p = load_persona(name)
        except UserError as exc:
            typer.echo(f"{name:<16} BROKEN  {exc.line()}")
            continue
        b = p.file.biases
        biases = f"pos {b.position:+.1f} len {b.length:+.1f} noise {b.noise:.2f} T {p.file.temperature:g}"
        typer.echo(f"{p.name:<16} {p.backend:<13} v{str(p.file.version):<3} {biases:<34} {p.file.description}")


def ls_panels() -> None:
    """Every panel preset: aggregation, personas with weights, shared-quality knob."""
    from mnpo_bench.errors import UserError
    from mnpo_bench.panel.personas import list_panels, load_panel

    for name in list_panels():
        try:
            panel = load_panel(name)
        except UserError as exc:
            typer.echo(f"{name:<12} BROKEN  {exc.line()}")
            continue
        seats = ", ".join(f"{p.name}" + (f"x{w:g}" if w != 1 else "") for p, w in panel.members)
        knob = f" shared_quality {panel.shared_quality:g} ({panel.quality.name})" if panel.quality else ""
        typer.echo(f"{panel.name:<12} {panel.aggregation:<6} {seats}{knob}")


@personas_app.command("test")
def test_persona(
    persona: Annotated[str, typer.Argument(help="persona name or path to its YAML")],
    set_: SetOpt = None,
    prompts: Annotated[int, typer.Option(help="probe prompts (4 responses each, 6 pairs, both orders)")] = 20,
    seed: Annotated[int, typer.Option(help="seed of the probe set and label noise")] = 0,
    quiet: QuietOpt = False,
) -> None:
    """Judge the built-in probe pairs and print the persona's measured biases and its agreement with
    each built-in persona."""
    from mnpo_bench.panel.probe import measure_persona
    from mnpo_bench.progress import Progress
    from mnpo_bench.settings import parse_overrides

    report = measure_persona(persona, parse_overrides(set_), n_prompts=prompts, seed=seed,
                             progress=Progress(quiet=quiet))
    for line in report_lines(report):
        typer.echo(line)


def report_lines(report: dict) -> list[str]:
    """The `personas test` report as text lines."""
    r = report["row"]

    def pct(x: object) -> str:
        return "  n/a" if x is None or x != x else f"{100 * float(x):4.0f}%"

    lines = [f"persona {report['persona']} ({report['backend']}) from {report['source']}",
             f"  judged {int(r['judgments'])} comparisons: {int(r['failed'])} failed ({pct(r['failure_rate'])})",
             f"  prefers the first-shown response  {pct(r['first_position_rate'])}   (unbiased: 50%)",
             f"  prefers the longer response       {pct(r['longer_rate'])}",
             f"  ties                              {pct(r['tie_rate'])}",
             f"  mean latency {r['mean_latency_s']:.4f} s, cost ${r['cost_usd']:.4f}, {int(r['calls'])} calls, "
             f"{int(r['cache_hits'])} from cache",
             "  agreement with built-in personas (same label; Cohen's kappa):"]
    for other in sorted(report["others"], key=lambda o: -(o["kappa"] if o["kappa"] is not None else -2)):
        kappa = "  n/a" if other["kappa"] is None else f"{other['kappa']:+.2f}"
        lines.append(f"    {other['persona']:<16} {pct(other['agreement'])}   kappa {kappa}")
    if report["skipped"]:
        lines.append("  not compared (need a model or an endpoint): " + ", ".join(report["skipped"]))
    return lines


def annotate(
    run_dir: Annotated[Path, typer.Argument(help="run directory holding prompts.parquet and generations.parquet")],
    set_: SetOpt = None,
    quiet: QuietOpt = False,
    yes: Annotated[bool, typer.Option("--yes", help="go ahead when the judge cost estimate exceeds panel.max_calls / panel.max_cost_usd")] = False,
) -> None:
    """(Re-)annotate a run's reference samples with the panel; e.g. --set panel.preset=cyclic."""
    from mnpo_bench.panel.stage import OUTPUTS, non_transitivity_line
    from mnpo_bench.runner import annotate_run

    ctx = annotate_run(run_dir, [*(set_ or []), *(["panel.over_budget_ok=true"] if yes else [])], quiet=quiet)
    store = ctx.store
    state = ("skipped (done, inputs unchanged)" if "annotate" in ctx.skipped
             else "incomplete (failed judgments: re-run to ask again)" if "annotate" in ctx.incomplete else "annotated")
    typer.echo(f"{state}: {run_dir}")
    for name in OUTPUTS:
        typer.echo(f"  {store.path(name)}")
    if ctx.config.panel.enabled:
        d = json.loads(store.path("panel_diagnostics.json").read_text())
        c = d["counts"]
        typer.echo(f"  {c['judgments']} judgments, {c['failed']} failed, {c['preferences']} preferences; "
                   f"Krippendorff's alpha {d['krippendorff_alpha']}, cyclic triads {d['cyclic_triads']['panel']}")
        typer.echo(f"  non-transitivity: {non_transitivity_line(d['non_transitivity'])}")

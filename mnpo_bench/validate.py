"""The one check of a run's inputs, before any work: `mnpo-bench validate` prints its lines, and `run`,
`tournament` and `annotate` call the same `validate_parts` first, so validate passes exactly what run accepts.

Each check reads what the run would read (the prompts file, every persona, panel, recipe and task YAML, the
policies it names) and asks the host for the devices it names; it writes nothing and loads no model weights.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from mnpo_bench.config import RunConfig, load_config
from mnpo_bench.errors import UserError, did_you_mean


def validate_parts(config: RunConfig, *, verb: str = "run") -> list[str]:
    """Check everything the config names (prompts, model, devices, personas, recipes, tasks, output folders,
    the leaderboard's reference); one line per check, a UserError at the first problem. `verb` is the verb
    that will run: "run" checks everything, "tournament" and "annotate" what those verbs read."""
    lines = [*(_validate_prompts(config) if verb != "annotate" else []), *_validate_policy(config),
             *_validate_devices(config), *_validate_outputs(config)]
    if verb == "run":
        lines += _validate_train(config)
    lines += _validate_panel(config)
    if verb == "run":
        lines += [*_validate_bench(config), *_validate_reference(config)]
    return lines


def _validate_prompts(config: RunConfig) -> list[str]:
    """Draw the prompts exactly as the prompts stage will (nothing written): file rows, families, counts."""
    from mnpo_bench.prompts.load import load_prompts

    source = config.prompts.source
    if source.startswith("hf:"):
        if not source[3:].strip():
            raise UserError("no dataset named", where="prompts.source", fix="write hf:<dataset name>")
        return [f"ok  prompts {source} (a hub dataset: read when the prompts stage runs)"]
    if source != "builtin" and not Path(source).is_file():
        what = "is a directory" if Path(source).is_dir() else "not found"
        raise UserError(f"prompts file {what}", where=f"prompts.source={source}", fix="give an existing JSONL file")
    frame = load_prompts(config.prompts, config.seed)
    counts = frame["split"].value_counts()
    return [f"ok  prompts {source}: {counts.get('train', 0)} train, {counts.get('eval', 0)} eval"]


def _validate_policy(config: RunConfig) -> list[str]:
    lines = []
    template = config.policy.chat_template
    if config.policy.model != "tiny":
        from transformers import AutoTokenizer

        from mnpo_bench.policy.chat import ensure_chat_template, read_chat_template
        from mnpo_bench.policy.load import check_model_location
        from mnpo_bench.policy.template import check_template

        tokenizer = AutoTokenizer.from_pretrained(check_model_location(config.policy.model, where="policy.model"))
        if template is not None:  # the policy stage gives the checkpoint this template: it must render
            check_template(tokenizer, read_chat_template(template))
        ensure_chat_template(tokenizer, where="policy.model")
    lines.append(f"ok  policy {config.policy.model}" + (" (chat template from policy.chat_template)" if template else ""))
    from mnpo_bench.generation.generate import GENERATION_BACKENDS as BACKENDS

    if config.generation.backend not in BACKENDS:
        raise UserError(f"unknown generation backend '{config.generation.backend}'", where="generation.backend",
                        fix=did_you_mean(config.generation.backend, BACKENDS))
    return lines


def _validate_devices(config: RunConfig) -> list[str]:
    from mnpo_bench.devices import check_device

    for where, value in (("policy.device", config.policy.device), ("train.device", config.train.device),
                         ("panel.device", config.panel.device)):
        check_device(value, where)
    return [f"ok  devices policy={config.policy.device} train={config.train.device} panel={config.panel.device}"]


def _validate_panel(config: RunConfig) -> list[str]:
    from mnpo_bench.panel.personas import validate_panel

    return validate_panel(config.panel) if config.panel.enabled else ["ok  panel disabled"]


def _validate_train(config: RunConfig) -> list[str]:
    from mnpo_bench.train.recipes import validate_recipes

    from mnpo_bench.train.prompt_split import check_prompt_split

    if config.train.enabled and not config.train.methods:
        raise UserError("no methods to train", where="train.methods", fix="name a recipe, or set train.enabled=false")
    lines = validate_recipes(config.train)
    if config.train.enabled:
        lines.append(check_prompt_split(config.prompts.n_train, config.train.iterations, config.train.prompt_split))
    return lines


def _validate_bench(config: RunConfig) -> list[str]:
    from mnpo_bench.bench.stage import validate_bench

    return validate_bench(config)


def _validate_outputs(config: RunConfig) -> list[str]:
    """The folders a run writes under must be folders (or not exist yet)."""
    for where, value in (("runs_dir", config.runs_dir), ("leaderboard.publish_dir", config.leaderboard.publish_dir)):
        path = Path(value)
        if path.exists() and not path.is_dir():
            raise UserError(f"'{value}' is a file, not a folder", where=where, fix="give a folder (it is created if missing)")
    return []


def planned_policies(config: RunConfig) -> list[str]:
    """The names of the policies a `run` of `config` enters in its tournament: the reference, every trained
    iterate (or each method's last, for tournament.policies=final) and tournament.extra_policies."""
    from mnpo_bench.policy.load import policy_spec
    from mnpo_bench.train.iteration import policy_name
    from mnpo_bench.train.stage import players_of, resolve_recipes

    names = ["reference"]
    if config.train.enabled:
        ctx = SimpleNamespace(config=config)
        last = config.train.iterations
        first = last if config.tournament.policies == "final" else 1
        for method, recipe in resolve_recipes(ctx).items():
            names += [policy_name(method, p, t) for p in players_of(config, recipe) for t in range(first, last + 1)]
    for spec in config.tournament.extra_policies:
        name, _ = policy_spec(spec, where=f"tournament.extra_policies: {spec}")
        if name in names:
            raise UserError(f"policy name '{name}' is entered twice", where="tournament.extra_policies",
                            fix="give the extra policy another name (name=location)")
        names.append(name)
    return names


def _validate_reference(config: RunConfig) -> list[str]:
    """leaderboard.reference must be a policy the run's tournament enters (else no rating is relative to it)."""
    if not (config.tournament.enabled and config.leaderboard.enabled):
        return []
    names = planned_policies(config)
    if config.leaderboard.reference not in names:
        raise UserError(f"'{config.leaderboard.reference}' is not a policy of this run", where="leaderboard.reference",
                        fix=did_you_mean(config.leaderboard.reference, names))
    return [f"ok  tournament of {len(names)} policies, rated against {config.leaderboard.reference}"]


def validate_config(path: Path | None, overrides: list[str]) -> list[str]:
    """`mnpo-bench validate`: the config at `path` (None: the embedded default) and every persona, panel,
    recipe and task it names."""
    config = load_config(path, overrides)
    return [f"ok  config {path or '(embedded default)'}", *validate_parts(config), "valid"]

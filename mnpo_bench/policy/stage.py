"""The policy stage (reference.json: where the reference policy is) and the policies step (policies.json:
the reference plus every trained iterate). `reference_path` is the one reader of reference.json."""

from __future__ import annotations

import json
from pathlib import Path

from mnpo_bench.errors import UserError
from mnpo_bench.pipeline import Context, StageRun
from mnpo_bench.policy.locations import portable_location, resolve_location
from mnpo_bench.store import RunStore, write_json


TEMPLATED = "policy/reference"  # the reference with policy.chat_template (policy/template.py)


def policy_stage(ctx: Context) -> None:
    """Run (or skip) the policy stage: reference.json with the reference policy's location (the tiny model is
    built on first use, then cached). Its inputs are the policy config and, for the tiny model, the build's
    cache key, so a run made before the corpus code changed re-runs from here instead of keeping the old model."""
    from mnpo_bench.policy.chat import read_chat_template
    from mnpo_bench.policy.load import resolve_policy

    config = ctx.config.policy
    template = read_chat_template(config.chat_template) if config.chat_template is not None else None

    def fn(stage: StageRun) -> list[str]:
        path = resolve_policy(config, ctx.progress)
        outputs = ["reference.json"]
        if template is not None:
            from mnpo_bench.policy.template import with_chat_template

            path = str(with_chat_template(path, template, ctx.store.path(TEMPLATED)))
            outputs.append(TEMPLATED)
        stored = portable_location(path, ctx.store.root)
        write_json(ctx.store.path("reference.json"), {"reference": stored})
        # a checkpoint outside the run is an output (gone: the stage re-runs); not the tiny model's cache
        # entry, which resolve_location rebuilds, so a moved cache re-runs nothing
        return outputs + ([path] if Path(path).is_absolute() and stored == path else [])

    # without policy.chat_template the hash is what it was before the field; with it, its text (not a file name)
    inputs: dict = {"policy": config.model_dump(mode="json", exclude={"chat_template"})}
    if template is not None:
        inputs["chat_template"] = template
    if config.model == "tiny":  # the build's key follows the corpus code, which the config does not name
        from mnpo_bench.policy.tiny import tiny_model_dir

        inputs["build"] = tiny_model_dir(config.tiny).name
    ctx.stage("policy", fn, inputs=inputs)


def reference_path(store: RunStore) -> str:
    """The reference policy's location recorded by the policy stage; UserError when it has not run."""
    return resolve_location(stored_reference(store), store.root)


def stored_reference(store: RunStore) -> str:
    """reference.json's value as stored (run-relative, `tiny:<key>` or as configured; policy/locations.py)."""
    path = store.path("reference.json")
    if not path.exists():
        raise UserError("the reference policy is missing", where=str(path), fix="run the policy stage first")
    return json.loads(path.read_text())["reference"]


def policies_stage(ctx: Context) -> None:
    """policies.json: the reference plus every trained iterate, {name: path} (relative paths are run-relative)."""
    policies = {"reference": stored_reference(ctx.store)}
    trained = ctx.store.path("train/policies.json")
    if ctx.config.train.enabled and trained.exists():
        policies.update(json.loads(trained.read_text()))
    write_json(ctx.store.path("policies.json"), policies)

"""Training recipes: one YAML per method in `trainer/`, validated into a `Recipe`.

A recipe file holds the settings the embedded tiny model trains with at the top level, and a `paper:`
block of overrides with the published settings for 7–9B models. `load_recipe(name, profile="paper")`
merges that block in; both profiles are validated whenever a recipe is loaded or listed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from mnpo_bench import settings
from mnpo_bench.errors import UserError, did_you_mean
from mnpo_bench.paths import builtin_dir
from mnpo_bench.settings import Section
from mnpo_bench.train.chunked import LogProbTiles

PROFILES = ("tiny", "paper")


class LossSettings(Section):
    """Which loss, and its hyperparameters (each loss reads only the ones it needs). One name, one meaning in
    every recipe: `beta` is always the strength of the KL regularisation toward the anchor, `margin` always a
    target margin in nats of log-ratio (see docs/train.md, "Hyperparameter names")."""

    name: str = Field(..., description="loss name: mnpo, inpo, dpo, ipo, simpo, sppo, sppo_pair, rdpo, cdpo, egpo, "
                      "nash_md, xpo, spin, dno, apo, spo or onpo (`mnpo-bench ls recipes` shows which recipe uses which)")
    beta: float = Field(0.1, gt=0, description="regularisation strength (KL coefficient) in every loss: DPO's, "
                        "SimPO's and their variants' beta; IPO's and EGPO's tau; MNPO's, INPO's and ONPO's eta "
                        "(target margin 1/(2 beta)); SPPO's beta = 1/eta (target (P - 1/2)/beta); Nash-MD's KL "
                        "strength")
    margin: float | None = Field(None, description="target margin in nats of length-averaged log-ratio: SimPO's "
                                 "gamma/beta (its release's gamma_beta_ratio), required there; null for every other "
                                 "loss (the squared-error losses take their target from beta: 1/(2 beta))")
    epsilon: float = Field(0.1, ge=0, lt=0.5, description="rDPO: the known label flip rate ε; cDPO: the label "
                           "smoothing ε (cDPO with soft_labels takes ε = 1 − p from the panel instead)")
    alpha: float = Field(1e-3, ge=0, description="XPO: weight α of the exploration term α·log π(y_ref)")
    clip: float = Field(0.2, gt=0, lt=1, description="SPO: PPO clipping range c of the ratio π/π_t")
    ratio: float = Field(1 / 3, ge=0, le=1, description="MNPO/INPO weight of the reference in the mixture (τ/η)")
    average_logps: bool = Field(False, description="length-average sequence log-probs instead of summing them")
    soft_labels: bool = Field(
        False, description="use the panel probability p: MNPO/INPO/IPO target x (2p - 1); DPO as cDPO with "
        "label smoothing 1 - p; SPPO and SimPO ignore it (SPPO always uses the panel's probabilities)")


# Loss field names that had two meanings, and the migration of each to the one-meaning names.
RENAMED = {
    "eta": "loss.eta is now loss.beta, the regularisation strength: MNPO/INPO/ONPO/HT-MNPO keep the value "
           "(target 1/(2 beta)); SPPO takes beta = 1/eta (eta 10 -> beta 0.1)",
    "gamma": "loss.gamma (SimPO's reward margin) is now loss.margin = gamma/beta in nats of log-prob "
             "(gamma 0.5 at beta 2 -> margin 0.25)",
}


def check_renamed(data: dict[str, Any], where: str) -> None:
    """A UserError naming `where` when the recipe dict `data` (or its paper block or schedule) still uses a
    loss field name of recipe version 1; the fix is the migration."""
    blocks = [("", data), ("paper.", data.get("paper") or {})]
    blocks += [(f"schedule[{i}].", entry) for i, entry in enumerate(data.get("schedule") or [])]
    blocks += [(f"paper.schedule[{i}].", e) for i, e in enumerate((data.get("paper") or {}).get("schedule") or [])]
    for prefix, block in blocks:
        loss = block.get("loss") if isinstance(block, dict) else None
        for old in RENAMED:
            if isinstance(loss, dict) and old in loss:
                raise UserError(f"field '{prefix}loss.{old}' was renamed", where=where, fix=RENAMED[old])


class OpponentSettings(Section):
    """Who the policy plays against (MNPO family and SPPO); ignored by the other losses."""

    population: Literal["none", "td", "ht"] = Field(
        "none", description="none; td = the last k iterates (TD-MNPO); ht = the other personas' players (HT-MNPO)")
    k: int = Field(0, ge=0, description="TD: number of past iterates (the reference is iterate 0)")
    weights: list[float] | None = Field(
        None, description="TD: weight per opponent, most recent first (normalised; uniform when null)")
    negative_weights: bool = Field(
        False, description="allow negative TD weights (APO's extrapolated anchor (1 + α, −α)); they must still "
        "sum to a positive number, and only losses that take a signed anchor (apo) accept them")

    @model_validator(mode="after")
    def _check(self) -> "OpponentSettings":
        if self.population == "td" and self.k < 1:
            raise ValueError("a td population needs k >= 1")
        if self.weights is not None:
            if self.population != "td" or len(self.weights) != self.k:
                raise ValueError("weights are for a td population and need exactly k entries")
            if (any(w < 0 for w in self.weights) and not self.negative_weights) or sum(self.weights) <= 0:
                raise ValueError("weights must be non-negative with a positive sum (negative ones need "
                                 "negative_weights: true)")
        return self


class OptimSettings(Section):
    """The optimiser and its schedule."""

    lr: float = Field(5e-7, gt=0, description="peak learning rate (AdamW)")
    schedule: Literal["cosine", "linear", "constant"] = Field("cosine", description="decay after warm-up")
    warmup_ratio: float = Field(0.1, ge=0, lt=1, description="fraction of steps spent warming up linearly")
    epochs: int = Field(1, ge=1, description="passes over the iteration's preference pairs")
    batch_size: int = Field(8, ge=1, description="preference pairs per micro-batch (per device)")
    grad_accum: int = Field(1, ge=1, description="micro-batches per optimiser step")
    weight_decay: float = Field(0.0, ge=0, description="AdamW weight decay")
    max_grad_norm: float | None = Field(1.0, gt=0, description="gradient clipping norm (null: no clipping)")


class Recipe(Section):
    """One training method: loss, opponents, optimiser, sequence handling."""

    version: int = Field(1, description="recipe format version")
    method: str = Field(..., description="name of the method in run outputs (train/<method>/iter<t>)")
    description: str = Field("", description="one line on what the method is")
    loss: LossSettings = Field(..., description="loss and hyperparameters")
    opponents: OpponentSettings = Field(default_factory=OpponentSettings, description="opponent population")
    optim: OptimSettings = Field(default_factory=OptimSettings, description="optimiser")
    loop: str = Field("standard", description="the loop shape: the sub-stages of each online iteration "
                      "(train/shapes.py LOOP_SHAPES; standard: generate, annotate, fit)")
    mixture: float = Field(0.125, ge=0, le=1, description="loop shapes that sample a geometric mixture (Nash-MD): "
                           "weight m of the reference, next-token log-probs (1 − m)·log π_t + m·log π_ref")
    pairs: str = Field("all", description="which labelled pairs train (train/data.py SELECTIONS): all, or "
                       "best_vs_worst (per prompt its best response vs its worst, never against the panel's verdict)")
    min_prob: float = Field(0.5, ge=0.5, le=1.0, description="drop pairs whose panel probability (chosen beats "
                            "rejected) is below this: near-ties carry more label noise than signal")
    max_length: int = Field(256, ge=8, description="tokens of prompt + response (prompt keeps at most half)")
    precompute_batch_size: int = Field(32, ge=1, description="pairs per batch when precomputing log-probs")
    logprob_tiles: LogProbTiles = Field(default_factory=LogProbTiles, description="tile sizes of the chunked "
                                        "log-probs (training and precompute); bound the logits memory")
    checkpoint_every: int = Field(0, ge=0, description="save a resumable checkpoint every N optimiser steps (0: never)")
    mixed_precision: Literal["auto", "no", "bf16", "fp16"] = Field("auto", description="auto: bf16 on GPU, none on CPU")
    gradient_checkpointing: Literal["auto", "on", "off"] = Field("auto", description="auto: on for GPU, off on CPU")
    paper: dict[str, Any] = Field(default_factory=dict, description="overrides with the paper's settings (7–9B)")
    schedule: list[dict[str, Any]] = Field(
        default_factory=list, description="per-iteration overrides of loss, opponents and optim: entry t - 1 "
        "applies to online iteration t, the last entry to every later one (empty: the same settings throughout)")

    @field_validator("mixed_precision", "gradient_checkpointing", mode="before")
    @classmethod
    def _yaml_booleans(cls, value: Any, info: Any) -> Any:
        """YAML reads an unquoted `no`/`off` as false and `on` as true: map them back to the words meant."""
        if isinstance(value, bool):
            if info.field_name == "mixed_precision":
                return "no" if value is False else value  # `mixed_precision: yes` stays an error
            return "on" if value else "off"
        return value

    @model_validator(mode="after")
    def _check_loss(self) -> "Recipe":
        from mnpo_bench.train.objectives import OBJECTIVES
        from mnpo_bench.train.shapes import LOOP_SHAPES

        from mnpo_bench.train.data import SELECTIONS

        if self.pairs not in SELECTIONS:
            raise ValueError(f"unknown pairs selection '{self.pairs}' ({did_you_mean(self.pairs, SELECTIONS)})")
        if self.loop not in LOOP_SHAPES:
            raise ValueError(f"unknown loop shape '{self.loop}' ({did_you_mean(self.loop, LOOP_SHAPES)})")
        if self.loss.name not in OBJECTIVES:
            raise ValueError(f"unknown loss '{self.loss.name}' ({did_you_mean(self.loss.name, OBJECTIVES)})")
        needs = OBJECTIVES.get(self.loss.name).opponents
        if needs and self.opponents.population == "none":
            raise ValueError(f"loss '{self.loss.name}' needs opponents (set opponents.population to td or ht)")
        if self.loss.name == "inpo" and self.opponents.population == "td" and self.opponents.k != 1:
            raise ValueError("INPO plays exactly one opponent: set opponents.k to 1, or use the mnpo loss")
        if (self.loss.margin is None) == (self.loss.name == "simpo"):
            raise ValueError("loss.margin is SimPO's target margin gamma/beta: set it for simpo, and leave it out "
                             f"of '{self.loss.name}'" + (" (its target is 1/(2 beta))" if self.loss.name != "simpo"
                                                         else ""))
        bad = [key for entry in self.schedule for key in entry if key not in SCHEDULED]
        if bad:
            raise ValueError(f"schedule entries may set {', '.join(SCHEDULED)}, not '{bad[0]}'")
        if self.opponents.negative_weights and self.loss.name != "apo":
            raise ValueError(f"negative opponent weights are APO's anchor; loss '{self.loss.name}' needs a "
                             "mixture with non-negative weights")
        return self


    def at_iteration(self, t: int) -> "Recipe":
        """This recipe as online iteration `t` (1-based) trains it: its schedule entry for t merged in (the last
        entry for t beyond the schedule); the recipe itself when it has no schedule."""
        if not self.schedule:
            return self
        entry = self.schedule[min(t, len(self.schedule)) - 1]
        return Recipe.model_validate(settings.deep_merge(self.model_dump(), entry))


SCHEDULED = ("loss", "opponents", "optim")  # what a schedule entry may change between iterations


def recipe_path(name: str, where: str = "train.methods") -> Path:
    """The YAML of recipe `name` (a built-in name in trainer/ or a path); UserError naming `where` when missing."""
    candidate = Path(name)
    if candidate.suffix in (".yaml", ".yml") or candidate.exists():
        if not candidate.exists():
            raise UserError("recipe file not found", where=name, fix="check the path")
        return candidate
    path = builtin_dir("trainer") / f"{name}.yaml"
    if not path.exists():
        raise UserError(f"unknown recipe '{name}'", where=where,
                        fix=did_you_mean(name, [p.stem for p in builtin_recipe_files()]))
    return path


def builtin_recipe_files() -> list[Path]:
    """The shipped recipe YAMLs (not the accelerate configs), sorted by name."""
    return sorted(builtin_dir("trainer").glob("*.yaml"))


def load_recipe(name: str, profile: str = "tiny", overrides: dict[str, Any] | None = None, *,
                where: str = "train.methods") -> Recipe:
    """The validated recipe `name` under `profile` ("tiny" or "paper") with nested `overrides` merged last;
    `where` names the setting that chose it, for error messages."""
    if profile not in PROFILES:
        raise UserError(f"unknown recipe profile '{profile}'", where="profile", fix=did_you_mean(profile, PROFILES))
    path = recipe_path(name, where)
    data = settings.read_yaml(path)
    check_renamed(data, str(path))
    check_renamed(overrides or {}, f"overrides of recipe {name} (--set or train.overrides)")
    base = settings.build(Recipe, data, str(path))
    if profile == "paper":
        data = settings.deep_merge({k: v for k, v in data.items() if k != "paper"}, base.paper)
    data = settings.deep_merge(data, overrides or {})
    source = f"{path} ({profile} profile)" if profile == "paper" else str(path)
    recipe = settings.build(Recipe, data, source)
    for t in range(1, len(recipe.schedule) + 1):  # every scheduled iteration validates before any work
        settings.build(Recipe, settings.deep_merge(recipe.model_dump(), recipe.schedule[t - 1]),
                       f"{source} schedule[{t - 1}]")
    return recipe


def list_recipes() -> list[str]:
    """One line per shipped recipe: name, loss, opponents, loop shape, tiny lr and description."""
    lines = []
    for path in builtin_recipe_files():
        recipe = load_recipe(str(path))
        load_recipe(str(path), profile="paper")  # the paper block must validate too
        opp = recipe.opponents
        who = {"none": "-", "td": f"td k={opp.k}", "ht": "ht (personas)"}[opp.population]
        lines.append(f"{path.stem:<10} loss={recipe.loss.name:<9} opponents={who:<14} loop={recipe.loop:<17} "
                     f"lr={recipe.optim.lr:g}  {recipe.description}")
    return lines


def validate_recipes(config: Any) -> list[str]:
    """`mnpo-bench validate`: one line per recipe that the TrainConfig `config` names, each validated under
    both profiles with the config's overrides; a UserError on the first bad one."""
    if not config.enabled:
        return ["ok  train disabled"]
    check_overrides(config)
    lines = check_trackers(config.report_to)
    for name in config.methods:
        tiny, _paper = (load_recipe(name, profile, config.overrides.get(name)) for profile in PROFILES)
        lines.append(f"ok  recipe {name}: loss {tiny.loss.name}, opponents {tiny.opponents.population}")
    return lines


def check_trackers(report_to: list[str]) -> list[str]:
    """A UserError naming train.report_to when a tracker it lists is not installed (accelerate's own
    availability checks), or when MLflow would need its local sqlite store (no MLFLOW_TRACKING_URI) and
    SQLAlchemy is missing; else its one validate line (none when the list is empty)."""
    import importlib.util
    import os

    from accelerate.utils import imports

    for name in report_to:
        if not getattr(imports, f"is_{name}_available")():
            raise UserError(f"the {name} tracker is not installed", where="train.report_to",
                            fix=f"pip install {name} (or mnpo-bench[tracking]), or drop it from the list")
    local_mlflow = "mlflow" in report_to and not os.environ.get("MLFLOW_TRACKING_URI")
    if local_mlflow and not importlib.util.find_spec("sqlalchemy"):
        raise UserError("mlflow's local store (train/tracking/mlflow.db) needs sqlalchemy and alembic",
                        where="train.report_to", fix="pip install sqlalchemy alembic (or mnpo-bench[tracking]), "
                        "or set MLFLOW_TRACKING_URI to a tracking server")
    return [f"ok  trackers {', '.join(report_to)}"] if report_to else []


def check_overrides(config: Any) -> None:
    """A UserError when train.overrides names a method that is not in train.methods."""
    unknown = sorted(set(config.overrides) - set(config.methods))
    if unknown:
        raise UserError(f"overrides for '{unknown[0]}', which is not in train.methods", where="train.overrides",
                        fix="key overrides by an entry of train.methods")


def resolve_precision(recipe: Recipe, on_gpu: bool) -> str:
    """The mixed precision a recipe trains (and precomputes) with: its setting, or for "auto" bf16 on GPU
    and none on CPU. Precompute and training must agree, so the stored log-probs match the policy's at t = 0."""
    if recipe.mixed_precision == "fp16" and not on_gpu:
        raise UserError("fp16 mixed precision needs a GPU (on a CPU it would silently train in fp32)",
                        where="mixed_precision", fix="set mixed_precision: bf16 or 'no' on a CPU, or train on a GPU")
    if recipe.mixed_precision != "auto":
        return recipe.mixed_precision
    return "bf16" if on_gpu else "no"

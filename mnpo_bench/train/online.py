"""One online iteration of one method, run as its loop shape's sub-stages (train/shapes.py).

Each step is an ordinary pipeline stage `train/<method>/iter<t>/<step>` with its own input hash, so it
shows in manifest.json, `ls runs` and the dashboard, is skipped when unchanged and resumes on its own.
The generate and annotate steps call the same bodies as the run's generate and annotate stages
(`generation.generate` with chunked resume, `panel.stage.judge_samples`). A generate step samples from the
method's own stream, seeded by (run seed, method, t, the step's position among the iteration's generate steps),
unless `train.common_random_numbers` (then every method shares the stream of (run seed, t, position)); the
annotate steps' seeds depend on (run seed, t, position) only. Every step reads the train prompts of its
iteration (`prompt_split.py`: slice t under `train.prompt_split: per_iteration`).

Writes under train/<method>/ (the player's persona name joins the file name for HT-MNPO):
data/iter<t>[-<player>]-{generations,judgments,preferences,pairs}.parquet (a step that is not the first
of its kind adds its name: iter<t>-generations-<step>.parquet), data/iter<t>[-<player>]-panel.json (the
panel's diagnostics of that iteration's own samples, non-transitivity included), data/iter<t>.json (what
each player's fit did) and iter<t>/ (save_pretrained).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from mnpo_bench.pipeline import Context, StageRun
from mnpo_bench.policy.load import location_identity
from mnpo_bench.store import file_hash, read_table, write_json, write_table
from mnpo_bench.seeds import stream_seed
from mnpo_bench.train.iteration import Iteration, data_path, player_dir, policy_name, train_players
from mnpo_bench.train.prompt_split import iteration_prompts
from mnpo_bench.train.recipes import Recipe
from mnpo_bench.train.sampled_pairs import cross_pairs, demonstration_pairs
from mnpo_bench.train.shapes import ITERATE, LAST, LOOP_SHAPES, PREVIOUS, REFERENCE, RUN, Step

UPSTREAM = ("policy", "generate", "annotate")  # the run's stages whose outputs iteration 1 reads
SEED_STRIDE = 104_729  # separates the seeds of a second generate/annotate step in one iteration
SUMMARY_KEYS = ("steps", "skipped", "pairs", "start", "opponents", "population_shortfall", "population_missing",
                "pair_selection", "seconds", "note")


@dataclass
class OnlineIteration:
    """Iteration t of `method`: runs its steps in order and remembers what each produced."""

    ctx: Context
    method: str
    recipe: Recipe
    t: int
    players: list[str | None]
    reference: str
    previous: tuple[str, ...]  # the stages iterate t - 1 came from (iteration 1: the run's upstream stages)
    produced: dict[str, str] = field(default_factory=dict)  # step name -> its sub-stage name
    suffixes: dict[str, str] = field(default_factory=dict)  # step name -> the file-name suffix of its tables

    @property
    def root(self) -> Path:
        return self.ctx.store.root.resolve() / "train" / self.method

    def stage_name(self, step: str) -> str:
        return f"train/{self.method}/iter{self.t}/{step}"

    def run(self, steps: list[Step]) -> str:
        """Run every step (each skipped when unchanged); returns the sub-stage name of the last one."""
        counts: dict[str, int] = {}
        for step in steps:
            index = counts.get(step.kind, 0)
            counts[step.kind] = index + 1
            seed = self._seed(step.kind, index)
            suffix = self.suffixes[step.name] = "" if index == 0 else f"-{step.name}"
            run = {"generate": self._generate, "annotate": self._annotate, "fit": self._fit}[step.kind]
            run(step, seed, suffix)
            self.produced[step.name] = self.stage_name(step.name)
        return self.produced[steps[-1].name]

    # -- the policies a step reads -------------------------------------------------------------------------

    def history(self, player: str | None) -> list[str]:
        """[reference, iter1, ..., iter(t-1)] checkpoints of `player`."""
        return [self.reference] + [str(player_dir(self.root, player, s)) for s in range(1, self.t)]

    def policy(self, which: str, player: str | None) -> str:
        """The checkpoint `which` names: the last iterate, the reference, or an earlier fit step's output."""
        if which == LAST:
            return self.history(player)[-1]
        if which == REFERENCE:
            return self.reference
        return str(self._output_dir(which, player))

    def policy_label(self, which: str, player: str | None) -> str:
        if which == LAST:
            return policy_name(self.method, player, self.t - 1) if self.t > 1 else "reference"
        if which == REFERENCE:
            return "reference"
        return f"{policy_name(self.method, player, self.t)}-{which}"

    def after_policy(self, which: str) -> tuple[str, ...]:
        if which == LAST:
            return self.previous
        if which == REFERENCE:
            return tuple(s for s in ("policy",) if s in self.ctx.hashes)
        return (self.produced[which],)

    def _output_dir(self, step: str, player: str | None) -> Path:
        out = player_dir(self.root, player, self.t)
        return out if step == ITERATE else out.parent / f"iter{self.t}-{step}"

    def _upstream(self) -> tuple[str, ...]:
        return tuple(s for s in UPSTREAM if s in self.ctx.hashes)

    def _seed(self, kind: str, index: int) -> int:
        """The seed of the `index`-th step of `kind` in this iteration (see the module docstring)."""
        cfg = self.ctx.config
        if kind == "generate" and not cfg.train.common_random_numbers:
            return stream_seed(cfg.seed, "train", self.method, self.t, index)
        return cfg.seed * 7919 + self.t + SEED_STRIDE * index

    def _train_prompts(self) -> pd.DataFrame:
        """The train prompts of iteration t: slice t under train.prompt_split per_iteration, else all."""
        cfg = self.ctx.config
        prompts = self.ctx.store.read_table("prompts")
        return iteration_prompts(prompts[prompts["split"] == "train"], self.t, iterations=cfg.train.iterations,
                                 seed=cfg.seed, split=cfg.train.prompt_split)

    def _split_key(self) -> str:
        """What the iteration's prompt slice depends on besides the run seed, for the steps' input hashes."""
        cfg = self.ctx.config.train
        return "shared" if cfg.prompt_split == "shared" else f"per_iteration/{cfg.iterations}"

    def _run_rows(self, table: str) -> pd.DataFrame:
        """The run's own `table` (generations or preferences) restricted to this iteration's train prompts."""
        rows = self.ctx.store.read_table(table)
        return rows[rows["prompt_id"].isin(set(self._train_prompts()["prompt_id"]))].reset_index(drop=True)

    def _n_samples(self) -> int:
        cfg = self.ctx.config
        return cfg.train.n_samples or cfg.generation.n_samples

    # -- the three kinds of step ---------------------------------------------------------------------------

    def _generate(self, step: Step, seed: int, suffix: str) -> None:
        from mnpo_bench.generation import generate

        ctx = self.ctx
        n = max(1, self._n_samples() // 2) if step.half else self._n_samples()
        mixture = (self.reference, self.recipe.mixture) if step.mixture else None
        identity = (self._reference_identity(), self.recipe.mixture) if step.mixture else None

        def body(run: StageRun) -> list[str]:
            prompts, outputs = self._train_prompts(), []
            for player in self.players:
                label = self.policy_label(step.source, player) + ("-mixture" if step.mixture else "")
                frame = generate(self.policy(step.source, player), prompts, ctx.config.generation,
                                 policy_name=label, seed=seed, progress=ctx.progress, n_samples=n,
                                 parts=run.parts(), device=ctx.config.train.device, mixture=mixture)
                path = data_path(self.root, player, self.t, f"generations{suffix}")
                write_table(path, frame)
                outputs.append(self._relative(path))
            return outputs

        inputs = {"generation": ctx.config.generation, "n_samples": n, "seed": seed, "source": step.source,
                  "players": self.players, "device": ctx.config.train.device, "mixture": identity,
                  "prompt_split": self._split_key()}
        ctx.stage(self.stage_name(step.name), body, inputs=inputs, after=self.after_policy(step.source))

    def _annotate(self, step: Step, seed: int, suffix: str) -> None:
        from mnpo_bench.panel.personas import resolve_panel
        from mnpo_bench.panel.stage import judge_samples, panel_inputs

        ctx = self.ctx
        source_suffix = self._suffix_of(step.source)

        def body(run: StageRun) -> list[str]:
            prompts, outputs = self._train_prompts(), []
            for player in self.players:
                if step.source == RUN:
                    generations = self._run_rows("generations")
                else:
                    generations = read_table(data_path(self.root, player, self.t, f"generations{source_suffix}"))
                if step.labels == "demonstration":  # SPIN: the demonstration is the label, no panel
                    path = data_path(self.root, player, self.t, f"preferences{suffix}")
                    write_table(path, demonstration_pairs(prompts, generations))
                    outputs.append(self._relative(path))
                    continue
                other = read_table(data_path(self.root, player, self.t, f"generations{self._suffix_of(step.against)}")) \
                    if step.against else generations.iloc[:0]

                def write(judgments, prefs, diagnostics, _table, player=player, other=other) -> None:
                    if step.against:  # only the cross pairs, each side tagged by its sampler
                        prefs = cross_pairs(prefs, set(other["response_id"]))
                    for kind, frame in (("judgments", judgments), ("preferences", prefs)):
                        path = data_path(self.root, player, self.t, f"{kind}{suffix}")
                        write_table(path, frame)
                        outputs.append(self._relative(path))
                    path = data_path(self.root, player, self.t, f"panel{suffix}").with_suffix(".json")
                    write_json(path, diagnostics)
                    outputs.append(self._relative(path))

                judge_samples(ctx, run, prompts, pd.concat([generations, other], ignore_index=True), seed=seed,
                              persona=player, what=self.stage_name(step.name), write=write, panel=panel)
            return outputs

        after = self._upstream() if step.source == RUN else (self.produced[step.source],)
        after += (self.produced[step.against],) if step.against else ()
        panel = resolve_panel(ctx.config.panel)
        inputs = {**panel_inputs(ctx.config.panel, panel), "seed": seed, "players": self.players, "labels": step.labels,
                  "against": step.against, "prompt_split": self._split_key()}
        ctx.stage(self.stage_name(step.name), body, inputs=inputs, after=after)

    def _fit(self, step: Step, seed: int, suffix: str) -> None:
        ctx, cfg = self.ctx, self.ctx.config.train
        source_suffix = self._suffix_of(step.source)

        def body(run: StageRun) -> list[str]:
            if step.source == RUN:
                prefs = {None: self._run_rows("preferences")}
            elif step.source == PREVIOUS:
                prefs = {p: read_table(data_path(self.root, p, self.t - 1, f"pairs{self._previous_fit_suffix()}"))
                         for p in self.players}
            else:
                prefs = {p: read_table(data_path(self.root, p, self.t, f"preferences{source_suffix}"))
                         for p in self.players}
            history = {p: self.history(p) for p in self.players}
            it = Iteration(self.recipe, self.method, self.t, self.root, self.reference, history,
                           run.parts().directory, seed=ctx.config.seed, device=cfg.device,
                           starts={p: self.policy(step.start, p) for p in self.players},
                           outputs={p: self._output_dir(step.output, p) for p in self.players}, label=suffix,
                           report_to=tuple(cfg.report_to))
            summaries = train_players(it, prefs, ctx.progress)
            record = {p or "policy": {k: s.get(k) for k in SUMMARY_KEYS} for p, s in summaries.items()}
            write_json(self.root / "data" / f"iter{self.t}{suffix}.json", record)
            outputs = [f"train/{self.method}/metrics.jsonl", f"train/{self.method}/data/iter{self.t}{suffix}.json"]
            pairs = [data_path(self.root, p, self.t, f"pairs{suffix}") for p in self.players]
            outputs += [self._relative(path) for path in pairs if path.exists()]
            return outputs + [self._relative(self._output_dir(step.output, p)) for p in self.players]

        after = self._upstream() if step.source in (RUN, PREVIOUS) else (self.produced[step.source],)
        after = tuple(dict.fromkeys(after + self.after_policy(step.start) + self.previous))
        inputs = {"recipe": self.recipe, "t": self.t, "seed": ctx.config.seed, "reference": self._reference_identity(),
                  "players": self.players, "device": cfg.device, "start": step.start, "output": step.output,
                  "data": self._run_tables() if step.source == RUN else None, "prompt_split": self._split_key()}
        ctx.stage(self.stage_name(step.name), body, inputs=inputs, after=after)

    # -- helpers ---------------------------------------------------------------------------------------------

    def _previous_fit_suffix(self) -> str:
        """The file-name suffix of iteration t − 1's iterate fit (its pairs are PREVIOUS's data)."""
        steps = LOOP_SHAPES.get(self.recipe.loop)(self.t - 1, self.players != [None])
        fits = [s for s in steps if s.kind == "fit"]
        return "" if len(fits) == 1 else f"-{fits[-1].name}"

    def _suffix_of(self, step_name: str) -> str:
        """The file-name suffix of an earlier step's tables ("" for the first step of its kind, and for RUN)."""
        return self.suffixes.get(step_name, "")

    def _relative(self, path: Path) -> str:
        return str(Path(path).resolve().relative_to(self.ctx.store.root.resolve()))

    def _reference_identity(self) -> str:
        """The reference as the steps' input hashes hold it: its build key or fingerprint, not its path."""
        return location_identity(self.reference, self.ctx.store.root)

    def _run_tables(self) -> dict[str, str | None]:
        """Content hashes of the run's tables a fit on `run` data reads, so changed labels re-run it."""
        store = self.ctx.store
        return {name: file_hash(store.path(f"{name}.parquet")) if store.has_table(name) else None
                for name in ("preferences", "generations", "prompts")}

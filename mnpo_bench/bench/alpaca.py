"""Each policy's answers on the eval prompts in AlpacaEval's `model_outputs.json` format, and the
tournament's judgments as AlpacaEval annotations.

The file is a JSON list with one object per instruction, in the run's eval-prompt order:
`{"instruction": prompt text, "output": the policy's answer, "generator": policy name, "dataset": prompt
family}`, which is what `alpaca_eval --model_outputs FILE` reads (it joins on `instruction` with the
reference outputs). The answers are the tournament's (`responses.parquet`, one per policy and eval
prompt), or eval-split rows of `generations.parquet` where a pipeline puts them there; with several
samples per prompt the lowest sample index is taken.

`export_annotations` writes `<root>/<policy>/<persona>/annotations.json` from battles.parquet: every battle
of a policy against the baseline (default "reference"), as `mnpo_bench.ratings.exporters.alpaca_annotations`
spells it. With the model outputs beside them this is AlpacaEval's results-folder layout, so
`alpaca_eval.metrics.get_winrate` and `mnpo-bench leaderboard --from alpaca-eval` both read it.
"""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath

import pandas as pd

from mnpo_bench.errors import UserError
from mnpo_bench.ratings.exporters import alpaca_annotations
from mnpo_bench.store import RunStore, safe_name, write_text

ANSWER_TABLES = ("responses", "generations")
FIELDS = ("instruction", "output", "generator", "dataset")


def eval_answers(store: RunStore) -> pd.DataFrame:
    """Rows (policy, prompt_id, instruction, output, dataset) of every answer on an eval prompt in the run,
    one per policy and prompt, in eval-prompt order; empty when no stage has answered the eval prompts."""
    prompts = store.read_table("prompts")
    evals = prompts.loc[prompts["split"] == "eval", ["prompt_id", "prompt", "family"]].reset_index(drop=True)
    evals["order"] = range(len(evals))
    frames = [store.read_table(name)[["policy", "prompt_id", "sample", "text"]]
              for name in ANSWER_TABLES if store.has_table(name)]
    columns = ["policy", "prompt_id", "instruction", "output", "dataset"]
    if not frames:
        return pd.DataFrame(columns=columns)
    answers = pd.concat(frames, ignore_index=True).merge(evals, on="prompt_id", how="inner")
    answers = answers.sort_values(["policy", "order", "sample"]).drop_duplicates(["policy", "prompt_id"])
    answers = answers.rename(columns={"prompt": "instruction", "text": "output", "family": "dataset"})
    return answers[columns].reset_index(drop=True)


def model_outputs(answers: pd.DataFrame, policy: str) -> list[dict[str, str]]:
    """AlpacaEval records of `policy` from `eval_answers` rows (an empty list when it has none)."""
    mine = answers[answers["policy"] == policy]
    return [{"instruction": str(row.instruction), "output": "" if pd.isna(row.output) else str(row.output),
             "generator": policy, "dataset": str(row.dataset)} for row in mine.itertuples(index=False)]


def outputs_path(root: Path, policy: str) -> Path:
    """`root/<policy>/model_outputs.json`; policy names like "mnpo/iter2" become nested folders."""
    parts = PurePosixPath(policy).parts
    if not parts or any(p in ("..", ".", "") for p in parts) or PurePosixPath(policy).is_absolute():
        raise UserError(f"policy name '{policy}' cannot name a folder", where="policies.json",
                        fix="use names made of letters, digits, '-', '_' and '/'")
    return root.joinpath(*parts) / "model_outputs.json"


def write_model_outputs(path: Path, records: list[dict[str, str]]) -> Path:
    """Atomically write `records` as an AlpacaEval model_outputs.json; returns `path`."""
    write_text(path, json.dumps(records, indent=2, ensure_ascii=False) + "\n")
    return path


def read_model_outputs(path: Path) -> list[dict[str, str]]:
    """The records of an AlpacaEval model_outputs.json; a UserError naming the file when malformed."""
    try:
        records = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise UserError(f"cannot read model outputs ({exc})", where=str(path)) from None
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise UserError("expected a JSON list of objects", where=str(path))
    for number, record in enumerate(records):
        missing = [f for f in ("instruction", "output") if not isinstance(record.get(f), str)]
        if missing:
            raise UserError(f"record {number} has no string '{missing[0]}'", where=str(path))
    return records


def export_alpaca(store: RunStore, policies: list[str], root: str = "alpaca_eval") -> list[str]:
    """Write `<root>/<policy>/model_outputs.json` (`root` relative to the run, or absolute) for every policy
    with eval answers; returns the paths written, run-relative where inside the run."""
    answers = eval_answers(store)
    written = []
    for policy in policies:
        records = model_outputs(answers, policy)
        if records:
            path = write_model_outputs(outputs_path(store.root / root, policy), records)
            inside = path.resolve().is_relative_to(store.root.resolve())
            written.append(path.resolve().relative_to(store.root.resolve()).as_posix() if inside else str(path))
    return written


def export_annotations(store: RunStore, root: Path, baseline: str = "reference") -> tuple[list[Path], int]:
    """Write `root/<policy>/<persona>/annotations.json` for every policy and persona with battles against
    `baseline` in the run's battles.parquet; returns the files written and how many battles were left out
    (neither side the baseline). A UserError when the run has no battles or the baseline none."""
    if not store.has_table("battles"):
        raise UserError("the run has no battles.parquet", where=str(store.root),
                        fix="run `mnpo-bench tournament` on it first")
    prompts = store.read_table("prompts")
    texts = {}
    for name in ANSWER_TABLES:
        if store.has_table(name):
            answers = store.read_table(name)
            texts.update(zip(answers["response_id"], answers["text"].fillna("")))
    rows, left_out = alpaca_annotations(
        store.read_table("battles"), baseline, instructions=dict(zip(prompts["prompt_id"], prompts["prompt"])),
        texts=texts, datasets=dict(zip(prompts["prompt_id"], prompts["family"])), source=str(store.path("battles.parquet")))
    written = []
    for (model, annotator), part in rows.groupby(["generator_2", "annotator"], sort=True):
        path = outputs_path(Path(root), model).parent / safe_name(annotator) / "annotations.json"
        records = part.astype(object).where(part.notna(), None).to_dict("records")  # NaN preference -> null
        write_text(path, json.dumps(records, indent=2, ensure_ascii=False) + "\n")
        written.append(path)
    return written, left_out

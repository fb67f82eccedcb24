"""Aggregations of votes with DuckDB: battles.parquet (policy vs policy, one row per persona verdict) and
judgments.parquet (response vs response). A million battles are grouped inside DuckDB; only the small
results (one row per model pair or persona) reach pandas. Every function returns plain DataFrames and
leaves the files untouched."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mnpo_bench.dashboard import reads
from mnpo_bench.errors import UserError

# Score of model_a as mnpo_bench.ratings scores it: prob_a where given (soft), else 1 / 0.5 / 0 from the
# winner; a row with no known winner or with an `error` is a failure and counts nowhere.
_HARD = ("CASE lower(trim(winner)) WHEN 'model_a' THEN 1.0 WHEN 'model_b' THEN 0.0 WHEN 'tie' THEN 0.5 "
         "WHEN 'tie (bothbad)' THEN 0.5 END")


def valid(path: Path) -> str:
    """SQL for the counted battles of `path` (bound as $p0) with their `score_a` and `tie` columns."""
    columns = reads.parquet_columns(path)
    score = f"CASE WHEN ({_HARD}) IS NULL THEN NULL ELSE coalesce(prob_a, {_HARD}) END" if "prob_a" in columns else _HARD
    no_error = " AND error IS NULL" if "error" in columns else ""
    return (f"(SELECT *, {score} AS score_a, lower(trim(winner)) LIKE 'tie%' AS tie FROM read_parquet($p0) "
            f"WHERE ({_HARD}) IS NOT NULL{no_error})")


_PAIRS = """
WITH g AS (SELECT {who} model_a, model_b, sum(score_a) AS sa, count(*) AS n FROM {valid} GROUP BY ALL)
SELECT {who} model, opponent, sum(score) AS score, sum(n) AS n FROM (
  SELECT {who} model_a AS model, model_b AS opponent, sa AS score, n FROM g
  UNION ALL SELECT {who} model_b, model_a, n - sa, n FROM g)
GROUP BY ALL ORDER BY ALL
"""


def require(path: Path, columns: list[str]) -> None:
    """UserError naming the file and the absent columns when `path` lacks any of `columns`."""
    absent = [c for c in columns if c not in reads.parquet_columns(path)]
    if absent:
        raise UserError(f"needs column(s) {', '.join(absent)}", where=str(path), fix="re-run the stage with a newer mnpo-bench")


def pairs(battles: Path, by_persona: bool = False) -> pd.DataFrame:
    """One row per (annotator,) model and opponent: score (sum of scores: wins, ties half, prob_a where
    given) and n battles, both directions."""
    require(battles, ["model_a", "model_b", "winner"] + (["annotator"] if by_persona else []))
    return reads.sql(_PAIRS.format(who="annotator," if by_persona else "", valid=valid(battles)), [battles])


def win_matrix(pair_rows: pd.DataFrame) -> pd.DataFrame:
    """Square frame: row model's win rate (mean score) against the column model in [0, 1]."""
    rates = pair_rows.assign(rate=pair_rows["score"] / pair_rows["n"])
    wide = rates.pivot_table(index="model", columns="opponent", values="rate", aggfunc="mean")
    models = sorted(set(wide.index) | set(wide.columns))
    return wide.reindex(index=models, columns=models)


def count_matrix(pair_rows: pd.DataFrame) -> pd.DataFrame:
    """Square frame: battles between row and column model."""
    wide = pair_rows.pivot_table(index="model", columns="opponent", values="n", aggfunc="sum")
    models = sorted(set(wide.index) | set(wide.columns))
    return wide.reindex(index=models, columns=models).fillna(0).astype(int)


def persona_ranks(battles: Path) -> pd.DataFrame:
    """Per annotator and model: win rate against the field (mean pairwise win rate over opponents, in
    [0, 1]) and the rank it gives (1 = best); columns annotator, model, win_rate, rank, n_battles."""
    rows = pairs(battles, by_persona=True)
    rows = rows.assign(rate=rows["score"] / rows["n"])
    field = rows.groupby(["annotator", "model"], as_index=False).agg(win_rate=("rate", "mean"), n_battles=("n", "sum"))
    field["rank"] = field.groupby("annotator")["win_rate"].rank(ascending=False, method="min").astype(int)
    return field


def rank_spread(ranks: pd.DataFrame) -> pd.DataFrame:
    """Per model: rank_best, rank_worst across annotators and rank_spread (worst - best), widest first."""
    out = ranks.groupby("model")["rank"].agg(rank_best="min", rank_worst="max").reset_index()
    out["rank_spread"] = out["rank_worst"] - out["rank_best"]
    return out.sort_values(["rank_spread", "model"], ascending=[False, True], ignore_index=True)


_BIAS = """
SELECT annotator, count(*) AS n_battles, avg(tie::DOUBLE) AS tie_rate,
  avg(CASE "order" WHEN 'ab' THEN score_a WHEN 'ba' THEN 1 - score_a END) AS position_bias,
  avg(CASE WHEN len_a > len_b THEN score_a WHEN len_a < len_b THEN 1 - score_a END) AS length_bias
FROM {valid} GROUP BY annotator ORDER BY annotator
"""


def bias(battles: Path) -> pd.DataFrame:
    """Per annotator, as mnpo_bench.ratings defines them: n_battles, tie_rate, position_bias (mean score of
    the response shown first, ties half; 0.5 = no bias) and length_bias (mean score of the longer one)."""
    require(battles, ["winner", "annotator", "order", "len_a", "len_b"])
    return reads.sql(_BIAS.format(valid=valid(battles)), [battles])


def agreement(path: Path) -> pd.DataFrame:
    """Pairwise agreement of personas (square frame, fractions): the share of items (same prompt, pair and
    order) both judged on which they gave the same verdict; reads battles (annotator, winner) or judgments
    (persona, label). One GROUP BY over the items with a column per persona, no self-join."""
    columns = reads.parquet_columns(path)
    if "annotator" in columns:
        who, vote, keys = "annotator", "winner", ["prompt_id", "model_a", "model_b", "order"]
        require(path, [who, vote, "prompt_id"])
        source = valid(path)
    else:
        who, vote, keys = "persona", "label", ["prompt_id", "response_a_id", "response_b_id", "order"]
        require(path, [who, vote, "prompt_id"])
        source = "read_parquet($p0)"
    key = ", ".join(f'"{k}"' for k in keys if k in columns)
    personas = list(reads.sql(f"SELECT DISTINCT {who} AS p FROM {source} WHERE {who} IS NOT NULL ORDER BY 1", [path])["p"])
    names = {f"a{i}": p for i, p in enumerate(personas)}
    per_item = ", ".join(f"first({vote}) FILTER (WHERE {who} = $a{i}) AS v{i}" for i in range(len(personas)))
    pairs = [(i, j) for i in range(len(personas)) for j in range(i + 1, len(personas))]
    same = ", ".join(f"avg(CASE WHEN v{i} IS NULL OR v{j} IS NULL THEN NULL WHEN v{i} = v{j} THEN 1.0 ELSE 0.0 END) "
                     f"AS s{i}_{j}" for i, j in pairs) or "1 AS s"
    query = (f"WITH w AS (SELECT {per_item} FROM {source} WHERE {vote} IS NOT NULL GROUP BY hash({key})) "
             f"SELECT {same} FROM w")
    row = reads.sql(query, [path], **names).iloc[0]
    out = pd.DataFrame(1.0, index=personas, columns=personas)
    for i, j in pairs:
        out.iloc[i, j] = out.iloc[j, i] = row[f"s{i}_{j}"]
    return out.rename_axis(index="persona", columns="other")


_FAILURES = """
SELECT persona, count(*) AS judgments, avg(CASE WHEN error IS NOT NULL THEN 1.0 ELSE 0.0 END) AS failure_rate,
       avg(latency_s) AS mean_latency_s, sum(cost_usd) AS cost_usd
FROM read_parquet($p0) GROUP BY persona ORDER BY persona
"""


def failures(judgments: Path) -> pd.DataFrame:
    """Per persona from judgments.parquet: judgments, failure_rate (share with an error), mean latency (s), cost (USD)."""
    require(judgments, ["persona", "error", "latency_s", "cost_usd"])
    return reads.sql(_FAILURES, [judgments])

"""The tables subsystems hand each other: one home for their columns and what each column means.

Writers build frames with these column lists, readers check them, docs/ARCHITECTURE.md's table of tables
is generated from `markdown()` (a test keeps it in step: `python -m mnpo_bench.schemas` prints it) and the
dashboard shows each column's meaning as its header tooltip (`column_help`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Table:
    """A table's file name in a run, what it holds, and its columns in order with their meaning."""

    file: str
    doc: str
    columns: dict[str, str]

    @property
    def names(self) -> list[str]:
        return list(self.columns)


_RESPONSE = {
    "policy": "the policy's name in policies.json (\"reference\", \"<method>/iter<t>\")",
    "prompt_id": "the prompt (prompts.parquet)",
    "sample": "the sample's index among the policy's K samples of that prompt (int)",
    "response_id": "\"<policy>|<prompt_id>|<sample>\"",
    "text": "the response, end tokens stripped",
    "n_tokens": "tokens generated (int)",
    "finish_reason": "\"stop\" (an end token) or \"length\" (max_new_tokens)",
    "is_empty": "the text is blank (bool)",
    "is_truncated": "stopped by max_new_tokens (bool)",
}
_PAIR_IDS = {
    "prompt_id": "the prompt",
    "response_a_id": "the first response of the pair (its response_id)",
    "response_b_id": "the second response of the pair",
}

TABLES: dict[str, Table] = {
    "prompts": Table("prompts.parquet", "the run's prompts, train and eval splits disjoint", {
        "prompt_id": "stable id (a content hash for files)",
        "split": "\"train\" or \"eval\"",
        "family": "the built-in family or the file's family field",
        "prompt": "the user turn",
        "gold": "the reference answer (str or null)",
        "meta": "JSON text: answer_type, n_items, format, topic, keywords",
    }),
    "generations": Table("generations.parquet", "K samples per train prompt from a policy (the reference for the "
                         "run; iterates in train/<method>/data/iter<t>-generations.parquet)", _RESPONSE),
    "pairs": Table("(in memory)", "the comparisons a judge is asked for: every pair among a prompt's responses", {
        "prompt_id": "the prompt", "prompt": "its text", "gold": "its reference answer", "meta": "its metadata",
        "response_a_id": "the first response's id", "response_a": "its text",
        "response_b_id": "the second response's id", "response_b": "its text",
    }),
    "judgments": Table("judgments.parquet", "one persona's verdict on one pair in one presentation order", {
        **_PAIR_IDS,
        "persona": "the judge",
        "order": "\"ab\": response a shown first; \"ba\": b first",
        "prob_a": "P(response a wins) whatever the order (float; null when failed)",
        "label": "\"a\", \"b\", \"tie\" or null",
        "error": "null, or why the judgment failed (secrets redacted); a failure is never a tie",
        "latency_s": "seconds inside the request",
        "cost_usd": "US dollars the call cost",
        "cache_key": "the judge cache key of the comparison",
        "queue_s": "seconds waiting for a concurrency slot or a retry",
    }),
    "preferences": Table("preferences.parquet", "the panel's aggregated verdict per pair, in TRL's (prompt, chosen, "
                         "rejected) form plus extras", {
        "prompt": "the prompt text", "chosen": "the preferred response", "rejected": "the other response",
        "prob": "the panel's P(chosen beats rejected), at least 0.5",
        "prompt_id": "the prompt", "annotators": "how many verdicts were aggregated",
        "chosen_id": "the chosen response's id", "rejected_id": "the rejected response's id",
    }),
    "battles": Table("battles.parquet", "the tournament's judgments as model-vs-model battles", {
        "model_a": "the policy of response a", "model_b": "the policy of response b",
        "winner": "\"model_a\", \"model_b\", \"tie\", or null on a failed judgment",
        "prompt_id": "the eval prompt", "annotator": "the persona",
        "order": "\"ab\": model_a shown first; \"ba\": model_b first",
        "prob_a": "P(model_a wins)", "len_a": "characters of response a", "len_b": "characters of response b",
        "response_a_id": "response a's id", "response_b_id": "response b's id", "error": "null or the failure",
    }),
    "bench": Table("bench.parquet", "standard benchmark scores per policy (lm-eval and the local tasks)", {
        "model": "the policy", "task": "the benchmark task", "metric": "the metric's name",
        "filter": "lm-eval's filter", "value": "the score", "stderr": "its standard error",
        "n": "examples scored", "higher_is_better": "direction (bool)",
        "primary": "the task's headline metric (bool)", "version": "the task's version",
    }),
}

PROMPT_COLUMNS = TABLES["prompts"].names
GENERATION_COLUMNS = TABLES["generations"].names
PAIR_COLUMNS = TABLES["pairs"].names
JUDGMENT_COLUMNS = TABLES["judgments"].names
PREFERENCE_COLUMNS = TABLES["preferences"].names
BATTLE_COLUMNS = TABLES["battles"].names
BENCH_COLUMNS = TABLES["bench"].names


def column_help(columns) -> dict[str, str]:
    """{column: its meaning} for those of `columns` that a table here defines (the first definition wins)."""
    known: dict[str, str] = {}
    for table in TABLES.values():
        for name, doc in table.columns.items():
            known.setdefault(name, doc)
    return {c: known[c] for c in columns if c in known}


def markdown() -> str:
    """The table of tables in docs/ARCHITECTURE.md: one row per table, its columns with their meaning."""
    lines = ["| file | what it holds | columns |", "| --- | --- | --- |"]
    for table in TABLES.values():
        cols = "; ".join(f"`{name}`: {doc}" for name, doc in table.columns.items()).replace("|", "\\|")
        lines.append(f"| `{table.file}` | {table.doc} | {cols} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown())

"""The persistent judge cache: one SQLite file per persona under `<cache_dir()>/judgments/`.

A key is the hash of the persona's full config (backend, params, template and model fingerprints, biases,
temperature), the prompt, gold answer, metadata and the two responses in the order shown. The value is
the backend's raw verdict (P(first wins) before biases), its latency, cost and tokens. Biases and the
seeded label noise are applied after reading, so a re-run reproduces the same labels from the cache as
from recomputation. Failed verdicts are not cached: a re-run retries them. SQLite gives atomic commits,
so a killed run keeps every chunk it committed.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from mnpo_bench.panel.backends import Comparison, Verdict
from mnpo_bench.paths import cache_dir
from mnpo_bench.store import stable_hash

SCHEMA = """CREATE TABLE IF NOT EXISTS verdicts (
    key TEXT PRIMARY KEY, persona_hash TEXT, prob_first REAL, latency_s REAL, cost_usd REAL,
    tokens_in INTEGER, tokens_out INTEGER, created REAL)"""


def cache_key(persona_hash: str, item: Comparison) -> str:
    """The cache key of `item` judged by the persona whose config hashes to `persona_hash`."""
    return stable_hash(persona_hash, item.prompt, item.gold, item.meta, item.first, item.second)


def default_dir(override: str | None = None) -> Path:
    """The judge cache directory: `override` when given, else <cache_dir()>/judgments."""
    return Path(override).expanduser() if override else cache_dir() / "judgments"


class JudgeCache:
    """Raw verdicts of one persona, keyed by `cache_key`; a disabled cache (directory None) stores nothing."""

    def __init__(self, directory: Path | None, persona_name: str):
        self.connection: sqlite3.Connection | None = None
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True)
            self.connection = sqlite3.connect(directory / f"{persona_name}.sqlite", timeout=60)
            self.connection.execute("PRAGMA journal_mode=WAL")
            self.connection.execute(SCHEMA)
            self.connection.commit()

    def get_many(self, keys: list[str]) -> dict[str, Verdict]:
        """The cached verdicts among `keys` (calls=0 marks them as served from the cache)."""
        if self.connection is None:
            return {}
        found: dict[str, Verdict] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), 500):
            chunk = unique[start:start + 500]
            rows = self.connection.execute(
                f"SELECT key, prob_first, latency_s, cost_usd, tokens_in, tokens_out FROM verdicts "
                f"WHERE key IN ({','.join('?' * len(chunk))})", chunk)
            for key, prob, latency, cost, t_in, t_out in rows:
                found[key] = Verdict(prob, None, latency, cost, 0, t_in, t_out)
        return found

    def put_many(self, persona_hash: str, entries: list[tuple[str, Verdict]]) -> None:
        """Store the successful verdicts among `entries` (failures are skipped) in one transaction."""
        if self.connection is None:
            return
        now = time.time()
        rows: list[tuple[Any, ...]] = [
            (key, persona_hash, v.prob_first, v.latency_s, v.cost_usd, v.tokens_in, v.tokens_out, now)
            for key, v in entries if v.error is None and v.prob_first is not None
        ]
        with self.connection:
            self.connection.executemany("INSERT OR REPLACE INTO verdicts VALUES (?,?,?,?,?,?,?,?)", rows)

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None

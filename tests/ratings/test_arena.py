"""The Chatbot-Arena importer: battle logs as FastChat writes them (JSON list with conv_metadata, or rows with
conversations as in lmsys/chatbot_arena_conversations)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mnpo_bench.cli import main
from mnpo_bench.ratings.importers import load_source


def arena_log(battles: int = 300, seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    skill = {"gpt-4": 1.0, "claude-v1": 0.6, "vicuna-13b": 0.0, "alpaca-13b": -0.8}
    names = list(skill)
    rows = []
    for k in range(battles):
        a, b = rng.choice(4, 2, replace=False)
        p = 1 / (1 + np.exp(-(skill[names[a]] - skill[names[b]] + 0.3)))  # + a left-side bias
        u = rng.random()
        winner = "model_a" if u < p - 0.1 else "model_b" if u > p + 0.1 else rng.choice(["tie", "tie (bothbad)"])
        rows.append({"model_a": names[a], "model_b": names[b], "winner": str(winner), "judge": f"arena_user_{k % 17}",
                     "turn": 1, "anony": True, "language": "English", "tstamp": 1.7e9 + k, "question_id": f"q{k:04d}",
                     "conv_metadata": {"sum_user_tokens": 12, "sum_assistant_a_tokens": int(rng.integers(50, 400)),
                                       "sum_assistant_b_tokens": int(rng.integers(50, 400))}})
    return rows


def test_arena_json_log_to_battles(tmp_path):
    rows = arena_log()
    path = tmp_path / "clean_battle.json"
    path.write_text(json.dumps(rows))
    battles = load_source("arena", path)
    assert len(battles) == len(rows)
    assert set(battles["winner"]) == {"model_a", "model_b", "tie", "tie (bothbad)"}  # normalised when checked
    assert battles["order"].eq("ab").all() and battles["annotator"].eq("arena").all()
    assert battles["len_a"].tolist() == [r["conv_metadata"]["sum_assistant_a_tokens"] for r in rows]
    assert battles["prompt_id"].tolist() == [r["question_id"] for r in rows]


def test_arena_conversations_give_character_lengths(tmp_path):
    rows = [{"question_id": "q1", "model_a": "x", "model_b": "y", "winner": "model_b", "judge": "u1",
             "conversation_a": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello!"}],
             "conversation_b": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hey"}]}]
    path = tmp_path / "conversations.jsonl"
    pd.DataFrame(rows).to_json(path, orient="records", lines=True)
    battles = load_source("arena", path)
    assert battles.loc[0, "len_a"] == 6 and battles.loc[0, "len_b"] == 3


def test_cli_from_arena(tmp_path, capsys):
    path = tmp_path / "log.json"
    path.write_text(json.dumps(arena_log(600)))
    out = tmp_path / "board"
    assert main(["leaderboard", "--from", "arena", str(path), "--out", str(out), "--bootstrap", "30"]) == 0
    printed = capsys.readouterr().out
    assert "gpt-4" in printed.splitlines()[1]  # the strongest model heads the table
    ratings = pd.read_csv(out / "ratings.csv")
    assert ratings["model"].tolist() == ["gpt-4", "claude-v1", "vicuna-13b", "alpaca-13b"]
    assert ratings["win_rate_vs_ref"].isna().all()  # no reference: nobody is in every battle
    position = pd.read_csv(out / "annotators.csv").loc[0, "position_bias"]
    assert position == pytest.approx(0.55, abs=0.05)  # the planted left-side bias, seen through order "ab"

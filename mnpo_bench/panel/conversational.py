"""Preference pairs in TRL's conversational form, so TRL applies the policy's chat template itself.

`preferences.parquet` holds the prompt as the user's plain text; given plain strings, TRL's DPOTrainer
tokenises them as they are, without the chat template our policy saw when it sampled the answers. The
conversational form (`preferences_conversational.parquet`, written next to it by the annotate stage)
holds each field as a list of chat messages: prompt = [{"role": "user", ...}], chosen and rejected =
[{"role": "assistant", ...}]; TRL renders those through `tokenizer.apply_chat_template`.
"""

from __future__ import annotations

import pandas as pd

TABLE = "preferences_conversational"


def conversational_preferences(prefs: pd.DataFrame) -> pd.DataFrame:
    """`prefs` (columns prompt, chosen, rejected, plus extras) with prompt, chosen and rejected turned into
    lists of {"role", "content"} messages; the extra columns (prob, prompt_id, ids) are kept as they are."""
    out = prefs.copy()
    out["prompt"] = [[{"role": "user", "content": str(p)}] for p in prefs["prompt"]]
    for column in ("chosen", "rejected"):
        out[column] = [[{"role": "assistant", "content": str(t)}] for t in prefs[column]]
    return out

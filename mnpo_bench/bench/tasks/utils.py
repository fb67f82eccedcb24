"""Dataset loader named by the task YAMLs here (`custom_dataset: !function utils.load_local`).

lm-eval calls it with the task's `metadata` and `dataset_kwargs` as keyword arguments. The JSONL path in
`data_files` is relative to this folder, so the tasks work from any working directory, offline, and also
straight from lm-eval: `lm_eval --include_path <this folder> --tasks mnpo_arith_mc ...`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import datasets

HERE = Path(__file__).resolve().parent


def load_local(data_files: str, split: str = "test", **_: Any) -> datasets.DatasetDict:
    """The JSONL file `data_files` (relative to this folder) as a DatasetDict with one split `split`."""
    path = HERE / data_files
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return datasets.DatasetDict({split: datasets.Dataset.from_list(rows)})

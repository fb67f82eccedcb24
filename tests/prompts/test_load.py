import json
from pathlib import Path

import pytest

from mnpo_bench.prompts.config import PromptsConfig
from mnpo_bench.errors import UserError
from mnpo_bench.prompts.load import load_prompts


def test_builtin_prompts_are_seeded_and_splits_disjoint():
    config = PromptsConfig(n_train=40, n_eval=20)
    first, again, other = load_prompts(config, 1), load_prompts(config, 1), load_prompts(config, 2)
    assert first.equals(again)
    assert not first.equals(other)
    assert (first["split"] == "train").sum() == 40 and (first["split"] == "eval").sum() == 20
    train = set(first.loc[first.split == "train", "prompt"])
    assert not train & set(first.loc[first.split == "eval", "prompt"])
    assert first["prompt_id"].is_unique


def test_metadata_lets_a_checker_grade():
    frame = load_prompts(PromptsConfig(n_train=60, n_eval=10), 0)
    for row in frame.itertuples():
        meta = json.loads(row.meta)
        if row.family == "arithmetic":
            expression = row.prompt.split(" ", 2)[-1] if row.prompt.startswith("What") else row.prompt.split(" ", 1)[1]
            assert eval(expression.rstrip("?.")) == int(row.gold)  # noqa: S307 - our own generated arithmetic
        if row.family == "listing":
            assert meta["format"] in {"numbered", "bullets", "comma"} and str(meta["n_items"]) in row.prompt


def test_jsonl_prompts_and_bad_rows(tmp_path: Path):
    good = tmp_path / "p.jsonl"
    good.write_text("\n".join(json.dumps({"prompt": f"Say {i}.", "gold": str(i)}) for i in range(10)))
    frame = load_prompts(PromptsConfig(source=str(good), n_train=7, n_eval=3), 0)
    assert sorted(frame["gold"].astype(int)) == list(range(10))
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "fine"}\n{"prompt": ""}\n')
    with pytest.raises(UserError, match=rf"{bad}:2: field 'prompt' is missing or empty"):
        load_prompts(PromptsConfig(source=str(bad)), 0)
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"prompt": "fine"}\n{"prompt": \n')
    with pytest.raises(UserError, match=rf"{broken}:2: not valid JSON"):
        load_prompts(PromptsConfig(source=str(broken)), 0)


def test_unknown_family_suggests():
    with pytest.raises(UserError, match="did you mean 'counting'"):
        load_prompts(PromptsConfig(families=["countin"]), 0)

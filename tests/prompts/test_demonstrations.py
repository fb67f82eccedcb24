"""SPIN's demonstrations: every built-in family's is a correct answer by the rule personas' own checkers, and a
prompts file's `demonstration` field is kept (and checked) per row."""

import json

import pytest

from mnpo_bench.errors import UserError
from mnpo_bench.panel.rules import Context, NoOptions, correct, list_format
from mnpo_bench.prompts.demonstrations import demonstration
from mnpo_bench.prompts.families import FAMILIES
from mnpo_bench.prompts.load import builtin_prompts, jsonl_prompts


def test_builtin_demonstrations_are_correct_answers_in_the_requested_format():
    frame = builtin_prompts(sorted(FAMILIES), 150, 0, seed=3)
    for row in frame.itertuples():
        meta = json.loads(row.meta)
        demo = demonstration(row.gold, row.meta)
        ctx = Context(row.prompt, row.gold, meta)
        assert correct(demo, ctx, NoOptions()) == 1.0, (row.prompt, demo)
        if meta["answer_type"] == "list":
            assert list_format(demo, ctx, NoOptions()) == 1.0, (row.prompt, demo)


def test_a_prompts_file_gives_its_own_demonstrations(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text(json.dumps({"prompt": "Say hi.", "split": "train", "demonstration": "Hi there!"}) + "\n"
                    + json.dumps({"prompt": "Say bye.", "split": "eval"}) + "\n")
    frame = jsonl_prompts(path, 1, 1, seed=0).set_index("prompt")
    assert demonstration(frame.loc["Say hi.", "gold"], frame.loc["Say hi.", "meta"]) == "Hi there!"
    assert demonstration(frame.loc["Say bye.", "gold"], frame.loc["Say bye.", "meta"]) is None  # none known
    path.write_text(json.dumps({"prompt": "Say hi.", "demonstration": "  "}) + "\n")
    with pytest.raises(UserError, match="field 'demonstration' must be non-empty text"):
        jsonl_prompts(path, 1, 0, seed=0)

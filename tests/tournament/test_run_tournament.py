"""`mnpo-bench tournament` between any named checkpoints, end to end."""

import shutil

import pandas as pd
import pytest

from mnpo_bench.errors import UserError
from mnpo_bench.runner import run_tournament

pytestmark = pytest.mark.slow


def test_named_checkpoints_meet_and_the_first_is_the_reference(tiny_policy, tmp_path):
    copy = shutil.copytree(tiny_policy, tmp_path / "copy")
    out = tmp_path / "t"
    overrides = ["tournament.max_prompts=3", "leaderboard.bootstrap=10", f"leaderboard.publish_dir={tmp_path / 'lb'}"]
    run_tournament([f"base={tiny_policy}", f"twin={copy}"], None, overrides, out=out, quiet=True)
    battles = pd.read_parquet(out / "battles.parquet")
    assert set(battles.model_a) | set(battles.model_b) == {"base", "twin"}
    assert len(battles) == 3 * 2 * battles.annotator.nunique()  # 3 prompts x 2 orders x every persona
    ratings = pd.read_csv(out / "leaderboard" / "ratings.csv").set_index("model")
    assert ratings.loc["base", "bt"] == 1000.0  # anchored on the first policy named


def test_unknown_checkpoint_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="policy argument 'x=./nope'"):
        run_tournament(["x=./nope"], None, [], out=tmp_path / "t", quiet=True)

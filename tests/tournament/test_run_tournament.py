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
    # 3 prompts x (4 x 4 answer pairs) x 2 orders x every persona
    assert len(battles) == 3 * 16 * 2 * battles.annotator.nunique()
    # the same weights under two names: their own random streams give different answers
    identical = pd.read_parquet(out / "identical_answers.parquet")
    assert len(identical) == 1 and identical.identical_share.iloc[0] < 1.0
    responses = pd.read_parquet(out / "responses.parquet")
    assert responses.groupby(["policy", "prompt_id"]).size().eq(4).all()
    ratings = pd.read_csv(out / "leaderboard" / "ratings.csv").set_index("model")
    assert ratings.loc["base", "bt"] == 1000.0  # anchored on the first policy named


def test_unknown_checkpoint_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="policy argument 'x=./nope'"):
        run_tournament(["x=./nope"], None, [], out=tmp_path / "t", quiet=True)

"""The Game lab dashboard page, driven by streamlit's AppTest."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from streamlit.testing.v1 import AppTest

from tests.game.test_lab import lp_lottery
from mnpo_bench.game.matrices import load_matrix


def test_game_lab_page_runs_the_lab_and_shows_the_lottery():
    at = AppTest.from_file(str(Path(__file__).resolve().parents[2] / "mnpo_bench/dashboard/pages/game_lab.py"), default_timeout=60).run()
    assert not at.exception
    assert at.title[0].value == "Game lab"
    at.selectbox(key="game_matrix").set_value("cycle_dominated").run()
    assert not at.exception
    last, lottery = at.dataframe[0].value, at.dataframe[1].value
    assert set(last["method"]) == {"inpo", "mnpo", "egpo", "sppo", "dpo"}
    assert np.abs(lottery["mass"].to_numpy() - lp_lottery(load_matrix("cycle_dominated").P)).max() <= 0.01
    at.multiselect(key="game_methods").set_value([]).run()
    assert not at.exception and at.info

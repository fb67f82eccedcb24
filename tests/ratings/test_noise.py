"""Publishing a leaderboard leaves files alone when only float noise changed (a fresh clone's tracked
`leaderboards/default/` stays clean), and writes them when a value really changed."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from mnpo_bench.ratings.leaderboard import OUTPUTS, copy_leaderboard
from mnpo_bench.ratings.noise import same_up_to_float_noise

TRACKED = Path(__file__).parents[2] / "leaderboards" / "default"


def _jitter(text: str, rel: float) -> str:
    """Every decimal number with a fractional part in `text` multiplied by (1 + rel), printed with repr."""
    return re.sub(r"(?<![\w.])-?\d+\.\d+(?:[eE][-+]?\d+)?", lambda m: repr(float(m.group()) * (1 + rel)), text)


def test_float_noise_is_the_same_text_and_real_changes_are_not():
    assert same_up_to_float_noise("a,0.30000000000000004\n", "a,0.3\n")
    assert same_up_to_float_noise('{"x": 1e-17}', '{"x": 0.0}')
    assert not same_up_to_float_noise("a,0.3\n", "a,0.3001\n")
    assert not same_up_to_float_noise("a,0.5\n", "a,0.500005\n")  # 1e-5 relative: a change
    assert not same_up_to_float_noise("a,0.0\n", "a,1e-7\n")  # above the absolute floor near zero
    assert not same_up_to_float_noise("a,0.3\n", "b,0.3\n")
    assert not same_up_to_float_noise("a,0.3\n", "a,0.3,1\n")


def test_publishing_noisy_copies_of_the_tracked_board_leaves_it_byte_identical(tmp_path):
    published = tmp_path / "default"
    shutil.copytree(TRACKED, published)
    before = {p.name: p.read_bytes() for p in published.iterdir()}
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    noisy = 0
    for name in OUTPUTS:
        if (TRACKED / name).exists():
            text = (TRACKED / name).read_text()
            jittered = _jitter(text, 1e-13)
            noisy += jittered != text
            (fresh / name).write_text(jittered)
    assert noisy >= 3  # the jitter really changed the texts
    copy_leaderboard(fresh, published)
    assert {p.name: p.read_bytes() for p in published.iterdir()} == before

    (fresh / "ratings.csv").write_text(_jitter((TRACKED / "ratings.csv").read_text(), 1e-3))  # a real change
    copy_leaderboard(fresh, published)
    assert (published / "ratings.csv").read_text() == (fresh / "ratings.csv").read_text()
    assert (published / "matrix.csv").read_bytes() == before["matrix.csv"]  # only noise there: untouched

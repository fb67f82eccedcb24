"""Game lab speed: a 5-response random game, 8 methods, 200 iterations (target ≤ 10 s on 2 cores).

Baseline, in the same run: a plain numpy loop calling the same update functions and computing only the
last-iterate exploitability (no tables, no equilibria, no population records). The last line is JSON.
"""

from __future__ import annotations

import json
import time

import numpy as np
from scipy.special import softmax

from mnpo_bench.game.lab import run_lab
from mnpo_bench.game.matrices import random_game
from mnpo_bench.game.updates import METHODS

CHOSEN = ["inpo", "mnpo", "egpo", "onpo", "nash_md", "sppo", "dno", "dpo"]


def plain_loop(P: np.ndarray, iterations: int) -> float:
    """Seconds for the bare updates of every CHOSEN method."""
    start = time.perf_counter()
    ref = np.log(np.full(len(P), 1 / len(P)))
    for name in CHOSEN:
        hist, state, params = [ref], {}, dict(METHODS[name].defaults)
        for _ in range(iterations):
            z, _ = METHODS[name].update(P, ref, hist, params, state)
            hist.append(z)
            float((P @ softmax(z)).max() - 0.5)
    return time.perf_counter() - start


def main() -> None:
    game = random_game(5, seed=0)
    baseline = plain_loop(game.P, 200)
    start = time.perf_counter()
    run_lab(game, CHOSEN, 200)
    lab = time.perf_counter() - start
    print(f"lab {lab:.2f} s, plain numpy loop {baseline:.2f} s")
    print(json.dumps({"benchmark": "game_lab", "responses": 5, "methods": len(CHOSEN), "iterations": 200,
                      "lab_s": round(lab, 3), "plain_loop_s": round(baseline, 3),
                      "ratio_lab_over_plain": round(lab / baseline, 2), "target_s": 10.0, "within_target": lab <= 10}))


if __name__ == "__main__":
    main()

"""Classify every corpus case and print the counts (python -m tests.validate.measure [OUT.json]); the last line
is one JSON object {"clear": n, "unclear": n, "traceback": n, "hang": n, "accepted": n, "cases": n}."""

from __future__ import annotations

import collections
import json
import sys
import tempfile
from pathlib import Path

from tests.validate.corpus import CASES
from tests.validate.materialise import materialise
from tests.validate.harness import attempt


def main() -> None:
    counts, rows = collections.Counter(), []
    # Import what the checks import before any case runs under its time limit: an alarm that lands inside a first
    # `import torch` on a loaded machine leaves torch half-initialised, and every later case would fail on it.
    import accelerate, lm_eval, torch, transformers  # noqa: E401, F401
    with tempfile.TemporaryDirectory() as tmp:
        warm = CASES[0]
        attempt(materialise(warm, Path(tmp) / "warm-up"), Path(tmp) / "warm-up", warm.expect, limit_s=600)
        for case in CASES:
            root = Path(tmp) / case.id
            argv = materialise(case, root)
            outcome = attempt(argv, root, case.expect.replace("{d}", str(root)), limit_s=15)
            counts[outcome.kind] += 1
            rows.append({"id": case.id, "kind": outcome.kind, "rc": outcome.rc, "stderr": outcome.stderr.strip()[-300:]})
            print(f"{outcome.kind:<9} {case.id}: {outcome.stderr.strip().splitlines()[-1][:160] if outcome.stderr.strip() else ''}",
                  file=sys.stderr, flush=True)
    if len(sys.argv) > 1:
        Path(sys.argv[1]).write_text(json.dumps(rows, indent=1))
    print(json.dumps({**{k: counts[k] for k in ("clear", "unclear", "traceback", "hang", "accepted")}, "cases": len(CASES)}))


if __name__ == "__main__":
    main()

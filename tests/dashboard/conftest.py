"""Fixture runs for the dashboard tests: real parquet/CSV/JSON/JSONL files in the documented formats.

Layout under a session temp dir:
    runs/alpha      every table, train/, leaderboard/ (also published to leaderboards/alpha)
    runs/beta       the same with another seed and a secret-looking config value
    runs/bare       no train/, no leaderboard/
    runs/broken     battles.parquet is not parquet, one metrics line is not JSON
    runs/linear     two models only: a transitive ranking
    runs/default    the embedded default's shape: the default config's methods and iterations, no HT-MNPO (every
                    metrics row has player null), reference plus every iterate in the tournament
    runs/escape     a symlink to a run OUTSIDE the root (must never be listed or opened)
    leaderboards/published   a published leaderboard without a run directory
"""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

from mnpo_bench.config import load_config
from mnpo_bench.dashboard import fixture
from mnpo_bench.dashboard.roots import ENV_LEADERBOARDS, ENV_RUNS

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "app.py"
SECRET = "sk-test-DO-NOT-SHOW-4242"
DEFAULT = load_config(None, [])  # the embedded default run's config: its shape is what a first user opens
DEFAULT_MODELS = ("reference", *(f"{m}/iter{t}" for m in DEFAULT.train.methods for t in range(1, DEFAULT.train.iterations + 1)))


@pytest.fixture(scope="session")
def data_root(tmp_path_factory) -> Path:
    """The fixture root (runs/ and leaderboards/), built once per session (~2 s)."""
    root = tmp_path_factory.mktemp("dashboard")
    runs, boards = root / "runs", root / "leaderboards"
    fixture.build_run(runs, "alpha", publish=boards)
    beta = fixture.build_run(runs, "beta", seed=1)
    config = yaml.safe_load((beta / "config.yaml").read_text())
    config["panel"]["api_key"] = SECRET  # what a careless user might paste into a config
    (beta / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    fixture.build_run(runs, "bare", training=False, leaderboard=False)
    broken = fixture.build_run(runs, "broken", leaderboard=False)
    (broken / "battles.parquet").write_bytes(b"this is not a parquet file")
    with open(broken / "train" / "mnpo" / "metrics.jsonl", "a") as handle:
        handle.write("{not json\n")
    fixture.build_run(runs, "linear", models=("reference", "mnpo/iter1"))
    fixture.build_run(runs, "default", models=DEFAULT_MODELS, trained={m: (DEFAULT.train.iterations, [None])
                                                                        for m in DEFAULT.train.methods})
    shutil.copytree(runs / "alpha" / "leaderboard", boards / "published")
    outside = fixture.build_run(root / "outside", "secret_run", leaderboard=False)
    (runs / "escape").symlink_to(outside, target_is_directory=True)
    return root


@pytest.fixture
def env(data_root, monkeypatch) -> Path:
    """Point the dashboard at the fixture root (as `streamlit run app.py` would see it) and return the root."""
    monkeypatch.setenv(ENV_RUNS, str(data_root / "runs"))
    monkeypatch.setenv(ENV_LEADERBOARDS, str(data_root / "leaderboards"))
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    return data_root


def open_page(page: str, run: str | None = "alpha", **state):
    """The app after a first run with `?run=<run>` (and `state` in session_state), switched to `page`."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=60)
    if run is not None:
        at.query_params["run"] = run
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    if page != "runs":
        at.switch_page(f"mnpo_bench/dashboard/pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _decode(node):
    """Plotly's JSON with its base64 typed arrays ({"dtype", "bdata", "shape"}) turned back into lists."""
    if isinstance(node, dict) and {"dtype", "bdata"} <= set(node):
        array = np.frombuffer(base64.b64decode(node["bdata"]), dtype=node["dtype"])
        if node.get("shape"):
            array = array.reshape([int(n) for n in str(node["shape"]).split(",")])
        return array.tolist()
    if isinstance(node, dict):
        return {k: _decode(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_decode(v) for v in node]
    return node


def figures(at) -> list[dict]:
    """The plotly figures on the page, as their JSON specs (typed arrays decoded)."""
    return [_decode(json.loads(e.proto.spec)) for e in at.get("plotly_chart")]


def texts(at) -> str:
    """Every message, title, caption, markdown and code text on the page, joined."""
    parts = []
    for kind in ("title", "subheader", "caption", "markdown", "info", "warning", "error", "success", "code"):
        parts += [str(e.value) for e in getattr(at, kind)]
    return "\n".join(parts)


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """(mtime ns, size) of every path under `root`: equal before and after means nothing was written."""
    return {str(p): (p.lstat().st_mtime_ns, p.lstat().st_size) for p in root.rglob("*")}

"""The labels backend: human labels from a file, matched in either order; a missing label is a failure."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from mnpo_bench.errors import UserError
from mnpo_bench.panel.config import PanelConfig
from mnpo_bench.panel.diagnostics import agreement
from mnpo_bench.panel.judge import run_panel
from mnpo_bench.panel.personas import Panel, load_persona
from mnpo_bench.progress import Progress
from tests.panel.conftest import write_yaml


def test_human_labels_calibrate_a_persona(probe, tmp_path: Path):
    _, _, pairs = probe
    labelled = pairs.head(30)
    # a "human" who always prefers the shorter response, labelling 30 of the 60 pairs
    labels = labelled.assign(label=["a" if len(a) < len(b) else "b" if len(b) < len(a) else "tie"
                                    for a, b in zip(labelled["response_a"], labelled["response_b"])])
    labels[["prompt", "response_a", "response_b", "label"]].to_csv(tmp_path / "human.csv", index=False)
    human = load_persona(write_yaml(tmp_path / "human.yaml", "name: human\ndescription: lab study\nversion: 1\n"
                                    "backend: labels\nparams: {path: human.csv}\n"))
    concise, thorough = load_persona("concise"), load_persona("thorough")
    members = ((human, 1.0), (concise, 1.0), (thorough, 1.0))
    panel = Panel("cal", "mean", members, weights={p.name: 1.0 for p, _ in members})
    judgments, _ = run_panel(pairs, panel, PanelConfig(), seed=0, progress=Progress(quiet=True))
    mine = judgments[judgments["persona"] == "human"]
    assert len(mine) == 2 * len(pairs)  # every comparison has a row ...
    missing = mine[mine["error"].notna()]
    assert len(missing) == 2 * 30 and missing["error"].str.contains("no label").all()  # ... unlabelled = failure
    assert missing["label"].isna().all()
    found = mine[mine["error"].isna()].pivot_table(index=["response_a_id", "response_b_id"], columns="order",
                                                   values="prob_a")
    assert ((found["ab"] - found["ba"]).abs() < 1e-9).all()  # the reversed order reads the same human label
    kappa = agreement(judgments)["kappa"]["human"]
    assert kappa["concise"] > 0.5 > kappa["thorough"]  # the calibration question: who agrees with people?


def test_bad_labels_file(tmp_path: Path):
    pd.DataFrame({"prompt": ["q"], "response_a": ["x"], "response_b": ["y"], "label": ["left"]}).to_csv(
        tmp_path / "bad.csv", index=False)
    persona = load_persona(write_yaml(tmp_path / "h.yaml", "name: h\ndescription: d\nversion: 1\n"
                                      "backend: labels\nparams: {path: bad.csv}\n"))
    from mnpo_bench.panel.backends.labels import LabelsBackend

    with pytest.raises(UserError, match=r"bad.csv: label 'left' on row 1; use a, b or tie"):
        LabelsBackend.check(persona)

"""`mnpo-bench train RECIPE --data PREFS` and `mnpo-bench ls recipes` through the real entry point."""

import json

import pandas as pd
import torch
from safetensors.torch import load_file

from mnpo_bench.cli import main
from tests.train.conftest import arithmetic_pairs


def _changed(before_dir, after_dir) -> bool:
    before, after = load_file(f"{before_dir}/model.safetensors"), load_file(f"{after_dir}/model.safetensors")
    return any(not torch.equal(before[k], after[k]) for k in before)


def test_train_on_a_trl_jsonl_file(tmp_path, small_policy, capsys):
    data = tmp_path / "prefs.jsonl"
    arithmetic_pairs(16).to_json(data, orient="records", lines=True)
    code = main(["train", "mnpo", "--data", str(data), "--model", small_policy, "--out", str(tmp_path / "out"),
                 "--set", "optim.epochs=1", "--set", "optim.batch_size=8", "--set", "max_length=64", "-q"])
    assert code == 0
    assert capsys.readouterr().out.strip() == f"mnpo/iter1\t{(tmp_path / 'out' / 'mnpo' / 'iter1').resolve()}"
    assert _changed(small_policy, tmp_path / "out" / "mnpo" / "iter1")
    scored = pd.read_parquet(tmp_path / "out" / "mnpo" / "data" / "iter1-pairs.parquet")
    assert scored["opp_chosen_logp"].map(len).eq(1).all()  # TD at t = 1: the reference is the only opponent
    assert json.loads((tmp_path / "out" / "policies.json").read_text()) == {
        "mnpo/iter1": str((tmp_path / "out" / "mnpo" / "iter1").resolve())}


def test_ht_mnpo_from_a_file_with_three_personas(tmp_path, small_policy):
    """Labels from a file: each persona's rows train its own player; the players' opponents are the others."""
    frames = []
    for i, persona in enumerate(["brief", "exact", "polite"]):
        frame = arithmetic_pairs(8, seed=i)
        if persona == "brief":  # this persona prefers the short wrong sentence: its labels are flipped
            frame[["chosen", "rejected"]] = frame[["rejected", "chosen"]].to_numpy()
        frames.append(frame.assign(persona=persona))
    data = tmp_path / "prefs.parquet"
    pd.concat(frames).to_parquet(data)
    code = main(["train", "ht_mnpo", "--data", str(data), "--model", small_policy, "--out", str(tmp_path / "out"),
                 "--persona-column", "persona", "--set", "optim.epochs=1", "--set", "max_length=64", "-q"])
    assert code == 0
    root = tmp_path / "out" / "ht_mnpo"
    for persona in ["brief", "exact", "polite"]:
        assert _changed(small_policy, root / persona / "iter1")
        scored = pd.read_parquet(root / "data" / f"iter1-{persona}-pairs.parquet")
        assert set(scored["persona"]) == {persona} and scored["opp_chosen_logp"].map(len).eq(2).all()
    rows = [json.loads(line) for line in (root / "metrics.jsonl").read_text().splitlines()]
    assert {r["player"] for r in rows} == {"brief", "exact", "polite"}


def test_bad_inputs_exit_2_with_one_line(tmp_path, small_policy, capsys):
    data = tmp_path / "prefs.jsonl"
    data.write_text('{"prompt": "x", "chosen": "a"}\n')
    assert main(["train", "dpo", "--data", str(data), "--model", small_policy, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "missing column(s) rejected" in err and len(err.splitlines()) == 1
    assert main(["train", "dpp", "--data", str(data)]) == 2
    assert "RECIPE: unknown recipe 'dpp'; did you mean 'dpo'?" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()  # nothing half-written


def test_ls_recipes(capsys):
    assert main(["ls", "recipes"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in ("mnpo", "inpo", "dpo", "ipo", "simpo", "sppo", "ht_mnpo"))

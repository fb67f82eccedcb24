"""Read-only, path-safe, secret-free, and a missing or broken table is a message, not an exception."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mnpo_bench.dashboard.roots import Roots, inside
from mnpo_bench.errors import UserError
from tests.dashboard.conftest import SECRET, open_page, texts
from tests.dashboard.test_pages import PAGES


@pytest.mark.parametrize("typed", ["../outside/secret_run", "/etc", "escape", "alpha/../../outside/secret_run"])
def test_paths_outside_the_root_are_refused(env, typed):
    at = open_page("runs")
    at.sidebar.text_input(key="typed_path").input(typed).run()
    assert not at.exception
    assert "outside the configured root" in at.sidebar.error[0].value
    assert at.session_state["run"] == "alpha" and "secret_run" not in str(at.sidebar.selectbox[0].options)
    at.switch_page("mnpo_bench/dashboard/pages/leaderboard.py").run()  # still refused on the next page
    assert "outside the configured root" in at.sidebar.error[0].value and at.title[0].value == "Leaderboard · alpha"


def test_a_linked_run_outside_the_root_is_refused(env):
    at = open_page("runs", "../outside/secret_run")
    assert "outside the configured root" in at.sidebar.error[0].value
    assert at.sidebar.selectbox[0].value == "alpha"  # fell back to the first run under the root


def test_a_typed_path_inside_the_root_opens(env):
    nested = env / "runs" / "group"
    nested.mkdir(exist_ok=True)
    os.symlink(env / "runs" / "alpha", nested / "alpha2")
    at = open_page("runs")
    at.sidebar.text_input(key="typed_path").input("group/alpha2").run()
    assert not at.sidebar.error
    assert at.sidebar.selectbox[0].value == "alpha"  # a symlink inside the root resolves to the run it names


def test_inside_resolves_dots_and_symlinks(tmp_path):
    (tmp_path / "root" / "a").mkdir(parents=True)
    (tmp_path / "other").mkdir()
    (tmp_path / "root" / "link").symlink_to(tmp_path / "other")
    root = tmp_path / "root"
    assert inside(root, "a") == (root / "a").resolve()
    assert inside(root, "a/../a") == (root / "a").resolve()
    for bad in ("..", "../other", "link", str(tmp_path / "other"), "a/../../other", "", "a\x00b"):
        with pytest.raises(UserError):
            inside(root, bad)


def test_roots_come_from_args_then_env_then_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    env = {"MNPO_BENCH_RUNS_DIR": "/data/runs", "MNPO_BENCH_LEADERBOARDS_DIR": "/data/boards"}
    assert Roots.from_args([], {}) == Roots(tmp_path.resolve() / "runs", tmp_path.resolve() / "leaderboards")
    assert Roots.from_args(["-x", "y"], env) == Roots(Path("/data/runs"), Path("/data/boards"))
    assert Roots.from_args(["--runs-dir", "r", "--other"], env).runs == tmp_path.resolve() / "r"
    assert Roots.from_args(["--runs", "r"], env).runs == Path("/data/runs")  # no abbreviations


def test_secrets_are_never_rendered(env):
    for page in ("runs", "compare"):
        at = open_page(page, "beta", run_b="alpha")
        shown = texts(at) + " ".join(d.value.to_string() for d in at.dataframe)
        assert SECRET not in shown
    at = open_page("runs", "beta")
    assert "api_key: '***'" in at.code[0].value


def test_missing_tables_are_named(env):
    assert "no training yet: bare/train/ not found" in texts(open_page("training", "bare"))
    leaderboard = open_page("leaderboard", "bare")
    assert "no leaderboard yet: bare/leaderboard/ratings.csv" in texts(leaderboard)
    assert "win rate vs field (%)" in leaderboard.dataframe[0].value.columns  # falls back to the battles
    assert "no panel summary: bare/leaderboard/annotators.csv not found" in texts(open_page("annotators", "bare"))
    published = open_page("explorer", "published")
    assert "no prompts yet: published/prompts.parquet not found" in texts(published)


def test_corrupt_files_are_named_not_raised(env):
    at = open_page("tournament", "broken")
    assert any("broken/battles.parquet: cannot read this file" in e.value for e in at.error)
    training = open_page("training", "broken")
    assert any("metrics.jsonl:" in e.value and "cannot read" in e.value for e in training.error)


def test_no_runs_at_all_says_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.setenv("MNPO_BENCH_RUNS_DIR", str(tmp_path / "none"))
    monkeypatch.setenv("MNPO_BENCH_LEADERBOARDS_DIR", str(tmp_path / "none2"))
    at = open_page("runs", None)
    for page in PAGES:
        at.switch_page(f"mnpo_bench/dashboard/pages/{page}.py").run()
        assert not at.exception and "No runs found under" in texts(at), page

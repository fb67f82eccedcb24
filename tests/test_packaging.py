"""An installed wheel works outside the checkout: personas, panels and recipes ship as package data."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]


def test_wheel_ships_data_folders_and_runs_outside_the_checkout(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", str(ROOT),
                    "-w", str(tmp_path / "dist")], check=True, capture_output=True)
    wheel = next((tmp_path / "dist").glob("mnpo_bench-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for folder in ("annotators", "trainer"):
        shipped = {Path(n).name for n in names if n.startswith(f"mnpo_bench/_builtin/{folder}/")}
        in_checkout = {p.name for p in (ROOT / folder).rglob("*") if p.is_file() and p.name != ".keep"}
        assert in_checkout and in_checkout <= shipped, in_checkout - shipped

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--no-deps", "-q", str(wheel)], check=True, capture_output=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    def cli(*args: str) -> str:
        result = subprocess.run([str(venv / "bin" / "mnpo-bench"), *args], cwd=elsewhere, capture_output=True,
                                text=True, timeout=300)
        assert result.returncode == 0, result.stderr
        return result.stdout

    where = subprocess.run([str(python), "-c", "import mnpo_bench.paths as p; print(p.builtin_dir('annotators'))"],
                           cwd=elsewhere, capture_output=True, text=True, check=True).stdout.strip()
    assert where.startswith(str(venv)) and "_builtin" in where
    assert "correctness" in cli("ls", "personas")
    assert "mnpo" in cli("ls", "recipes")

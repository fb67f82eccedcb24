"""An installed wheel works outside the checkout: personas, panels and recipes ship as package data."""

from __future__ import annotations

import os
import site
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # the checkout must not shadow the wheel


def _outer_site_packages() -> list[str]:
    """The site-packages folders this interpreter imports from (an outer venv's included, the checkout not)."""
    dirs = site.getsitepackages() + [site.getusersitepackages()]
    return [d for d in dict.fromkeys(dirs) if Path(d).is_dir() and Path(d).resolve() != ROOT]


def _venv_seeing_our_packages(venv: Path) -> Path:
    """A fresh venv at `venv` whose python also imports this interpreter's installed packages; returns its python.

    `venv --system-site-packages` sees only the base interpreter's packages, not those of an outer venv (the
    README's set-up), so the dependencies are reached through a .pth file listing our site-packages folders
    instead. Paths in a .pth are appended after the venv's own site-packages, so the wheel installed there
    wins over the checkout's editable install, whose import hook (a .pth of the outer folder) is not run.
    """
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True, env=ENV).stdout.strip()
    (Path(purelib) / "outer_site_packages.pth").write_text("\n".join(_outer_site_packages()) + "\n")
    return python


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
    python = _venv_seeing_our_packages(venv)
    subprocess.run([str(python), "-m", "pip", "install", "--no-deps", "-q", str(wheel)], check=True, capture_output=True,
                   env=ENV)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    def cli(*args: str) -> str:
        result = subprocess.run([str(venv / "bin" / "mnpo-bench"), *args], cwd=elsewhere, capture_output=True,
                                text=True, timeout=300, env=ENV)
        assert result.returncode == 0, result.stderr
        return result.stdout

    where = subprocess.run([str(python), "-c", "import mnpo_bench.paths as p; print(p.builtin_dir('annotators'))"],
                           cwd=elsewhere, capture_output=True, text=True, check=True, env=ENV).stdout.strip()
    assert where.startswith(str(venv)) and "_builtin" in where
    assert "correctness" in cli("ls", "personas")
    assert "mnpo" in cli("ls", "recipes")

"""Build hook: ship the top-level data folders (annotators/, trainer/, leaderboards/) inside the wheel as
mnpo_bench/_builtin/<folder>, so an installed copy finds its personas, recipes and leaderboards.
Everything else about the package is declared in pyproject.toml."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

DATA_FOLDERS = ("annotators", "trainer", "leaderboards")


class BuildPyWithData(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads the folders from the checkout (mnpo_bench/paths.py)
        for folder in DATA_FOLDERS:
            source = Path(folder)
            if source.is_dir():
                target = Path(self.build_lib) / "mnpo_bench" / "_builtin" / folder
                shutil.copytree(source, target, dirs_exist_ok=True,
                                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


setup(cmdclass={"build_py": BuildPyWithData})

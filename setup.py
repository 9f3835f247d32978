"""Ships rubrics/ and rules/ as package data (engine/_bundled/) in a built, non-editable install.

Everything else is in pyproject.toml. The folders stay at the top of the repository (the
design's layout); an editable install reads them there directly (engine/bundled.py).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

BUNDLED = ("rubrics", "rules")


class BuildWithRubrics(build_py):
    """build_py, plus copies of rubrics/ and rules/ under engine/_bundled/."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads the checkout's own folders
        for folder in BUNDLED:
            target = Path(self.build_lib) / "engine" / "_bundled" / folder
            shutil.copytree(
                Path(__file__).resolve().parent / folder,
                target,
                dirs_exist_ok=True,
                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
            )


setup(cmdclass={"build_py": BuildWithRubrics})

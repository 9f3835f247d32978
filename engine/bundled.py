"""Where the bundled `rubrics/` and `rules/` folders are.

In the checkout they sit at the top of the repository. An installed (non-editable) package
carries copies as package data in `engine/_bundled/` (setup.py copies them at build time), so
`jixiao score` works from any folder without the checkout.
"""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent


def bundled(folder: str) -> Path:
    """The bundled `rubrics` or `rules` folder: the installed copy, else the checkout's."""
    shipped = _HERE / "_bundled" / folder
    return shipped if shipped.is_dir() else _HERE.parent / folder

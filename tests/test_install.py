"""Installed like a library: a built (non-editable) jixiao scores from any folder exactly like
the checkout, and the engine commands need none of the service's dependencies."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from engine.rubric.registry import REPO_ROOT

EXAMPLE = REPO_ROOT / "examples" / "yueyang-kjj-2023"
SCORE = ("score", "--format", "json", "--backend", "python")
SERVICE_EXTRA = ("sqlalchemy", "fastapi", "starlette", "uvicorn", "pydantic_settings", "alembic",
                 "psycopg", "jinja2", "prometheus_client", "watchfiles", "multipart")


def _checkout_report() -> str:
    result = subprocess.run(
        [sys.executable, "-m", "engine.cli", SCORE[0], str(EXAMPLE / "dossier.toml"), *SCORE[1:]],
        cwd=REPO_ROOT, capture_output=True, text=True, check=True, timeout=300,
    )
    return result.stdout


def test_the_engine_commands_run_without_the_service_extra(tmp_path: Path) -> None:
    blocked = "; ".join(f"sys.modules[{m!r}] = None" for m in SERVICE_EXTRA)
    code = (
        f"import sys; {blocked}\n"
        "from service.cli import main\n"
        f"raise SystemExit(main([{SCORE[0]!r}, {str(EXAMPLE / 'dossier.toml')!r}, "
        f"{', '.join(repr(a) for a in SCORE[1:])}]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == _checkout_report()


@pytest.mark.slow
def test_a_non_editable_install_scores_from_another_folder_like_the_checkout(
    tmp_path: Path,
) -> None:
    # Build the wheel from a copy of the sources, so the checkout is left as it was.
    source = tmp_path / "src"
    shutil.copytree(
        REPO_ROOT, source,
        ignore=shutil.ignore_patterns(".venv", ".git", "build", "*.egg-info", "__pycache__",
                                      ".*_cache", "test-artifacts", "jixiao.db*"),
    )
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
         "-w", str(tmp_path / "dist"), str(source)],
        check=True, timeout=600, capture_output=True,
    )
    (wheel,) = (tmp_path / "dist").glob("jixiao-*.whl")
    # One fresh venv; its dependencies are this environment's (a .pth line, which runs none of
    # this environment's own .pth files: the editable finder of the checkout stays out).
    target = tmp_path / "venv"
    venv.create(target, with_pip=True)
    python = target / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    (Path(purelib) / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [str(python), "-m", "pip", "install", "--no-deps", "--no-index", "-q", str(wheel)],
        check=True, timeout=600, capture_output=True,
    )
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(EXAMPLE, elsewhere / "package")
    where = subprocess.run(
        [str(python), "-c", "import engine; print(engine.__file__)"],
        cwd=elsewhere, capture_output=True, text=True, check=True,
    ).stdout
    assert where.startswith(str(target)), where  # the installed copy, not the checkout
    result = subprocess.run(
        [str(target / "bin" / "jixiao"), SCORE[0], "package/dossier.toml", *SCORE[1:]],
        cwd=elsewhere, capture_output=True, text=True, timeout=300, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == _checkout_report()
    assert str(tmp_path) not in result.stdout

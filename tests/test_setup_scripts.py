"""The set-up scripts: the main job's set-up installs no browser and no test tools; the test
set-up adds them; apt's output shows when it fails. Run with stub apt-get, fc-list and python."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TOOLS = ("bash", "dirname", "grep", "mktemp", "cat", "rm", "id")


def _sandbox(tmp_path: Path, apt_exit: int = 0) -> tuple[Path, dict[str, str], Path]:
    """A copy of scripts/ with a stub .venv/bin/python, and a PATH of stubs and basic tools."""
    root = tmp_path / "clone"
    shutil.copytree(REPO / "scripts", root / "scripts")
    calls = tmp_path / "calls.log"
    venv = root / ".venv" / "bin"
    venv.mkdir(parents=True)
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    for tool in TOOLS:
        found = shutil.which(tool)
        assert found, tool
        (bin_ / tool).symlink_to(found)

    def stub(path: Path, body: str) -> None:
        path.write_text(f"#!{shutil.which('bash')}\n{body}\n", "utf-8")
        path.chmod(0o755)

    for tool in ("python", "ruff", "mypy", "lint-imports", "jixiao"):
        stub(venv / tool, f'echo "{tool} $*" >> {calls}')
    stub(bin_ / "fc-list", "exit 0")  # no font installed yet
    stub(bin_ / "sudo", '"$@"')
    stub(
        bin_ / "apt-get",
        f'echo "apt-get $*" >> {calls}\n'
        f'if [ "$1" = install ] && [ {apt_exit} != 0 ]; then '
        f'echo "E: Unable to locate package $5"; exit {apt_exit}; fi',
    )
    env = {"PATH": str(bin_), "HOME": str(tmp_path)}
    return root, env, calls


def _run(root: Path, script: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [shutil.which("bash") or "bash", str(root / "scripts" / script)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.skipif(os.name != "posix", reason="bash scripts")
def test_the_main_jobs_setup_installs_no_browser_and_no_test_tools(tmp_path: Path) -> None:
    root, env, calls = _sandbox(tmp_path)
    done = _run(root, "run.sh", env)  # setup.sh, then `jixiao serve`
    assert done.returncode == 0, done.stderr
    log = calls.read_text("utf-8")
    assert "fonts-wqy-microhei" in log
    assert "libpango-1.0-0" in log
    assert "chromium" not in log
    assert "-e .[service]" in log
    assert "dev" not in log
    assert log.splitlines()[-1] == "jixiao serve"


@pytest.mark.skipif(os.name != "posix", reason="bash scripts")
def test_the_checks_set_up_the_browser_and_the_test_tools_first(tmp_path: Path) -> None:
    root, env, calls = _sandbox(tmp_path)
    done = _run(root, "test.sh", env)
    assert done.returncode == 0, done.stderr
    log = calls.read_text("utf-8").splitlines()
    chromium = next(i for i, line in enumerate(log) if line.endswith("install -y -qq chromium"))
    dev = log.index("python -m pip install -q -e .[dev,service]")
    assert chromium < dev < log.index("python -m pytest")


@pytest.mark.skipif(os.name != "posix", reason="bash scripts")
def test_apt_output_is_shown_when_it_fails(tmp_path: Path) -> None:
    root, env, _calls = _sandbox(tmp_path, apt_exit=100)
    done = _run(root, "setup.sh", env)
    assert done.returncode != 0
    assert "E: Unable to locate package" in done.stderr
    assert "failed" in done.stderr

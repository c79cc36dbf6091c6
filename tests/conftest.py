"""Shared fixtures. Tests never download anything and never touch the committed results/."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True, scope="session")
def _children_may_write_test_files():
    """Runs' children are confined to their scratch folder (lossbench.confinement); the test
    plugins that report their pid or imports to a file under pytest's temporary folder may
    write there. The confinement tests remove this to show the denial."""
    import tempfile

    old = os.environ.get("LOSSBENCH_CHILD_WRITABLE")
    os.environ["LOSSBENCH_CHILD_WRITABLE"] = tempfile.gettempdir()
    yield
    if old is None:
        os.environ.pop("LOSSBENCH_CHILD_WRITABLE", None)
    else:
        os.environ["LOSSBENCH_CHILD_WRITABLE"] = old


@pytest.fixture(autouse=True, scope="session")
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory):
    """Generated data sets are cached per test session, not in the user's home."""
    cache = os.environ.get("LOSSBENCH_TEST_CACHE") or str(tmp_path_factory.mktemp("cache"))
    old = os.environ.get("LOSSBENCH_CACHE")
    os.environ["LOSSBENCH_CACHE"] = cache
    yield
    if old is None:
        os.environ.pop("LOSSBENCH_CACHE", None)
    else:
        os.environ["LOSSBENCH_CACHE"] = old


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
            timeout: float = 300) -> subprocess.CompletedProcess:
    """Run the ``lossbench`` console entry in a fresh interpreter and capture its output."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "lossbench.cli", *args], capture_output=True,
                          text=True, env=full_env, cwd=cwd, timeout=timeout, check=False)

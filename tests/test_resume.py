"""Kill and resume: a sweep killed with SIGKILL mid-run and started again runs only what is missing.

No partial, duplicate or corrupt file may appear in the results folder, and every spec ends up
stored exactly once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

ARGS = ["run", "--suite", "standard", "--task", "mnist1d", "--loss", "cross_entropy",
        "--loss", "focal", "--seeds", "3", "--epochs", "1", "--workers", "2",
        "--no-leaderboard"]
SPECS = 6  # 2 losses x 3 seeds


def start_sweep(results: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "lossbench.cli", *ARGS, "--results",
                             str(results)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)


def wait_for_files(results: Path, count: int, proc: subprocess.Popen, limit: float = 240) -> None:
    deadline = time.monotonic() + limit
    while len(list(results.glob("*.parquet"))) < count:
        assert proc.poll() is None, f"sweep ended early:\n{proc.stdout.read()}"
        assert time.monotonic() < deadline, "no result appeared in time"
        time.sleep(0.05)


def children_of(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


@pytest.mark.slow  # two CLI sweeps (~1-2 min on 2 shared cores); `nox -s slow`
def test_sigkill_mid_sweep_then_resume_stores_every_spec_exactly_once(tmp_path):
    results = tmp_path / "results"
    first = start_sweep(results)
    wait_for_files(results, 1, first)
    children = children_of(first.pid)
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=30)
    before = {p.name: p.read_bytes() for p in results.glob("*.parquet")}
    assert 1 <= len(before) < SPECS

    # The killed sweep's run processes die with it (no orphan keeps computing).
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{c}").exists() for c in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [c for c in children if Path(f"/proc/{c}/status").exists()
                and "zombie" not in Path(f"/proc/{c}/status").read_text()]

    second = start_sweep(results)
    out, _ = second.communicate(timeout=600)
    assert second.returncode == 0, out
    assert f"{SPECS - len(before)} to run, {len(before)} already stored" in out

    from lossbench.ledger import LEDGER_FILE
    from lossbench.results_lock import LOCK_FILE

    hidden = [p.name for p in results.iterdir() if p.name.startswith(".")]
    assert hidden == [LOCK_FILE]  # no temp file left; the sweep's lock file stays, unlocked
    files = sorted(results.glob("*.parquet"))
    assert sorted(p.name for p in results.iterdir()
                  if not p.name.startswith(".")) == sorted([LEDGER_FILE, *(p.name for p in files)])
    assert len(files) == SPECS
    for path in files:
        pq.read_table(path)  # every file is a complete Parquet file
    for name, content in before.items():
        assert (results / name).read_bytes() == content  # stored records are never rewritten

    df = pd.read_parquet(results)
    runs = df.drop_duplicates("spec_key")
    assert len(runs) == SPECS
    assert sorted(zip(runs["loss"], runs["seed"], strict=True)) == sorted(
        (loss, seed) for loss in ("cross_entropy", "focal") for seed in range(3))
    assert set(runs["status"]) == {"ok"}

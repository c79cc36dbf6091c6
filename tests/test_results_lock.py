"""One sweep stores into a results folder at a time: a second one waits (or refuses with
``--no-wait``) and never runs a spec twice; temporary files never share a name."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from lossbench.all_or_nothing import temp_path
from lossbench.integrity import verify
from lossbench.ledger import read_ledger
from lossbench.results_lock import LOCK_FILE, ResultsBusyError, locked
from lossbench.scheduler import remove_stale_temp_files

from .conftest import run_cli

HOLD = """
import sys, time
from lossbench.results_lock import locked
with locked(sys.argv[1]):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def hold_in_another_process(folder, seconds=60.0) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(folder), str(seconds)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_holder_is_refused_with_the_holders_pid_and_the_lock_file(tmp_path):
    proc = hold_in_another_process(tmp_path)
    try:
        with pytest.raises(ResultsBusyError) as err, locked(tmp_path, wait=False):
            pass
        assert f"pid {proc.pid}" in str(err.value) and LOCK_FILE in str(err.value)
    finally:
        proc.kill()
        proc.wait()


def test_the_lock_is_released_when_its_holder_dies(tmp_path):
    proc = hold_in_another_process(tmp_path)
    proc.kill()  # no clean-up code runs: the kernel releases the lock
    proc.wait()
    with locked(tmp_path, wait=False):
        pass


def test_a_waiting_holder_gets_the_lock_when_the_first_one_ends(tmp_path):
    proc = hold_in_another_process(tmp_path, seconds=1.0)
    messages: list[str] = []
    start = time.perf_counter()
    with locked(tmp_path, wait=True, log=messages.append):
        waited = time.perf_counter() - start
    proc.wait()
    assert waited > 0.2 and len(messages) == 1 and f"pid {proc.pid}" in messages[0]


def test_the_same_process_may_take_the_lock_again(tmp_path):
    with locked(tmp_path, wait=False), locked(tmp_path, wait=False):
        pass


def test_a_child_forked_while_the_lock_is_held_does_not_hold_it(tmp_path):
    ready, started = os.pipe()
    with locked(tmp_path):
        pid = os.fork()
        if pid == 0:  # the child outlives the parent's hold
            os.write(started, b"1")
            time.sleep(3)
            os._exit(0)
        os.read(ready, 1)  # the child runs (its copy of the lock descriptor is closed by now)
    try:
        with locked(tmp_path, wait=False):
            pass
    finally:
        os.waitpid(pid, 0)


def test_a_dead_writers_temporary_file_is_removed_and_a_live_ones_kept(tmp_path):
    live = temp_path(tmp_path / "a.parquet")
    live.write_bytes(b"x")
    dead = tmp_path / ".b.parquet.0badf00d.99999999.tmp"  # no such process
    dead.write_bytes(b"x")
    assert remove_stale_temp_files(tmp_path) == [dead] and live.exists()


@pytest.mark.slow  # several seconds of subprocesses: the CI's slow step
def test_two_sweeps_into_one_folder_run_each_spec_once(tmp_path):
    results = tmp_path / "results"
    args = [sys.executable, "-m", "lossbench.cli", "run", "--loss", "cross_entropy", "--task",
            "standard/mnist1d", "--seeds", "2", "--epochs", "1", "--no-leaderboard",
            "--results", str(results)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    procs = [subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert [e.event for e in read_ledger(results).entries] == ["write", "write"]
    assert not (results / "_attempts").exists() and verify(results).ok
    assert sum("2 already stored" in err for _, err in outputs) == 1


def test_no_wait_refuses_while_another_process_stores(tmp_path):
    proc = hold_in_another_process(tmp_path)
    try:
        out = run_cli("run", "--loss", "cross_entropy", "--task", "standard/mnist1d", "--seeds",
                      "1", "--epochs", "1", "--no-leaderboard", "--no-wait", "--results",
                      str(tmp_path))
    finally:
        proc.kill()
        proc.wait()
    assert out.returncode == 2 and f"pid {proc.pid}" in out.stderr
    assert not list(tmp_path.glob("*.parquet"))

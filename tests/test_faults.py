"""Failure isolation: broken plugins run beside healthy ones in one sweep (local executor).

Each broken entry gets its own status and reason; every healthy run is stored; the sweep goes on.
"""

from __future__ import annotations

import pytest

from lossbench.plan import plan
from lossbench.registry import LOSSES
from lossbench.scheduler import run_sweep
from lossbench.store import load_results

from . import fault_plugins as fp

FAULTS = {
    "fault_raises": fp.raises,
    "fault_nan": fp.returns_nan,
    "fault_wrong_shape": fp.wrong_shape,
    "fault_hangs": fp.hangs,
    "fault_oom": fp.allocates_until_oom,
    "fault_exit3": fp.exits,
    "fault_segfault": fp.segfaults,
}
HEALTHY = ["cross_entropy", "focal"]
TIMEOUT = 8.0  # the hanging plugin costs this much; 1-epoch healthy runs take ~1 s


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    """One sweep: every fault and two healthy losses, 1 epoch, 2 workers, timeout, memory cap."""
    for name, fn in FAULTS.items():
        LOSSES.register(name, lambda fn=fn: fp.factory(fn), origin="tests")
    try:
        results = tmp_path_factory.mktemp("faults")
        specs = plan(["standard"], ["mnist1d"], [*HEALTHY, *FAULTS], None, 1,
                     options={"epochs": 1}).specs
        lines: list[str] = []
        summary = run_sweep(specs, results, executor="local", workers=2, timeout=TIMEOUT,
                            memory_limit_mb=1024, log=lines.append)
        yield summary, load_results(results).set_index("loss"), lines
    finally:
        LOSSES.refresh()


def outcome(sweep, loss):
    return sweep[1].loc[loss]


def test_every_spec_of_the_sweep_is_stored_once(sweep):
    summary, df, _ = sweep
    assert sorted(df.index) == sorted([*HEALTHY, *FAULTS])
    assert len(summary.ran) == len(HEALTHY) + len(FAULTS)


@pytest.mark.parametrize("loss", HEALTHY)
def test_healthy_runs_beside_broken_ones_are_ok(sweep, loss):
    row = outcome(sweep, loss)
    assert row["status"] == "ok"
    assert 0.0 <= row["top1"] <= 1.0


def test_an_exception_is_an_error_with_its_traceback(sweep):
    row = outcome(sweep, "fault_raises")
    assert row["status"] == "error"
    assert "plugin bug: raised on purpose" in row["error"]
    assert "Traceback" in row["error"] and "fault_plugins.py" in row["error"]


def test_a_nan_loss_is_diverged_with_its_epoch(sweep):
    row = outcome(sweep, "fault_nan")
    assert row["status"] == "diverged"
    assert row["diverged_epoch"] == 0
    assert "epoch 0" in row["error"]


def test_a_non_scalar_loss_is_an_error_naming_the_shape_problem(sweep):
    row = outcome(sweep, "fault_wrong_shape")
    assert row["status"] == "error"
    assert "scalar" in row["error"]


def test_a_hanging_run_is_killed_at_the_timeout(sweep):
    row = outcome(sweep, "fault_hangs")
    assert row["status"] == "timeout"
    assert f"{TIMEOUT:g}s timeout" in row["error"]
    assert row["wall_seconds"] >= TIMEOUT


def test_allocating_past_the_memory_limit_is_oom(sweep):
    row = outcome(sweep, "fault_oom")
    assert row["status"] == "oom"
    assert "allocate" in row["error"]


def test_a_process_exit_is_a_crash_with_its_exit_code(sweep):
    row = outcome(sweep, "fault_exit3")
    assert row["status"] == "crashed"
    assert "exit code 3" in row["error"]


def test_a_segfault_is_a_crash_with_the_signal_and_python_stack(sweep):
    row = outcome(sweep, "fault_segfault")
    assert row["status"] == "crashed"
    assert "SIGSEGV" in row["error"]
    assert "segfaults" in row["error"]  # faulthandler's stack names the plugin function


def test_the_log_has_one_line_per_run_with_the_failure_counts(sweep):
    _, _, lines = sweep
    per_run = [line for line in lines if line.startswith("[")]
    assert len(per_run) == len(HEALTHY) + len(FAULTS)
    assert per_run[-1].startswith(f"[{len(per_run)}/{len(per_run)}]")
    assert f"{len(FAULTS)} failed" in per_run[-1]

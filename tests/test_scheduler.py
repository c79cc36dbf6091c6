"""The scheduler: what runs, on which executor, and what is reported while it runs."""

from __future__ import annotations

import math
import os

import pytest

from lossbench.errors import UsageError
from lossbench.executors import make_executor
from lossbench.executors.local import LocalExecutor
from lossbench.executors.serial import SerialExecutor
from lossbench.plan import plan
from lossbench.procs import describe_exit
from lossbench.progress import SweepProgress, format_seconds
from lossbench.record import Record
from lossbench.runner import execute
from lossbench.scheduler import remove_stale_temp_files, run_sweep
from lossbench.store import attempts, load_results, write_record

from .conftest import run_cli

TIMING = {"train_seconds", "samples_per_second", "loss_cost_ratio"}


def smoke_specs(losses=("cross_entropy",), seeds=1, **options):
    return list(plan(["standard"], ["mnist1d"], list(losses), None, seeds,
                     options={"epochs": 1, **options}).specs)


class CountingExecutor:
    """Records which specs it was asked to run; each 'run' fails, so retry logic is visible."""

    def __init__(self):
        self.ran = []

    def map(self, specs, on_start=None):
        for spec in specs:
            on_start(spec)
            self.ran.append(spec)
            yield Record(spec, "error", error="RuntimeError: counted")

    def close(self):
        pass


def test_a_cached_sweep_runs_nothing(tmp_path):
    specs = smoke_specs(seeds=2)
    first, again = CountingExecutor(), CountingExecutor()
    run_sweep(specs, tmp_path, executor=first, progress="quiet")
    summary = run_sweep(specs, tmp_path, executor=again, progress="quiet")
    assert len(first.ran) == 2 and again.ran == []
    assert len(summary.cached) == 2


def test_a_sweep_checks_the_stored_records_once(tmp_path, monkeypatch):
    """What is stored, what is set aside and the estimate's timings come from one scan."""
    import lossbench.store as store

    specs = smoke_specs(seeds=2)
    run_sweep(specs[:1], tmp_path, executor=CountingExecutor(), progress="quiet")
    checked = []
    real = store.file_problems
    monkeypatch.setattr(store, "file_problems",
                        lambda files, ledger: checked.append(len(files)) or real(files, ledger))
    executor = CountingExecutor()
    summary = run_sweep(specs, tmp_path, executor=executor, retry_failed=True, progress="quiet")
    assert checked == [1]  # the one stored record, checked once
    assert len(executor.ran) == 2 and summary.cached == []


def test_failed_runs_are_retried_only_with_retry_failed(tmp_path):
    specs = smoke_specs()
    run_sweep(specs, tmp_path, executor=CountingExecutor(), progress="quiet")
    plain, retry = CountingExecutor(), CountingExecutor()
    run_sweep(specs, tmp_path, executor=plain, progress="quiet")
    run_sweep(specs, tmp_path, executor=retry, retry_failed=True, progress="quiet")
    assert plain.ran == [] and retry.ran == specs


def test_force_and_retry_failed_keep_every_earlier_record(tmp_path):
    specs = smoke_specs()
    for options in ({}, {"force": True}, {"retry_failed": True}):
        run_sweep(specs, tmp_path, executor=CountingExecutor(), progress="quiet", **options)
    assert attempts(tmp_path) == {specs[0].key: 3}
    assert len(list((tmp_path / "_attempts").glob(f"{specs[0].key}.*.parquet"))) == 2


def test_local_child_process_gives_the_same_record_as_serial(tmp_path):
    spec = smoke_specs()[0]
    serial = next(SerialExecutor(threads=1).map([spec]))
    local = next(LocalExecutor(workers=1).map([spec]))
    assert serial.status == local.status == "ok"
    assert _untimed(serial.metrics) == _untimed(local.metrics)


def _untimed(metrics: dict[str, float]) -> dict[str, object]:
    """Metrics less the timing ones; NaN (e.g. an empty reliability bin) as a comparable token."""
    return {k: "nan" if math.isnan(v) else v for k, v in metrics.items() if k not in TIMING}


def test_every_ok_record_has_throughput_metrics():
    record = execute(smoke_specs(["focal"])[0])
    assert record.metrics["samples_per_second"] > 0
    assert record.metrics["loss_cost_ratio"] > 0


def test_bf16_autocast_is_a_spec_option_that_runs_on_cpu():
    spec = smoke_specs(amp="bf16")[0]
    assert spec.options["amp"] == "bf16" and spec.key != smoke_specs()[0].key
    assert execute(spec).status == "ok"


def test_stale_temp_files_of_dead_writers_are_removed(tmp_path):
    dead = tmp_path / ".abc.parquet.999999999.tmp"
    live = tmp_path / f".def.parquet.{os.getpid()}.tmp"
    dead.write_bytes(b"partial")
    live.write_bytes(b"being written")
    assert remove_stale_temp_files(tmp_path) == [dead]
    assert live.exists() and not dead.exists()


def test_a_corrupt_result_file_is_reported_moved_aside_and_its_spec_run_again(tmp_path):
    bad = tmp_path / f"{smoke_specs()[0].key}.parquet"  # a record of the sweep's own selection
    bad.write_bytes(b"not parquet")
    lines: list[str] = []
    summary = run_sweep(smoke_specs(), tmp_path, executor=CountingExecutor(), log=lines.append,
                        progress="plain")
    assert any(line.startswith(f"{bad} is not a lossbench record") for line in lines)
    assert (tmp_path / "_untrusted" / bad.name).read_bytes() == b"not parquet"
    assert bad.name in {f"{r.spec.key}.parquet" for r in summary.ran}


def test_executors_are_registered_and_built_with_the_options_they_take():
    local = make_executor("local", {"workers": 3, "timeout": 5.0, "address": "ignored"})
    assert isinstance(local, LocalExecutor) and local.workers == 3 and local.timeout == 5.0
    assert isinstance(make_executor("serial", {"workers": 3}), SerialExecutor)


def test_an_unknown_executor_is_a_usage_error_with_suggestions(tmp_path):
    result = run_cli("run", "--executor", "locl", "--results", str(tmp_path), "--epochs", "1",
                     "--no-leaderboard")
    assert result.returncode == 2
    assert "did you mean 'local'" in result.stderr


def test_exit_statuses_are_described_by_code_or_signal():
    assert describe_exit(3) == "exit code 3"
    assert describe_exit(-11).startswith("signal SIGSEGV (11)")
    assert "OOM killer" in describe_exit(-9)


def test_plain_progress_reports_counts_and_eta(tmp_path):
    lines = []
    specs = smoke_specs(seeds=2)
    with SweepProgress(total=2, cached=1, mode="plain", log=lines.append) as bar:
        for spec in specs:
            bar.started(spec)
            bar.finished(Record(spec, "ok", {"top1": 0.5}, provenance={"wall_seconds": 1.0}))
    assert lines[0].startswith("[1/2] ok") and "top1=0.5000" in lines[0]
    assert "1 cached, 0 failed, eta" in lines[0]
    assert lines[1].startswith("[2/2]") and "eta" not in lines[1]


def test_quiet_progress_prints_nothing(capsys):
    spec = smoke_specs()[0]
    with SweepProgress(total=1, mode="quiet") as bar:
        bar.message("planned")
        bar.started(spec)
        bar.finished(Record(spec, "error", error="boom"))
    assert capsys.readouterr().err == ""


def test_seconds_are_formatted_for_humans():
    assert [format_seconds(s) for s in (42, 185, 3720)] == ["42s", "3m05s", "1h02m"]


def test_stored_records_match_across_a_two_worker_sweep(tmp_path):
    specs = smoke_specs(["cross_entropy", "focal"])
    summary = run_sweep(specs, tmp_path, workers=2, progress="quiet")
    df = load_results(tmp_path)
    assert len(summary.ran) == 2 and sorted(df["loss"]) == ["cross_entropy", "focal"]
    assert set(df["status"]) == {"ok"}


def test_a_selection_rejects_a_bad_amp_mode():
    from lossbench.api import Selection

    with pytest.raises(UsageError, match="option amp must be one of bf16, got 'fp8'"):
        Selection(losses=["cross_entropy"], amp="fp8")


def test_records_written_by_the_scheduler_round_trip(tmp_path):
    spec = smoke_specs()[0]
    write_record(tmp_path, Record(spec, "timeout", error="killed"))
    assert load_results(tmp_path)["status"].tolist() == ["timeout"]


@pytest.mark.slow  # the fork server imports torch and the metric libraries afresh
def test_the_fork_server_used_for_cuda_runs_works_on_cpu():
    spec = smoke_specs()[0]
    record = next(LocalExecutor(workers=1, start_method="forkserver").map([spec]))
    assert record.status == "ok", record.error


def test_cuda_without_a_visible_gpu_is_a_usage_error(monkeypatch):
    from lossbench import executors
    from lossbench.api import Execution, Selection, run

    monkeypatch.setattr(executors, "visible_gpus", lambda: 0)
    with pytest.raises(UsageError, match="no CUDA device is visible"):
        run(Selection(losses=["cross_entropy"]), Execution(device="cuda", results="/nonexistent"))


def test_rich_progress_shows_counts_and_each_failure():
    import io

    spec = smoke_specs()[0]
    out = io.StringIO()
    with SweepProgress(total=1, cached=2, mode="rich", stream=out) as bar:
        bar.started(spec)
        bar.finished(Record(spec, "timeout", error="run exceeded the 5s timeout"))
    text = out.getvalue()
    assert "timeout" in text and "exceeded the 5s timeout" in text
    assert "1/1 done, 2 cached, 1 failed" in text


@pytest.mark.parametrize("timeout", [1e12, float("inf"), float("nan"), 0.0])
def test_a_timeout_outside_zero_to_thirty_days_is_a_usage_error(timeout):
    from lossbench.errors import UsageError
    from lossbench.executors.local import LocalExecutor

    with pytest.raises(UsageError, match="timeout must be a number of seconds in"):
        LocalExecutor(timeout=timeout)

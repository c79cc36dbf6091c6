"""``lossbench reproduce``: re-run a seeded sample of the stored ok records in a scratch folder
and report, per quality metric, how far the re-runs drift from the stored values."""

from __future__ import annotations

import json
import statistics

import numpy as np
import pandas as pd
import pytest

import lossbench
from lossbench.cli import main
from lossbench.errors import UsageError
from lossbench.record import Record
from lossbench.reproduction import (
    DRIFT_COLUMNS,
    Reproduction,
    drift_table,
    quality_metrics,
    sample_keys,
    threads_of,
)
from lossbench.spec import RunSpec
from lossbench.store import load_results, results_digest, write_record

from .conftest import run_cli

TASK = "standard/mnist1d"


def frame(values: dict[str, list[float]], status: list[str] | None = None,
          **columns: list) -> pd.DataFrame:
    """Wide records ``k0, k1, ...`` of cross_entropy on standard/mnist1d, seeds 0, 1, ...
    with the metric ``values``."""
    n = len(next(iter(values.values())))
    return pd.DataFrame({
        "spec_key": [f"k{i}" for i in range(n)], "loss": ["cross_entropy"] * n,
        "regularizer": [None] * n, "suite": ["standard"] * n, "task": ["mnist1d"] * n,
        "seed": list(range(n)), "options": ["{}"] * n, "status": status or ["ok"] * n,
        "harness_version": [lossbench.__version__] * n, **columns, **values})


def row(table: pd.DataFrame, metric: str) -> pd.Series:
    return table.set_index("metric").loc[metric]


# ---------------------------------------------------------------- the drift table

def test_bit_identical_re_runs_have_share_1_and_no_difference():
    stored = frame({"top1": [0.5, 0.75], "nll": [1.25, 0.5]})
    table = drift_table(stored, stored.copy())
    assert list(table.columns) == list(DRIFT_COLUMNS)
    assert table["metric"].tolist() == ["top1", "nll"]
    top1 = row(table, "top1")
    assert (top1["count"], top1["identical"], top1["max_abs_diff"]) == (2, 1.0, 0.0)
    assert top1["max_spec"] == ""  # no spec "has" a maximum of 0


def test_known_differences_give_their_median_percentile_and_maximum():
    stored = frame({"top1": [0.5, 0.6, 0.7, 0.8, 0.1]})
    rerun = frame({"top1": [0.5, 0.65, 0.9, 0.8, 0.125]})
    diffs = [0.0, abs(0.65 - 0.6), abs(0.9 - 0.7), 0.0, abs(0.125 - 0.1)]
    top1 = row(drift_table(stored, rerun), "top1")
    assert top1["identical"] == 2 / 5
    assert top1["median_abs_diff"] == pytest.approx(0.025)  # sorted: 0, 0, .025, .05, .2
    # numpy's default percentile is the "inclusive" (type 7) quantile of the statistics module
    assert top1["p95_abs_diff"] == pytest.approx(
        statistics.quantiles(diffs, n=20, method="inclusive")[18])
    assert top1["max_abs_diff"] == pytest.approx(0.2)
    assert top1["max_spec_key"] == "k2"
    assert top1["max_spec"] == "cross_entropy standard/mnist1d seed 2"
    assert (top1["max_stored"], top1["max_rerun"]) == (0.7, 0.9)


def test_a_difference_in_the_last_bit_is_not_identical():
    stored, rerun = frame({"nll": [0.3]}), frame({"nll": [0.1 + 0.2]})
    nll = row(drift_table(stored, rerun), "nll")
    assert nll["identical"] == 0.0
    assert nll["max_abs_diff"] == pytest.approx(np.spacing(0.3), rel=1)


def test_timings_are_not_compared():
    stored = frame({"top1": [0.5], "train_seconds": [3.0], "samples_per_second": [900.0],
                    "loss_cost_ratio": [1.1], "plugin_eval_seconds": [0.2]})
    rerun = frame({"top1": [0.5], "train_seconds": [4.0], "samples_per_second": [700.0],
                   "loss_cost_ratio": [1.3], "plugin_eval_seconds": [0.3]})
    assert drift_table(stored, rerun)["metric"].tolist() == ["top1"]
    assert quality_metrics(["top1", "final_train_loss", "train_seconds", "seed"]) == [
        "top1", "final_train_loss"]


def test_a_metric_only_one_side_recorded_counts_as_missing():
    stored = frame({"top1": [0.5, 0.6], "ece": [0.1, np.nan]})
    rerun = frame({"top1": [0.5, 0.6]})
    ece = row(drift_table(stored, rerun), "ece")
    assert (ece["count"], ece["missing"]) == (0, 1)
    report = Reproduction(results="r", harness_version="0", random_seed=0, requested=2,
                          candidates=2, keys=["k0", "k1"], stored=stored, rerun=rerun,
                          drift=drift_table(stored, rerun))
    ece_line = next(ln for ln in report.render_text().splitlines() if ln.startswith("ece"))
    assert ece_line.split() == ["ece", "0", "–", "–", "–", "–", "1"]  # n 0, 1 missing


def test_a_re_run_that_failed_is_not_compared():
    stored = frame({"top1": [0.5, 0.6]})
    rerun = frame({"top1": [0.5, 0.1]}, status=["ok", "error"])
    assert row(drift_table(stored, rerun), "top1")["count"] == 1


# ---------------------------------------------------------------- the sample

def test_only_ok_records_of_the_current_harness_version_are_sampled():
    stored = frame({"top1": [0.1] * 6}, status=["ok", "error", "ok", "timeout", "ok", "ok"])
    stored.loc[4, "harness_version"] = "0.0.1"
    assert sample_keys(stored, 10, random_seed=0) == ["k0", "k2", "k5"]


def test_the_sample_is_a_function_of_its_seed_not_of_the_row_order():
    stored = frame({"top1": [0.1] * 30})
    first = sample_keys(stored, 5, random_seed=7)
    shuffled = stored.sample(frac=1.0, random_state=1)
    assert sample_keys(shuffled, 5, random_seed=7) == first
    assert len(first) == len(set(first)) == 5
    assert len({tuple(sample_keys(stored, 5, random_seed=s)) for s in range(5)}) > 1


def test_the_thread_count_comes_from_machine_json_else_the_device_string():
    assert threads_of({"machine_json": '{"torch_threads": 2}', "device": "cpu:x AVX2 x1"}) == 2
    assert threads_of({"machine_json": None, "device": "cpu:x86_64 AVX512 x1"}) == 1
    assert threads_of({"machine_json": None, "device": "cuda:NVIDIA H100"}) is None


# ---------------------------------------------------------------- usage errors

def test_a_missing_results_folder_is_a_usage_error(tmp_path, capsys):
    assert main(["reproduce", "--results", str(tmp_path / "nope")]) == 2
    assert "nope' does not exist" in capsys.readouterr().err


def test_a_folder_without_records_of_this_harness_is_a_usage_error(tmp_path):
    spec = RunSpec(loss="cross_entropy", loss_version="1", suite="standard", task="mnist1d",
                   task_version="2", seed=0, harness_version="0.0.1")
    write_record(tmp_path, Record(spec, "ok", {"top1": 0.5}, "", {}))
    with pytest.raises(UsageError, match=r"no ok record of harness .* records are of harness "
                                         r"0\.0\.1"):
        lossbench.reproduce(tmp_path)


def exit_status(args: list[str]) -> int:
    """``lossbench ARGS``'s exit status, in this process (argparse exits, the rest returns)."""
    try:
        return main(args)
    except SystemExit as exc:
        return int(exc.code)


@pytest.mark.parametrize("args, fragment", [
    (["--sample", "0"], "argument --sample: expected a positive integer, got '0'"),
    (["--random-seed", "-1"], "argument --random-seed: expected a seed (an integer >= 0)"),
    (["--executor", "seriall"], "unknown executor 'seriall'"),
])
def test_bad_values_exit_2_and_name_the_value(tmp_path, capsys, args, fragment):
    assert exit_status(["reproduce", "--results", str(tmp_path), *args]) == 2
    assert fragment in capsys.readouterr().err


# ---------------------------------------------------------------- end to end

@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """One stored run: cross_entropy on standard/mnist1d, seed 0, 1 epoch, serial executor."""
    results = tmp_path_factory.mktemp("stored") / "results"
    lossbench.run(lossbench.Selection(tasks=[TASK], losses=["cross_entropy"], seeds=[0],
                                      options={"epochs": 1}),
                  lossbench.Execution(results=results, executor="serial", progress="quiet"))
    return results


def test_a_re_run_on_the_same_machine_and_threads_is_bit_identical(stored, tmp_path):
    before = results_digest(stored)
    outcome = lossbench.reproduce(stored, sample=1, executor="serial", progress="quiet",
                                  into=tmp_path / "rerun")
    assert row(outcome.drift, "top1")["identical"] == 1.0
    assert outcome.drift["identical"].eq(1.0).all()
    assert "train_seconds" not in outcome.drift["metric"].tolist()
    assert outcome.machines["same"] is True and outcome.threads["differ"] is False
    assert outcome.statuses == {"ok": 1}
    assert results_digest(stored) == before  # the results folder is only read
    kept = load_results(tmp_path / "rerun")
    assert kept["spec_key"].tolist() == outcome.keys
    assert kept["machine_id"].tolist() == load_results(stored)["machine_id"].tolist()


def test_into_a_folder_inside_the_results_is_refused(stored, capsys):
    assert main(["reproduce", "--results", str(stored), "--into", str(stored / "x")]) == 2
    assert "is inside the results folder" in capsys.readouterr().err


@pytest.mark.slow  # several seconds of subprocesses: the CI's slow step
def test_the_command_prints_the_report_as_json_and_exits_0(stored):
    out = run_cli("reproduce", "--results", str(stored), "--sample", "1", "--executor",
                  "serial", "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    top1 = next(r for r in report["drift"] if r["metric"] == "top1")
    assert (top1["count"], top1["identical"], top1["max_abs_diff"]) == (1, 1.0, 0.0)
    assert report["threads"] == {"stored": {"1": 1}, "current": {"1": 1}, "differ": False}
    assert report["specs"][0]["spec"] == "cross_entropy standard/mnist1d seed 0 {\"epochs\":1}"

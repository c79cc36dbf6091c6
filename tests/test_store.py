"""The store: one atomic Parquet file per run, fixed long schema, readable by plain pandas."""

from __future__ import annotations

import math
import os
import shutil

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lossbench.record import Record
from lossbench.spec import RunSpec
from lossbench.store import (
    attempts,
    load_results,
    result_path,
    stored_status,
    untrusted_files,
    write_record,
)


def record(loss="focal", seed=0, status="ok", metrics=None, error="") -> Record:
    spec = RunSpec(loss=loss, loss_version="1", suite="standard", task="mnist1d",
                   task_version="1", seed=seed)
    if metrics is None:
        metrics = {"top1": 0.9, "ece": 0.05}
    return Record(spec, status, metrics, error, {"device": "cpu", "wall_seconds": 1.0})


def test_file_is_named_by_the_spec_hash(tmp_path):
    r = record()
    assert write_record(tmp_path, r) == tmp_path / f"{r.spec.key}.parquet"


def test_no_temporary_file_is_left_behind(tmp_path):
    write_record(tmp_path, record())
    assert {p.name for p in tmp_path.iterdir()} == {"_ledger.jsonl",
                                                    f"{record().spec.key}.parquet"}


def test_plain_pandas_reads_runs_with_different_metrics(tmp_path):
    write_record(tmp_path, record(seed=0, metrics={"top1": 0.9}))
    write_record(tmp_path, record(seed=1, metrics={"auroc": 0.8, "top1": 0.7}))
    df = pd.read_parquet(tmp_path)
    assert sorted(df["metric"]) == ["auroc", "top1", "top1"]


def test_plain_pandas_ignores_a_temporary_file_of_a_killed_writer(tmp_path):
    write_record(tmp_path, record())
    (tmp_path / f".{record(seed=5).spec.key}.parquet.123.tmp").write_bytes(b"PAR1 partial")
    assert len(pd.read_parquet(tmp_path)) == 2


def test_wide_view_has_one_row_per_run_and_a_column_per_metric(tmp_path):
    write_record(tmp_path, record(seed=0, metrics={"top1": 0.9, "ece": 0.1}))
    write_record(tmp_path, record(seed=1, metrics={"top1": 0.8, "ece": 0.2}))
    df = load_results(tmp_path)
    assert len(df) == 2
    assert df.sort_values("seed")["top1"].tolist() == [0.9, 0.8]


def test_the_wide_frame_is_one_row_per_run_by_spec_key_with_sorted_metric_columns(tmp_path):
    from lossbench.record_format import RUN_COLUMNS

    runs = [record(seed=0, metrics={"top1": 0.9, "ece": 0.1}),
            record(seed=1, metrics={"top1": 0.8}),
            record(seed=2, status="error", metrics={}, error="boom")]
    for r in runs:
        write_record(tmp_path, r)
    df = load_results(tmp_path)
    assert df["spec_key"].tolist() == sorted(r.spec.key for r in runs)
    assert list(df.columns) == [*RUN_COLUMNS, "ece", "top1"]
    by_seed = df.set_index("seed")
    assert by_seed.loc[0, "ece"] == 0.1 and math.isnan(by_seed.loc[1, "ece"])
    assert math.isnan(by_seed.loc[2, "top1"]) and by_seed.loc[2, "regularizer"] is None


def test_a_scan_gives_the_same_frame_statuses_and_untrusted_files_as_the_folder_readers(
        tmp_path):
    from lossbench.store import scan

    write_record(tmp_path, record(seed=0))
    write_record(tmp_path, record(seed=1, status="error", metrics={}))
    (tmp_path / f"{'0' * 16}.parquet").write_bytes(b"not a record")
    stored = scan(tmp_path)
    pd.testing.assert_frame_equal(stored.load(), load_results(tmp_path))
    assert stored.status() == stored_status(tmp_path) == {record(seed=0).spec.key: "ok",
                                                          record(seed=1).spec.key: "error"}
    assert stored.untrusted() == untrusted_files(tmp_path)
    assert [p.name for p, _ in stored.untrusted()] == [f"{'0' * 16}.parquet"]


def test_failed_run_is_stored_with_status_and_error(tmp_path):
    write_record(tmp_path, record(status="error", metrics={}, error="ValueError: boom"))
    df = load_results(tmp_path)
    assert df.loc[0, "status"] == "error" and df.loc[0, "error"] == "ValueError: boom"
    assert stored_status(tmp_path) == {record().spec.key: "error"}


def test_a_corrupt_file_is_reported_by_path_and_never_read(tmp_path):
    bad = result_path(tmp_path, "0123456789abcdef")
    bad.write_bytes(b"not parquet")
    assert untrusted_files(tmp_path)[0][0] == bad
    assert "not a readable Parquet file" in untrusted_files(tmp_path)[0][1]
    assert load_results(tmp_path).empty and stored_status(tmp_path) == {}


def test_a_parquet_file_of_another_schema_is_not_a_record(tmp_path):
    bad = result_path(tmp_path, "0123456789abcdef")
    pq.write_table(pa.table({"spec_key": ["0123456789abcdef"], "x": [1.0]}), bad)
    assert "another schema" in untrusted_files(tmp_path)[0][1]
    assert stored_status(tmp_path, ["0123456789abcdef"]) == {}
    assert load_results(tmp_path).empty


def test_a_record_copied_under_another_spec_key_is_not_a_record(tmp_path):
    good = write_record(tmp_path, record(metrics={"top1": 0.5}))
    copy = result_path(tmp_path, "0123456789abcdef")
    shutil.copy(good, copy)
    assert untrusted_files(tmp_path) == [
        (copy, f"its rows belong to spec key(s) {good.stem}, not to 0123456789abcdef (its file "
               "name): a copied or merged record")]
    assert len(load_results(tmp_path)) == 1  # the original alone, no duplicate-index error


def test_a_folder_at_a_records_path_is_not_a_record(tmp_path):
    result_path(tmp_path, "0123456789abcdef").mkdir()
    assert untrusted_files(tmp_path)[0][1] == "not a regular file"
    assert load_results(tmp_path).empty


def test_rewriting_a_spec_keeps_the_earlier_attempt_and_readers_see_the_latest(tmp_path):
    write_record(tmp_path, record(metrics={"top1": 0.1}))
    write_record(tmp_path, record(metrics={"top1": 0.2}))
    assert load_results(tmp_path)["top1"].tolist() == [0.2]
    key = record().spec.key
    kept = tmp_path / "_attempts" / f"{key}.1.parquet"
    assert pq.read_table(kept).column("value").to_pylist() == [0.1]
    assert set(os.listdir(tmp_path)) == {"_attempts", "_ledger.jsonl", f"{key}.parquet"}
    assert len(pd.read_parquet(tmp_path)) == 1  # plain pandas skips _attempts/ too


def test_attempts_counts_every_run_of_a_spec(tmp_path):
    for top1 in (0.1, 0.2, 0.3):
        write_record(tmp_path, record(metrics={"top1": top1}))
    write_record(tmp_path, record(seed=1))
    assert attempts(tmp_path) == {record().spec.key: 3, record(seed=1).spec.key: 1}
    assert attempts(tmp_path, [record(seed=1).spec.key]) == {record(seed=1).spec.key: 1}
    assert [p.name.split(".")[1] for p in sorted((tmp_path / "_attempts").iterdir())] == ["1", "2"]


def test_a_record_made_before_the_provenance_columns_were_added_is_still_read(tmp_path):
    from lossbench.cells import is_missing
    from lossbench.record_format import ADDED_COLUMNS, record_table

    table = record_table(record())
    old = table.drop_columns(list(ADDED_COLUMNS))
    pq.write_table(old, result_path(tmp_path, record().spec.key))
    assert untrusted_files(tmp_path) == []
    rows = load_results(tmp_path, wide=False)  # every stored column, the digest included
    assert sorted(rows["value"]) == [0.05, 0.9]
    assert all(is_missing(value) for c in ADDED_COLUMNS for value in rows[c])


def test_a_record_made_before_the_machine_columns_were_added_is_still_read(tmp_path):
    from lossbench.cells import is_missing
    from lossbench.record_format import COLUMN_ADDITIONS, record_table

    made = record()
    made.provenance["harness_fingerprint"] = "f" * 16
    old = record_table(made).drop_columns(list(COLUMN_ADDITIONS[-1]))  # machine_json, _id
    pq.write_table(old, result_path(tmp_path, made.spec.key))
    assert untrusted_files(tmp_path) == []
    row = load_results(tmp_path).iloc[0]
    assert row["top1"] == 0.9 and row["harness_fingerprint"] == "f" * 16
    assert is_missing(row["machine_json"]) and is_missing(row["machine_id"])


def test_a_record_missing_a_newer_column_but_not_an_older_one_is_foreign(tmp_path):
    from lossbench.record_format import record_table

    table = record_table(record())
    pq.write_table(table.drop_columns(["harness_fingerprint"]),
                   result_path(tmp_path, record().spec.key))
    assert "missing columns harness_fingerprint" in untrusted_files(tmp_path)[0][1]


@pytest.mark.parametrize("wide", [True, False])
def test_a_stored_row_rebuilds_its_spec_with_or_without_a_regularizer(tmp_path, wide):
    from lossbench.record_format import spec_of

    plain = RunSpec(loss="focal", loss_version="1", suite="standard", task="mnist1d",
                    task_version="1", seed=0, loss_hparams={"gamma": 2.0})
    with_reg = RunSpec(loss="cross_entropy", loss_version="1", suite="standard", task="mnist1d",
                       task_version="1", seed=1, regularizer="mixup", regularizer_version="1",
                       regularizer_hparams={"alpha": 0.2}, options={"epochs": 2})
    for spec in (plain, with_reg):
        write_record(tmp_path, Record(spec, "ok", {"top1": 0.5}, "", {}))
    rows = load_results(tmp_path, wide=wide)
    assert {spec_of(row).key for _, row in rows.iterrows()} == {plain.key, with_reg.key}
    for _, row in rows.iterrows():
        assert spec_of(row).key == row["spec_key"]

"""Records carry a digest of their content; the store trusts a record only when the digest, the
spec key recomputed from its spec and the folder's ledger all agree with it."""

from __future__ import annotations

import dataclasses
import hashlib
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lossbench.digest import DIGEST_COLUMN, record_digest, table_contents
from lossbench.ledger import read_ledger
from lossbench.record import Record
from lossbench.record_format import SCHEMA, record_table, spec_of
from lossbench.spec import RunSpec
from lossbench.store import load_results, result_path, stored_status, untrusted_files, write_record


def record(seed=0, metrics=None, loss="focal") -> Record:
    spec = RunSpec(loss=loss, loss_version="1", suite="standard", task="mnist1d",
                   task_version="1", seed=seed, loss_hparams={"gamma": 2.0})
    return Record(spec, "ok", {"top1": 0.9, "ece": 0.05} if metrics is None else metrics, "",
                  {"device": "cpu", "wall_seconds": 1.5, "card_json": '{"loss":{"paper":"é"}}'})


def rewrite(path, table: pa.Table, redigest: bool = True) -> None:
    """Write ``table`` over ``path``, with its digest recomputed as a forger would."""
    if redigest:
        table = table.drop_columns([DIGEST_COLUMN])
        (content,) = table_contents(table).values()
        table = table.append_column(DIGEST_COLUMN, pa.array([content.digest] * len(table)))
    pq.write_table(table, path)


def with_value(table: pa.Table, column: str, value) -> pa.Table:
    i = table.schema.get_field_index(column)
    return table.set_column(i, table.schema.field(i), pa.array([value] * len(table),
                                                                 table.schema.field(i).type))


# ---------------------------------------------------------------- the digest


def test_the_digest_is_sha256_of_the_documented_json_computed_by_hand():
    table = record_table(record(metrics={"top1": 0.5}))
    row = table.to_pylist()[0]
    run = {k: v for k, v in row.items() if k not in ("metric", "value", DIGEST_COLUMN)
           and v is not None}
    text = json.dumps({"metrics": [["top1", 0.5]], "run": run}, sort_keys=True,
                      separators=(",", ":"))
    assert row[DIGEST_COLUMN] == hashlib.sha256(text.encode()).hexdigest()
    assert "\\u00e9" in text and "é" not in text  # non-ASCII escaped


def test_the_digest_is_the_same_for_the_same_record_written_twice(tmp_path):
    a = write_record(tmp_path / "a", record())
    b = write_record(tmp_path / "b", record())
    assert pq.read_table(a).column(DIGEST_COLUMN).to_pylist() == \
        pq.read_table(b).column(DIGEST_COLUMN).to_pylist()


@pytest.mark.parametrize("column", [n for n in SCHEMA.names if n != DIGEST_COLUMN])
def test_the_digest_changes_with_every_field(column):
    table = record_table(record()).drop_columns([DIGEST_COLUMN])
    field = table.schema.field(column)
    changed = {pa.string(): "changed", pa.int64(): 99, pa.float64(): 0.125}[field.type]
    (before,) = table_contents(table).values()
    (after,) = table_contents(with_value(table, column, changed)).values()
    assert before.digest != after.digest


def test_the_digest_changes_with_the_order_of_the_metric_rows():
    table = record_table(record()).drop_columns([DIGEST_COLUMN])
    (before,) = table_contents(table).values()
    (after,) = table_contents(table.take([1, 0])).values()
    assert before.digest != after.digest


def test_a_column_missing_from_an_older_record_leaves_its_digest_unchanged():
    run = {"spec_key": "k", "loss": "focal"}
    assert record_digest(run, [("top1", 0.5)]) == \
        record_digest({**run, "machine_json": None}, [("top1", 0.5)])


def test_not_a_number_and_null_metrics_have_a_digest():
    assert record_digest({"spec_key": "k"}, [("top1", float("nan")), (None, None)]) != \
        record_digest({"spec_key": "k"}, [("top1", None), (None, None)])


def test_rows_that_disagree_on_a_run_field_are_inconsistent():
    table = record_table(record()).drop_columns([DIGEST_COLUMN])
    i = table.schema.get_field_index("status")
    mixed = table.set_column(i, "status", pa.array(["ok", "error"]))
    assert [c.consistent for c in table_contents(table).values()] == [True]
    assert [c.consistent for c in table_contents(mixed).values()] == [False]


def test_contents_of_several_records_are_read_from_one_table(tmp_path):
    tables = [record_table(record(seed=s)) for s in (0, 1)]
    contents = table_contents(pa.concat_tables(tables))
    assert {k: c.digest for k, c in contents.items()} == {
        t.column("spec_key")[0].as_py(): t.column(DIGEST_COLUMN)[0].as_py() for t in tables}


# ---------------------------------------------------------------- what the store trusts


def test_a_record_written_by_the_store_is_trusted_and_in_the_ledger(tmp_path):
    path = write_record(tmp_path, record())
    assert untrusted_files(tmp_path) == []
    (entry,) = read_ledger(tmp_path).entries
    assert (entry.event, entry.key) == ("write", path.stem)
    assert entry.digest == pq.read_table(path).column(DIGEST_COLUMN)[0].as_py()


def test_a_record_rewritten_with_a_better_score_and_its_own_digest_is_altered(tmp_path):
    path = write_record(tmp_path, record(metrics={"top1": 0.5}))
    table = pq.read_table(path)
    rewrite(path, table.set_column(table.schema.get_field_index("value"), "value",
                                   pa.array([0.99], pa.float64())))
    ((bad, reason),) = untrusted_files(tmp_path)
    assert bad == path and reason.startswith("altered: its content")
    assert load_results(tmp_path).empty and stored_status(tmp_path) == {}


def test_a_record_with_a_changed_value_and_its_old_digest_does_not_match_it(tmp_path):
    path = write_record(tmp_path, record(metrics={"top1": 0.5}))
    table = pq.read_table(path)
    rewrite(path, table.set_column(table.schema.get_field_index("value"), "value",
                                   pa.array([0.99], pa.float64())), redigest=False)
    assert "not the" in untrusted_files(tmp_path)[0][1]  # not the digest it carries


def test_a_record_whose_spec_was_changed_under_its_key_is_altered(tmp_path):
    path = write_record(tmp_path, record())
    rewrite(path, with_value(pq.read_table(path), "seed", 3))
    assert untrusted_files(tmp_path)[0][1].startswith(
        f"altered: its spec hashes to {record(seed=3).spec.key}, not to {path.stem}")


def test_a_new_record_the_ledger_never_saw_is_unknown(tmp_path):
    source = write_record(tmp_path, record())
    table = pq.read_table(source)
    seven = dataclasses.replace(spec_of(table.slice(0, 1).to_pylist()[0]), seed=7)
    forged = with_value(with_value(table, "seed", 7), "spec_key", seven.key)
    rewrite(result_path(tmp_path, seven.key), forged)
    ((bad, reason),) = untrusted_files(tmp_path)
    assert bad.stem == seven.key and reason.startswith("unknown: the ledger has no record")
    assert load_results(tmp_path)["seed"].tolist() == [0]


@pytest.mark.parametrize("where", [0.1, 0.3, 0.5, 0.7, 0.9])
def test_64_zeroed_bytes_anywhere_in_a_record_are_detected(tmp_path, where):
    path = write_record(tmp_path, record())
    data = bytearray(path.read_bytes())
    at = int(len(data) * where)
    data[at:at + 64] = bytes(64)
    path.write_bytes(bytes(data))
    assert [p for p, _ in untrusted_files(tmp_path)] == [path]
    assert load_results(tmp_path).empty


def test_a_folder_without_a_ledger_is_read_unverified(tmp_path):
    """Records stored before ledgers existed (no digest column, no ledger) are read as before;
    `lossbench verify` reports them (tests/test_verify.py)."""
    table = record_table(record()).drop_columns([DIGEST_COLUMN])
    pq.write_table(table, result_path(tmp_path, record().spec.key))
    assert untrusted_files(tmp_path) == [] and len(load_results(tmp_path)) == 1

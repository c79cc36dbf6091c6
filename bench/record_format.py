"""A record as the store keeps it: the Parquet schema of its rows, the rows of a
:class:`~lossbench.record.Record`, reading record files, and the spec of a stored row.

Records are stored *long*: one row per (run, metric), every file with the same schema
(:data:`SCHEMA`), so a folder mixing suites with different metrics still loads in full. A record
made before a column was added (:data:`COLUMN_ADDITIONS`) keeps its earlier schema and reads back
with nulls there. Which files are records is :mod:`lossbench.record_trust`'s question; the folder
is :mod:`lossbench.store`'s.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from .cells import is_missing
from .digest import DIGEST_COLUMN, table_contents
from .errors import LossbenchError
from .record import Record
from .spec import RunSpec, canonical_json

SPEC_COLUMNS = ("spec_key", "loss", "loss_version", "loss_hparams", "regularizer",
                "regularizer_version", "regularizer_hparams", "suite", "task", "task_version",
                "seed", "options", "harness_version")


PROVENANCE_COLUMNS = ("lossbench_version", "harness_fingerprint", "loss_distribution",
                      "regularizer_distribution", "git_sha", "torch_version", "python_version",
                      "device", "host", "started_at", "wall_seconds", "machine_json",
                      "machine_id")


#: what the report needs of the run's entries and task (:mod:`lossbench.record_meta`): the
#: leaderboard renders from the records alone
META_COLUMNS = ("card_json", "task_json")


RUN_COLUMNS = (*SPEC_COLUMNS, "status", "error", *PROVENANCE_COLUMNS, *META_COLUMNS)


SCHEMA = pa.schema([
    ("spec_key", pa.string()),
    ("loss", pa.string()),
    ("loss_version", pa.string()),
    ("loss_hparams", pa.string()),  # canonical JSON
    ("regularizer", pa.string()),
    ("regularizer_version", pa.string()),
    ("regularizer_hparams", pa.string()),  # canonical JSON
    ("suite", pa.string()),
    ("task", pa.string()),
    ("task_version", pa.string()),
    ("seed", pa.int64()),
    ("options", pa.string()),  # canonical JSON
    ("harness_version", pa.string()),
    ("status", pa.string()),
    ("error", pa.string()),
    ("lossbench_version", pa.string()),
    ("harness_fingerprint", pa.string()),  # lossbench.fingerprint of the harness sources
    ("loss_distribution", pa.string()),  # "<distribution> <version>" or "local <file hash>"
    ("regularizer_distribution", pa.string()),
    ("git_sha", pa.string()),
    ("torch_version", pa.string()),
    ("python_version", pa.string()),
    ("device", pa.string()),
    ("host", pa.string()),
    ("started_at", pa.string()),
    ("wall_seconds", pa.float64()),
    ("machine_json", pa.string()),  # canonical JSON: lossbench.machine.machine_info
    ("machine_id", pa.string()),  # 12 hex of the fields that decide the floating-point path
    ("card_json", pa.string()),  # canonical JSON: {"loss": card, "regularizer": card | null}
    ("task_json", pa.string()),  # canonical JSON: headline, metric directions, findings, ...
    ("metric", pa.string()),  # null for a failed run without metrics
    ("value", pa.float64()),
    (DIGEST_COLUMN, pa.string()),  # lossbench.digest.record_digest of the record (every row)
])


#: Columns added after the first records were stored, oldest addition first: a record made
#: before an addition (without its columns and every later one's) is still trusted, and reads
#: back with nulls there.
COLUMN_ADDITIONS = (
    ("harness_fingerprint", "loss_distribution", "regularizer_distribution"),
    ("machine_json", "machine_id"),  # records of harness 0.2.2 and earlier lack these
    (DIGEST_COLUMN,),  # likewise (lossbench.digest)
)


ADDED_COLUMNS = tuple(c for added in COLUMN_ADDITIONS for c in added)


#: The schemas of records made before each addition (the oldest first).
EARLIER_SCHEMAS = tuple(
    pa.schema([f for f in SCHEMA
               if f.name not in {c for later in COLUMN_ADDITIONS[i:] for c in later}])
    for i in range(len(COLUMN_ADDITIONS)))


LEGACY_SCHEMA = EARLIER_SCHEMAS[0]


class CorruptResultError(LossbenchError):
    """A file in the results folder cannot be read as a lossbench record."""


def record_table(record: Record) -> pa.Table:
    """The long-format rows of one record (at least one row, even without metrics)."""
    spec = record.spec.to_dict()
    base = {
        "spec_key": record.spec.key,
        **{k: spec[k] for k in ("loss", "loss_version", "regularizer", "regularizer_version",
                                "suite", "task", "task_version", "seed", "harness_version")},
        "loss_hparams": canonical_json(spec["loss_hparams"]),
        "regularizer_hparams": canonical_json(spec["regularizer_hparams"]),
        "options": canonical_json(spec["options"]),
        "status": record.status,
        "error": record.error,
        **{k: record.provenance.get(k) for k in PROVENANCE_COLUMNS},
        **{k: record.provenance.get(k) for k in META_COLUMNS},
    }
    items = sorted(record.metrics.items()) or [(None, None)]
    columns = {name: [base[name]] * len(items) for name in RUN_COLUMNS}
    columns["metric"] = [m for m, _ in items]
    columns["value"] = [None if v is None else float(v) for _, v in items]
    # the digest of the rows exactly as they are stored and read back (float64, int64, ...)
    content = pa.Table.from_pydict(columns, schema=SCHEMA.remove(SCHEMA.get_field_index(
        DIGEST_COLUMN)))
    digest = table_contents(content)[record.spec.key].digest
    return content.append_column(SCHEMA.field(DIGEST_COLUMN), pa.array([digest] * len(items),
                                                                       pa.string()))


def read_record_file(path: Path, columns: Iterable[str] | None = None) -> pa.Table:
    try:
        return pq.read_table(path, columns=list(columns) if columns else None, schema=SCHEMA)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for a bad file
        raise CorruptResultError(
            f"corrupt or foreign result file {path}: {type(exc).__name__}: {exc}; move it out of "
            f"the results folder or delete it and re-run its spec"
        ) from None


#: the columns that are numbers; every other column is a string, repeated by every row of a
#: record except ``metric``, so reading them as dictionaries is cheap
NUMERIC_COLUMNS = ("seed", "wall_seconds", "value")


def read_records(paths: list[Path], columns: list[str] | None = None,
               dictionary: bool = False) -> pa.Table:
    """Many record files as one table, scanned by pyarrow's dataset reader (several times faster
    than one ``read_table`` per file); a file that fails is found and reported by path. With
    ``dictionary``, string columns are read dictionary-encoded (as Parquet stores them)."""
    if not paths:
        return SCHEMA.empty_table().select(columns) if columns else SCHEMA.empty_table()
    import pyarrow.dataset as ds

    schema, fmt = SCHEMA, ds.ParquetFileFormat()
    if dictionary:
        strings = [n for n in SCHEMA.names if n not in NUMERIC_COLUMNS]
        fmt = ds.ParquetFileFormat(read_options=ds.ParquetReadOptions(
            dictionary_columns=strings))
        schema = pa.schema([pa.field(f.name, pa.dictionary(pa.int32(), f.type))
                            if f.name in strings else f for f in SCHEMA])
    try:
        return ds.dataset([str(p) for p in paths], schema=schema, format=fmt).to_table(
            columns=columns)
    except Exception:  # noqa: BLE001 - find the culprit and name it
        for path in paths:
            read_record_file(path, columns)  # raises CorruptResultError naming the file
        raise


def spec_of(row) -> RunSpec:
    """Rebuild the :class:`RunSpec` of a stored row (long or wide): ``spec_of(row).key ==
    row["spec_key"]``. Missing values (pandas reads a null regularizer as NaN) become None."""
    def present(value):
        return None if is_missing(value) else value

    return RunSpec(
        loss=row["loss"], loss_version=row["loss_version"], suite=row["suite"], task=row["task"],
        task_version=row["task_version"], seed=int(row["seed"]),
        loss_hparams=json.loads(row["loss_hparams"]), regularizer=present(row["regularizer"]),
        regularizer_version=present(row["regularizer_version"]),
        regularizer_hparams=json.loads(row["regularizer_hparams"]),
        options=json.loads(row["options"]), harness_version=row["harness_version"],
    )

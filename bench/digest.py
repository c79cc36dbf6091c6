"""The content digest of a stored record: what the ledger vouches for.

A record file holds one row per metric (:data:`lossbench.record_format.SCHEMA`); every row
repeats the run's fields (spec, status, provenance, card and task metadata). Its digest is
defined by :func:`record_digest` alone:

    SHA-256 (hex) of the UTF-8 bytes of the JSON text of
    ``{"metrics": [[metric, value], ...], "run": {field: value, ...}}``

* ``run``: every column except ``metric``, ``value`` and ``digest``, as the record's first row
  holds it, **null values left out** (so a column added to the schema later, which reads back as
  null from older records, does not change their digest; setting a field to null does);
* ``metrics``: ``[metric, value]`` of every row, in the file's row order;
* JSON text: keys sorted, no whitespace (``","`` and ``":"``), non-ASCII characters escaped
  (``\\uXXXX``), integers in decimal, floats in Python's shortest round-trip form (``repr``),
  not-a-number and infinities as ``NaN``, ``Infinity``, ``-Infinity``, null as ``null``.

A record whose rows disagree on a run field is not a record the harness wrote (the digest covers
the first row only): :func:`table_contents` reports it as inconsistent.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

DIGEST_COLUMN = "digest"
#: the columns that are not run fields: one value per row, or the digest itself
PER_ROW_COLUMNS = ("metric", "value")


def record_digest(run: Mapping[str, Any], metrics: Sequence[tuple[str | None, float | None]]
                  ) -> str:
    """The digest of a record with run fields ``run`` and ``(metric, value)`` rows ``metrics``
    (see the module docstring for the exact definition)."""
    body = {
        "run": {k: v for k, v in run.items()
                if v is not None and k != DIGEST_COLUMN and k not in PER_ROW_COLUMNS},
        "metrics": [[m, v] for m, v in metrics],
    }
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class RecordContent:
    """One record of a table, as read: its run fields, its digest recomputed from them, the
    digest it carries (None for a record written before records carried one) and whether all of
    its rows agree on the run fields."""

    run: dict[str, Any]
    digest: str
    stored_digest: str | None
    consistent: bool


def _codes(column: pa.ChunkedArray) -> tuple[np.ndarray, list]:
    """Integer codes of a column's values (-1 for null) and the values they stand for."""
    array = column.combine_chunks()
    if not pa.types.is_dictionary(array.type):
        array = pc.dictionary_encode(array)
    codes = array.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    return codes, array.dictionary.to_pylist()


def table_contents(table: pa.Table) -> dict[str, RecordContent]:
    """``{spec key: content}`` of every record in ``table`` (rows of one or more record files;
    the rows of one spec key are one record, in row order; dictionary-encoded columns are
    read the same as plain ones)."""
    if table.num_rows == 0:
        return {}
    table = table.unify_dictionaries()
    key_codes, key_values = _codes(table.column("spec_key"))
    order = np.argsort(key_codes, kind="stable")  # rows grouped by record, file order kept
    sorted_codes = key_codes[order]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    ends = np.r_[starts[1:], len(order)]
    group_of_row = np.empty(len(order), dtype=np.int64)
    group_of_row[order] = np.repeat(np.arange(len(starts)), ends - starts)
    first_row = order[starts]
    run_names = [n for n in table.column_names if n not in PER_ROW_COLUMNS]
    inconsistent = np.zeros(len(starts), dtype=bool)
    run_values: dict[str, list] = {}
    for name in run_names:
        codes, values = _codes(table.column(name))
        differs = codes != codes[first_row[group_of_row]]
        inconsistent[np.unique(group_of_row[differs])] = True
        run_values[name] = [None if c < 0 else values[c] for c in codes[first_row]]
    metric = table.column("metric").to_pylist()
    value = table.column("value").to_pylist()
    out = {}
    for g, (start, end) in enumerate(zip(starts, ends, strict=True)):
        rows = order[start:end]
        run = {name: run_values[name][g] for name in run_names}
        stored = run.pop(DIGEST_COLUMN, None)
        key = key_values[sorted_codes[start]] if sorted_codes[start] >= 0 else None
        out[key] = RecordContent(run, record_digest(run, [(metric[i], value[i]) for i in rows]),
                                 stored, not inconsistent[g])
    return out

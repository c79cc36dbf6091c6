"""The records as the report reads them: one row per run, one float column per metric.

The same content as :func:`lossbench.store.load_results` (``wide=True``) — trusted record files
only, the store's schema — read the way a report over thousands of small files needs it: string
columns decoded as dictionaries (every row of a record repeats its spec and metadata), the metric
pivot done on integer codes, strings as plain Python objects (row access on Arrow-backed string
columns is what made rendering slow). The result is sorted by spec key.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from ..store import RUN_COLUMNS, SCHEMA, _files, _trusted

_NUMERIC = {"seed", "wall_seconds", "value"}


def load_runs(results_dir: str | Path, untrusted: set[str] | None = None) -> pd.DataFrame:
    """The wide frame of every trusted record in ``results_dir`` (empty frame with the run
    columns when there is none). ``untrusted``: the file names already known not to be records
    (:func:`lossbench.store.untrusted_files`), so the footers are not checked twice."""
    import pyarrow.dataset as ds

    files = _trusted(_files(results_dir)) if untrusted is None else \
        [p for p in _files(results_dir) if p.name not in untrusted]
    if not files:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in RUN_COLUMNS})
    as_dictionary = [n for n in SCHEMA.names if n not in _NUMERIC]
    fmt = ds.ParquetFileFormat(read_options=ds.ParquetReadOptions(
        dictionary_columns=as_dictionary))
    # the store's schema, not the first file's: a record made before a column was added
    # (store.ADDED_COLUMNS) reads back with nulls there
    schema = pa.schema([pa.field(f.name, pa.dictionary(pa.int32(), f.type))
                        if f.name in as_dictionary else f for f in SCHEMA])
    table = ds.dataset([str(p) for p in files], format=fmt, schema=schema).to_table()
    table = table.unify_dictionaries().combine_chunks()
    codes = table.column("spec_key").chunk(0).indices.to_numpy(zero_copy_only=False)
    unique, first = np.unique(codes, return_index=True)  # one row per run
    run_index = np.searchsorted(unique, codes)  # the run of every row
    data: dict[str, object] = {}
    for name in RUN_COLUMNS:
        col = table.column(name).chunk(0)
        if pa.types.is_dictionary(col.type):
            values = np.asarray(col.dictionary.to_pylist(), dtype=object)
            idx = col.indices.fill_null(0).to_numpy(zero_copy_only=False)
            valid = col.is_valid().to_numpy(zero_copy_only=False)
            out = np.full(len(first), None, dtype=object)
            sel = valid[first]
            out[sel] = values[idx[first][sel]]
            data[name] = out
        else:
            arr = col.to_numpy(zero_copy_only=False)
            data[name] = arr[first]
    runs = pd.DataFrame(data)
    metric = table.column("metric").chunk(0)
    m_valid = metric.is_valid().to_numpy(zero_copy_only=False)
    names = metric.dictionary.to_pylist()
    m_idx = metric.indices.fill_null(0).to_numpy(zero_copy_only=False)
    values = table.column("value").chunk(0).to_numpy(zero_copy_only=False).astype(float)
    matrix = np.full((len(first), len(names)), np.nan)
    matrix[run_index[m_valid], m_idx[m_valid]] = values[m_valid]
    metrics = pd.DataFrame(matrix, columns=names)[sorted(names)]
    runs = pd.concat([runs, metrics], axis=1)
    runs["seed"] = runs["seed"].astype("int64")
    return runs.sort_values("spec_key", kind="stable").reset_index(drop=True)

"""The results store: one Parquet file per finished run, named by its spec hash. Append-only.

Files are written to a hidden temporary name in the same folder, fsynced, then renamed, so a run
killed at any point leaves either no file or a complete one (``kill -9`` included); temporary files
start with ``.`` and are ignored by every Parquet reader, ``pandas.read_parquet("results")``
included. A spec whose file exists is "done": sweeps resume for free.

A record's rows and schema are :mod:`lossbench.record_format`'s (long: one row per run and
metric). Tamper evidence: every record carries its content digest (:mod:`lossbench.digest`), and
every record written is logged in the folder's append-only ledger (:mod:`lossbench.ledger`); only
*trusted* records (:mod:`lossbench.record_trust`) are read, counted as stored and shown on the
leaderboard (:func:`untrusted_files` says why a file is not one).

Reading: :func:`scan` looks at the folder once (:class:`StoreScan`: which files are trusted
records and why the others are not, their statuses, their runs); :func:`load_results` is the one
reader of the records as a frame — wide, one row per run and one float column per metric, the
frame ``lossbench validate``, ``lossbench show`` and the leaderboard read — or long.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from .all_or_nothing import temp_path
from .digest import DIGEST_COLUMN
from .ledger import append, entry, ledger_path, read_ledger
from .record import Record
from .record_format import RUN_COLUMNS, SCHEMA, read_records, record_table
from .record_trust import file_problems

PLOTS_DIR = "_plots"  # the leaderboard's plots, under the results folder ("_": not records)
TUNING_DIR = "_tuning"  # tuning manifests (lossbench.tune), under the results folder


def result_path(results_dir: str | Path, key: str) -> Path:
    return Path(results_dir) / f"{key}.parquet"


ATTEMPTS_DIR = "_attempts"  # earlier attempts of re-run specs (``<key>.<n>.parquet``), kept


def write_record(results_dir: str | Path, record: Record) -> Path:
    """Atomically write ``record`` as ``<results_dir>/<spec key>.parquet`` and return the path.

    A spec that already has a record (``--force``, ``--retry-failed``) keeps it: the earlier
    file is first linked (or copied) to ``_attempts/<spec key>.<n>.parquet``, n = 1, 2, … in
    the order the attempts were made, then the new record takes its place. Readers see the
    latest attempt; :func:`attempts` counts them. Once the file is in place, a ``write`` entry
    with the record's digest is appended to the folder's ledger (:mod:`lossbench.ledger`).
    """
    results_dir = Path(results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    path = result_path(results_dir, record.spec.key)
    tmp = temp_path(path)
    table = record_table(record)
    try:
        with open(tmp, "wb") as fh:
            pq.write_table(table, fh)
            fh.flush()
            os.fsync(fh.fileno())
        if path.is_file():
            _keep_attempt(results_dir, path)
        os.replace(tmp, path)
        _fsync_dir(results_dir)
    finally:
        tmp.unlink(missing_ok=True)
    append(results_dir, entry("write", record.spec.key, table.column(DIGEST_COLUMN)[0].as_py()))
    return path


def _keep_attempt(results_dir: Path, path: Path) -> Path:
    """Preserve the record at ``path`` as the next ``_attempts/<key>.<n>.parquet``."""
    folder = results_dir / ATTEMPTS_DIR
    folder.mkdir(exist_ok=True)
    n = len(attempt_files(results_dir, path.stem)) + 1
    target = folder / f"{path.stem}.{n}.parquet"
    while target.exists():
        n += 1
        target = folder / f"{path.stem}.{n}.parquet"
    try:
        os.link(path, target)
    except OSError:  # no hard links on this file system
        shutil.copy2(path, target)
    _fsync_dir(folder)
    return target


def attempt_files(results_dir: str | Path, key: str | None = None) -> list[Path]:
    """The kept earlier attempts (of ``key``, or of every spec)."""
    folder = Path(results_dir) / ATTEMPTS_DIR
    if not folder.is_dir():
        return []
    return sorted(folder.glob(f"{key or '*'}.*.parquet"))


def attempts(results_dir: str | Path, keys: Iterable[str] | None = None) -> dict[str, int]:
    """``{spec key: number of attempts}`` of every stored spec (or of ``keys`` that are
    stored): 1 for a spec run once, n + 1 after n re-runs (their records are kept under
    ``_attempts/``; the leaderboard reads the latest)."""
    counts = dict.fromkeys(stored_keys(results_dir), 1)
    for path in attempt_files(results_dir):
        key = path.name.split(".", 1)[0]
        if key in counts:
            counts[key] += 1
    if keys is not None:
        wanted = set(keys)
        counts = {k: v for k, v in counts.items() if k in wanted}
    return counts


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def stored_keys(results_dir: str | Path) -> set[str]:
    """Spec keys with a result file (any status)."""
    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        return set()
    return {p.stem for p in results_dir.glob("*.parquet")}


def results_digest(results_dir: str | Path) -> str:
    """A SHA-256 over the name and content of every file the leaderboard is made from: the
    records (``*.parquet``), the kept earlier attempts (``_attempts/``: their count is shown),
    the tuning manifests (``_tuning/*.json``) and the ledger (which records are trusted);
    nothing else in the folder (plots,
    temporary files, a leaderboard or cache kept there) changes it."""
    import hashlib

    root = Path(results_dir)
    h = hashlib.sha256()
    inputs = [*record_files(root), *attempt_files(root),
              *sorted(root.glob(f"{TUNING_DIR}/*.json")),
              *[p for p in [ledger_path(root)] if p.is_file()]] if root.is_dir() else []
    for path in inputs:  # exactly the files load_results and load_manifests read
        h.update(path.relative_to(root).as_posix().encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def load_manifests(results_dir: str | Path) -> list[dict[str, Any]]:
    """Every tuning manifest under ``<results>/_tuning/`` (:mod:`lossbench.tune` writes them),
    in file-name order."""
    folder = Path(results_dir) / TUNING_DIR
    if not folder.is_dir():
        return []
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))]


def record_files(results_dir: str | Path, keys: Iterable[str] | None = None) -> list[Path]:
    """The record files of ``results_dir`` (sorted), or of those ``keys`` that have one, trusted
    or not (:func:`scan` tells)."""
    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        return []
    if keys is None:
        return sorted(p for p in results_dir.glob("*.parquet") if p.is_file())
    return sorted(p for p in (result_path(results_dir, k) for k in set(keys)) if p.is_file())


#: What a sweep reads of every trusted record: its status (what still needs running) and what
#: its timing is compared by (:mod:`lossbench.estimate`).
SCAN_COLUMNS = ("spec_key", "status", "suite", "task", "task_version", "options", "loss",
                "regularizer", "wall_seconds")


@dataclass(frozen=True)
class StoreScan:
    """One look at a results folder (or at the files of some spec keys in it): every
    ``*.parquet`` entry with ``''`` when it is a trusted record, else why it is not
    (:func:`lossbench.record_trust.file_problems`). What a sweep and a render need of the store
    is read from one scan, so the folder is checked once."""

    folder: Path
    problems: dict[Path, str]

    @property
    def trusted(self) -> list[Path]:
        """The trusted record files, sorted."""
        return [p for p, problem in self.problems.items() if not problem]

    def untrusted(self, keys: Iterable[str] | None = None) -> list[tuple[Path, str]]:
        """``(path, reason)`` of the entries that are not trusted records (of ``keys`` only,
        when given), sorted by path."""
        wanted = None if keys is None else set(keys)
        return [(p, problem) for p, problem in self.problems.items()
                if problem and (wanted is None or p.stem in wanted)]

    @functools.cached_property
    def runs(self) -> pa.Table:
        """The :data:`SCAN_COLUMNS` of every trusted record, one row per metric (read once)."""
        return read_records(self.trusted, columns=list(SCAN_COLUMNS))

    def status(self, keys: Iterable[str] | None = None) -> dict[str, str]:
        """``{spec key: status}`` of every trusted record (of ``keys`` only, when given)."""
        found = dict(zip(self.runs.column("spec_key").to_pylist(),
                         self.runs.column("status").to_pylist(), strict=True))
        wanted = None if keys is None else set(keys)
        return {p.stem: found.get(p.stem, "error") for p in self.trusted
                if wanted is None or p.stem in wanted}

    def load(self, wide: bool = True):
        """The trusted records as a frame (:func:`load_results`)."""
        return records_frame(self.trusted) if wide else long_frame(self.trusted)


def scan(results_dir: str | Path, keys: Iterable[str] | None = None) -> StoreScan:
    """Check every ``*.parquet`` entry of ``results_dir`` (or those of ``keys``) against the
    folder's ledger, once (:class:`StoreScan`)."""
    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        return StoreScan(results_dir, {})
    paths = (sorted(results_dir.glob("*.parquet")) if keys is None else
             sorted(p for p in (result_path(results_dir, k) for k in set(keys)) if p.exists()))
    return StoreScan(results_dir, file_problems(paths, read_ledger(results_dir)))


def stored_status(results_dir: str | Path, keys: Iterable[str] | None = None) -> dict[str, str]:
    """``{spec key: status}`` of every stored run, or of those among ``keys`` that are stored.
    A file that is not a trusted record (:func:`untrusted_files`) is not stored."""
    return scan(results_dir, keys).status()


def untrusted_files(results_dir: str | Path, keys: Iterable[str] | None = None
                    ) -> list[tuple[Path, str]]:
    """``(path, reason)`` of every ``*.parquet`` entry of ``results_dir`` (or of ``keys``) that
    is not a trusted record (:mod:`lossbench.record_trust`): such files are never read into a
    table and count as not stored."""
    return scan(results_dir, keys).untrusted()


UNTRUSTED_DIR = "_untrusted"  # where a sweep moves files that are not records (never deleted)


def set_aside(results_dir: str | Path, keys: Iterable[str],
              scanned: StoreScan | None = None) -> list[tuple[Path, Path, str]]:
    """Move the untrusted files among ``keys`` to ``<results_dir>/_untrusted/`` (so their specs
    can be re-run and written), log each move in the ledger (``set_aside``) when the folder
    has one, and return ``(from, to, reason)`` for each. ``scanned``: the folder's scan when
    the caller has one (else the files of ``keys`` are checked here)."""
    moved = []
    has_ledger = ledger_path(results_dir).is_file()
    keys = list(keys)
    untrusted = (scanned or scan(results_dir, keys)).untrusted(keys)
    for path, reason in untrusted:
        target_dir = Path(results_dir) / UNTRUSTED_DIR
        target_dir.mkdir(exist_ok=True)
        target = target_dir / path.name
        n = 1
        while target.exists():
            target = target_dir / f"{path.stem}.{n}{path.suffix}"
            n += 1
        os.replace(path, target)
        moved.append((path, target, reason))
        if has_ledger:
            append(results_dir, entry("set_aside", path.stem, None, reason))
    return moved


def load_results(results_dir: str | Path = "results", wide: bool = True,
                 keys: Iterable[str] | None = None):
    """The trusted records of ``results_dir`` (of ``keys`` only, when given) as a DataFrame.

    ``wide`` (the default): one row per run, sorted by spec key, with the run's columns
    (:data:`lossbench.record_format.RUN_COLUMNS`: strings as Python objects, None where null)
    and one float column per metric (NaN where the run did not report it), metric columns sorted
    by name (:func:`records_frame`). Else the stored long format: one row per run and metric
    (:func:`long_frame`)."""
    return scan(results_dir, keys).load(wide)


def long_frame(files: list[Path]):
    """The rows of the record ``files`` (long: one per run and metric) as a DataFrame, sorted by
    suite, task, loss, regularizer, seed and metric."""
    import pandas as pd

    if not files:
        return SCHEMA.empty_table().to_pandas()
    return read_records(files).to_pandas().sort_values(
        ["suite", "task", "loss", "regularizer", "seed", "metric"], na_position="first",
        kind="stable").reset_index(drop=True).pipe(pd.DataFrame)


def records_frame(files: list[Path]):
    """The wide frame of the record ``files`` (see :func:`load_results`); an empty frame with
    the run columns when there is none.

    Read the way a report over thousands of small files needs it: string columns decoded as
    dictionaries (every row of a record repeats its spec and metadata), the metric pivot done
    on integer codes, strings as plain Python objects (row access on Arrow-backed string columns
    is what made rendering slow)."""
    import numpy as np
    import pandas as pd

    if not files:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in RUN_COLUMNS})
    # the store's schema, not the first file's: a record made before a column was added
    # (record_format.ADDED_COLUMNS) reads back with nulls there
    table = read_records(files, dictionary=True).unify_dictionaries().combine_chunks()
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

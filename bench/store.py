"""The results store: one Parquet file per finished run, named by its spec hash. Append-only.

Files are written to a hidden temporary name in the same folder, fsynced, then renamed, so a run
killed at any point leaves either no file or a complete one (``kill -9`` included); temporary files
start with ``.`` and are ignored by every Parquet reader, ``pandas.read_parquet("results")``
included. A spec whose file exists is "done": sweeps resume for free.

Records are stored *long*: one row per (run, metric), every file with the same schema
(:data:`SCHEMA`), so a folder mixing suites with different metrics still loads in full.
:func:`load_results` also offers the wide view (one row per run, one column per metric).

Tamper evidence: every record carries its content digest (:mod:`lossbench.digest`), and every
record written is logged in the folder's append-only ledger (:mod:`lossbench.ledger`). A record
is *trusted* — read by :func:`load_results`, counted as stored, shown on the leaderboard — only
when its file is a well-formed record of the spec key it is named by, the key recomputed from its
spec is that key, its rows agree and match the digest it carries, and, in a folder with a
ledger, the ledger's last entry for that key vouches for exactly that digest
(:func:`untrusted_files` says why a file is not). A folder without a ledger (records stored
before ledgers existed) is read as before, unverified, until ``lossbench verify --adopt``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from .all_or_nothing import temp_path
from .cells import is_missing
from .digest import DIGEST_COLUMN, RecordContent, table_contents
from .errors import LossbenchError
from .ledger import VOUCHING_EVENTS, Ledger, append, entry, ledger_path, read_ledger
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

PLOTS_DIR = "_plots"  # the leaderboard's plots, under the results folder ("_": not records)
TUNING_DIR = "_tuning"  # tuning manifests (lossbench.tune), under the results folder


class CorruptResultError(LossbenchError):
    """A file in the results folder cannot be read as a lossbench record."""


def result_path(results_dir: str | Path, key: str) -> Path:
    return Path(results_dir) / f"{key}.parquet"


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
    n = len(_attempt_files(results_dir, path.stem)) + 1
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


def _attempt_files(results_dir: str | Path, key: str | None = None) -> list[Path]:
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
    for path in _attempt_files(results_dir):
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


def stored_status(results_dir: str | Path, keys: Iterable[str] | None = None) -> dict[str, str]:
    """``{spec key: status}`` of every stored run, or of those among ``keys`` that are stored.
    A file that is not a trusted record (:func:`untrusted_files`) is not stored."""
    files = _trusted(_files(results_dir, keys))
    table = _read_many(files, columns=["spec_key", "status"])
    found = dict(zip(table.column("spec_key").to_pylist(), table.column("status").to_pylist(),
                     strict=True))
    return {p.stem: found.get(p.stem, "error") for p in files}


def _trusted(files: list[Path]) -> list[Path]:
    """The trusted record files among ``files`` (files of one results folder)."""
    if not files:
        return []
    problems = file_problems(files, read_ledger(files[0].parent))
    return [p for p in files if not problems[p]]


# path -> (identity of the file when checked, (structural problem, content)): a file is read
# once per process while it stays the same file with the same bytes (inode, size, times)
_checked: dict[str, tuple[tuple[int, ...], tuple[str, RecordContent | None]]] = {}


def _identity(path: Path) -> tuple[int, ...]:
    st = os.stat(path)
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _contents(files: list[Path]) -> dict[Path, tuple[str, RecordContent | None]]:
    """``(structural problem, content)`` of every file: the problem is
    :func:`record_file_problem`'s, the content (:func:`lossbench.digest.table_contents`) is read
    only for files without one. Cached while a file is unchanged."""
    out: dict[Path, tuple[str, RecordContent | None]] = {}
    to_read: list[tuple[Path, tuple[int, ...]]] = []
    for path in files:
        try:
            ident = _identity(path)
        except OSError:
            out[path] = ("not a regular file", None)
            continue
        cached = _checked.get(str(path))
        if cached is not None and cached[0] == ident:
            out[path] = cached[1]
            continue
        problem = record_file_problem(path)
        if problem:
            out[path] = (problem, None)
            _checked[str(path)] = (ident, out[path])
        else:
            to_read.append((path, ident))
    if to_read:
        try:
            contents = table_contents(_read_many([p for p, _ in to_read], dictionary=True))
        except CorruptResultError:  # a file's pages are damaged (its footer was fine)
            contents = {}
            for path, _ in to_read:
                with contextlib.suppress(CorruptResultError):
                    contents.update(table_contents(_read(path)))
        for path, ident in to_read:
            content = contents.get(path.stem)
            out[path] = ("" if content else "not a readable Parquet file (its rows cannot be "
                         "read)", content)
            _checked[str(path)] = (ident, out[path])
    return out


def content_problem(key: str, content: RecordContent) -> str:
    """'' when a record's content is what the harness writes for spec key ``key`` (the key
    recomputed from its spec, its rows in agreement, the digest it carries, if any, its own);
    else why not, starting with ``altered:``."""
    try:
        recomputed = spec_of(content.run).key
    except Exception as exc:  # noqa: BLE001 - any malformed spec field
        return f"altered: its spec cannot be read ({type(exc).__name__}: {exc})"
    if recomputed != key:
        return (f"altered: its spec hashes to {recomputed}, not to {key} (the spec key it "
                "carries): a field of the spec was changed")
    if not content.consistent:
        return "altered: its rows disagree on the run's fields"
    if content.stored_digest is not None and content.stored_digest != content.digest:
        return (f"altered: its content has digest {content.digest[:16]}…, not the "
                f"{content.stored_digest[:16]}… it carries")
    return ""


def ledger_problem(key: str, digest: str, ledger: Ledger) -> str:
    """'' when ``ledger``'s last entry for ``key`` vouches for ``digest`` (or the folder has no
    ledger); else why not, starting with ``unknown:`` or ``altered:``."""
    if not ledger.exists:
        return ""
    last = ledger.latest().get(key)
    if last is None or last.event not in VOUCHING_EVENTS:
        return ("unknown: the ledger has no record of this spec key"
                + (" since its earlier file was set aside" if last is not None else "")
                + ": lossbench did not write this file")
    if last.digest != digest:
        return (f"altered: its content (digest {digest[:16]}…) differs from the record stored "
                f"at {last.at} (digest {last.digest[:16]}…)")
    return ""


def file_problems(files: list[Path], ledger: Ledger) -> dict[Path, str]:
    """``{path: ''}`` for trusted record files, ``{path: why not}`` for the others (see the
    module docstring)."""
    out = {}
    for path, (problem, content) in _contents(files).items():
        if not problem and content is not None:
            problem = (content_problem(path.stem, content)
                       or ledger_problem(path.stem, content.digest, ledger))
        out[path] = problem
    return out


def _files(results_dir: str | Path, keys: Iterable[str] | None = None) -> list[Path]:
    """The record files of ``results_dir`` (sorted), or of those ``keys`` that have one."""
    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        return []
    if keys is None:
        return sorted(p for p in results_dir.glob("*.parquet") if p.is_file())
    return sorted(p for p in (result_path(results_dir, k) for k in set(keys)) if p.is_file())


def results_digest(results_dir: str | Path) -> str:
    """A SHA-256 over the name and content of every file the leaderboard is made from: the
    records (``*.parquet``), the kept earlier attempts (``_attempts/``: their count is shown),
    the tuning manifests (``_tuning/*.json``) and the ledger (which records are trusted);
    nothing else in the folder (plots,
    temporary files, a leaderboard or cache kept there) changes it."""
    import hashlib

    root = Path(results_dir)
    h = hashlib.sha256()
    inputs = [*_files(root), *_attempt_files(root), *sorted(root.glob(f"{TUNING_DIR}/*.json")),
              *[p for p in [ledger_path(root)] if p.is_file()]] if root.is_dir() else []
    for path in inputs:  # exactly the files load_results and load_manifests read
        h.update(path.relative_to(root).as_posix().encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def record_file_problem(path: Path) -> str:
    """'' when ``path`` is a trusted record file; else why it is not one: not a regular file,
    unreadable, another schema than :data:`SCHEMA`, no rows, or rows of a spec key other than
    its file name (a record copied under another spec's name, several records in one file).
    Reads only the Parquet footer (and the spec key column when it has no statistics)."""
    path = Path(path)
    if not path.is_file():
        return "not a regular file"
    try:
        meta = pq.read_metadata(path)
        schema = meta.schema.to_arrow_schema().remove_metadata()
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for a bad file
        return f"not a readable Parquet file ({type(exc).__name__}: {exc})"
    if not any(schema.equals(known) for known in (SCHEMA, *EARLIER_SCHEMAS)):
        missing = [n for n in SCHEMA.names if n not in schema.names]
        extra = [n for n in schema.names if n not in SCHEMA.names]
        what = (f"missing columns {', '.join(missing[:5])}" if missing else
                f"unknown columns {', '.join(extra[:5])}" if extra else "other column types")
        return f"another schema than lossbench's records ({what})"
    if meta.num_rows == 0:
        return "no rows"
    keys: set[str] = set()
    index = SCHEMA.get_field_index("spec_key")
    for i in range(meta.num_row_groups):
        group = meta.row_group(i)
        if group.num_rows == 0:
            continue
        stats = group.column(index).statistics
        if stats is None or not stats.has_min_max or stats.null_count:
            keys = None  # no statistics: read the column
            break
        keys |= {stats.min, stats.max}
    if keys is None:
        try:
            keys = set(pq.read_table(path, columns=["spec_key"]).column(0).to_pylist())
        except Exception as exc:  # noqa: BLE001
            return f"not a readable Parquet file ({type(exc).__name__}: {exc})"
    if keys != {path.stem}:
        shown = ", ".join(sorted(str(k) for k in keys)[:3])
        return (f"its rows belong to spec key(s) {shown}, not to {path.stem} (its file name): "
                "a copied or merged record")
    return ""


def untrusted_files(results_dir: str | Path, keys: Iterable[str] | None = None
                    ) -> list[tuple[Path, str]]:
    """``(path, reason)`` of every ``*.parquet`` entry of ``results_dir`` (or of ``keys``) that
    is not a trusted record (:func:`record_file_problem`, :func:`content_problem`,
    :func:`ledger_problem`): such files are never read into a table and count as not stored."""
    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        return []
    paths = (sorted(results_dir.glob("*.parquet")) if keys is None else
             sorted(p for p in (result_path(results_dir, k) for k in set(keys)) if p.exists()))
    problems = file_problems(paths, read_ledger(results_dir))
    return [(path, problems[path]) for path in paths if problems[path]]


UNTRUSTED_DIR = "_untrusted"  # where a sweep moves files that are not records (never deleted)


def set_aside(results_dir: str | Path, keys: Iterable[str]) -> list[tuple[Path, Path, str]]:
    """Move the untrusted files among ``keys`` to ``<results_dir>/_untrusted/`` (so their specs
    can be re-run and written), log each move in the ledger (``set_aside``) when the folder
    has one, and return ``(from, to, reason)`` for each."""
    moved = []
    has_ledger = ledger_path(results_dir).is_file()
    for path, reason in untrusted_files(results_dir, keys):
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


def _read(path: Path, columns: Iterable[str] | None = None) -> pa.Table:
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


def _read_many(paths: list[Path], columns: list[str] | None = None,
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
            _read(path, columns)  # raises CorruptResultError naming the file
        raise


def load_long(results_dir: str | Path = "results", keys: Iterable[str] | None = None):
    """All stored rows (long format: one row per run and metric) as a DataFrame; only the runs
    whose spec key is in ``keys`` when given."""
    import pandas as pd

    files = _trusted(_files(results_dir, keys))
    if not files:
        return SCHEMA.empty_table().to_pandas()
    return _read_many(files).to_pandas().sort_values(
        ["suite", "task", "loss", "regularizer", "seed", "metric"], na_position="first",
        kind="stable").reset_index(drop=True).pipe(pd.DataFrame)


def load_results(results_dir: str | Path = "results", wide: bool = True,
                 keys: Iterable[str] | None = None):
    """Stored runs as a DataFrame: one row per run with a column per metric (``wide=True``), or
    the raw long format (one row per run and metric); only the spec keys in ``keys`` when given."""
    long = load_long(results_dir, keys)
    if not wide:
        return long
    runs = long.drop(columns=["metric", "value"]).drop_duplicates("spec_key").set_index("spec_key")
    metrics = long.dropna(subset=["metric"]).pivot(index="spec_key", columns="metric",
                                                     values="value")
    wide_df = runs.join(metrics, how="left").reset_index()
    wide_df.columns.name = None
    return wide_df


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

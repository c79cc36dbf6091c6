"""Which files are trusted records: the checks of one record file, structure, content and
ledger, each saying why a file is not one.

A record is *trusted* — read by :func:`lossbench.store.load_results`, counted as stored, shown on
the leaderboard — only when its file is a well-formed record of the spec key it is named by
(:func:`record_file_problem`), the key recomputed from its spec is that key, its rows agree and
match the digest it carries (:func:`content_problem`), and, in a folder with a ledger, the
ledger's last entry for that key vouches for exactly that digest (:func:`ledger_problem`). A
folder without a ledger (records stored before ledgers existed) is read as before, unverified,
until ``lossbench verify --adopt``. A file's checks are cached in the process while it stays
the same file with the same bytes (:func:`checked_contents`).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pyarrow.parquet as pq

from .digest import RecordContent, table_contents
from .ledger import VOUCHING_EVENTS, Ledger
from .record_format import (
    EARLIER_SCHEMAS,
    SCHEMA,
    CorruptResultError,
    read_record_file,
    read_records,
    spec_of,
)

# path -> (identity of the file when checked, (structural problem, content)): a file is read
# once per process while it stays the same file with the same bytes (inode, size, times)
_checked: dict[str, tuple[tuple[int, ...], tuple[str, RecordContent | None]]] = {}


def _identity(path: Path) -> tuple[int, ...]:
    st = os.stat(path)
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def checked_contents(files: list[Path]) -> dict[Path, tuple[str, RecordContent | None]]:
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
            contents = table_contents(read_records([p for p, _ in to_read], dictionary=True))
        except CorruptResultError:  # a file's pages are damaged (its footer was fine)
            contents = {}
            for path, _ in to_read:
                with contextlib.suppress(CorruptResultError):
                    contents.update(table_contents(read_record_file(path)))
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
    for path, (problem, content) in checked_contents(files).items():
        if not problem and content is not None:
            problem = (content_problem(path.stem, content)
                       or ledger_problem(path.stem, content.digest, ledger))
        out[path] = problem
    return out


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

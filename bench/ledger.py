"""The results folder's ledger: an append-only log of the records the store vouches for.

``<results>/_ledger.jsonl``, one JSON object per line (keys sorted, no whitespace)::

    {"at":"2026-12-05T13:40:02.123456Z","digest":"<64 hex>","event":"write","key":"<spec key>"}

* ``event``: ``write`` (the sweep stored the record), ``adopt`` (``lossbench verify --adopt``
  vouched for a record stored before the folder had a ledger, or one the ledger never saw),
  ``set_aside`` (the sweep moved an untrusted file at that key to ``_untrusted/``; ``digest`` is
  null and ``reason`` says why), ``retire`` (``lossbench verify --retire-below`` removed the
  record of a superseded harness version from the folder; ``digest`` is the record's, ``reason``
  names the versions; the project's history keeps the file);
* ``key``: the spec key (the record's file name); ``digest``: :func:`lossbench.digest.record_digest`
  of the record; ``at``: UTC time of the entry.

Only the process that stores records appends (the sweep, holding the results folder's lock, and
``lossbench verify --adopt``), after the record file is in place: a line is one ``write(2)`` on a
descriptor opened with ``O_APPEND``, then fsynced. Lines are never rewritten or removed. A writer
killed mid-line leaves a torn last line: readers report it (:attr:`Ledger.torn`) and skip it, and
the next append starts on a new line.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

LEDGER_FILE = "_ledger.jsonl"
EVENTS = ("write", "adopt", "merge", "set_aside", "retire")
#: the events that vouch for a digest: stored by the sweep, adopted by ``verify --adopt``, merged
#: from a third-party distribution's job by ``lossbench merge``
VOUCHING_EVENTS = ("write", "adopt", "merge")


@dataclass(frozen=True)
class Entry:
    """One ledger line."""

    event: str
    key: str
    digest: str | None
    at: str
    reason: str = ""


@dataclass
class Ledger:
    """A ledger as read: its entries in file order and its unreadable lines."""

    exists: bool
    entries: list[Entry] = field(default_factory=list)
    torn: list[tuple[int, str]] = field(default_factory=list)  # (line number, why)
    _latest: tuple[int, dict[str, Entry]] | None = field(default=None, repr=False,
                                                         compare=False)

    def latest(self) -> dict[str, Entry]:
        """The last entry of every key."""
        if self._latest is None or self._latest[0] != len(self.entries):
            self._latest = (len(self.entries), {e.key: e for e in self.entries})
        return self._latest[1]

    def digests(self) -> dict[str, set[str]]:
        """Every digest the ledger ever vouched for, per key (earlier attempts included)."""
        out: dict[str, set[str]] = {}
        for e in self.entries:
            if e.event in VOUCHING_EVENTS and e.digest:
                out.setdefault(e.key, set()).add(e.digest)
        return out


def ledger_path(results_dir: str | Path) -> Path:
    return Path(results_dir) / LEDGER_FILE


def _entry(line: str) -> Entry:
    """The entry of one line; raises ValueError naming what is wrong."""
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc.msg})") from None
    if not isinstance(obj, dict):
        raise ValueError("not a JSON object")
    event, key, digest, at = obj.get("event"), obj.get("key"), obj.get("digest"), obj.get("at")
    if event not in EVENTS:
        raise ValueError(f"event {event!r} is not one of {', '.join(EVENTS)}")
    if not isinstance(key, str) or not key:
        raise ValueError(f"key {key!r} is not a spec key")
    if event in VOUCHING_EVENTS and not (isinstance(digest, str) and len(digest) == 64):
        raise ValueError(f"digest {digest!r} is not a SHA-256")
    return Entry(event, key, digest, str(at), str(obj.get("reason", "")))


def read_ledger(results_dir: str | Path) -> Ledger:
    """The ledger of ``results_dir`` (``exists=False`` when there is none). Never raises on a
    damaged file: every line that is not a valid entry is listed in ``torn``."""
    path = ledger_path(results_dir)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return Ledger(exists=False)
    except OSError as exc:
        return Ledger(exists=True, torn=[(0, f"unreadable ({exc.strerror})")])
    ledger = Ledger(exists=True)
    lines = data.split(b"\n")
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        last = number == len(lines)  # no newline after it: the writer may have died mid-line
        try:
            ledger.entries.append(_entry(raw.decode("utf-8")))
        except (UnicodeDecodeError, ValueError) as exc:
            why = "not UTF-8" if isinstance(exc, UnicodeDecodeError) else str(exc)
            ledger.torn.append((number, f"{'torn last line' if last else 'bad line'}: {why}"))
    return ledger


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def append(results_dir: str | Path, entries: list[Entry] | Entry) -> None:
    """Append ``entries`` to the ledger of ``results_dir`` (created when missing), durably: one
    ``write`` per call on an ``O_APPEND`` descriptor, then ``fsync``. A torn last line left by
    a killed writer is ended first, so that the new entries start a line of their own."""
    batch = [entries] if isinstance(entries, Entry) else list(entries)
    if not batch:
        return
    text = "".join(json.dumps({k: v for k, v in vars(e).items() if v != "" or k != "reason"},
                              sort_keys=True, separators=(",", ":")) + "\n" for e in batch)
    path = ledger_path(results_dir)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        size = os.fstat(fd).st_size
        if size:
            with open(path, "rb") as fh:
                fh.seek(size - 1)
                if fh.read(1) != b"\n":
                    text = "\n" + text
        data = text.encode("utf-8")
        written = os.write(fd, data)
        if written != len(data):
            raise OSError(f"short write to {path} ({written} of {len(data)} bytes)")
        os.fsync(fd)
    finally:
        os.close(fd)


def entry(event: str, key: str, digest: str | None, reason: str = "") -> Entry:
    """A new entry stamped with the current UTC time."""
    return Entry(event, key, digest, _now(), reason)

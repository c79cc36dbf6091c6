"""One writer per results folder: the lock a sweep (and ``lossbench verify --adopt``) holds.

``<results>/.lossbench.lock`` is locked with ``flock(LOCK_EX)`` for as long as the process
stores records there; the kernel releases it when the process exits, however it dies, so a
stale lock cannot exist. The holder writes ``pid``, host and start time into the file so that a
second sweep can say whom it waits for. A second sweep into the same folder **waits** for the
first to finish (printing who holds the lock), then finds the first sweep's records stored and
runs only what is still missing: no spec runs twice. ``wait=False`` refuses instead
(:class:`ResultsBusyError`, exit status 2 on the command line).

A run's child never holds the lock: the descriptor is closed in every child forked while it is
held (``os.register_at_fork``), so a child that outlives its sweep cannot keep the folder locked.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from .errors import UsageError

LOCK_FILE = ".lossbench.lock"

_held: dict[str, int] = {}  # resolved results folder -> descriptor, in this process


class ResultsBusyError(UsageError):
    """Another process holds the results folder's lock and the caller chose not to wait."""


def _close_in_child() -> None:
    for fd in _held.values():
        with contextlib.suppress(OSError):
            os.close(fd)
    _held.clear()


os.register_at_fork(after_in_child=_close_in_child)


def holder(results_dir: str | Path) -> str:
    """Who holds (or last held) the lock of ``results_dir``, as its lock file says."""
    try:
        text = (Path(results_dir) / LOCK_FILE).read_text(encoding="utf-8").strip()
    except OSError:
        return "unknown"
    return text.replace("\n", ", ") or "unknown"


@contextlib.contextmanager
def locked(results_dir: str | Path, *, wait: bool = True,
           log: Callable[[str], None] | None = None) -> Iterator[Path]:
    """Hold the lock of ``results_dir`` (created when missing) for the ``with`` block. Held
    already by this process: re-entered at no cost. Held by another: wait for it (after one
    ``log`` line naming the holder), or with ``wait=False`` raise :class:`ResultsBusyError`."""
    folder = Path(results_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_FILE
    name = str(folder.resolve())
    if name in _held:
        yield path
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            who = holder(folder)
            if not wait:
                raise ResultsBusyError(
                    f"the results folder {str(folder)!r} is in use by another lossbench process "
                    f"({who}; lock file {str(path)!r}): wait for it to finish, or use another "
                    f"--results folder") from None
            if log is not None:
                log(f"waiting for the lossbench process that uses {folder} ({who}; lock file "
                    f"{path}) to finish; its records will not be run again")
            fcntl.flock(fd, fcntl.LOCK_EX)
        os.ftruncate(fd, 0)
        os.pwrite(fd, (f"pid {os.getpid()}\nhost {socket.gethostname()}\nsince "
                       f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}\n").encode(), 0)
        _held[name] = fd
        try:
            yield path
        finally:
            _held.pop(name, None)
    finally:
        os.close(fd)  # releases the lock

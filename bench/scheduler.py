"""The scheduler: decide which specs still need to run, run them, store each record as it lands.

"Done" is a fact on disk (a result file named by the spec hash), so a sweep is idempotent and an
interrupted sweep resumes where it stopped — ``kill -9`` of the sweep included: records are
written by this process only, atomically (temp name, fsync, rename), and temp files of dead
writers are removed at the next start. The folder is checked once per sweep
(:func:`lossbench.store.scan`): which records are stored, their statuses, the timings of the
estimate. A file at a record's path that is not that record (:mod:`lossbench.record_trust`) is
moved to ``_untrusted/`` and its spec re-run. The results folder is created and tested for
writing before the first run (:mod:`lossbench.outputs`). A sweep holds the folder's lock
(:mod:`lossbench.results_lock`) from before it decides what to run until its last record is
stored: a second sweep into the same folder waits for it and then runs only what is still
missing, so no spec runs twice.
Failed runs are stored too (with their status) and are
re-run only with ``retry_failed``. Where the runs execute is the executor's business
(:mod:`lossbench.executors`); progress display is :mod:`lossbench.progress`'s.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .all_or_nothing import process_alive
from .executors import DEFAULT_EXECUTOR, Executor, make_executor
from .outputs import check_replaceable, prepare_results
from .progress import SweepProgress, stderr
from .record import Record
from .spec import RunSpec
from .store import StoreScan, result_path, scan, set_aside, write_record


@dataclass
class SweepSummary:
    """What a sweep did: specs run now, found in the store, and failed now."""

    ran: list[Record] = field(default_factory=list)
    cached: list[RunSpec] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failed(self) -> list[Record]:
        return [r for r in self.ran if not r.ok]

    def line(self) -> str:
        return (f"{len(self.ran)} ran ({len(self.failed)} failed), {len(self.cached)} cached, "
                f"{self.seconds:.1f}s")


def pending(specs: Sequence[RunSpec], stored: StoreScan, *, force: bool = False,
            retry_failed: bool = False) -> tuple[list[RunSpec], list[RunSpec]]:
    """Split ``specs`` into (to run, already stored in the scanned folder ``stored``).
    Duplicated specs run once."""
    unique = list({s.key: s for s in specs}.values())
    if force:
        return unique, []
    status = stored.status([s.key for s in unique])
    todo, done = [], []
    for s in unique:
        st = status.get(s.key)
        if st is None or (retry_failed and st != "ok"):
            todo.append(s)
        else:
            done.append(s)
    return todo, done


def remove_stale_temp_files(results_dir: str | Path) -> list[Path]:
    """Delete temporary result files left by a writer that died mid-write (``kill -9``).

    :func:`~lossbench.store.write_record` writes ``.<key>.parquet.<random>.<pid>.tmp``
    (:func:`lossbench.all_or_nothing.temp_path`) and renames it; a temp file whose writer
    process is gone can never become a record. Files of live writers are left alone.
    """
    results_dir = Path(results_dir)
    removed = []
    if not results_dir.is_dir():
        return removed
    for path in results_dir.glob(".*.tmp"):
        pid_text = path.name[:-len(".tmp")].rsplit(".", 1)[-1]
        if pid_text.isdigit() and process_alive(int(pid_text)):
            continue
        path.unlink(missing_ok=True)
        removed.append(path)
    return removed


def refuse_unledgered(results_dir: str | Path, stored: StoreScan) -> None:
    """Raise :class:`~lossbench.errors.UsageError` when ``results_dir`` (scanned: ``stored``)
    holds records but no ledger (records stored before ledgers existed): the sweep's first
    record would create the ledger, and every record it does not list would then be untrusted
    and run again. Adopting them (``lossbench verify --adopt``) is the user's explicit decision,
    never the sweep's."""
    from .ledger import ledger_path

    if ledger_path(results_dir).is_file():
        return
    legacy = stored.trusted  # without a ledger: the sound records
    if not legacy:
        return
    from .errors import UsageError

    raise UsageError(
        f"the results folder {str(results_dir)!r} holds {len(legacy)} records "
        f"but no ledger (_ledger.jsonl): they were stored before lossbench kept one. Check them "
        f"and vouch for them with `lossbench verify --adopt --results {results_dir}`, or store "
        f"into another --results folder; nothing was run")


def run_sweep(
    specs: Sequence[RunSpec],
    results_dir: str | Path = "results",
    *,
    force: bool = False,
    retry_failed: bool = False,
    device: str = "cpu",
    executor: str | Executor = DEFAULT_EXECUTOR,
    workers: int | None = None,
    timeout: float | None = None,
    memory_limit_mb: int | None = None,
    threads: int | None = None,
    address: str | None = None,
    progress: str = "auto",
    log: Callable[[str], None] | None = None,
    confirm: Callable[[int, str], bool] | None = None,
    wait: bool = True,
) -> SweepSummary:
    """Run every spec without a stored record on ``executor``, storing each record as it lands.

    ``executor`` is a registered executor name (``local``: child processes, ``serial``: this
    process, ``ray``) or an executor object; ``workers``, ``timeout`` (seconds per run),
    ``memory_limit_mb`` (per run), ``threads`` (torch threads per run) and ``address`` (Ray) go
    to its constructor when it takes them. ``progress`` is ``auto`` (a live display on a
    terminal, else one line per run), ``rich``, ``plain`` or ``quiet``; ``log`` receives the plain
    lines instead of stderr. Before any run starts, the plan's size and an estimated time
    (:mod:`lossbench.estimate`) are printed; ``confirm(runs to do, that line)`` may then cancel
    the sweep (returning False raises :class:`~lossbench.errors.LossbenchError`, nothing run).
    Another sweep storing into ``results_dir`` is waited for (``wait=False``: refused with
    :class:`~lossbench.results_lock.ResultsBusyError`).
    """
    start = time.perf_counter()
    # Before any run: a results folder that is a file, or cannot be written, is a usage error.
    prepare_results(results_dir)
    from .results_lock import locked

    with locked(results_dir, wait=wait, log=log or stderr):
        return _sweep(specs, results_dir, start, force=force, retry_failed=retry_failed,
                      device=device, executor=executor, workers=workers, timeout=timeout,
                      memory_limit_mb=memory_limit_mb, threads=threads, address=address,
                      progress=progress, log=log, confirm=confirm)


def _sweep(specs, results_dir, start, *, force, retry_failed, device, executor, workers, timeout,
           memory_limit_mb, threads, address, progress, log, confirm) -> SweepSummary:
    """:func:`run_sweep`'s body, run while holding the results folder's lock."""
    remove_stale_temp_files(results_dir)
    stored = scan(results_dir)  # the sweep's one look at the folder: trust, statuses, timings
    refuse_unledgered(results_dir, stored)
    # A file at a record's path that is not that record (foreign Parquet, a copy of another
    # record, a folder) is moved aside, reported, and its spec run again.
    moved = set_aside(results_dir, [s.key for s in specs], stored) \
        if Path(results_dir).is_dir() else []
    todo, done = pending(specs, stored, force=force, retry_failed=retry_failed)
    check_replaceable([result_path(results_dir, s.key) for s in todo])  # e.g. chattr +i
    # Runs of one (suite, task, seed) next to each other: their data is built once per process.
    todo.sort(key=lambda s: (s.suite, s.task, s.seed))
    summary = SweepSummary(cached=done)
    if todo:
        from .estimate import estimate

        name = executor if isinstance(executor, str) else type(executor).__name__
        _note_workers(workers, len(todo), name, device, log or stderr)
        line = estimate(todo, results_dir, _workers(executor, workers, device), device=device,
                        executor=name, stored=stored).line(len(todo), len(done))
        (log or stderr)(line)
        if confirm is not None and not confirm(len(todo), line):
            from .errors import LossbenchError

            raise LossbenchError("cancelled: nothing was run")
    if isinstance(executor, str) and todo:  # nothing to run: no executor (nor torch) is loaded
        executor = make_executor(executor, {
            "device": device, "workers": workers, "timeout": timeout,
            "memory_limit_mb": memory_limit_mb, "threads": threads, "address": address})
    with SweepProgress(len(todo), len(done), mode=progress, log=log) as bar:
        for src, dst, reason in moved:
            bar.message(f"{src} is not a lossbench record ({reason}); moved to {dst}, its spec "
                        f"runs again")
        bar.message(f"{len(todo)} to run, {len(done)} already stored in {results_dir}")
        if todo:
            with contextlib.closing(executor.map(todo, on_start=bar.started)) as records:
                for record in records:
                    _store(results_dir, record)
                    summary.ran.append(record)
                    bar.finished(record)
    summary.seconds = time.perf_counter() - start
    return summary


def _note_workers(workers: int | None, todo: int, executor: str, device: str,
                  say: Callable[[str], None]) -> None:
    """One line when ``workers`` (``--workers``) exceeds the CPU cores (:func:`os.cpu_count`):
    how many runs will go at once at most (one per run to do at most), sharing the cores. Only
    for the ``local`` executor, whose runs are child processes on this machine."""
    cores = os.cpu_count() or 1
    if not workers or workers <= cores or executor != "local":
        return
    at_most = min(workers, todo)
    slower = "" if device.startswith("cuda") else f"; no faster than --workers {cores}"
    say(f"note: --workers {workers} is more than the {cores} CPU cores: at most {at_most} "
        f"run(s) at once, sharing the cores{slower}")


def _workers(executor: str | Executor, workers: int | None, device: str) -> int:
    """The parallel runs the estimate divides by: ``workers``, else the executor's default."""
    if workers:
        return workers
    if executor == "serial":
        return 1
    from .executors import default_workers

    return default_workers(device)


def _store(results_dir: str | Path, record: Record) -> None:
    """Write ``record``; an OS error (disk full, the folder removed mid-sweep) stops the sweep
    with a message naming the path, never a traceback (the folder was checked at the start)."""
    try:
        write_record(results_dir, record)
    except OSError as exc:
        from .errors import LossbenchError

        raise LossbenchError(
            f"cannot write the record of {record.spec.loss} on {record.spec.suite}/"
            f"{record.spec.task} seed {record.spec.seed} to "
            f"{str(result_path(results_dir, record.spec.key))!r} "
            f"({exc.strerror or type(exc).__name__}); the sweep stopped, the records stored so "
            f"far are kept: fix the folder and re-run the same command to resume") from None

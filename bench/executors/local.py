"""The ``local`` executor: every run in its own child process, N at a time, with a timeout.

Training is untrusted, scoring is trusted: a child imports the entry, trains and sends back plain
arrays only (:mod:`lossbench.run_outputs`, raw bytes read with ``recv_bytes`` under a size
limit, never unpickled); this process computes the record from them for the spec it launched
(:func:`lossbench.runner.score`), and never imports a third-party entry.

Failure isolation is per run: a child that raises, diverges or fails an allocation reports it
(``error`` / ``diverged`` / ``oom``); one that sends something unreadable is ``error``; a child
that hangs past ``timeout`` is killed (``timeout``); a child that dies without reporting
(``os._exit``, a segfault, a kill) is ``crashed`` with its exit code or signal and the tail of
its output (``faulthandler`` prints the Python stack of a segfault). The sweep always goes on.

Children are forked from this process (``fork`` on Linux), after the parent has imported torch,
the entries and the task data of the run (:func:`lossbench.warm_up.warm_up`): a child starts in
milliseconds instead of re-importing torch and rebuilding the data (seconds), and sees entries
registered in-process. Each child asks the kernel to kill it if the parent dies (``kill -9`` of
the sweep leaves no orphan computing), runs in its own process group (a timeout kills what it
started too), and sets its torch threads so that the workers do not oversubscribe the cores.
CUDA runs use a fork server instead (a process that has imported torch but never touched the
CUDA driver), since a child forked from a process that initialised CUDA cannot use it; entries
registered in-process (``Registry.register``) are then not visible to the children. Elsewhere
(macOS, Windows) children are spawned.
"""

from __future__ import annotations

import contextlib
import dataclasses
import multiprocessing as mp
import os
import re
import shutil
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any

from ..machine import canonical, stored_machine
from ..procs import describe_exit, kill_tree, new_token
from ..record import Record
from ..run_outputs import MAX_BYTES_ENV, OutputsRefused, decode, max_output_bytes
from ..runner import evaluation_plans, failure_record, score
from ..spec import RunSpec
from ..warm_up import warm_up
from . import default_threads, default_workers, worker_device
from .child import child_main
from .timeouts import check_timeout, default_timeout

OUTPUT_TAIL = 1500  # of the child's output, after the reason (records keep 2,000 characters)


def start_method(device: str, threads: int | None = 1) -> str:
    """``fork`` for one-thread CPU runs on Linux; ``forkserver`` for CUDA runs (a child forked
    from a process that has touched the CUDA driver cannot use CUDA; the fork server never does)
    and for CPU runs on more than one torch thread (a child forked from a process whose OpenMP
    thread pool has started hangs in its first parallel operation: the calling process may have
    run multi-threaded torch code, a notebook's or a test session's); else ``spawn``."""
    if sys.platform != "linux" or "fork" not in mp.get_all_start_methods():
        return "spawn"
    if device.startswith("cuda") or (threads or 1) > 1:
        return "forkserver"
    return "fork"


def mp_context(method: str):
    ctx = mp.get_context(method)
    if method == "forkserver":  # children fork from a server that has imported torch already
        ctx.set_forkserver_preload(["torch", "lossbench.runner", "lossbench.executors.child"])
    return ctx


def as_trained(record: Record, slot: _Slot) -> Record:
    """``record`` (scored in this process at one thread) with its provenance naming the torch
    threads the run trained with: the ``device`` string's ``xN`` and ``machine_json``'s
    ``torch_threads``."""
    if not str(slot.device).startswith("cpu") or not slot.threads or slot.threads == 1:
        return record
    prov = dict(record.provenance)
    prov["device"] = re.sub(r" x\d+$", f" x{slot.threads}", str(prov.get("device", "")))
    info = stored_machine(prov.get("machine_json"))
    if info:
        prov["machine_json"] = canonical({**info, "torch_threads": slot.threads})
    return dataclasses.replace(record, provenance=prov)


@dataclass
class _Slot:
    """A running child: its process, result pipe, spec, output file and deadline."""

    index: int
    spec: RunSpec
    process: mp.process.BaseProcess
    conn: Connection
    output: Any  # the open file of the child's output (unlinked where the child inherits it)
    output_path: str | None  # its name when it has one (spawned children open it by name)
    device: str
    started: float
    t0: float
    deadline: float | None
    token: str = ""
    threads: int | None = None  # the run's torch threads (its metrics are computed with them)
    limit: float = 0.0  # the run's timeout in seconds
    default_limit: bool = False  # the limit is default_timeout's (no --timeout given)
    scratch: str | None = None  # the run's own writable folder, removed when it ends

    def output_tail(self) -> str:
        """The end of the child's stdout/stderr, or faulthandler's report after a fatal signal
        (from its first line: the innermost frames), without its list of extension modules."""
        try:
            fh = self.output
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - 2**20))
            text = fh.read().decode("utf-8", "replace")
        except (OSError, ValueError):
            return ""
        lines = [ln for ln in text.splitlines() if not ln.startswith("Extension modules:")]
        text = "\n".join(lines).strip()
        fatal = text.rfind("Fatal Python error")
        if fatal >= 0:  # faulthandler prints the innermost frame first: keep the head
            return text[fatal:fatal + OUTPUT_TAIL]
        return text[-OUTPUT_TAIL:]

    def descriptors(self) -> list[int]:
        """This run's open descriptors in the parent (result pipe, output file): a child forked
        while it runs closes them (it must not read another run's results or output)."""
        fds = []
        for handle in (self.conn, self.output):
            with contextlib.suppress(Exception):
                fds.append(handle.fileno())
        return fds

    def kill(self) -> None:
        """SIGKILL the child, its group, its descendants and whatever it started in a new
        session (:func:`lossbench.procs.kill_tree`)."""
        pid = self.process.pid
        if pid is None:
            return
        kill_tree(pid if self.process.exitcode is None else None, self.token, group=pid)

    def cleanup(self) -> None:
        """Reap the child, kill anything it left running, and remove its output file."""
        with contextlib.suppress(Exception):
            self.process.join(timeout=5)
        if self.process.pid is not None:  # a run's leftovers never outlive it
            alive = self.process.exitcode is None
            kill_tree(self.process.pid if alive else None, self.token, group=self.process.pid)
        with contextlib.suppress(Exception):
            self.conn.close()
        with contextlib.suppress(Exception):
            self.output.close()
        if self.output_path:
            with contextlib.suppress(OSError):
                os.unlink(self.output_path)
        if self.scratch:
            shutil.rmtree(self.scratch, ignore_errors=True)


def receive_outputs(conn: Connection, limit: int) -> bytes:
    """One message of at most ``limit`` bytes from a run's child, as raw bytes (never
    unpickled); :class:`OutputsRefused` for a longer one (EOFError when the child sent none)."""
    try:
        return conn.recv_bytes(maxlength=limit)
    except OSError as exc:  # multiprocessing's "bad message length": over the limit
        raise OutputsRefused(f"the run's outputs are over the limit of {limit} bytes "
                             f"({MAX_BYTES_ENV}) or unreadable ({exc})") from None


def _describe_limit(slot: _Slot) -> str:
    if slot.default_limit:
        return (f"default {slot.limit:g}s timeout (max(600 s, allowance × epochs); --timeout "
                f"sets another)")
    return f"{slot.limit:g}s timeout"


class LocalExecutor:
    """Run each spec in a child process, ``workers`` at a time, each within ``timeout`` seconds
    (default: :func:`~lossbench.executors.timeouts.default_timeout` of each spec, so a hanging
    run cannot stall a sweep).

    ``memory_limit_mb`` caps each child's address space growth (``oom`` beyond it); ``threads``
    sets each child's torch threads (default: 1 on CPU; the cores per worker on GPU).
    """

    def __init__(self, device: str = "cpu", workers: int | None = None,
                 timeout: float | None = None, memory_limit_mb: int | None = None,
                 threads: int | None = None, start_method: str | None = None):
        if workers is not None and workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        check_timeout(timeout)
        self.device = device
        self.workers = workers or default_workers(device)
        self.timeout = timeout
        self.memory_limit_mb = memory_limit_mb
        self.threads = threads or default_threads(device, self.workers)
        self.start_method = start_method
        self._running: dict[int, _Slot] = {}

    def map(self, specs: Sequence[RunSpec],
            on_start: Callable[[RunSpec], None] | None = None) -> Iterator[Record]:
        method = self.start_method or start_method(self.device, self.threads)
        ctx = mp_context(method)
        queue = deque(specs)
        free = list(range(self.workers))
        try:
            while queue or self._running:
                while queue and free:
                    spec = queue.popleft()
                    slot = self._launch(ctx, spec, free.pop(0), method)
                    if on_start is not None:
                        on_start(spec)
                    self._running[slot.index] = slot
                for slot, record in self._collect():
                    del self._running[slot.index]
                    free.append(slot.index)
                    free.sort()
                    yield record
        finally:
            self.close()

    def _launch(self, ctx, spec: RunSpec, index: int, method: str) -> _Slot:
        if method == "fork":
            warm_up(spec)
            # unlinked at once: no log file is left behind, whatever happens to either process
            output, output_path = tempfile.TemporaryFile(prefix="lossbench-run-"), None
            child_output: str | int = output.fileno()
            import fcntl  # POSIX only, like fork

            fcntl.fcntl(child_output, fcntl.F_SETFL,
                        fcntl.fcntl(child_output, fcntl.F_GETFL) | os.O_APPEND)
        else:  # a spawned child opens the file by name; it is removed when the run ends
            fd, output_path = tempfile.mkstemp(prefix="lossbench-run-", suffix=".log")
            output, child_output = os.fdopen(fd, "rb"), output_path
        device = worker_device(self.device, index)
        scratch = tempfile.mkdtemp(prefix="lossbench-scratch-")
        token = new_token()
        receive, send = ctx.Pipe(duplex=False)
        inherited = [fd for slot in self._running.values() for fd in slot.descriptors()]
        process = ctx.Process(
            target=child_main, name=f"lossbench-run-{spec.key}",
            args=(send, spec, device, self.threads, self.memory_limit_mb, child_output,
                  None if method == "forkserver" else os.getpid(), token,
                  inherited if method == "fork" else [], evaluation_plans(spec), scratch),
            daemon=False,
        )
        started, t0 = time.time(), time.perf_counter()
        process.start()
        send.close()  # the child holds the only write end: EOF when it dies
        limit = self.timeout or default_timeout(spec)
        return _Slot(index, spec, process, receive, output, output_path, device, started, t0,
                     t0 + limit, token, self.threads, limit, not self.timeout, scratch)

    def _collect(self) -> list[tuple[_Slot, Record]]:
        """Wait for the next finished, dead or overdue child(ren) and return their records."""
        slots = list(self._running.values())
        deadlines = [s.deadline for s in slots if s.deadline is not None]
        timeout = max(0.0, min(deadlines) - time.perf_counter()) if deadlines else None
        ready = set(wait([s.conn for s in slots] + [s.process.sentinel for s in slots],
                         timeout=timeout))
        done = []
        now = time.perf_counter()
        for slot in slots:
            if slot.conn in ready or slot.process.sentinel in ready:
                done.append((slot, self._finish(slot)))
            elif slot.deadline is not None and now >= slot.deadline:
                slot.kill()
                record = failure_record(
                    slot.spec, "timeout",
                    f"run exceeded the {_describe_limit(slot)} and was killed\n"
                    f"{slot.output_tail()}", device=slot.device, started=slot.started,
                    wall=now - slot.t0)
                slot.cleanup()
                done.append((slot, record))
        return done

    def _finish(self, slot: _Slot) -> Record:
        """The record of a finished child, computed here from the plain outputs it sent
        (:func:`receive_outputs`, then :func:`lossbench.runner.score` for the slot's own spec);
        a child that sent nothing is ``crashed``, one that sent something unreadable ``error``."""
        record = None
        limit = max_output_bytes()
        try:
            if slot.conn.poll():
                outputs = decode(receive_outputs(slot.conn, limit), limit)
                slot.process.join(timeout=30)
                # one thread, whatever the run trained with: this process forks the next runs'
                # children, and an intra-op thread pool started here is inherited broken by a
                # forked child (a --threads 2 sweep hung in its second run's first tensor copy)
                record = as_trained(score(slot.spec, outputs, device=slot.device, threads=1,
                                          started=slot.started, t0=slot.t0), slot)
        except (EOFError, OSError):
            record = None
        except OutputsRefused as exc:
            slot.kill()  # it may still be running: what it sent was not a run's end
            record = failure_record(slot.spec, "error", f"the run's outputs were refused: {exc}",
                                    device=slot.device, started=slot.started,
                                    wall=time.perf_counter() - slot.t0)
        slot.process.join(timeout=30)
        if record is None:
            if slot.process.exitcode is None:  # pipe closed but still running: kill it
                slot.kill()
                slot.process.join(timeout=5)
            record = failure_record(
                slot.spec, "crashed",
                f"run process died without a result: {describe_exit(slot.process.exitcode)}\n"
                f"{slot.output_tail()}", device=slot.device, started=slot.started,
                wall=time.perf_counter() - slot.t0)
        slot.cleanup()
        return record

    def close(self) -> None:
        """Kill every child still running (an interrupted sweep leaves no run behind)."""
        for slot in list(self._running.values()):
            slot.kill()
            slot.cleanup()
        self._running.clear()

"""The body of a run's child process under the ``local`` executor: isolate, train, send back.

A child kills itself with its parent, runs in its own process group, sends its output to a
file the parent reads after the run, caps its address space (``oom`` beyond the budget), may
write only in its scratch folder (:mod:`lossbench.confinement`), imports the entry, trains the
spec (:func:`lossbench.runner.train_run`) and sends the plain outputs back
(:mod:`lossbench.run_outputs`, raw bytes, no pickle). The parent side is
:mod:`lossbench.executors.local`.
"""

from __future__ import annotations

import contextlib
import faulthandler
import os
import signal
import sys
import tempfile
from collections.abc import Mapping, Sequence
from multiprocessing.connection import Connection

from ..confinement import confine_writes, writable_folders
from ..procs import TOKEN_ENV
from ..replay import Request
from ..run_outputs import encode
from ..runner import configure_threads, train_run
from ..sandbox import mark_plugin_process
from ..spec import RunSpec


def _die_with_parent() -> None:
    """Linux: have the kernel SIGKILL this process when its parent dies."""
    if sys.platform != "linux":
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def _address_space_bytes() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def limit_memory(megabytes: int) -> None:
    """Cap this process's address space at its current size + ``megabytes`` (RLIMIT_AS), so an
    allocation past the budget fails in the run (status ``oom``) instead of swapping the machine
    or waking the kernel's OOM killer."""
    import resource

    limit = _address_space_bytes() + megabytes * 1024 * 1024
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def child_main(conn: Connection, spec: RunSpec, device: str, threads: int,
               memory_limit_mb: int | None, output: str | int, parent_pid: int | None,
               token: str = "", inherited: Sequence[int] = (),
               plans: Mapping[tuple[str, ...], list[Request]] | None = None,
               scratch: str | None = None) -> None:
    """Body of a run's child process: isolate, train the spec, send its plain outputs back.

    ``output`` is the path of the file that receives the child's stdout and stderr, or (forked
    children) the number of an inherited descriptor of an already unlinked file. ``token`` is
    put in the environment of everything the run starts (:mod:`lossbench.procs`).
    ``inherited``: descriptors of the other running runs (their result pipes and output files)
    that a forked child closes before it imports the entry. ``plans``: the evaluation plans the
    parent learnt (:func:`lossbench.runner.evaluation_plans`). ``scratch``: the run's own
    folder (its ``TMPDIR``); before the entry is imported the child may write only there, in
    ``/dev`` and the cache folders (:mod:`lossbench.confinement`). What is sent is
    :func:`lossbench.run_outputs.encode`'s bytes (``send_bytes``: no pickle); the parent
    computes the record (:func:`lossbench.runner.score`).
    """
    for fd in inherited:
        with contextlib.suppress(OSError):
            os.close(fd)
    _die_with_parent()
    if parent_pid is not None and os.getppid() != parent_pid:  # parent died before the signal
        os._exit(1)
    with contextlib.suppress(OSError):
        os.setpgid(0, 0)
    if token:
        os.environ[TOKEN_ENV] = token
    mark_plugin_process()  # third-party entries are imported here, never in the parent
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    out = output if isinstance(output, int) else os.open(output, os.O_WRONLY | os.O_APPEND)
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.close(out)
    faulthandler.enable(file=sys.__stderr__, all_threads=False)
    os.environ["OMP_NUM_THREADS"] = str(threads)
    configure_threads(threads)
    if memory_limit_mb:
        limit_memory(memory_limit_mb)
    if scratch is not None:
        confine_to(scratch)
    payload = encode(train_run(spec, device=device, threads=threads, plans=plans))
    conn.send_bytes(payload)
    conn.close()


def confine_to(scratch: str) -> None:
    """Make ``scratch`` the process's temporary folder and deny every write outside it, ``/dev``
    and the cache folders (:func:`lossbench.confinement.confine_writes`); an unconfined child
    says why on its output."""
    for name in ("TMPDIR", "TEMP", "TMP"):
        os.environ[name] = scratch
    tempfile.tempdir = scratch
    how = confine_writes(writable_folders(scratch))
    if how.startswith("unconfined"):
        print(f"lossbench: run {how}", file=sys.stderr, flush=True)

"""Killing everything a plugin started: the process, its group, its descendants, and processes it
detached with ``setsid``.

A run (or a card-reading child) is given a unique token in the environment variable
:data:`TOKEN_ENV`; every program it starts through ``exec`` (``subprocess``, ``os.system``)
inherits it, in a new session or process group or not, and keeps it after its parent exits and it
is re-parented to init. :func:`kill_tree` SIGKILLs the process, its process group, every
descendant found through ``/proc`` (``ppid`` links, which also catch plain ``os.fork`` children
while their parent lives) and every process of this user whose initial environment carries the
token. Not caught: a detached process that both cleared its environment and outlived its parent.
Outside Linux (no ``/proc``) only the process and its group are killed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import uuid

TOKEN_ENV = "LOSSBENCH_RUN_TOKEN"


def new_token() -> str:
    """A fresh token for one child process (and everything it starts)."""
    return uuid.uuid4().hex


def _processes() -> dict[int, tuple[int, int, bool]]:
    """``{pid: (ppid, pgrp, zombie)}`` of every process in ``/proc`` (empty without it)."""
    out = {}
    try:
        names = os.listdir("/proc")
    except OSError:
        return out
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                stat = fh.read().decode("ascii", "replace")
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()  # after "pid (comm) "
        with contextlib.suppress(IndexError, ValueError):
            out[int(name)] = (int(fields[1]), int(fields[2]), fields[0] == "Z")
    return out


def _carries(pid: int, marker: bytes) -> bool:
    try:
        with open(f"/proc/{pid}/environ", "rb") as fh:
            return marker in fh.read().split(b"\0")
    except OSError:  # gone, or another user's process
        return False


def tree(pid: int | None, token: str | None = None, group: int | None = None) -> set[int]:
    """The live processes :func:`kill_tree` would kill now: ``pid`` (a live child of this
    process), the members of process ``group``, those carrying ``token``, and the descendants
    of all of them; never this process or its ancestors."""
    procs = _processes()
    found: set[int] = set()
    if pid is not None:
        found.add(pid)
    if group is not None:
        found |= {p for p, (_, pgrp, _) in procs.items() if pgrp == group}
    if token:
        marker = f"{TOKEN_ENV}={token}".encode()
        uid = os.getuid()
        for p in procs:
            with contextlib.suppress(OSError):
                if os.stat(f"/proc/{p}").st_uid == uid and _carries(p, marker):
                    found.add(p)
    grew = True
    while grew:  # descendants of anything found
        grew = False
        for p, (ppid, _, _) in procs.items():
            if ppid in found and p not in found:
                found.add(p)
                grew = True
    me = os.getpid()
    ancestors = {me}
    cur = procs.get(me, (0, 0, False))[0]
    while cur and cur not in ancestors:
        ancestors.add(cur)
        cur = procs.get(cur, (0, 0, False))[0]
    dead = {p for p, (_, _, zombie) in procs.items() if zombie}
    return found - ancestors - dead


def kill_tree(pid: int | None, token: str | None = None, group: int | None = None,
              rounds: int = 5) -> None:
    """SIGKILL ``pid`` (a child of this process not yet reaped), process ``group``, their
    descendants and every process carrying ``token`` (repeated while any is left: a dying
    process may have started another). After a child is reaped, pass only ``group`` (its pid,
    which the kernel does not reuse while the group has members) and ``token``."""
    if pid is not None:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    if group is not None:
        with contextlib.suppress(OSError):
            os.killpg(group, signal.SIGKILL)
    for _ in range(rounds):
        victims = tree(pid, token, group)
        if not victims:
            return
        for p in victims:
            with contextlib.suppress(OSError):
                os.kill(p, signal.SIGKILL)


def describe_exit(exitcode: int | None) -> str:
    """``exit code 3`` / ``signal SIGSEGV (11)`` for a child's exit status."""
    if exitcode is None:
        return "unknown exit status"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = "signal"
        hint = " (the kernel's OOM killer sends SIGKILL too)" if -exitcode == signal.SIGKILL else ""
        return f"signal {name} ({-exitcode}){hint}"
    return f"exit code {exitcode}"

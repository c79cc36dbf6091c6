"""Third-party plugin code runs only in child processes.

lossbench imports every installed package that exposes a ``lossbench.*`` entry point. Importing a
module runs its code, and a plugin's import may crash the interpreter (``os._exit``), hang, or
change global state every later run would inherit (``torch.set_default_dtype``, seeds, threads).
So the processes that plan, list and schedule — the CLI, :func:`lossbench.api.run`, the leaderboard
— never import a third-party entry (one whose distribution is not ``lossbench``):

* **cards** (and a third-party suite's task list) are read by a child process per distribution,
  ``python -m lossbench.describe_child`` (:func:`describe_entries`), within
  :func:`import_timeout` seconds; the values are cached by
  :mod:`lossbench.metadata_cache` like the built-ins', so an unchanged plugin costs no child at
  all. An import error, a crash, a hang or an invalid card becomes the status of that
  distribution's entries (a one-line reason), and every other entry is unaffected;
* **runs** of a third-party entry import it in the run's own child process (the parent that
  forks runs has imported only built-ins), so an import-time side effect reaches only that
  entry's runs;
* **``lossbench check``** runs the conformance checks in a child too
  (``python -m lossbench.conformance.child``), with a timeout, and reports a crash or a hang as
  a failed check.

This module is the process isolation both share, and imports no command: the parent starts a
child by its module name (:func:`run_children`), and each child module answers through
:func:`serve`. The child reads one JSON request on stdin and writes one JSON line to the stdout
it was started with; the plugin's own prints go to stderr, whose tail is the reason when the
child dies. The child is killed with everything it started (:func:`lossbench.procs.kill_tree`)
when it is done, when it times out, and when it dies.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import math
import os
import selectors
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .procs import TOKEN_ENV, describe_exit, kill_tree, new_token
from .text_safety import one_line

TIMEOUT_ENV = "LOSSBENCH_IMPORT_TIMEOUT"
#: Seconds a child may take to import a distribution's entries and describe them (``import
#: torch`` alone takes seconds on a loaded machine).
DEFAULT_IMPORT_TIMEOUT = 120.0
#: The child module that reads third-party cards (:func:`describe_entries`).
DESCRIBE_CHILD = "lossbench.describe_child"

_plugin_process = False


def mark_plugin_process() -> None:
    """This process may import plugin code (a run's child, the sandbox child): the registry reads
    cards from the imported targets here instead of asking a child."""
    global _plugin_process
    _plugin_process = True


def in_plugin_process() -> bool:
    return _plugin_process


def import_timeout() -> float:
    """``$LOSSBENCH_IMPORT_TIMEOUT`` seconds, else :data:`DEFAULT_IMPORT_TIMEOUT`."""
    text = os.environ.get(TIMEOUT_ENV, "").strip()
    if not text:
        return DEFAULT_IMPORT_TIMEOUT
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and 0 < value <= 86400):
        from .errors import UsageError

        raise UsageError(f"{TIMEOUT_ENV} must be a number of seconds in (0, 86400], got {text!r}")
    return value


# ------------------------------------------------------------------------------ parent side

@dataclass
class ChildOutcome:
    """What a child answered (``value``), or why it did not (``error``, one line)."""

    value: Any = None
    error: str = ""


def _output_tail(fh) -> str:
    try:
        fh.seek(0, os.SEEK_END)
        fh.seek(max(0, fh.tell() - 4096))
        text = fh.read().decode("utf-8", "replace")
    except OSError:
        return ""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return lines[-1] if lines else ""


def run_children(requests: Sequence[Mapping[str, Any]], timeout: float,
                 what: str = "importing the plugin", *, module: str) -> list[ChildOutcome]:
    """Run one ``python -m <module>`` child per request, all at once, each within ``timeout``
    seconds; the answers in the order of ``requests``. ``module`` is a child module that
    answers through :func:`serve` (launched by name, so this module imports none of them)."""
    children = []
    sel = selectors.DefaultSelector()
    try:
        for i, request in enumerate(requests):
            token = new_token()
            log = tempfile.TemporaryFile()  # unlinked at once: nothing is left behind
            env = {**os.environ, TOKEN_ENV: token}
            proc = subprocess.Popen(
                [sys.executable, "-m", module], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=log, env=env, start_new_session=True)
            with contextlib.suppress(OSError):
                proc.stdin.write(json.dumps(request).encode())
            with contextlib.suppress(OSError):
                proc.stdin.close()
            os.set_blocking(proc.stdout.fileno(), False)
            sel.register(proc.stdout, selectors.EVENT_READ, i)
            children.append({"proc": proc, "token": token, "log": log, "buf": b"",
                             "done": False, "outcome": None})
        deadline = time.monotonic() + timeout
        pending = len(children)
        while pending:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            for key, _ in sel.select(timeout=min(left, 3600)):
                child = children[key.data]
                try:
                    chunk = os.read(key.fileobj.fileno(), 1 << 16)
                except BlockingIOError:
                    continue
                child["buf"] += chunk
                if b"\n" in child["buf"] or not chunk:  # a whole answer, or EOF
                    sel.unregister(key.fileobj)
                    child["done"] = True
                    pending -= 1
        for child in children:
            proc = child["proc"]
            line = child["buf"].split(b"\n", 1)[0]
            if child["done"] and line:
                try:
                    child["outcome"] = ChildOutcome(json.loads(line))
                except ValueError:
                    child["outcome"] = ChildOutcome(error="the child's answer was not JSON")
            kill_tree(proc.pid if proc.poll() is None else None, child["token"], group=proc.pid)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)
            if child["outcome"] is None:
                tail = _output_tail(child["log"])
                if not child["done"]:
                    reason = f"{what} did not finish within {timeout:g}s (killed)"
                else:
                    reason = f"{what} crashed the process ({describe_exit(proc.returncode)})"
                child["outcome"] = ChildOutcome(error=one_line(
                    reason + (f"; last output: {tail}" if tail else "")))
        return [c["outcome"] for c in children]
    finally:
        sel.close()
        for child in children:
            proc = child["proc"]
            kill_tree(proc.pid if proc.poll() is None else None, child["token"], group=proc.pid)
            with contextlib.suppress(Exception):
                child["proc"].stdout.close()
            child["log"].close()


def describe_entries(by_distribution: Mapping[str, Sequence[Mapping[str, str]]],
                     timeout: float | None = None) -> dict[tuple[str, str], dict[str, Any]]:
    """Read the cards of third-party entries, one child per distribution, concurrently.

    ``by_distribution`` maps a distribution to its entries (``kind``, ``name``, ``target``,
    ``origin``); returns ``{(kind, name): {"card": ..., "tasks": ...} | {"error": reason}}``.
    """
    timeout = import_timeout() if timeout is None else timeout
    dists = sorted(by_distribution)
    outcomes = run_children([{"entries": list(by_distribution[d]), "sys_path": list(sys.path)}
                             for d in dists], timeout, module=DESCRIBE_CHILD)
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for dist, outcome in zip(dists, outcomes, strict=True):
        answers = outcome.value if isinstance(outcome.value, dict) else {}
        for e in by_distribution[dist]:
            key = f"{e['kind']}/{e['name']}"
            answer = answers.get(key)
            if outcome.error or not isinstance(answer, dict):
                answer = {"error": outcome.error or "the child gave no answer for this entry"}
            out[(e["kind"], e["name"])] = answer
    return out


# ------------------------------------------------------------------------------ child side

def _write_all(fd: int, data: bytes) -> None:
    while data:
        data = data[os.write(fd, data):]


def serve(answer: Callable[[dict[str, Any]], Any]) -> None:
    """The child's side of :func:`run_children`: read the request on stdin, answer
    ``answer(request)`` as one JSON line on the original stdout, and exit at once. The
    plugin's prints go to stderr, never into the answer; this process is marked a plugin
    process (:func:`mark_plugin_process`) and imports from the parent's ``sys.path``."""
    answer_fd = os.dup(1)
    os.dup2(2, 1)  # the plugin's prints go to stderr, never into the answer
    mark_plugin_process()
    request = json.loads(sys.stdin.read())
    if isinstance(request.get("sys_path"), list):  # the modules the parent would import
        sys.path[:] = [str(p) for p in request["sys_path"]]
        importlib.invalidate_caches()
    value = answer(request)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    _write_all(answer_fd, (json.dumps(value, default=str) + "\n").encode())
    os.close(answer_fd)
    os._exit(0)  # no plugin atexit handler may hang or change the answer

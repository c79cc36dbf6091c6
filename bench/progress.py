"""Sweep progress: a live display on a terminal, one line per run in logs, or nothing.

* ``rich`` (stderr is a TTY): a progress bar with done / cached / failed counts and ETA, and the
  runs in flight with their elapsed time.
* ``plain`` (CI logs, pipes, or a ``log`` callback): one line per finished run —
  ``[3/12] ok       focal on standard/mnist1d seed=0 [key] 18.2s top1=0.9130 | 2 cached, 0 failed,
  eta 1m52s``.
* ``quiet``: nothing per run (the caller prints the summary).

The ETA is the remaining runs times the observed time between completions, so it accounts for
parallel workers without knowing how many there are.

Every line may hold plugin text (entry names, a failed run's error): it is printed through
:func:`lossbench.text_safety.for_terminal` (control and bidi characters shown as ``\\x1b``,
``\\u202e``), and never parsed as rich markup (``[/red]`` in an error is plain text).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

from .record import Record
from .spec import RunSpec
from .text_safety import for_terminal

MODES = ("auto", "rich", "plain", "quiet")


def format_seconds(seconds: float) -> str:
    """``42s``, ``3m05s``, ``1h02m``."""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def record_summary(record: Record) -> str:
    """The headline of a finished run: top-1 when ok, the first error line otherwise."""
    if record.ok:
        top1 = record.metrics.get("top1")
        return f"top1={top1:.4f}" if top1 is not None else ""
    first = record.error.strip().splitlines()[0] if record.error.strip() else ""
    if record.status == "diverged" and "diverged_epoch" in record.metrics:
        first = f"epoch {int(record.metrics['diverged_epoch'])}: {first}"
    return first[:160]


class SweepProgress:
    """Counts a sweep's runs and shows them in the chosen ``mode``."""

    def __init__(self, total: int, cached: int = 0, *, mode: str = "auto",
                 stream: TextIO | None = None, log: Callable[[str], None] | None = None):
        if mode not in MODES:
            raise ValueError(f"unknown progress mode {mode!r}; valid: {', '.join(MODES)}")
        self.stream = stream or sys.stderr
        self.total = total
        self.cached = cached
        self.done = 0
        self.failed = 0
        self.running: dict[str, tuple[RunSpec, float]] = {}
        self.start = time.perf_counter()
        self._last_finish = self.start
        self._log = log
        if mode == "auto":
            tty = log is None and getattr(self.stream, "isatty", lambda: False)()
            mode = "rich" if tty else "plain"
        self.mode = mode
        self._live = None
        if mode == "rich":
            self._start_rich()

    # -- counts ---------------------------------------------------------------------------
    @property
    def eta_seconds(self) -> float | None:
        if self.done == 0:
            return None
        per_run = (time.perf_counter() - self.start) / self.done
        return per_run * (self.total - self.done)

    def counts(self) -> str:
        eta = self.eta_seconds
        return (f"{self.cached} cached, {self.failed} failed"
                + (f", eta {format_seconds(eta)}" if eta is not None and self.done < self.total
                   else ""))

    # -- events ---------------------------------------------------------------------------
    def started(self, spec: RunSpec) -> None:
        self.running[spec.key] = (spec, time.perf_counter())
        self._refresh()

    def finished(self, record: Record) -> None:
        self.running.pop(record.spec.key, None)
        self.done += 1
        self.failed += 0 if record.ok else 1
        if self.mode == "plain":
            wall = record.provenance.get("wall_seconds", float("nan"))
            self._emit(f"[{self.done}/{self.total}] {record.status:8s} {record.spec} "
                       f"{wall:.1f}s {record_summary(record)} | {self.counts()}")
        elif self.mode == "rich" and not record.ok:
            from rich.text import Text

            line = Text.assemble((for_terminal(record.status), "red"),
                                 for_terminal(f" {record.spec}: {record_summary(record)}"))
            self._live.console.print(line, highlight=False)
        self._refresh()

    def message(self, text: str) -> None:
        """A line outside the per-run log (plan summary, skipped entries)."""
        if self.mode == "quiet":
            return
        if self.mode == "rich":
            self._live.console.print(for_terminal(text), highlight=False, markup=False)
        else:
            self._emit(text)

    def close(self) -> None:
        if self._live is not None:
            self._refresh()
            self._live.stop()
            self._live = None

    def __enter__(self) -> SweepProgress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- output ---------------------------------------------------------------------------
    def _emit(self, line: str) -> None:
        line = for_terminal(line)
        if self._log is not None:
            self._log(line)
        else:
            print(line, file=self.stream, flush=True)

    def _start_rich(self) -> None:
        from rich.console import Console
        from rich.live import Live

        self._console = Console(file=self.stream)
        self._live = Live(self._renderable(), console=self._console, refresh_per_second=4,
                          transient=False, get_renderable=self._renderable)
        self._live.start()

    def _renderable(self):
        from rich.console import Group
        from rich.progress_bar import ProgressBar
        from rich.table import Table
        from rich.text import Text

        head = Table.grid(padding=(0, 1))
        head.add_row(
            ProgressBar(total=max(self.total, 1), completed=self.done, width=40),
            Text(f"{self.done}/{self.total} done, {self.counts()}"),
        )
        now = time.perf_counter()
        runs = Table.grid(padding=(0, 1))
        for spec, since in list(self.running.values()):
            runs.add_row(Text("  running", style="cyan"), Text(for_terminal(spec)),
                         Text(format_seconds(now - since), style="dim"))
        return Group(head, runs)

    def _refresh(self) -> None:
        if self._live is not None:
            self._live.refresh()


def stderr(msg: str) -> None:
    """One message line on standard error, flushed: the log sink of the CLI, the API and
    ``tune`` when the caller passes none; plugin text in it is shown visibly
    (:func:`lossbench.text_safety.for_terminal`)."""
    print(for_terminal(msg, multiline=True), file=sys.stderr, flush=True)

"""The scheduler: decide which specs still need to run, run them, store each record as it lands.

"Done" is a fact on disk (a result file named by the spec hash), so a sweep is idempotent and an
interrupted sweep resumes where it stopped. Failed runs are stored too (with their status) and are
re-run only with ``retry_failed``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .runner import Record, execute
from .spec import RunSpec
from .store import stored_status, write_record


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


def pending(specs: Sequence[RunSpec], results_dir: str | Path, *, force: bool = False,
            retry_failed: bool = False) -> tuple[list[RunSpec], list[RunSpec]]:
    """Split ``specs`` into (to run, already stored). Duplicated specs run once."""
    unique = list({s.key: s for s in specs}.values())
    if force:
        return unique, []
    status = stored_status(results_dir)
    todo, done = [], []
    for s in unique:
        st = status.get(s.key)
        if st is None or (retry_failed and st != "ok"):
            todo.append(s)
        else:
            done.append(s)
    return todo, done


def run_sweep(
    specs: Sequence[RunSpec],
    results_dir: str | Path = "results",
    *,
    force: bool = False,
    retry_failed: bool = False,
    device: str = "cpu",
    log: Callable[[str], None] | None = None,
) -> SweepSummary:
    """Run every spec without a stored record, serially in this process, storing each record."""
    log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
    start = time.perf_counter()
    todo, done = pending(specs, results_dir, force=force, retry_failed=retry_failed)
    summary = SweepSummary(cached=done)
    log(f"{len(todo)} to run, {len(done)} already stored in {results_dir}")
    for i, spec in enumerate(todo, 1):
        record = execute(spec, device=device)
        write_record(results_dir, record)
        summary.ran.append(record)
        tail = f"top1={record.metrics['top1']:.4f}" if "top1" in record.metrics else ""
        first_error = record.error.splitlines()[0] if record.error else ""
        log(f"[{i}/{len(todo)}] {record.status:8s} {spec} "
            f"{record.provenance.get('wall_seconds', 0):.1f}s {tail}{first_error}")
    summary.seconds = time.perf_counter() - start
    return summary

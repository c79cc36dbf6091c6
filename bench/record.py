"""A run's outcome as the harness hands it around: :class:`Record` (spec, status, metrics, error,
provenance) and the statuses a record can have.

The runner makes records (:mod:`lossbench.runner`), the executors return them, the store writes
them (:func:`lossbench.store.write_record`). This module imports neither torch nor the entries, so
the modules that only pass records along stay light.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .spec import RunSpec

STATUSES = ("ok", "error", "diverged", "timeout", "oom", "crashed")
TRACEBACK_TAIL = 2000


@dataclass
class Record:
    """The outcome of one run: its spec, status, metrics and provenance."""

    spec: RunSpec
    status: str
    metrics: dict[str, float] = field(default_factory=dict)
    error: str = ""
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

"""A run's outcome as the harness hands it around: :class:`Record` (spec, status, metrics, error,
provenance; the statuses are :data:`lossbench.run_outputs.STATUSES`) and how much of an error's
traceback a record keeps.

The runner makes records (:mod:`lossbench.runner`), the executors return them, the store writes
them (:func:`lossbench.store.write_record`). This module imports neither torch nor the entries, so
the modules that only pass records along stay light.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .spec import RunSpec

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

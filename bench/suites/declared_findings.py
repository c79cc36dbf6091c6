"""The findings a suite declares itself (``Suite.findings``): what its tasks should reproduce.

A :class:`Finding` says that entry A beats entry B on a metric of a task — or, for a
*same-entry* finding, that one metric of entry A beats another of its metrics (cross-entropy's
best-validation accuracy above its last-epoch accuracy) — with the paper, table and numbers it
comes from. An :class:`EntryRef` names an entry (a loss, optionally with a regularizer); the
pre-registered catalog (:mod:`lossbench.catalog`) names its entries the same way.

Declarations only, beside the suites that hold them: no records, no registry, no metric table.
Checking them against the registered entries and metrics
(:func:`lossbench.findings.check_findings`) and judging them on the records
(:func:`lossbench.findings.evaluate`) is the readers' business.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import UsageError

_SLUG = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


class FindingError(UsageError):
    """A finding is declared wrongly (unknown entry, metric or task; inconsistent fields)."""


@dataclass(frozen=True)
class EntryRef:
    """An entry a finding names: a loss, optionally combined with a regularizer."""

    loss: str
    regularizer: str | None = None

    @property
    def label(self) -> str:
        """``loss`` or ``loss + regularizer`` (the leaderboard's row label)."""
        return self.loss if self.regularizer is None else f"{self.loss} + {self.regularizer}"

    def __str__(self) -> str:
        return self.label

    @classmethod
    def parse(cls, text: str) -> EntryRef:
        """``"gce"`` or ``"cross_entropy + elr"`` (the inverse of :attr:`label`)."""
        parts = [p.strip() for p in str(text).split("+")]
        if len(parts) > 2 or not all(parts):
            raise FindingError(f"bad entry {text!r}: expected 'loss' or 'loss + regularizer'")
        return cls(parts[0], parts[1] if len(parts) == 2 else None)

    def to_dict(self) -> dict[str, Any]:
        return {"loss": self.loss, "regularizer": self.regularizer}


def _entry(value: EntryRef | str | Mapping[str, Any] | None) -> EntryRef | None:
    if value is None or isinstance(value, EntryRef):
        return value
    if isinstance(value, str):
        return EntryRef.parse(value)
    return EntryRef(value["loss"], value.get("regularizer"))


@dataclass(frozen=True)
class Finding:
    """One published result an embedded task should reproduce.

    ``a`` is claimed to beat ``b`` on ``metric`` of ``task`` (a task of the declaring suite). With
    ``b=None`` the finding compares two metrics of the same entry: ``a``'s ``metric`` against its
    ``metric_b``. The claimed direction is "better" by the metric's declared direction
    (:data:`lossbench.metrics.METRICS`) unless ``higher_is_better`` says it explicitly (True: A's
    value is claimed to be the higher one). ``source`` names the paper and table, ``published``
    the published numbers as text, ``claim`` says it in one sentence. Entries may be given as
    :class:`EntryRef` or as text (``"cross_entropy + elr"``).
    """

    id: str
    task: str
    metric: str
    a: EntryRef
    b: EntryRef | None
    source: str
    published: str
    claim: str
    metric_b: str | None = None
    higher_is_better: bool | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "a", _entry(self.a))
        object.__setattr__(self, "b", _entry(self.b))
        if not isinstance(self.id, str) or not _SLUG.match(self.id):
            raise FindingError(f"bad finding id {self.id!r}: use a short slug of lower-case "
                               f"letters, digits, '-', '_' or '.'")
        where = f"finding {self.id!r}"
        if self.a is None:
            raise FindingError(f"{where}: entry a is required")
        for name in ("task", "metric", "source", "published", "claim"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise FindingError(f"{where}: {name} must be a non-empty string, got {value!r}")
        if self.b is None and self.metric_b is None:
            raise FindingError(
                f"{where}: b is None (a same-entry finding) but metric_b is not given: name the "
                f"second metric of {self.a.label!r} to compare {self.metric!r} against, or give "
                f"b, the entry {self.a.label!r} is compared with")
        if self.b is not None and self.metric_b is not None:
            raise FindingError(
                f"{where}: metric_b={self.metric_b!r} is only for same-entry findings (b=None); "
                f"a finding with b compares both entries on metric {self.metric!r}")
        if self.b == self.a:
            raise FindingError(f"{where}: a and b are the same entry {self.a.label!r}; for two "
                               f"metrics of one entry set b=None and metric_b")
        if self.b is None and self.metric_b == self.metric:
            raise FindingError(f"{where}: metric_b {self.metric_b!r} equals metric")
        if self.higher_is_better is not None and not isinstance(self.higher_is_better, bool):
            raise FindingError(f"{where}: higher_is_better must be True, False or None, got "
                               f"{self.higher_is_better!r}")

    @property
    def same_entry(self) -> bool:
        return self.b is None

    @property
    def versus(self) -> str:
        """``"gce vs cross_entropy"``, or ``"cross_entropy: top1_best_val vs top1"``."""
        if self.b is None:
            return f"{self.a.label}: {self.metric} vs {self.metric_b}"
        return f"{self.a.label} vs {self.b.label}"

    def entries(self) -> list[EntryRef]:
        return [self.a] if self.b is None else [self.a, self.b]

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "task": self.task, "metric": self.metric,
                "a": self.a.to_dict(), "b": None if self.b is None else self.b.to_dict(),
                "metric_b": self.metric_b, "higher_is_better": self.higher_is_better,
                "source": self.source, "published": self.published, "claim": self.claim}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Finding:
        """The inverse of :meth:`to_dict`."""
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})

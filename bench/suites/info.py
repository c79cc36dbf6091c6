"""What planning and the leaderboard know of a suite without loading it: :class:`SuiteInfo` and
:class:`TaskInfo`, the descriptive part of :class:`~lossbench.suites.base.Suite` and
:class:`~lossbench.suites.base.Task` (read from the same fields), kept in the metadata cache.
Light on purpose: importing it imports neither torch nor any suite.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from .declared_findings import Finding


class _SuiteTasks:
    """What a suite and its description share: tasks keyed by name, in the suite's order."""

    tasks: Mapping[str, Any]

    def default_tasks(self) -> list:
        """The tasks of the default sweep: what ``lossbench run --suite NAME`` runs."""
        return [t for t in self.tasks.values() if t.in_default_sweep]


@dataclass(frozen=True)
class TaskInfo:
    """The part of a ``Task`` that planning and the leaderboard need, read without loading
    the suite (the metadata cache keeps it): its fields are the ``Task`` fields of the same
    names."""

    name: str
    version: str
    embedded: bool
    in_default_sweep: bool
    supports_embedding: bool

    @classmethod
    def of(cls, task: Any) -> TaskInfo:
        """The description of a task object (a third party's version may be a number; a
        look-alike without ``in_default_sweep`` is in the default sweep when embedded)."""
        in_default_sweep = getattr(task, "in_default_sweep", None)
        return cls(name=str(task.name), version=str(task.version), embedded=bool(task.embedded),
                   in_default_sweep=bool(task.embedded if in_default_sweep is None
                                         else in_default_sweep),
                   supports_embedding=bool(task.supports_embedding))


@dataclass(frozen=True)
class SuiteInfo(_SuiteTasks):
    """The part of a ``Suite`` that planning and the leaderboard need: its name, its
    tasks' :class:`TaskInfo` in the suite's order, headline metrics and published findings."""

    name: str
    tasks: dict[str, TaskInfo]
    findings: tuple[Finding, ...] = ()
    headline: tuple[str, ...] = ()

    @classmethod
    def of(cls, suite: Any) -> SuiteInfo:
        """The description of a suite object (a :class:`Suite`, or a third party's look-alike)."""
        return cls(suite.name, {t.name: TaskInfo.of(t) for t in suite.tasks.values()},
                   tuple(getattr(suite, "findings", ())),
                   tuple(str(h) for h in getattr(suite, "headline", ())))

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable (what the metadata cache stores)."""
        return {"name": self.name, "headline": list(self.headline),
                "tasks": [asdict(t) for t in self.tasks.values()],
                "findings": [f.to_dict() for f in self.findings]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SuiteInfo:
        """The inverse of :meth:`to_dict`."""
        return cls(data["name"], {t["name"]: TaskInfo(**t) for t in data["tasks"]},
                   tuple(Finding.from_dict(f) for f in data.get("findings", ())),
                   tuple(data.get("headline", ())))

"""How long a sweep will take, said before it starts (``lossbench run`` prints it).

Per run to do: the median ``wall_seconds`` of the stored ``ok`` records of the same task (suite,
task, task version) and the same spec options (``--epochs`` changes the cost), when there are
any; else a rough default: :data:`DEFAULT_SECONDS_PER_EPOCH` per epoch (``--epochs``, else the
built-in task's recipe; a third-party suite's recipe is not read, and its runs are counted as
unknown) plus :data:`DEFAULT_SECONDS_PER_RUN`. The total is divided by the workers. Stored
timings are what this machine did; the default is fitted to the embedded board on 2 cores
(docs/performance.md), so for full-scale tasks it is only a floor.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .spec import RunSpec, canonical_json

#: Per epoch of an embedded task and per run (fork, evaluation, every calibration metric, the
#: loss-cost ratio): together 5.5 s for a 40-epoch run, what the whole embedded board took per
#: run and worker (840 runs of 40 epochs in 38 min with 2 workers, 2026-11-28); a 2-epoch smoke
#: run takes 0.3-0.6 s, so short runs are overestimated.
DEFAULT_SECONDS_PER_EPOCH = 0.1
DEFAULT_SECONDS_PER_RUN = 1.5


@dataclass(frozen=True)
class Estimate:
    """Seconds for the runs to do (wall, over ``workers``), and how many estimates came from
    stored timings, from the default, or are unknown (a third-party suite without --epochs)."""

    seconds: float
    workers: int
    measured: int
    default: int
    unknown: int

    def line(self, todo: int, cached: int) -> str:
        head = f"plan: {todo} to run, {cached} already stored"
        if not todo:
            return head
        basis = []
        if self.measured:
            basis.append(f"{self.measured} from the median time of stored runs of their task")
        if self.default:
            basis.append(f"{self.default} from a default of {DEFAULT_SECONDS_PER_EPOCH:g} s per "
                         f"epoch + {DEFAULT_SECONDS_PER_RUN:g} s")
        if self.unknown:
            basis.append(f"{self.unknown} unknown (a third-party suite's recipe; pass --epochs)")
        return (f"{head}; estimated {duration(self.seconds)} on {self.workers} worker(s) "
                f"({'; '.join(basis)})")


def duration(seconds: float) -> str:
    """``42 s``, ``7 min``, ``1 h 05 min``."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def _task_key(spec: RunSpec) -> tuple[str, str, str, str]:
    return (spec.suite, spec.task, str(spec.task_version), canonical_json(dict(spec.options)))


def stored_timings(results_dir: str | Path) -> dict[tuple[str, str, str, str], float]:
    """The median ``wall_seconds`` of the stored ok records per (suite, task, task version,
    options)."""
    from .store import _files, _read_many, _trusted

    files = _trusted(_files(results_dir))
    if not files:
        return {}
    table = _read_many(files, columns=["spec_key", "suite", "task", "task_version", "options",
                                       "status", "wall_seconds"])
    walls: dict[tuple[str, str, str, str], dict[str, float]] = {}
    for key, suite, task, version, options, status, wall in zip(
            *(table.column(c).to_pylist() for c in table.column_names), strict=True):
        if status == "ok" and wall is not None and wall == wall and wall > 0:
            walls.setdefault((suite, task, str(version), options), {})[key] = float(wall)
    return {k: statistics.median(v.values()) for k, v in walls.items()}


def _epochs(spec: RunSpec) -> int | None:
    option = spec.options.get("epochs")
    if isinstance(option, int) and not isinstance(option, bool) and option > 0:
        return option
    try:
        from .registry import SUITES
        from .runner import recipe_for, resolve_task

        if SUITES.get(spec.suite).isolated:
            return None
        _, task = resolve_task(spec)
        return int(recipe_for(task, dict(spec.options)).epochs)
    except Exception:  # noqa: BLE001 - the run itself reports an unknown task
        return None


def estimate(todo: Sequence[RunSpec], results_dir: str | Path, workers: int) -> Estimate:
    """The :class:`Estimate` of running ``todo`` with ``workers`` parallel runs."""
    timings = stored_timings(results_dir) if todo else {}
    total, measured, default, unknown = 0.0, 0, 0, 0
    for spec in todo:
        key = _task_key(spec)
        if key in timings:
            total += timings[key]
            measured += 1
            continue
        epochs = _epochs(spec)
        if epochs is None:
            unknown += 1
            continue
        total += DEFAULT_SECONDS_PER_EPOCH * epochs + DEFAULT_SECONDS_PER_RUN
        default += 1
    workers = max(1, min(workers, len(todo) or 1))
    return Estimate(total / workers, workers, measured, default, unknown)

"""How long a sweep will take, said before it starts (``lossbench run`` prints it).

The estimate covers the sweep from that line to its last stored record: a start-up, then the runs
divided over the runs that really go at once.

* Per run to do: the median ``wall_seconds`` of the stored ``ok`` records of the same task (suite,
  task, task version) and the same **epochs** (``--epochs N``, else the task's recipe: a
  default-recipe record and one of ``--epochs`` equal to the recipe's count are the same cost)
  and other spec options — of the same loss and regularizer where those are stored, else of any
  entry. Stored records are looked up in the results folder of the sweep; a default-recipe run
  with none there is looked up in the project's committed board (``results/`` of the current
  folder: :data:`BOARD_RESULTS`). Else a rough default: :data:`DEFAULT_SECONDS_PER_EPOCH` per
  epoch plus :data:`DEFAULT_SECONDS_PER_RUN`, with the recipe's epochs as the suite's description
  states them (:func:`lossbench.suites.description.recipe_epochs`: read from the metadata cache,
  or from a child process for a third-party suite; a run whose epochs are stated nowhere is
  counted as unknown).
* At once: ``workers`` runs, but no more than the runs to do, and for CPU runs of the ``local``
  executor no more than the CPU cores (each run uses one torch thread: more workers than cores
  share them, and the sweep takes as long).
* Start-up of the ``local`` executor: the sweep process imports torch and the runner and warms
  up (one dry epoch per task, the data of each (task, seed)) before forking the runs from it:
  :data:`SWEEP_START_SECONDS` once plus :data:`WARM_UP_SECONDS` per (task, seed), times
  :func:`cpu_slowdown` (the machine's load now). Other executors count no start-up.

Stored timings are what this machine did when they were stored (under that day's load); the
defaults are fitted to the embedded board on 2 cores (docs/performance.md), so for full-scale
tasks they are only a floor.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .spec import RunSpec, canonical_json
from .suites.description import recipe_epochs

if TYPE_CHECKING:  # the store imports pyarrow: read only when a plan is estimated
    from .store import StoreScan

#: Per epoch of an embedded task and per run, fitted to stored records: a 2-epoch MNIST-1D smoke
#: run takes 0.3-0.4 s (the fixed part: model, evaluation, every calibration metric), and the
#: committed embedded board's 840 runs of 40 epochs took 3,170 s of run wall time, 3.77 s a
#: run, so (3.77 - 0.3) / 40 = 0.087 s per epoch.
DEFAULT_SECONDS_PER_EPOCH = 0.09
DEFAULT_SECONDS_PER_RUN = 0.3
#: Start-up of a ``local`` sweep on an idle machine, scaled by :func:`cpu_slowdown`: once,
#: importing torch and the runner and the first dry run's lazy imports of the metric libraries;
#: per (task, seed), its data (and once per task a dry epoch) built in the sweep process before
#: forking the runs. Fitted 2026-12-05 on this project's 2-core machine shared with other work:
#: the 4-run smoke sweep of the README (2 (task, seed)) spent 3.3 s between its plan line and its
#: last record beyond its runs at load 2.7 (slowdown 1.85) and 11.6 s at load 6.4 (slowdown
#: 3.7), i.e. 1.8-3.1 s idle; of the start-up measured at load 7, the imports and first warm-up
#: took 11-15 s and each further (task, seed) 1.3-2.1 s.
SWEEP_START_SECONDS = 2.0
WARM_UP_SECONDS = 0.3
#: The project's committed board, where a default-recipe run of a fresh results folder finds
#: the timing of its task.
BOARD_RESULTS = "results"


@dataclass(frozen=True)
class Estimate:
    """Seconds for the runs to do (wall: ``startup`` + the runs over ``workers`` at once), and
    how many estimates came from stored timings, from the default, or are unknown (a suite
    whose description states no recipe epochs, without --epochs)."""

    seconds: float
    workers: int
    measured: int
    default: int
    unknown: int
    startup: float = 0.0
    epochs: tuple[int, ...] = ()

    def line(self, todo: int, cached: int) -> str:
        head = f"plan: {todo} to run, {cached} already stored"
        if not todo:
            return head
        basis = []
        if self.epochs:
            basis.append(f"{'/'.join(map(str, self.epochs))} epochs per run")
        if self.measured:
            basis.append(f"{self.measured} from the median time of stored runs of their task and "
                         f"epochs")
        if self.default:
            basis.append(f"{self.default} from a default of {DEFAULT_SECONDS_PER_EPOCH:g} s per "
                         f"epoch + {DEFAULT_SECONDS_PER_RUN:g} s")
        if self.unknown:
            basis.append(f"{self.unknown} unknown (the recipe states no epochs; pass --epochs)")
        if self.startup:
            basis.append(f"{duration(self.startup)} start-up")
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


#: Timings are keyed by (suite, task, task version, options JSON) and then (loss, regularizer):
#: the median wall seconds of the stored ok records of each.
Timings = dict[tuple[str, str, str, str], dict[tuple[str, str | None], float]]


def stored_timings(results_dir: str | Path) -> dict[tuple[str, str, str, str], float]:
    """The median ``wall_seconds`` of the stored ok records per (suite, task, task version,
    options)."""
    from .store import scan

    walls: dict[tuple[str, str, str, str], dict[str, float]] = {}
    for (task_key, _), entry_walls in _walls(scan(results_dir)).items():
        walls.setdefault(task_key, {}).update(entry_walls)
    return {k: statistics.median(v.values()) for k, v in walls.items()}


def _walls(stored: StoreScan
           ) -> dict[tuple[tuple[str, str, str, str], tuple[str, str | None]], dict[str, float]]:
    """The wall seconds of each stored ok record of the scanned folder ``stored``, by (task
    key, (loss, regularizer)) and spec key."""
    columns = ["spec_key", "suite", "task", "task_version", "options", "loss", "regularizer",
               "status", "wall_seconds"]
    table = stored.runs
    walls: dict = {}
    for key, suite, task, version, options, loss, reg, status, wall in zip(
            *(table.column(c).to_pylist() for c in columns), strict=True):
        if status == "ok" and wall is not None and wall == wall and wall > 0:
            walls.setdefault(((suite, task, str(version), options), (loss, reg)), {})[key] = \
                float(wall)
    return walls


def _timings(stored: StoreScan) -> Timings:
    out: Timings = {}
    for (task_key, entry), walls in _walls(stored).items():
        out.setdefault(task_key, {})[entry] = statistics.median(walls.values())
    return out


def _cost(options: Mapping, recipe: int | None) -> tuple[object, str]:
    """What makes two runs of one task cost the same: their epochs (the option, else the
    recipe's) and their other options."""
    rest = {k: v for k, v in options.items() if k != "epochs"}
    return options.get("epochs", recipe), canonical_json(rest)


def _stored(spec: RunSpec, timings: Timings, recipe: int | None) -> float | None:
    """The stored timing of a run like ``spec``: same task and epochs (and other options); of
    the same loss and regularizer where stored, else the median over the task's entries."""
    cost = _cost(spec.options, recipe)
    entry = (spec.loss, spec.regularizer)
    same_entry, any_entry = [], []
    for (suite, task, version, options), by_entry in timings.items():
        if (suite, task, version) != (spec.suite, spec.task, str(spec.task_version)):
            continue
        if _cost(json.loads(options), recipe) != cost:
            continue
        if entry in by_entry:
            same_entry.append(by_entry[entry])
        any_entry.extend(by_entry.values())
    if same_entry:
        return statistics.median(same_entry)
    return statistics.median(any_entry) if any_entry else None


def cpu_slowdown() -> float:
    """How much slower than on an idle machine a CPU-bound process runs now: the 1-minute load
    average plus this process, over the CPU cores (:func:`os.getloadavg`), at least 1; 1 where
    the load average is not available."""
    import os

    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        return 1.0
    return max(1.0, (load + 1) / (os.cpu_count() or 1))


def parallel_runs(workers: int, todo: int, device: str = "cpu", executor: str = "local") -> int:
    """How many runs go at once: ``workers``, at most the runs to do, and for CPU runs of the
    ``local`` executor (child processes on this machine) at most the CPU cores
    (:func:`os.cpu_count`)."""
    import os

    at_once = max(1, min(workers, todo or 1))
    if executor == "local" and not device.startswith("cuda"):
        at_once = min(at_once, os.cpu_count() or 1)
    return at_once


def estimate(todo: Sequence[RunSpec], results_dir: str | Path, workers: int,
             device: str = "cpu", executor: str = "local",
             stored: StoreScan | None = None) -> Estimate:
    """The :class:`Estimate` of running ``todo`` with ``workers`` parallel runs of ``executor``
    on ``device``. ``stored``: the scan of ``results_dir`` when the caller has one (a sweep's:
    the folder is not read again)."""
    from .store import scan

    timings = _timings(stored or scan(results_dir)) if todo else {}
    board: Timings | None = None
    use_board = Path(BOARD_RESULTS).is_dir() and \
        Path(BOARD_RESULTS).resolve() != Path(results_dir).resolve()
    total, measured, default, unknown = 0.0, 0, 0, 0
    recipes: dict[tuple[str, str, str], int | None] = {}
    epochs: set[int] = set()
    for spec in todo:
        task = (spec.suite, spec.task, str(spec.task_version))
        if task not in recipes:
            recipes[task] = recipe_epochs(spec.suite, spec.task)
        recipe = recipes[task]
        seconds = _stored(spec, timings, recipe)
        if seconds is None and use_board and "epochs" not in spec.options:
            board = _timings(scan(BOARD_RESULTS)) if board is None else board
            seconds = _stored(spec, board, recipe)
        run_epochs = spec.options.get("epochs", recipe)
        if isinstance(run_epochs, int):
            epochs.add(run_epochs)
        if seconds is not None:
            total += seconds
            measured += 1
            continue
        if not isinstance(run_epochs, int):
            unknown += 1
            continue
        total += DEFAULT_SECONDS_PER_EPOCH * run_epochs + DEFAULT_SECONDS_PER_RUN
        default += 1
    at_once = parallel_runs(workers, len(todo), device, executor)
    startup = 0.0
    if executor == "local" and todo:
        startup = cpu_slowdown() * (SWEEP_START_SECONDS + WARM_UP_SECONDS * len(
            {(s.suite, s.task, str(s.task_version), s.seed) for s in todo}))
    return Estimate(startup + total / at_once, at_once, measured, default, unknown, startup,
                    tuple(sorted(epochs)))

"""Task boards: everything computed for one task's table (one recipe, suite, task and version).

A board holds the task's configurations (:mod:`.configs`), its columns (the primary metric
first: :func:`choose_metrics`), each cell's mean and Student-t interval over seeds, the metric
directions the records state, the configurations flagged as unstable (:mod:`.stability`), the
tie groups (:mod:`.groups`) and the cross-entropy baseline row. Versions of a task are never
mixed: :func:`newest_boards` keeps the newest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .. import aggregate as agg
from ..cells import is_missing
from ..findings import CONFIDENCE
from ..plan import BASELINE_LOSS
from ..record_format import RUN_COLUMNS
from ..versions import version_key
from .aliases import alias_merges, merge_alias_configs
from .configs import Config, Tuning, build_configs
from .groups import groups_by_test
from .stability import Flag
from .stability import flags as training_flags
from .stored_metadata import higher_is_better, stored_task_meta

#: a row with fewer successful seeds is marked ⚠ (its interval is missing or wide)
WARN_BELOW_SEEDS = 3
#: calibration columns of the task tables; ``ece_ts`` (after temperature scaling) beside ``ece``
CALIBRATION_METRICS = ("ece", "ece_ts", "smooth_ece", "nll")
COST_METRICS = ("loss_cost_ratio",)
RELIABILITY_PREFIX = "reliability/"
#: metrics a reader expects as a suite's primary score when the task lists them among its
#: headline metrics (metric learning: MAP@R, which ranks embedding losses the way the
#: literature does; P@1 puts every classification loss above every embedding loss)
PRIMARY_PREFERRED = ("map_at_r",)


@dataclass
class TaskBoard:
    """Everything computed for one (options, suite, task, task version)."""

    suite: str
    task: str
    version: str
    metrics: list[str]  # table columns; metrics[0] is the primary
    configs: list[Config]
    hidden_trials: int
    cells: dict[tuple[str, str], tuple[float, float]]  # (config key, metric) -> (mean, half)
    directions: dict[str, bool]  # metric -> higher is better
    meta: dict[str, Any]  # the stored task metadata
    headline: list[str]
    runs: pd.DataFrame  # every run of the task (any status)
    #: config key -> its flag, for configurations that are unstable or failed to train: their
    #: cells are NaN (no mean, no tie group, no rank), the tables show the flag (.stability)
    flags: dict[str, Flag] = field(default_factory=dict)

    @property
    def primary(self) -> str:
        return self.metrics[0]

    @property
    def name(self) -> str:
        return f"{self.suite}/{self.task} v{self.version}"

    def sign(self, metric: str) -> float:
        return 1.0 if higher_is_better(metric, self.directions) else -1.0

    def ranked(self) -> list[Config]:
        """Configurations by the primary metric's mean, best first (ties: label, key)."""
        sign = self.sign(self.primary)

        def key(c: Config):
            mean = self.cells[(c.key, self.primary)][0]
            return (math.inf if math.isnan(mean) else -sign * mean, c.label, c.key)

        return sorted(self.configs, key=key)

    def tie_groups(self, metric: str | None = None) -> dict[str, int]:
        """Honest ranks on ``metric`` (default: the primary), by a paired test against the
        leader (:mod:`.groups`): group 1 holds the configuration with the best mean and every
        configuration not significantly worse than it (paired t-test over shared seeds, Holm
        across the configurations compared, α = 0.05); group 2 starts at the best configuration
        outside group 1, and so on. Configurations without a value (none recorded, or flagged
        unstable) get no group."""
        metric = metric or self.primary
        means = {c.key: self.cells[(c.key, metric)][0] for c in self.configs}
        samples = {c.key: c.by_seed(metric) for c in self.configs
                   if not math.isnan(means[c.key])}
        return groups_by_test(samples, means, self.sign(metric))

    def baseline(self) -> Config | None:
        """The cross-entropy row without regularizer (tuned first, then most seeds)."""
        if hasattr(self, "_baseline"):
            return self._baseline
        ce = [c for c in self.configs if c.first["loss"] == BASELINE_LOSS
              and is_missing(c.first["regularizer"])]
        self._baseline = None
        if not ce:
            return None
        self._baseline = sorted(ce, key=lambda c: (not c.tuned, -c.n_ok, c.key))[0]
        return self._baseline


def choose_metrics(headline: list[str], measured: set[str],
                   suite_headline: list[str] | None = None) -> list[str]:
    """Table columns: the primary metric, the ID top-1 when the task records it and it is not
    the primary (OOD detection: ID accuracy beside the OOD scores), the task's other headline
    metrics, calibration and loss cost.

    The primary is a preferred metric (MAP@R) when the task lists it, else the suite's first
    headline metric when the task records it (a suite compares its tasks on one metric: OOD
    detection on near-OOD AUROC even where a task lists its ID top-1 first), else the task's
    first headline metric."""
    primary = next((m for m in PRIMARY_PREFERRED if m in headline and m in measured), None)
    if primary is None and suite_headline and suite_headline[0] in measured:
        primary = suite_headline[0]
    wanted = ([primary] if primary else []) + list(headline[:1])
    if "top1" in measured:
        wanted.insert(1, "top1")
    wanted += list(headline[1:]) + list(CALIBRATION_METRICS) + list(COST_METRICS)
    out = []
    for m in wanted:
        if m in measured and m not in out:
            out.append(m)
    return out


def build_task(suite: str, task: str, version: str, runs: pd.DataFrame,
               tuning: Tuning) -> TaskBoard:
    meta = stored_task_meta(runs)
    headline = [str(h) for h in meta.get("headline") or ["top1"]]
    metric_columns = [c for c in runs.columns if c not in RUN_COLUMNS]
    recorded = runs[metric_columns].notna().to_numpy().any(axis=0)
    measured = {c for c, r in zip(metric_columns, recorded, strict=True) if r}
    suite_headline = [str(h) for h in meta.get("suite_headline") or headline]
    metrics = choose_metrics(headline, measured, suite_headline) or \
        sorted(m for m in measured if not m.startswith(RELIABILITY_PREFIX))[:1] or headline[:1]
    configs, hidden = build_configs(runs, tuning)
    configs = merge_alias_configs(configs, alias_merges(runs))
    flagged = training_flags(runs, headline)
    cells = {}
    for c in configs:
        for m in metrics:
            cells[(c.key, m)] = agg.mean_ci(c.values(m), CONFIDENCE) \
                if len(c.values(m)) and c.key not in flagged else (math.nan, math.nan)
    directions = {k: bool(v) for k, v in (meta.get("higher_is_better") or {}).items()}
    return TaskBoard(suite, task, version, metrics, configs, hidden, cells, directions, meta,
                     headline, runs, {c.key: flagged[c.key] for c in configs if c.key in flagged})


def best_marks(board: TaskBoard) -> set[tuple[str, str]]:
    """(config key, metric) cells that are best in their column with an interval that does not
    overlap the runner-up's."""
    marks = set()
    for m in board.metrics:
        sign = board.sign(m)
        scored = sorted((-sign * board.cells[(c.key, m)][0], c.key) for c in board.configs
                        if not math.isnan(board.cells[(c.key, m)][0]))
        if len(scored) < 2:
            continue
        best, second = scored[0][1], scored[1][1]
        if not agg.intervals_overlap(board.cells[(best, m)], board.cells[(second, m)]):
            marks.add((best, m))
    return marks


def newest_boards(boards: list[TaskBoard]) -> tuple[list[TaskBoard], list[str]]:
    """The newest version of each task (versions are never mixed), and the ones left out."""
    newest: dict[tuple[str, str], TaskBoard] = {}
    dropped = []
    for b in sorted(boards, key=lambda b: (b.suite, b.task, version_key(b.version))):
        key = (b.suite, b.task)
        if key in newest:
            dropped.append(newest[key].name)
        newest[key] = b
    return list(newest.values()), dropped

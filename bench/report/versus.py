"""A configuration against its task's cross-entropy baseline, paired by seed.

:func:`paired` gives the difference ``c − base`` (positive = better in the metric's direction)
with its Student-t interval; :func:`versus` adds rliable's probability of improvement and the
(Nadeau–Bengio corrected, when the records state the split sizes) paired t-test; the
:attr:`Versus.verdict` is better / tie / worse by whether the interval excludes 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import aggregate as agg
from ..findings import CONFIDENCE
from .boards import TaskBoard
from .configs import Config


@dataclass
class Versus:
    """A configuration against the task's CE baseline on one metric, paired by seed."""

    n: int
    mean: float
    half: float
    poi: float
    p: float

    @property
    def verdict(self) -> str:
        """better / worse when the paired interval excludes 0 (in the metric's good
        direction, :func:`lossbench.aggregate.interval_side`), tie otherwise (also with fewer
        than two paired seeds)."""
        if self.n < 2:
            return "tie"
        return {1: "better", -1: "worse", 0: "tie"}[agg.interval_side(self.mean, self.half)]


def test_train_ratio(a: Config, b: Config) -> tuple[float, bool]:
    """``n_test / n_train`` for the Nadeau–Bengio correction when the runs record both sizes."""
    ratios = []
    for c in (a, b):
        test, train = c.by_seed("n_test"), c.by_seed("n_train")
        if len(test) != c.n_ok or len(train) != c.n_ok:
            return 0.0, False
        ratios += [test[s] / train[s] for s in test]
    return (float(np.mean(ratios)), True) if ratios else (0.0, False)


def paired(board: TaskBoard, c: Config, base: Config, metric: str) -> Versus:
    """``c`` − ``base`` on ``metric`` paired by seed (mean ± t-interval; positive = better in
    the metric's direction), without the tests of :func:`versus`."""
    seeds, diffs = agg.paired_differences(c.by_seed(metric), base.by_seed(metric))
    mean, half = agg.mean_ci(board.sign(metric) * diffs, CONFIDENCE)
    return Versus(len(seeds), mean, half, math.nan, math.nan)


def versus(board: TaskBoard, c: Config, base: Config, metric: str) -> tuple[Versus, bool]:
    """``c`` − ``base`` on ``metric`` paired by seed (the raw difference, mean ± t-interval),
    with rliable's probability of improvement and the (corrected) paired t-test."""
    ratio, corrected = test_train_ratio(c, base)
    seeds, diffs = agg.paired_differences(c.by_seed(metric), base.by_seed(metric))
    sign = board.sign(metric)
    mean, half = agg.mean_ci(diffs, CONFIDENCE)
    x, y = c.values(metric), base.values(metric)
    poi = agg.probability_of_improvement(sign * x, sign * y) if len(x) and len(y) else math.nan
    test = agg.corrected_resampled_ttest(diffs, ratio)
    return Versus(len(seeds), mean, half, poi, test.p), corrected


def versus_metrics(board: TaskBoard) -> list[str]:
    """Metrics compared with CE: the headline metrics (and the ID top-1 beside them) and ECE."""
    wanted = set(board.headline) | {"ece", board.primary, "top1"}
    return [m for m in board.metrics if m in wanted] or board.metrics[:1]

"""CE normalisation, the one rule behind both aggregates of the board: a score is the primary
metric relative to cross-entropy's mean on the task (metric/CE for ↑ metrics, CE/metric for ↓
ones), checked against a hand computation; the suite aggregate (detail pages) and an entry's
summary cell read the same scores."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lossbench.report import model as M
from lossbench.report.aggregates import build_aggregate, entry_aggregate, normalised_by_seed
from tests.test_report_answers import frame

CE = [0.80, 0.82, 0.84, 0.81]
OTHER = [0.85, 0.86, 0.90, 0.85]


def board(metric: str = "top1", higher_is_better: bool = True):
    runs = frame({"cross_entropy": CE, "other": OTHER}, metric=metric)
    runs["task_json"] = json.dumps({"headline": [metric],
                                    "higher_is_better": {metric: higher_is_better}})
    return M.build(runs, []).sections[0].boards[0]


def config(b, label: str):
    return next(c for c in b.configs if c.label == label)


def test_a_higher_is_better_score_is_the_value_over_the_baselines_mean():
    b = board()
    ce_mean = sum(CE) / len(CE)  # 0.8175
    scores = normalised_by_seed(b, config(b, "other"))
    assert list(scores) == [0, 1, 2, 3]
    assert list(scores.values()) == pytest.approx([v / ce_mean for v in OTHER], rel=1e-12)


def test_a_lower_is_better_score_is_the_baselines_mean_over_the_value():
    b = board("nll", higher_is_better=False)
    ce_mean = sum(CE) / len(CE)
    scores = normalised_by_seed(b, config(b, "other"))
    assert list(scores.values()) == pytest.approx([ce_mean / v for v in OTHER], rel=1e-12)


def test_the_baseline_scores_average_to_one():
    b = board()
    assert np.mean(list(normalised_by_seed(b, b.baseline()).values())) == pytest.approx(1.0)


def test_the_suite_aggregate_and_the_summary_cell_read_the_same_scores():
    b = board()
    row = next(r for r in build_aggregate([b]).rows if r.entry == "other")
    cell = entry_aggregate([b], "other")
    np.testing.assert_array_equal(row.scores, cell.scores)
    assert row.iqm == cell.iqm

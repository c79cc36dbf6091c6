"""Tie groups come from a paired test against the column's leader (Holm across the entries
compared), and classification and embedding entries are never ranked together.

Hand checks use three seeds: with ``df = 2`` the two-sided p-value of a paired t statistic ``t``
is ``1 − |t| / √(t² + 2)``.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from lossbench.record_format import RUN_COLUMNS
from lossbench.report import model as M
from lossbench.report.groups import ALPHA, groups_by_test
from lossbench.report.summary import Summary
from lossbench.report.summary_page import summary_matrix


def seeds(*values: float) -> dict[int, float]:
    return dict(enumerate(values))


def test_the_leader_and_every_entry_not_significantly_worse_share_group_one():
    samples = {
        "a": seeds(0.90, 0.92, 0.94),  # the leader (mean 0.92)
        # b − a = −0.01, 0, −0.02: t = −√3, p = 1 − √3/√5 = 0.225, not worse
        "b": seeds(0.89, 0.92, 0.92),
        "c": seeds(0.80, 0.82, 0.84),  # c − a = −0.10 at every seed: p = 0, worse
        "e": seeds(0.70, 0.72, 0.74),  # e − c = −0.10 at every seed: worse than c too
    }
    assert groups_by_test(samples) == {"a": 1, "b": 1, "c": 2, "e": 3}


def test_holm_keeps_three_borderline_entries_in_group_one_where_one_alone_is_worse():
    """x − leader = −0.03, −0.05, −0.04: t = −4√3, p = 1 − 6.928/√50 = 0.0202 < α. Alone it is
    worse; three such entries are each 3 × 0.0202 = 0.061 after Holm, so none is."""
    leader = seeds(1.00, 1.00, 1.00)
    x = seeds(0.97, 0.95, 0.96)
    assert 1 - 4 * math.sqrt(3) / math.sqrt(50) == pytest.approx(0.0202, abs=1e-4)
    assert groups_by_test({"leader": leader, "x": x}) == {"leader": 1, "x": 2}
    three = {"leader": leader, "x": x, "y": dict(x), "z": dict(x)}
    assert groups_by_test(three) == {"leader": 1, "x": 1, "y": 1, "z": 1}


def test_lower_is_better_metrics_lead_with_the_smallest_value():
    samples = {"low": seeds(0.01, 0.02, 0.03), "high": seeds(0.05, 0.06, 0.07)}  # ECE
    assert groups_by_test(samples, sign=-1.0) == {"low": 1, "high": 2}


def test_without_two_shared_seeds_no_difference_is_claimed():
    samples = {"a": {0: 0.9, 1: 0.9}, "b": {2: 0.1, 3: 0.1}, "c": {0: 0.1}}
    assert groups_by_test(samples) == {"a": 1, "b": 1, "c": 1}


def test_the_given_points_pick_the_leaders():
    """A column ranked by IQM: the leader is the highest point, not the highest mean."""
    samples = {"a": seeds(0.5, 0.5, 0.9), "b": seeds(0.6, 0.6, 0.6)}
    assert groups_by_test(samples, {"a": 0.5, "b": 0.6}) == {"b": 1, "a": 1}
    assert groups_by_test(samples, {"a": 0.5, "b": math.nan}) == {"a": 1}


def reference_groups(samples: dict[str, dict[int, float]]) -> dict[str, int]:
    """The same procedure from scipy.stats.ttest_rel and statsmodels' Holm."""
    rest = sorted(samples, key=lambda k: (-np.mean(list(samples[k].values())), k))
    out, group = {}, 0
    while rest:
        group += 1
        leader, others = rest[0], rest[1:]
        out[leader] = group
        if others:
            keys = sorted(others)
            pvalues, means = [], []
            for k in keys:
                shared = sorted(set(samples[k]) & set(samples[leader]))
                x = [samples[k][s] for s in shared]
                y = [samples[leader][s] for s in shared]
                pvalues.append(stats.ttest_rel(x, y).pvalue)
                means.append(np.mean(np.subtract(x, y)))
            reject = multipletests(pvalues, alpha=ALPHA, method="holm")[0]
            for k, r, mean in zip(keys, reject, means, strict=True):
                if not (r and mean < 0):
                    out[k] = group
        rest = [k for k in rest if k not in out]
    return out


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_groups_match_scipy_ttest_rel_and_statsmodels_holm(seed):
    rng = np.random.default_rng(seed)
    shared = rng.normal(0, 0.02, size=5)  # what a seed does to every entry
    samples = {f"e{i}": dict(enumerate(0.8 + 0.015 * i + shared + rng.normal(0, 0.01, 5)))
               for i in range(8)}
    expected = reference_groups(samples)
    assert groups_by_test(samples) == expected
    assert len(set(expected.values())) > 1  # the example separates something


# ---------------------------------------------------------------- the summary's columns

def record(suite: str, task: str, loss: str, seed: int, value: float,
           objective: str = "classification", metric: str = "top1") -> dict:
    row = {c: None for c in RUN_COLUMNS}
    row.update(spec_key=f"{suite}-{task}-{loss}-{seed}", loss=loss, loss_version="1",
               loss_hparams="{}", regularizer_hparams="{}", suite=suite, task=task,
               task_version="1", options="{}", seed=seed, status="ok", started_at="2026-01-01",
               task_json=json.dumps({"headline": [metric], "higher_is_better": {metric: True}}),
               card_json=json.dumps({"loss": {"name": loss, "hparams": {},
                                              "objective": objective}, "regularizer": None}),
               **{metric: value})
    return row


def runs(table: dict[tuple[str, str, str], list[float]],
         objectives: dict[str, str] | None = None, metric: str = "top1") -> pd.DataFrame:
    """``{(suite, task, loss): values by seed}`` as records (classification unless
    ``objectives`` says otherwise)."""
    objectives = objectives or {}
    return pd.DataFrame([record(suite, task, loss, seed, v,
                                objectives.get(loss, "classification"), metric)
                         for (suite, task, loss), values in table.items()
                         for seed, v in enumerate(values)])


def test_a_suite_column_pairs_its_scores_by_task_and_seed():
    frame = runs({("s", "t1", "cross_entropy"): [0.80, 0.82, 0.84],
                  ("s", "t1", "x"): [0.84, 0.85, 0.89],
                  ("s", "t2", "cross_entropy"): [0.50, 0.40, 0.60],
                  ("s", "t2", "x"): [0.55, 0.44, 0.66]})
    summary = M.build(frame, []).summary
    x = next(r for r in summary.rows if r.entry == "x")
    assert x.scores["s"] == pytest.approx({("s/t1", 0): 0.84 / 0.82, ("s/t1", 1): 0.85 / 0.82,
                                           ("s/t1", 2): 0.89 / 0.82, ("s/t2", 0): 0.55 / 0.5,
                                           ("s/t2", 1): 0.44 / 0.5, ("s/t2", 2): 0.66 / 0.5})
    # x beats CE at every (task, seed): x − CE normalised = .049, .037, .061, .1, .08, .12
    assert {r.entry: r.groups["s"] for r in summary.rows} == {"x": 1, "cross_entropy": 2}
    assert "own" not in x.groups  # entries of "its tasks" ran on different tasks: no group


def mixed_objectives() -> Summary:
    """Retrieval: two embedding losses far above the classifiers' penultimate features."""
    frame = runs({("metric_learning", "r", "cross_entropy"): [0.10, 0.11, 0.12],
                  ("metric_learning", "r", "clf"): [0.13, 0.14, 0.15],
                  ("metric_learning", "r", "emb_a"): [0.50, 0.52, 0.54],
                  ("metric_learning", "r", "emb_b"): [0.40, 0.42, 0.44]},
                 {"emb_a": "embedding", "emb_b": "embedding"}, metric="map_at_r")
    return M.build(frame, []).summary


def test_embedding_and_classification_entries_never_share_a_ranking():
    summary = mixed_objectives()
    assert summary.objectives() == ["classification", "embedding"]
    clf = {r.entry: r.groups["metric_learning"] for r in summary.ranking("classification")}
    emb = {r.entry: r.groups["metric_learning"] for r in summary.ranking("embedding")}
    assert clf == {"clf": 1, "cross_entropy": 2}  # each ranking starts at g1
    assert emb == {"emb_a": 1, "emb_b": 2}


def test_the_summary_shows_one_table_per_objective():
    summary = mixed_objectives()
    clf, emb = (summary_matrix(summary, o) for o in ("classification", "embedding"))
    assert "| clf |" in clf and "| cross_entropy |" in clf and "emb_" not in clf
    assert "| emb_a |" in emb and "| emb_b |" in emb and "clf" not in emb
    assert "g1" in clf and "g1" in emb

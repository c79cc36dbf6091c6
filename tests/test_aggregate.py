"""Aggregate statistics against values computed by hand (the golden fixture's numbers)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from lossbench import aggregate as agg

CE_TOP1 = np.array([0.80, 0.82, 0.84, 0.86])
FOCAL_TOP1 = np.array([0.83, 0.85, 0.86, 0.90])
T_975_DF3 = 3.182446305284263  # Student-t 97.5 % quantile, 3 degrees of freedom (tables)


def t_cdf_df3(t: float) -> float:
    """Closed-form Student-t CDF for 3 degrees of freedom."""
    x = t / math.sqrt(3)
    return 0.5 + (x / (1 + x * x) + math.atan(x)) / math.pi


def test_mean_ci_is_mean_and_t_half_width():
    # sd = sqrt((.03² + .01² + .01² + .03²) / 3), half = t · sd / √4
    sd = math.sqrt((0.03**2 * 2 + 0.01**2 * 2) / 3)
    mean, half = agg.mean_ci(CE_TOP1)
    assert mean == pytest.approx(0.83)
    assert half == pytest.approx(T_975_DF3 * sd / 2, rel=1e-9)


def test_mean_ci_of_one_value_has_no_interval():
    mean, half = agg.mean_ci(np.array([0.5, np.nan]))
    assert mean == 0.5 and math.isnan(half)


@pytest.mark.parametrize("diffs, side", [
    ([0.02, 0.03, 0.04], 1),  # scipy's 95 % interval (0.0052, 0.0548) lies above 0
    ([-0.02, -0.03, -0.04], -1),
    ([0.02, -0.01, 0.04], 0),  # it contains 0
])
def test_interval_side_says_where_the_t_interval_lies_as_scipy_computes_it(diffs, side):
    mean, half = agg.mean_ci(np.array(diffs))
    low, high = stats.t.interval(0.95, len(diffs) - 1, loc=np.mean(diffs),
                                 scale=stats.sem(diffs))
    assert int(low > 0) - int(high < 0) == side
    assert agg.interval_side(mean, half) == side


def test_interval_side_of_one_value_claims_no_direction():
    assert agg.interval_side(*agg.mean_ci(np.array([0.5]))) == 0


def test_paired_differences_use_only_shared_seeds_in_seed_order():
    seeds, diffs = agg.paired_differences({2: 0.9, 0: 0.8, 5: 0.1}, {0: 0.7, 2: 0.6, 3: 0.5})
    assert seeds == [0, 2]
    assert diffs == pytest.approx([0.1, 0.3])


def test_paired_ttest_without_correction_matches_scipy_ttest_rel():
    test = agg.corrected_resampled_ttest(FOCAL_TOP1 - CE_TOP1)
    ref = stats.ttest_rel(FOCAL_TOP1, CE_TOP1)
    assert test.t == pytest.approx(ref.statistic) and test.p == pytest.approx(ref.pvalue)


def test_paired_ttest_matches_the_hand_computed_t_and_p():
    # diffs .03 .03 .02 .04: mean .03, sd sqrt(.0002/3); t = .03 / (sd / 2)
    t = 0.03 / (math.sqrt(0.0002 / 3) / 2)
    test = agg.corrected_resampled_ttest(FOCAL_TOP1 - CE_TOP1)
    assert test.t == pytest.approx(t) and test.df == 3
    assert test.p == pytest.approx(2 * (1 - t_cdf_df3(t)))


def test_nadeau_bengio_correction_inflates_the_variance_by_1_plus_k_ratio():
    d = FOCAL_TOP1 - CE_TOP1
    plain, corrected = agg.corrected_resampled_ttest(d), agg.corrected_resampled_ttest(d, 0.25)
    # t_corrected = mean / sqrt((1/k + r) s²) = t_plain / sqrt(1 + k r)
    assert corrected.t == pytest.approx(plain.t / math.sqrt(1 + 4 * 0.25))


def test_paired_ttest_is_undefined_for_constant_differences():
    assert math.isnan(agg.corrected_resampled_ttest(np.array([0.1, 0.1, 0.1])).p)


def test_probability_of_improvement_counts_wins_and_half_ties():
    # focal beats CE in 12 of 16 run pairs and ties once (.86 = .86): (12 + 0.5) / 16
    assert agg.probability_of_improvement(FOCAL_TOP1, CE_TOP1) == pytest.approx(12.5 / 16)


def test_probability_of_improvement_averages_over_tasks():
    x = np.array([[1.0, 0.0], [1.0, 0.0]])
    y = np.array([[0.0, 1.0], [0.0, 1.0]])
    assert agg.probability_of_improvement(x, y) == pytest.approx(0.5)  # (1 + 0) / 2


# Two score matrices (runs × tasks, seed 7) and what rliable 1.2.0's
# ``metrics.probability_of_improvement`` and ``metrics.aggregate_iqm`` returned for them (computed
# once with rliable installed; lossbench no longer depends on it).
X = np.array([[0.0012, 0.2987, -0.2741], [-0.8906, -0.4547, -0.9916], [0.0601, 1.3402, -0.4922],
              [-0.6205, 0.4898, 0.3569], [0.1054, -0.9305, -0.0293]])
Y = np.array([[0.6953, -1.3442, -0.4576], [-1.9012, -1.2895, -1.8417],
              [-0.2351, -1.2674, 0.2713], [0.1568, -0.1869, -2.5168]])
TIES_X = np.array([[0.8, 0.9], [0.85, 0.9], [0.8, 0.7]])
TIES_Y = np.array([[0.8, 0.9], [0.7, 0.9], [0.8, 0.95]])


@pytest.mark.parametrize(("x", "y", "rliable"), [
    (X, Y, 0.6666666666666666), (TIES_X, TIES_Y, 0.5), (X[:, 0], Y[:, 0], 0.4)])
def test_probability_of_improvement_equals_rliables(x, y, rliable):
    assert agg.probability_of_improvement(x, y) == rliable


@pytest.mark.parametrize(("x", "rliable"), [(X, -0.15615555555555558), (TIES_X, 0.8375),
                                           (Y, -0.7967833333333334)])
def test_iqm_equals_rliables(x, rliable):
    assert agg.iqm(x) == pytest.approx(rliable, rel=1e-15)


def test_probability_of_improvement_is_nan_for_a_task_with_a_nan_score():
    x = np.array([[1.0, np.nan], [2.0, 1.0]])
    assert math.isnan(agg.probability_of_improvement(x, np.ones((2, 2))))


def test_iqm_is_the_mean_of_the_middle_half():
    assert agg.iqm(np.array([[1.0], [2.0], [3.0], [100.0]])) == pytest.approx(2.5)
    assert agg.iqm(FOCAL_TOP1 / 0.83) == pytest.approx(0.855 / 0.83)


def test_iqm_interval_of_two_runs_spans_both():
    # resamples of {0, 1}: means 0, .5, 1 with probabilities ¼, ½, ¼ → 95 % percentiles 0 and 1
    assert agg.iqm_interval(np.array([[0.0], [1.0]])) == (0.5, 0.0, 1.0)


def test_iqm_interval_is_deterministic_and_independent_of_other_calls():
    x = np.random.default_rng(3).normal(size=(5, 2))
    first = agg.iqm_interval(x)
    agg.iqm_interval(np.ones((7, 3)))
    assert agg.iqm_interval(x) == first


def test_iqm_interval_of_one_task_is_scipys_bootstrap_draw_for_draw():
    x = np.random.default_rng(1).normal(size=12)
    _, low, high = agg.iqm_interval(x, seed=5)
    ref = stats.bootstrap((x,), lambda v, axis: stats.trim_mean(v, 0.25, axis=axis),
                          n_resamples=agg.BOOTSTRAP_REPS, method="percentile",
                          rng=np.random.default_rng(5))
    assert low == pytest.approx(ref.confidence_interval.low, rel=1e-12)
    assert high == pytest.approx(ref.confidence_interval.high, rel=1e-12)


def test_iqm_interval_of_several_tasks_agrees_with_scipys_stratified_bootstrap():
    x = np.random.default_rng(2).normal(size=(6, 3))
    _, low, high = agg.iqm_interval(x, reps=20000)
    ref = stats.bootstrap(tuple(x.T), lambda *t, axis: stats.trim_mean(
        np.concatenate(t, axis=axis), 0.25, axis=axis), n_resamples=20000, method="percentile",
        rng=np.random.default_rng(5))  # each task's runs resampled on their own: stratified
    assert low == pytest.approx(ref.confidence_interval.low, abs=0.02)
    assert high == pytest.approx(ref.confidence_interval.high, abs=0.02)


def test_performance_profile_is_the_fraction_of_runs_above_tau():
    scores = np.array([[0.9, 1.1], [1.0, 1.3]])
    assert agg.performance_profile(scores, [0.95, 1.05, 1.2]).tolist() == [0.75, 0.5, 0.25]


def test_normalized_score_is_above_one_when_better_in_either_direction():
    assert agg.normalized_score(np.array([0.9]), 0.8, True) == pytest.approx([1.125])
    assert agg.normalized_score(np.array([0.02]), 0.04, False) == pytest.approx([2.0])


def test_intervals_overlap_only_when_the_gap_is_within_both_half_widths():
    assert agg.intervals_overlap((0.80, 0.02), (0.83, 0.02))
    assert not agg.intervals_overlap((0.80, 0.01), (0.83, 0.01))
    assert agg.intervals_overlap((0.80, math.nan), (0.90, 0.01))

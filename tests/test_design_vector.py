"""The design seeds' verdict vector (``lossbench.design_vector``): unadjusted verdicts over the
whole catalog and the score a recipe variant is chosen by."""

from __future__ import annotations

from scipy import stats

from lossbench.design_vector import design_vector, render_vector

from .test_validity import DESIGN, ce_values, finding, judge, metric, store

FOCAL = '{gamma = 2.0}'


def test_a_small_significant_effect_is_supported_without_holm(tmp_path):
    # focal's ECE is lower than CE's on every design seed: one-sided paired p well under 0.05
    store(tmp_path, "cross_entropy", ce_values(DESIGN))
    focal_ece = {0: 0.031, 1: 0.036, 2: 0.030, 3: 0.038, 4: 0.033}
    store(tmp_path, "focal", {s: {"ece": e, "top1": 0.9} for s, e in focal_ece.items()},
          {"gamma": 2.0})
    j = judge(tmp_path, finding("f", "focal", FOCAL, metric("ece", "a_better", 0.02, 0.04)))
    vec = design_vector(j)
    assert vec.verdicts[0][1] == "supported"
    diffs = [(0.05 + (s % 7) / 1000) - focal_ece[s] for s in DESIGN]
    p = stats.ttest_1samp(diffs, 0.0, alternative="greater").pvalue
    assert p < 0.05 and vec.score == 1


def test_any_declared_metric_the_other_way_contradicts(tmp_path):
    store(tmp_path, "cross_entropy", ce_values(DESIGN))
    # better ECE, but top-1 clearly worse although the source declares it better too
    store(tmp_path, "focal", {s: {"ece": 0.03 + s / 1000, "top1": 0.80 + s / 1000}
                              for s in DESIGN}, {"gamma": 2.0})
    text = finding("f", "focal", FOCAL, metric("ece", "a_better", 0.02, 0.04)
                   + metric("top1", "a_better", 0.95, 0.94))
    vec = design_vector(judge(tmp_path, text))
    assert vec.verdicts[0][1] == "contradicted"
    assert vec.score == -1 and vec.count("supported") == 0


def test_a_finding_without_records_is_missing_and_scores_zero(tmp_path):
    store(tmp_path, "cross_entropy", ce_values(DESIGN))
    vec = design_vector(judge(tmp_path, finding("f", "focal", FOCAL,
                                                metric("ece", "a_better", 0.02, 0.04))))
    assert vec.verdicts[0][1] == "missing" and vec.score == 0
    assert "1 missing" in render_vector(vec)

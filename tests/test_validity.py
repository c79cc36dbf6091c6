"""Judging the catalog on records (``lossbench.validity``) and the statistics behind it: Holm's
correction, the equivalence test and Kendall's τ-b, each against an independent reference
(statsmodels, scipy) on fixed numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from lossbench import aggregate as agg
from lossbench import validity
from lossbench.build import resolve_hparams
from lossbench.catalog import parse_catalog
from lossbench.comparable_runs import card_defaults
from lossbench.record import Record
from lossbench.registry import LOSSES
from lossbench.spec import RunSpec
from lossbench.store import load_results, write_record

DESIGN = [0, 1, 2, 3, 4]
CONFIRM = list(range(100, 110))
HEADER = f"""schema = 1
design_seeds = {DESIGN}
confirmation_seeds = {CONFIRM}
alpha = 0.05
"""


def finding(fid: str, a: str, a_hp: str, metrics: str, primary: str = "ece",
            b: str = "cross_entropy", b_hp: str = "{}") -> str:
    return f"""
[[finding]]
id = "{fid}"
suite = "standard"
task = "mnist1d"
a = "{a}"
a_hparams = {a_hp}
b = "{b}"
b_hparams = {b_hp}
source = "s"
url = "https://example.org"
setting = "CIFAR-10"
proxy = "standard/mnist1d"
claim = "c"
primary = "{primary}"
{metrics}"""


def metric(name: str, expect: str, a: float, b: float, margin: float | None = None,
           name_b: str | None = None) -> str:
    text = f'\n[[finding.metric]]\nname = "{name}"\nexpect = "{expect}"\na = {a}\nb = {b}\n'
    if margin is not None:
        text += f"margin = {margin}\n"
    if name_b is not None:
        text += f'name_b = "{name_b}"\n'
    return text


def store(results, loss: str, values: dict[int, dict[str, float]], hparams=None,
          version: str = "1") -> None:
    card = LOSSES.card(loss)
    for seed, metrics in values.items():
        spec = RunSpec(loss=loss, loss_version=card.version, suite="standard", task="mnist1d",
                       task_version=version, seed=seed,
                       loss_hparams=resolve_hparams(card, hparams))
        write_record(results, Record(spec, "ok", metrics, ""))


def judge(results, text: str, seed_set: str = "design", **kw) -> validity.Judgement:
    catalog = parse_catalog(HEADER + text)
    return validity.judge(catalog, load_results(results), seed_set, defaults=card_defaults,
                          **kw)


def ce_values(seeds, base=0.05):
    return {s: {"ece": base + (s % 7) / 1000, "top1": 0.90 + (s % 5) / 1000} for s in seeds}


# ---------------------------------------------------------------- statistics

def test_holm_equals_statsmodels_on_fixed_p_values():
    from statsmodels.stats.multitest import multipletests

    p = [0.01, 0.04, 0.03, 0.005, 0.2, 0.04]
    assert agg.holm(p) == pytest.approx(multipletests(p, method="holm")[1].tolist())


def test_holm_leaves_nan_tests_out_of_the_family():
    from statsmodels.stats.multitest import multipletests

    adjusted = agg.holm([0.01, math.nan, 0.03])
    assert math.isnan(adjusted[1])
    assert [adjusted[0], adjusted[2]] == pytest.approx(
        multipletests([0.01, 0.03], method="holm")[1].tolist())


def test_t_pvalue_equals_scipys_one_sample_test():
    d = np.array([0.02, 0.01, 0.03, -0.005, 0.015])
    for alt in ("two-sided", "greater", "less"):
        assert agg.t_pvalue(d, 0.001, alt) == pytest.approx(
            stats.ttest_1samp(d, 0.001, alternative=alt).pvalue)


def test_t_pvalue_of_constant_differences_is_0_on_the_alternatives_side_and_1_otherwise():
    d = np.full(5, 0.02)
    assert agg.t_pvalue(d, 0.0, "greater") == 0.0 and agg.t_pvalue(d, 0.0, "less") == 1.0
    assert agg.t_pvalue(np.zeros(5), 0.0, "two-sided") == 1.0


def test_equivalence_is_the_larger_of_two_one_sided_tests():
    d = np.array([0.002, -0.001, 0.003, 0.0, 0.001])
    lower = stats.ttest_1samp(d, -0.01, alternative="greater").pvalue
    upper = stats.ttest_1samp(d, 0.01, alternative="less").pvalue
    assert agg.equivalence_pvalue(d, 0.01) == pytest.approx(max(lower, upper))


def test_kendall_tau_b_equals_scipy_with_ties():
    x, y = [1, 2, 2, 3, 5], [0.1, 0.3, 0.2, 0.2, 0.9]
    assert agg.kendall_tau_b(x, y) == pytest.approx(stats.kendalltau(x, y, variant="b")[0])


def test_the_tau_interval_brackets_the_point_estimate_and_is_deterministic():
    rng = np.random.default_rng(0)
    per_seed = np.arange(5)[:, None] + rng.normal(0, 0.8, size=(5, 10))
    published = [1.0, 2.0, 3.0, 4.0, 5.0]
    tau, low, high = agg.kendall_tau_interval(published, per_seed)
    assert low <= tau <= high and -1 <= low and high <= 1
    assert (tau, low, high) == agg.kendall_tau_interval(published, per_seed)


# ---------------------------------------------------------------- verdicts

FOCAL = finding("focal-fl3", "focal", "{ gamma = 3.0 }",
                metric("ece", "a_better", 0.0148, 0.0435))


def test_a_better_on_every_seed_is_confirmed_with_its_ratio_to_the_published_effect(tmp_path):
    ce = ce_values(DESIGN)
    store(tmp_path, "cross_entropy", ce)
    store(tmp_path, "focal", {s: {"ece": v["ece"] - 0.01 - s / 10000} for s, v in ce.items()},
          hparams={"gamma": 3.0})
    (v,) = judge(tmp_path, FOCAL).findings
    assert v.verdict == "confirmed" and v.primary.n == 5
    assert v.primary.effect == pytest.approx(0.0102)  # lower ECE = better: positive
    assert v.primary.ratio == pytest.approx(0.0102 / (0.0435 - 0.0148))


def test_only_the_declared_hyperparameters_count(tmp_path):
    ce = ce_values(DESIGN)
    store(tmp_path, "cross_entropy", ce)
    # card-default focal (gamma = 2) is better, but the catalog declares gamma = 3
    store(tmp_path, "focal", {s: {"ece": v["ece"] - 0.01} for s, v in ce.items()})
    (v,) = judge(tmp_path, FOCAL).findings
    assert (v.verdict, v.primary.n) == ("missing", 0)


def test_a_significant_effect_against_the_claim_is_contradicted(tmp_path):
    ce = ce_values(DESIGN)
    store(tmp_path, "cross_entropy", ce)
    store(tmp_path, "focal", {s: {"ece": v["ece"] + 0.02 + s / 10000} for s, v in ce.items()},
          hparams={"gamma": 3.0})
    (v,) = judge(tmp_path, FOCAL).findings
    assert v.verdict == "contradicted" and v.contradicted_metrics(0.05) == ["ece"]


def test_a_secondary_metric_against_the_claim_contradicts_a_confirmed_primary(tmp_path):
    ce = ce_values(DESIGN)
    store(tmp_path, "cross_entropy", ce)
    store(tmp_path, "focal", {s: {"ece": v["ece"] - 0.01 - s / 10000,
                                  "top1": v["top1"] - 0.05 - s / 10000}
                              for s, v in ce.items()}, hparams={"gamma": 3.0})
    text = FOCAL + metric("top1", "tie", 0.95, 0.95, margin=0.01)
    (v,) = judge(tmp_path, text).findings
    assert v.primary.adj_support < 0.05
    assert v.verdict == "contradicted" and v.contradicted_metrics(0.05) == ["top1"]


def test_a_tie_within_its_margin_is_confirmed_by_the_equivalence_test(tmp_path):
    ce = ce_values(DESIGN)
    store(tmp_path, "cross_entropy", ce)
    store(tmp_path, "focal", {s: {"top1": v["top1"] + (s - 2) / 10000} for s, v in ce.items()},
          hparams={"gamma": 3.0})
    text = finding("focal-tie", "focal", "{ gamma = 3.0 }",
                   metric("top1", "tie", 0.95, 0.95, margin=0.01), primary="top1")
    (v,) = judge(tmp_path, text).findings
    assert v.verdict == "confirmed" and math.isnan(v.primary.ratio)


def test_holm_runs_across_the_catalog(tmp_path):
    ce = ce_values(DESIGN)
    store(tmp_path, "cross_entropy", ce)
    noisy = [-0.004, 0.011, 0.001, 0.012, 0.006]  # p ≈ 0.09 alone
    store(tmp_path, "focal", {s: {"ece": v["ece"] - d}
                              for (s, v), d in zip(ce.items(), noisy, strict=True)},
          hparams={"gamma": 3.0})
    j = judge(tmp_path, FOCAL + finding("second", "focal", "{ gamma = 3.0 }",
                                        metric("ece", "a_better", 0.01, 0.02)))
    p = stats.ttest_1samp(noisy, 0).pvalue
    assert [v.primary.p_support for v in j.findings] == pytest.approx([p, p])
    assert [v.primary.adj_support for v in j.findings] == pytest.approx([min(1, 2 * p)] * 2)


def test_a_same_entry_finding_compares_two_metrics_of_one_configuration(tmp_path):
    store(tmp_path, "cross_entropy", {s: {"ece_ts": 0.02 + s / 1000, "ece": 0.05}
                                      for s in DESIGN})
    text = finding("ts-lowers-ece", "cross_entropy", "{}",
                   metric("ece_ts", "a_better", 0.0135, 0.0435, name_b="ece"),
                   primary="ece_ts")
    (v,) = judge(tmp_path, text, directions={"ece_ts": False}).findings
    assert v.verdict == "confirmed" and v.primary.effect == pytest.approx(0.028)


def test_confirmation_seeds_are_judged_apart_from_design_seeds(tmp_path):
    ce = ce_values(DESIGN + CONFIRM)
    store(tmp_path, "cross_entropy", ce)
    store(tmp_path, "focal", {s: {"ece": v["ece"] + (0.01 if s in DESIGN else -0.01)
                                  + s / 100000} for s, v in ce.items()}, hparams={"gamma": 3.0})
    design, confirmation = judge(tmp_path, FOCAL), judge(tmp_path, FOCAL, "confirmation")
    assert design.findings[0].verdict == "contradicted"
    assert confirmation.findings[0].verdict == "confirmed"
    assert confirmation.findings[0].primary.seeds == tuple(CONFIRM)


def test_confirmation_needs_every_confirmation_seed(tmp_path):
    ce = ce_values(CONFIRM[:9])
    store(tmp_path, "cross_entropy", ce)
    store(tmp_path, "focal", {s: {"ece": v["ece"] - 0.01} for s, v in ce.items()},
          hparams={"gamma": 3.0})
    assert judge(tmp_path, FOCAL, "confirmation").findings[0].verdict == "missing"


def test_a_rank_table_reports_kendall_tau_against_the_published_values(tmp_path):
    losses = ["cross_entropy", "focal", "label_smoothing", "poly1", "focal_flsd53"]
    for i, loss in enumerate(losses):
        store(tmp_path, loss, {s: {"ece": 0.01 * (i + 1) + s / 100000} for s in DESIGN})
    published = [0.05, 0.04, 0.03, 0.02, 0.01]  # the reverse order: tau = -1
    table = """
[[ranking]]
id = "t"
suite = "standard"
task = "mnist1d"
metric = "ece"
source = "s"
url = "https://example.org"
setting = "x"
proxy = "y"
""" + "".join(f'\n[[ranking.entry]]\nentry = "{n}"\nhparams = {{}}\nvalue = {v}\n'
              for n, v in zip(losses, published, strict=True))
    (r,) = judge(tmp_path, FOCAL + table).rankings
    assert (r.n, r.tau) == (5, pytest.approx(-1.0))
    assert r.means == pytest.approx([0.01 * (i + 1) + 0.00002 for i in range(5)])


def test_the_summary_line_counts_the_verdicts(tmp_path):
    j = judge(tmp_path, FOCAL)
    assert j.summary_line() == ("design seeds 0–4: 0 of 1 findings confirmed (1 missing), "
                                "Holm at family-wise α = 0.05")


def test_the_board_summarises_the_catalog_and_its_page_holds_the_table(tmp_path):
    from lossbench import report
    from lossbench.report.validity import PAGE, TITLE

    ce = ce_values(DESIGN + CONFIRM)
    store(tmp_path, "cross_entropy", ce)
    store(tmp_path, "focal", {s: {"ece": v["ece"] - 0.01 - s / 100000} for s, v in ce.items()})
    pages = report.render_pages(tmp_path, tmp_path / "lb.md")
    summary, page = pages[tmp_path / "lb.md"], pages[tmp_path / "lb" / PAGE]
    assert TITLE in summary and f"[the validity page](lb/{PAGE})" in summary
    assert "confirmation seeds 100–109:" in summary
    assert "| focal-fl3-vs-ce-calibration" in page  # the shipped catalog's rows are on the page
    assert "## Rank agreement" in page


def test_each_disagreement_on_the_board_says_why_computed_and_measured(tmp_path):
    from lossbench.disagreement_notes import parse_notes
    from lossbench.report.validity import disagreements

    ce = ce_values(DESIGN + CONFIRM)
    store(tmp_path, "cross_entropy", ce)
    store(tmp_path, "focal", {s: {"ece": v["ece"] + 0.02 + s / 100000} for s, v in ce.items()},
          hparams={"gamma": 3.0})
    catalog = parse_catalog(HEADER + FOCAL)
    notes = parse_notes('schema = 1\n[[note]]\nfinding = "focal-fl3"\nmeasured = "CE is not '
                        'over-confident here"\nevidence = "docs/suites.md#x"\n', catalog)
    confirmation = validity.judge(catalog, load_results(tmp_path), "confirmation",
                                  defaults=card_defaults)
    (line,) = disagreements(confirmation, notes)["standard"]  # the page's and the caveat's line
    assert line.startswith("`focal-fl3` contradicted on ece")
    assert "*Why (reversed):* the proxy reverses it" in line
    assert line.endswith("*Measured:* CE is not over-confident here (`docs/suites.md#x`)")


def test_validate_prints_why_each_unconfirmed_finding_is_not_confirmed(tmp_path):
    from lossbench.validity_text import render_text, to_dict

    ce = ce_values(DESIGN + CONFIRM)
    store(tmp_path, "cross_entropy", ce)
    store(tmp_path, "focal", {s: {"ece": v["ece"] + 0.02 + s / 100000} for s, v in ce.items()},
          hparams={"gamma": 3.0})
    confirmation = judge(tmp_path, FOCAL, "confirmation")
    design = judge(tmp_path, FOCAL, "design")
    assert "  focal-fl3: reversed: the proxy reverses it" in render_text(confirmation, design)
    (f,) = to_dict(confirmation)["seed_sets"]["confirmation"]["findings"]
    assert f["reason"]["kind"] == "reversed"

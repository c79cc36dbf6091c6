"""Why a finding is not confirmed, computed from its own numbers (lossbench.diagnosis), and the
post-hoc notes of what was measured about it (lossbench.disagreement_notes)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.power import TTestPower

from lossbench.catalog import (
    CatalogError,
    CatalogFinding,
    MetricClaim,
    RankedEntry,
    Ranking,
    load_catalog,
)
from lossbench.diagnosis import (
    discordant_pairs,
    effect_power,
    finding_reason,
    observed_sd,
    ranking_reason,
    seeds_for_effect,
    seeds_for_tie,
)
from lossbench.disagreement_notes import NOTES_FILE, load_notes, parse_notes
from lossbench.suites.declared_findings import EntryRef
from lossbench.validity import FindingVerdict, MetricTest, RankingResult

ALPHA = 0.05


def claim(expect: str = "a_better", margin: float | None = None) -> MetricClaim:
    return MetricClaim("top1", expect, 0.80, 0.70 if expect != "tie" else 0.80, margin)


def verdict(verdict: str, *, effect: float, half: float, p: float, p_holm: float,
            published: float = 0.10, expect: str = "a_better", margin: float | None = None,
            contra: float = 1.0, n: int = 10, extra: tuple[MetricTest, ...] = ()
            ) -> FindingVerdict:
    c = claim(expect, margin)
    turn = -1.0 if expect == "a_worse" else 1.0
    test = MetricTest(c, n, tuple(range(n)), 0.8, 0.8 - effect, effect, half, turn * effect,
                      p, 1.0, published, adj_support=p_holm, adj_contra=contra)
    f = CatalogFinding("f", "noisy", "t", EntryRef("gce"), {}, EntryRef("cross_entropy"), {},
                       "src", "", "", "", "claim", "top1", (c,) + tuple(t.claim for t in extra))
    return FindingVerdict(f, "confirmation", "1", (test,) + extra, verdict)


def test_a_confirmed_or_missing_finding_has_no_reason():
    assert finding_reason(verdict("confirmed", effect=0.1, half=0.01, p=1e-4, p_holm=1e-3),
                          ALPHA) is None
    assert finding_reason(verdict("missing", effect=math.nan, half=math.nan, p=math.nan,
                                  p_holm=math.nan), ALPHA) is None


def test_a_primary_significantly_against_the_claim_is_reversed():
    v = verdict("contradicted", effect=-0.05, half=0.01, p=1.0, p_holm=1.0, contra=0.001)
    r = finding_reason(v, ALPHA)
    assert r.kind == "reversed" and "-0.050 ± 0.010" in r.text


def test_a_secondary_metric_against_the_claim_is_a_side_effect():
    side = MetricTest(MetricClaim("ece", "a_better", 0.1, 0.2), 10, tuple(range(10)), 0.2, 0.1,
                      -0.1, 0.02, -0.1, 1.0, 1e-5, 0.1, adj_contra=1e-4)
    v = verdict("contradicted", effect=0.02, half=0.03, p=0.2, p_holm=1.0, extra=(side,))
    r = finding_reason(v, ALPHA)
    assert r.kind == "side effect" and "`ece`" in r.text and "+0.020 ± 0.030" in r.text


def test_a_tie_beyond_its_margin_is_not_equivalent():
    v = verdict("contradicted", effect=0.03, half=0.005, p=1.0, p_holm=1.0, expect="tie",
                margin=0.01, published=0.0, contra=1e-4)
    assert finding_reason(v, ALPHA).kind == "not equivalent"


def test_significant_before_holm_only_is_lost_to_the_correction():
    v = verdict("unresolved", effect=0.04, half=0.03, p=0.01, p_holm=0.2)
    r = finding_reason(v, ALPHA)
    assert r.kind == "lost to the correction" and "p = 0.010" in r.text and "0.200" in r.text


def test_a_published_effect_above_the_interval_is_smaller_than_published():
    v = verdict("unresolved", effect=0.01, half=0.02, p=0.3, p_holm=1.0, published=0.10)
    r = finding_reason(v, ALPHA)
    assert r.kind == "smaller than published" and "ratio 0.10" in r.text


def test_an_a_worse_claim_is_read_in_its_own_direction():
    # published: A is 0.10 worse; the proxy has A 0.01 worse (directed +0.01): smaller than that
    v = verdict("unresolved", effect=-0.01, half=0.02, p=0.3, p_holm=1.0, published=-0.10,
                expect="a_worse")
    r = finding_reason(v, ALPHA)
    assert r.kind == "smaller than published" and "+0.010 ± 0.020" in r.text


def test_a_published_effect_inside_the_interval_is_within_the_noise_with_a_seed_count():
    v = verdict("unresolved", effect=0.02, half=0.05, p=0.4, p_holm=1.0, published=0.03)
    r = finding_reason(v, ALPHA)
    n = seeds_for_effect(0.03, observed_sd(v.primary))
    assert r.kind == "within the noise" and f"≈ {n} seeds" in r.text and n > 10


def test_a_tie_too_wide_for_its_margin_is_too_noisy_with_a_seed_count():
    v = verdict("unresolved", effect=0.0, half=0.02, p=0.3, p_holm=1.0, expect="tie",
                margin=0.01, published=0.0)
    r = finding_reason(v, ALPHA)
    assert r.kind == "too noisy for the margin" and "seeds would show equivalence" in r.text


def test_the_observed_sd_inverts_the_t_interval():
    d = np.array([0.01, 0.03, -0.02, 0.05, 0.02, 0.00, 0.04])
    half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / math.sqrt(len(d))
    test = MetricTest(claim(), len(d), tuple(range(len(d))), 0, 0, d.mean(), half, d.mean(),
                      0.1, 1.0, 0.1)
    assert observed_sd(test) == pytest.approx(d.std(ddof=1), rel=1e-12)


@pytest.mark.parametrize("d, n", [(0.5, 10), (0.3, 40), (1.2, 5)])
def test_effect_power_equals_statsmodels_paired_t_power(d, n):
    assert effect_power(n, d, 1.0) == pytest.approx(
        TTestPower().power(effect_size=d, nobs=n, alpha=0.05, alternative="two-sided"),
        rel=1e-6)


@pytest.mark.parametrize("effect, sd", [(0.03, 0.05), (0.01, 0.02), (0.1, 0.04)])
def test_seeds_for_effect_is_statsmodels_solved_sample_size_rounded_up(effect, sd):
    exact = TTestPower().solve_power(effect_size=effect / sd, alpha=0.05, power=0.8,
                                     alternative="two-sided")
    assert seeds_for_effect(effect, sd) == max(2, math.ceil(exact))


def test_seeds_beyond_the_cap_or_without_spread_are_none():
    assert seeds_for_effect(1e-4, 1.0) is None
    assert seeds_for_effect(0.1, 0.0) is None
    assert seeds_for_tie(0.01, math.nan) is None


def test_seeds_for_tie_gives_about_the_requested_power_by_simulation():
    sd, margin = 0.02, 0.01
    n = seeds_for_tie(margin, sd)
    rng = np.random.default_rng(0)
    d = rng.normal(0.0, sd, size=(4000, n))
    low = stats.ttest_1samp(d, -margin, axis=1, alternative="greater").pvalue
    high = stats.ttest_1samp(d, margin, axis=1, alternative="less").pvalue
    passed = np.mean(np.maximum(low, high) < 0.05)
    assert 0.75 <= passed <= 0.9
    d = rng.normal(0.0, sd, size=(4000, n - 3))
    low = stats.ttest_1samp(d, -margin, axis=1, alternative="greater").pvalue
    high = stats.ttest_1samp(d, margin, axis=1, alternative="less").pvalue
    assert np.mean(np.maximum(low, high) < 0.05) < passed


def ranking(values: list[float], means: list[float], tau: float = 0.0) -> RankingResult:
    names = ["a", "b", "c", "d", "e"]
    r = Ranking("tbl", "s", "t", "top1", "src", "", "", "",
                tuple(RankedEntry(EntryRef(x), {}, v) for x, v in zip(names, values, strict=True)))
    return RankingResult(r, "confirmation", "1", 10, tuple(means), tau, tau, tau)


def test_discordant_pairs_are_those_ordered_the_other_way():
    r = ranking([5, 4, 3, 2, 1], [5, 4, 3, 1, 2])
    assert discordant_pairs(r) == [("d", "e")]
    assert "1 of 10 pairs" in ranking_reason(r) and "d > e" in ranking_reason(r)


def test_a_table_in_the_published_order_has_no_reason():
    assert ranking_reason(ranking([5, 4, 3, 2, 1], [9, 8, 7, 6, 5], tau=1.0)) is None
    assert ranking_reason(ranking([5, 4, 3, 2, 1], [9, 8, 7, 6, 5], tau=math.nan)) is None


# ------------------------------------------------------------------ the measured notes

def test_the_shipped_notes_name_findings_of_the_shipped_catalog():
    notes = load_notes(load_catalog())
    assert notes, "no notes shipped"
    assert NOTES_FILE.is_file()


def test_every_shipped_note_points_at_a_document_and_section_that_exist():
    root = Path(__file__).resolve().parents[1]
    for note in load_notes(load_catalog()).values():
        path, _, section = note.evidence.partition("#")
        text = (root / path).read_text(encoding="utf-8")
        anchors = {_anchor(line) for line in text.splitlines() if line.startswith("#")}
        assert section in anchors, (note.finding, note.evidence)


def _anchor(heading: str) -> str:
    """GitHub's anchor of a markdown heading."""
    text = heading.lstrip("#").strip().lower()
    return "".join(c for c in text if c.isalnum() or c in " -_").replace(" ", "-")


def test_a_note_for_an_unknown_finding_fails_naming_it_and_the_valid_ones():
    text = 'schema = 1\n[[note]]\nfinding = "focal-fl3-vs-ce-calbration"\n' \
           'measured = "x"\nevidence = "docs/suites.md#a"\n'
    with pytest.raises(CatalogError, match="focal-fl3-vs-ce-calbration.*did you mean"):
        parse_notes(text, load_catalog())


@pytest.mark.parametrize("body, message", [
    ('finding = "focal-fl3-vs-ce-calibration"\nmeasured = ""\nevidence = "d#a"',
     "'measured' must be a non-empty string"),
    ('finding = "focal-fl3-vs-ce-calibration"\nmeasured = "x"',
     "'evidence' must be a non-empty string"),
    ('finding = "focal-fl3-vs-ce-calibration"\nmeasured = "x"\nevidence = "d"\nwhy = "y"',
     r"unknown field\(s\) \['why'\]"),
])
def test_a_malformed_note_fails_naming_the_field(body, message):
    with pytest.raises(CatalogError, match=message):
        parse_notes(f"schema = 1\n[[note]]\n{body}\n", load_catalog())


def test_two_notes_for_one_finding_fail():
    one = '[[note]]\nfinding = "focal-fl3-vs-ce-calibration"\nmeasured = "x"\nevidence = "d"\n'
    with pytest.raises(CatalogError, match="a second note"):
        parse_notes("schema = 1\n" + one + one, load_catalog())

"""Why a finding is not confirmed, computed from its own numbers.

:mod:`lossbench.validity` says *whether* the proxy agrees with a published finding; this module
says *in which way* it does not, from nothing but the finding's tests, so it applies alike to
the shipped catalog and to any catalog a reviewer brings (no per-finding text). One reason per
finding that is not confirmed (:func:`finding_reason`):

- ``reversed``: the primary metric is significantly against the published direction (Holm);
- ``side effect``: the primary metric is not against it, but another declared metric is;
- ``not equivalent``: a published tie, and the proxy's difference is significantly beyond the
  margin;
- ``lost to the correction``: significant as published at α alone, not after Holm's correction
  across the catalog;
- ``smaller than published``: the published effect lies above the proxy's 95 % interval, so the
  proxy's effect (in the published direction or not) is smaller than the source's;
- ``within the noise``: the published effect lies inside the interval; an effect of the
  published size would need :func:`seeds_for_effect` seeds to be detected at 80 % power;
- ``too noisy for the margin``: a published tie whose interval does not fit inside the margin;
  :func:`seeds_for_tie` seeds would show equivalence at 80 % power if the true difference were 0.

Seed counts use the spread of the observed paired differences, ``sd = half · √n / t(n − 1)``, and
ignore the Holm correction (they are lower bounds for the catalog's verdict). For rank tables,
:func:`ranking_reason` lists the pairs the proxy orders against the published table. Light: no
torch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from scipy import stats

from .catalog import RankedEntry
from .validity import FindingVerdict, Judgement, MetricTest, RankingResult

#: Power the seed counts are computed for.
POWER = 0.8
#: Above this many seeds a count is reported as "more than".
MAX_SEEDS = 1000

REASONS = ("reversed", "side effect", "not equivalent", "lost to the correction",
           "smaller than published", "within the noise", "too noisy for the margin")


@dataclass(frozen=True)
class Reason:
    """A computed reason: its kind (one of :data:`REASONS`) and the sentence that shows it."""

    kind: str
    text: str


def observed_sd(test: MetricTest, confidence: float = 0.95) -> float:
    """The standard deviation of the paired differences behind ``test``'s interval (NaN with
    fewer than two seeds)."""
    if test.n < 2 or math.isnan(test.half):
        return math.nan
    return test.half * math.sqrt(test.n) / stats.t.ppf(0.5 + confidence / 2, test.n - 1)


def effect_power(n: int, effect: float, sd: float, alpha: float = 0.05) -> float:
    """Power of the two-sided paired t-test at level ``alpha`` with ``n`` pairs when the true
    mean difference is ``effect`` and its standard deviation ``sd`` (non-central t)."""
    df = n - 1
    crit = stats.t.ppf(1 - alpha / 2, df)
    nc = abs(effect) * math.sqrt(n) / sd
    return float(stats.nct.sf(crit, df, nc) + stats.nct.cdf(-crit, df, nc))


def seeds_for_effect(effect: float, sd: float, alpha: float = 0.05,
                     power: float = POWER) -> int | None:
    """The fewest seeds (≥ 2) at which the paired t-test detects ``effect`` with ``power``;
    ``None`` above :data:`MAX_SEEDS` or when it cannot be computed."""
    if not (sd > 0 and effect) or math.isnan(sd) or math.isnan(effect):
        return None
    for n in range(2, MAX_SEEDS + 1):
        if effect_power(n, effect, sd, alpha) >= power:
            return n
    return None


def seeds_for_tie(margin: float, sd: float, alpha: float = 0.05,
                  power: float = POWER) -> int | None:
    """The fewest seeds at which the equivalence test (TOST, level ``alpha``, ±``margin``)
    passes with ``power`` when the true difference is 0: the mean must land within
    ``margin − t(1 − α, n − 1) · sd/√n`` of 0 (the spread taken as ``sd``)."""
    if not (sd > 0 and margin > 0) or math.isnan(sd):
        return None
    z = stats.norm.ppf(0.5 + power / 2)
    for n in range(2, MAX_SEEDS + 1):
        if margin * math.sqrt(n) / sd >= stats.t.ppf(1 - alpha, n - 1) + z:
            return n
    return None


def _seeds(n: int | None) -> str:
    return f"more than {MAX_SEEDS:,} seeds" if n is None else f"≈ {n} seeds"


def finding_reason(v: FindingVerdict, alpha: float, confidence: float = 0.95) -> Reason | None:
    """Why ``v`` is not confirmed (see the module docstring); ``None`` when it is confirmed or
    missing."""
    if v.verdict in ("confirmed", "missing"):
        return None
    p = v.primary
    if v.verdict == "contradicted":
        against = [t for t in v.tests if t.contradicted(alpha)]
        if p.contradicted(alpha):
            if p.claim.expect == "tie":
                return Reason("not equivalent",
                              f"published as a tie within ±{p.claim.margin:g}; the proxy's "
                              f"difference {p.effect:+.3f} ± {p.half:.3f} lies beyond it")
            return Reason("reversed", f"the proxy reverses it: {p.directed:+.3f} ± {p.half:.3f} "
                          f"in the published direction (published {abs(p.published):.3f})")
        names = ", ".join(f"`{t.claim.name}` (A − B {t.effect:+.3f} ± {t.half:.3f}, "
                          f"published {t.published:+.3f})" for t in against)
        return Reason("side effect", f"the primary metric is not significantly against it "
                      f"({p.directed:+.3f} ± {p.half:.3f} in the published direction), but "
                      f"{names} goes significantly the other way")
    if p.claim.expect == "tie":
        sd = observed_sd(p, confidence)
        margin = float(p.claim.margin or 0.0)
        return Reason("too noisy for the margin",
                      f"published as a tie within ±{margin:g}; the proxy's difference "
                      f"{p.effect:+.3f} ± {p.half:.3f} does not fit inside it; "
                      f"{_seeds(seeds_for_tie(margin, sd, alpha))} would show equivalence at "
                      f"{POWER:.0%} power if the true difference were 0")
    if p.p_support < alpha:
        return Reason("lost to the correction",
                      f"as published at α = {alpha:g} alone (p = {p.p_support:.3f}), not after "
                      f"Holm's correction across the catalog (p = {p.adj_support:.3f})")
    published = abs(p.published)
    if p.directed + p.half < published:
        return Reason("smaller than published",
                      f"the proxy's effect {p.directed:+.3f} ± {p.half:.3f} (in the published "
                      f"direction) lies below the published {published:.3f} "
                      f"(ratio {_ratio(p)})")
    sd = observed_sd(p, confidence)
    return Reason("within the noise",
                  f"the published effect {published:.3f} lies inside the proxy's interval "
                  f"{p.directed:+.3f} ± {p.half:.3f}; "
                  f"{_seeds(seeds_for_effect(published, sd, alpha))} would detect an effect of "
                  f"that size at {POWER:.0%} power (before the catalog-wide correction)")


def finding_reasons(j: Judgement) -> dict[str, Reason]:
    """Each finding of ``j`` that is neither confirmed nor missing, by id, with its
    :func:`finding_reason`, in the catalog's order."""
    reasons = ((v.finding.id, finding_reason(v, j.alpha)) for v in j.findings)
    return {fid: r for fid, r in reasons if r is not None}


def _ratio(p: MetricTest) -> str:
    r = p.directed / abs(p.published) if p.published else math.nan
    return "–" if math.isnan(r) else f"{r:.2f}"


def discordant_pairs(r: RankingResult) -> list[tuple[str, str]]:
    """The pairs (x, y) of the table's entries that the source ranks x above y by value and the
    proxy's means rank the other way (ties on either side are not discordant)."""
    entries = r.ranking.entries
    labels = _labels(entries)
    out = []
    for i in range(len(entries)):
        for j in range(i + 1, len(entries)):
            pub = entries[i].value - entries[j].value
            got = r.means[i] - r.means[j]
            if math.isnan(got) or pub == 0 or got == 0 or (pub > 0) == (got > 0):
                continue
            hi, lo = (i, j) if pub > 0 else (j, i)
            out.append((labels[hi], labels[lo]))
    return out


def _labels(entries: Sequence[RankedEntry]) -> list[str]:
    """Each entry's label, with its declared hyperparameters where two entries share a label."""
    names = [e.entry.label for e in entries]
    out = []
    for e, name in zip(entries, names, strict=True):
        hp = ", ".join(f"{k}={v}" for k, v in sorted(e.hparams.items()))
        out.append(name + (f" ({hp})" if hp and names.count(name) > 1 else ""))
    return out


def ranking_reason(r: RankingResult) -> str | None:
    """The pairs the proxy orders against the published table, as one sentence; ``None`` when
    it orders none against it or the table could not be judged."""
    if math.isnan(r.tau):
        return None
    pairs = discordant_pairs(r)
    if not pairs:
        return None
    total = len(r.ranking.entries) * (len(r.ranking.entries) - 1) // 2
    listed = "; ".join(f"{hi} > {lo}" for hi, lo in pairs)
    return (f"{len(pairs)} of {total} pairs ordered the other way than the published "
            f"`{r.ranking.metric}` values ({listed} as published)")


__all__ = ["MAX_SEEDS", "POWER", "REASONS", "Reason", "discordant_pairs", "effect_power",
           "finding_reason", "finding_reasons", "observed_sd", "ranking_reason", "seeds_for_effect",
           "seeds_for_tie"]

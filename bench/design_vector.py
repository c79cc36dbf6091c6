"""The catalog's verdict vector on the design seeds: what a recipe change is judged by.

Recipes are designed on the design seeds (0–4) and reported on the confirmation seeds
(100–109, :mod:`lossbench.validity`). A recipe variant must be judged on the **whole** catalog,
never on one finding, so this module reduces a design-seed :class:`~lossbench.validity.Judgement`
to one vector and one score:

- per finding, *supported* when the primary metric's one-sided paired test (TOST for a declared
  tie) has p < α and no declared metric is significantly the other way; *contradicted* when any
  declared metric is significantly the other way (p < α); *unresolved* otherwise; *missing*
  without records. The p-values are **not** Holm-adjusted: with five seeds and a catalog of
  thirty-odd findings Holm leaves almost nothing resolved, and the vector is for choosing
  between recipes, not for reporting (the confirmation seeds, with Holm, are the report);
- the **score** = supported − contradicted, with the mean Kendall τ-b over the rank tables as
  the tie-break.

``lossbench validate --design`` prints it (docs/suites.md, "Regime study", lists every variant's).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .validity import FindingVerdict, Judgement

VECTOR_VERDICTS = ("supported", "unresolved", "contradicted", "missing")


def unadjusted_verdict(v: FindingVerdict, alpha: float = 0.05) -> str:
    """One finding's design-seed verdict at unadjusted ``alpha`` (see the module docstring)."""
    if not v.tests or v.verdict == "missing":
        return "missing"
    if any(not math.isnan(t.p_contra) and t.p_contra < alpha for t in v.tests):
        return "contradicted"
    p = v.primary.p_support
    return "supported" if not math.isnan(p) and p < alpha else "unresolved"


@dataclass(frozen=True)
class DesignVector:
    """The whole catalog's unadjusted verdicts on one seed set, and their score."""

    seed_set: str
    alpha: float
    #: (finding id, verdict, primary effect signed so that positive = as published)
    verdicts: tuple[tuple[str, str, float], ...]
    taus: tuple[tuple[str, float], ...]  # (rank table id, Kendall τ-b)

    def count(self, verdict: str) -> int:
        return sum(v == verdict for _, v, _ in self.verdicts)

    @property
    def score(self) -> int:
        """Supported − contradicted."""
        return self.count("supported") - self.count("contradicted")

    @property
    def mean_tau(self) -> float:
        """Mean Kendall τ-b over the rank tables that have one (NaN when none has)."""
        taus = [t for _, t in self.taus if not math.isnan(t)]
        return sum(taus) / len(taus) if taus else math.nan

    def summary_line(self) -> str:
        counts = ", ".join(f"{self.count(v)} {v}" for v in VECTOR_VERDICTS if self.count(v))
        return (f"design vector ({self.seed_set} seeds, unadjusted α = {self.alpha:g}): "
                f"{counts}; score {self.score:+d}, mean Kendall τ-b {self.mean_tau:+.2f}")


def design_vector(j: Judgement, alpha: float | None = None) -> DesignVector:
    """The vector of ``j`` (normally the design seeds' judgement) at ``alpha`` (default: the
    judgement's family-wise α, here used per test)."""
    a = j.alpha if alpha is None else alpha
    return DesignVector(
        seed_set=j.seed_set, alpha=a,
        verdicts=tuple((v.finding.id, unadjusted_verdict(v, a),
                        v.primary.directed if v.tests else math.nan) for v in j.findings),
        taus=tuple((r.ranking.id, r.tau) for r in j.rankings))


def render_vector(vec: DesignVector) -> str:
    """One line per finding (its unadjusted verdict and primary effect, signed so that
    positive = as published), the rank tables' τ-b, then the summary line."""
    width = max((len(f) for f, _, _ in vec.verdicts), default=0)
    lines = [f"{f:<{width}}  {v:<12}  {e:+.3f}" if not math.isnan(e) else f"{f:<{width}}  {v}"
             for f, v, e in vec.verdicts]
    lines += [f"{t:<{width}}  Kendall τ-b {tau:+.2f}" for t, tau in vec.taus]
    return "\n".join(lines + ["", vec.summary_line()])


__all__ = ["DesignVector", "VECTOR_VERDICTS", "design_vector", "render_vector",
           "unadjusted_verdict"]

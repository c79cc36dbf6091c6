"""Judging the pre-registered catalog (:mod:`lossbench.catalog`) on stored records.

For one seed set (design or confirmation), each finding's configurations are read from the
records — the task's current version, default recipe (empty spec options), the hyperparameters
the catalog declares (the card's defaults updated by them), status ``ok`` — and paired by seed.
For every declared metric the per-seed difference is signed so that **positive = A better** by
the metric's direction, and ``directed`` = that effect turned to the published claim (positive =
as published; for ``tie`` the effect itself). Then:

- *support* p-value: for ``a_better``/``a_worse`` the two-sided paired t-test's p when the mean
  lies in the published direction (else 1); for ``tie`` the equivalence test (TOST) against the
  declared margin;
- *contradiction* p-value: the two-sided p when the mean lies against the published direction
  (else 1); for ``tie``, twice the smaller one-sided p that the mean lies beyond ±margin.

Holm's correction runs across the catalog at its family-wise ``alpha``: once over the primary
metrics' support p-values (the verdicts), once over every declared metric's contradiction
p-value. A finding is **confirmed** when its adjusted primary support p < alpha and no declared
metric is contradicted; **contradicted** when any declared metric's adjusted contradiction p <
alpha; **unresolved** otherwise; **missing** with fewer shared seeds than the set requires.

Rank tables get Kendall's τ-b between the published values and the means over the seeds every
ranked configuration has, with a seed-bootstrap interval (:func:`lossbench.aggregate.
kendall_tau_interval`). Light: no torch.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from . import aggregate as agg
from .catalog import SEED_SETS, Catalog, CatalogFinding, MetricClaim, Ranking
from .catalog_checks import resolved_hparams
from .comparable_runs import DEFAULT_OPTIONS, side_values
from .suites.declared_findings import EntryRef

if TYPE_CHECKING:
    import pandas as pd

VERDICTS = ("confirmed", "unresolved", "contradicted", "missing")

Defaults = Callable[[str, str], Mapping[str, Any] | None]


@dataclass(frozen=True)
class MetricTest:
    """One declared metric of a finding judged on one seed set (see the module docstring)."""

    claim: MetricClaim
    n: int
    seeds: tuple[int, ...]
    mean_a: float
    mean_b: float
    effect: float  # mean of A − B signed so that positive = A better by the metric's direction
    half: float  # half-width of its two-sided 95 % t-interval
    directed: float  # effect turned to the claim: positive = as published (tie: the effect)
    p_support: float
    p_contra: float
    published: float  # the published effect, same sign convention as ``effect``
    adj_support: float = math.nan
    adj_contra: float = math.nan

    @property
    def ratio(self) -> float:
        """Observed effect / published effect (NaN for a tie or a zero published effect)."""
        if self.claim.expect == "tie" or self.published == 0 or math.isnan(self.effect):
            return math.nan
        return self.effect / self.published

    def contradicted(self, alpha: float) -> bool:
        return not math.isnan(self.adj_contra) and self.adj_contra < alpha


@dataclass(frozen=True)
class FindingVerdict:
    finding: CatalogFinding
    seed_set: str
    task_version: str | None
    tests: tuple[MetricTest, ...]
    verdict: str
    note: str = ""

    @property
    def primary(self) -> MetricTest:
        return next(t for t in self.tests if t.claim.name == self.finding.primary)

    def contradicted_metrics(self, alpha: float) -> list[str]:
        return [t.claim.name for t in self.tests if t.contradicted(alpha)]

    def to_dict(self, alpha: float) -> dict[str, Any]:
        p = self.primary
        return {
            "id": self.finding.id, "seed_set": self.seed_set, "suite": self.finding.suite,
            "task": self.finding.task, "task_version": self.task_version,
            "a": self.finding.a.label, "a_hparams": dict(self.finding.a_hparams),
            "b": self.finding.b.label, "b_hparams": dict(self.finding.b_hparams),
            "primary": self.finding.primary, "expect": p.claim.expect, "n": p.n,
            "seeds": list(p.seeds), "effect": p.effect, "low": p.effect - p.half,
            "high": p.effect + p.half, "published_effect": p.published, "ratio": p.ratio,
            "p": p.p_support, "p_holm": p.adj_support, "verdict": self.verdict,
            "contradicted_metrics": self.contradicted_metrics(alpha),
            "metrics": [{"metric": t.claim.name, "metric_b": t.claim.metric_b,
                         "expect": t.claim.expect, "n": t.n, "mean_a": t.mean_a,
                         "mean_b": t.mean_b, "effect": t.effect, "half": t.half,
                         "published_effect": t.published, "ratio": t.ratio,
                         "p_support": t.p_support, "p_contra": t.p_contra,
                         "p_contra_holm": t.adj_contra} for t in self.tests],
            "note": self.note, "claim": self.finding.claim, "source": self.finding.source,
            "setting": self.finding.setting, "proxy": self.finding.proxy,
        }


@dataclass(frozen=True)
class RankingResult:
    ranking: Ranking
    seed_set: str
    task_version: str | None
    n: int  # seeds every ranked configuration has
    means: tuple[float, ...]  # per ranked entry, in the catalog's order (NaN when absent)
    tau: float
    low: float
    high: float
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        r = self.ranking
        return {"id": r.id, "seed_set": self.seed_set, "suite": r.suite, "task": r.task,
                "task_version": self.task_version, "metric": r.metric, "n": self.n,
                "entries": [e.entry.label for e in r.entries],
                "published": [e.value for e in r.entries], "means": list(self.means),
                "tau": self.tau, "low": self.low, "high": self.high, "note": self.note,
                "source": r.source}


@dataclass(frozen=True)
class Judgement:
    """Every finding and rank table of the catalog judged on one seed set."""

    seed_set: str
    seeds: tuple[int, ...]
    alpha: float
    findings: tuple[FindingVerdict, ...]
    rankings: tuple[RankingResult, ...]
    digest: str
    #: suites without a published rank table, with the reason (the catalog's ``[unranked]``)
    unranked: Mapping[str, str] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        return {v: sum(f.verdict == v for f in self.findings) for v in VERDICTS}

    def summary_line(self) -> str:
        """``confirmation seeds 100–109: 14 of 26 confirmed (8 unresolved, 3 contradicted, 1
        missing), Holm at family-wise α = 0.05``."""
        c = self.counts()
        rest = ", ".join(f"{c[v]} {v}" for v in VERDICTS[1:] if c[v])
        text = f"{self.seed_set} seeds {seed_text(self.seeds)}: {c['confirmed']} of " \
               f"{len(self.findings)} findings confirmed"
        if rest:
            text += f" ({rest})"
        return f"{text}, Holm at family-wise α = {self.alpha:g}"


def seed_text(seeds: Sequence[int]) -> str:
    """``0–4`` for a contiguous run, else the comma-separated list."""
    s = sorted(seeds)
    if s and s == list(range(s[0], s[-1] + 1)) and len(s) > 2:
        return f"{s[0]}–{s[-1]}"
    return ", ".join(map(str, s))


# ---------------------------------------------------------------- reading the records

def _config_values(rows: pd.DataFrame, ref: EntryRef, declared: Mapping[str, Any],
                   metrics: Sequence[str], defaults: Defaults,
                   seeds: Sequence[int]) -> tuple[dict[str, dict[int, float]], str]:
    """Per metric, seed → value of the configuration (the declared hyperparameters over the card's
    defaults), restricted to ``seeds``; and a note when the configuration cannot be read."""
    loss_hp, reg_hp = split_hparams(ref, declared, defaults)
    if loss_hp is None or (ref.regularizer is not None and reg_hp is None):
        return {m: {} for m in metrics}, f"the card of {ref.label!r} cannot be read"

    def target(kind: str, name: str) -> Mapping[str, Any] | None:
        return loss_hp if kind == "loss" else (reg_hp or {})

    side = side_values(rows, ref, metrics, target)
    wanted = set(seeds)
    return {m: {s: v for s, v in side.values[m].items() if s in wanted} for m in metrics}, \
        side.note


def split_hparams(ref: EntryRef, declared: Mapping[str, Any], defaults: Defaults,
                  ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The resolved (loss, regularizer) hyperparameters of a declared configuration: each card's
    defaults updated by the declared names it has."""
    loss_d = defaults("loss", ref.loss)
    reg_d = defaults("regularizer", ref.regularizer) if ref.regularizer else {}
    if loss_d is None:
        return None, None
    loss_decl = {k: v for k, v in declared.items() if k in loss_d}
    reg_decl = {k: v for k, v in declared.items() if k not in loss_d}
    return resolved_hparams(loss_d, loss_decl), resolved_hparams(reg_d, reg_decl)


def _task_rows(runs: pd.DataFrame, suite: str, task: str,
               version: str | None) -> tuple[pd.DataFrame, str | None]:
    from .versions import version_key

    if not len(runs):
        return runs, version
    rows = runs[(runs["suite"] == suite) & (runs["task"] == task)
                & (runs["options"] == DEFAULT_OPTIONS)]
    if version is None and len(rows):
        version = max((str(v) for v in rows["task_version"]), key=version_key)
    if len(rows):
        rows = rows[rows["task_version"].astype(str) == str(version)]
    return rows, version


# ---------------------------------------------------------------- judging

def _metric_test(claim: MetricClaim, a: Mapping[int, float], b: Mapping[int, float],
                 higher_is_better: bool, confidence: float) -> MetricTest:
    seeds, raw = agg.paired_differences(a, b)
    effect_d = raw if higher_is_better else -raw  # positive = A better
    effect, half = agg.mean_ci(effect_d, confidence)
    turn = -1.0 if claim.expect == "a_worse" else 1.0
    directed_d = turn * effect_d
    directed = turn * effect if not math.isnan(effect) else math.nan
    if claim.expect == "tie":
        p_support = agg.equivalence_pvalue(directed_d, claim.margin)
        beyond = min(agg.t_pvalue(directed_d, claim.margin, "greater"),
                     agg.t_pvalue(directed_d, -claim.margin, "less"))
        p_contra = min(1.0, 2 * beyond) if not math.isnan(beyond) else math.nan
    else:
        p = agg.t_pvalue(directed_d, 0.0, "two-sided")
        if math.isnan(p):
            p_support = p_contra = math.nan
        else:
            p_support = p if directed > 0 else 1.0
            p_contra = p if directed < 0 else 1.0
    mean_a = float(np.mean([a[s] for s in seeds])) if seeds else math.nan
    mean_b = float(np.mean([b[s] for s in seeds])) if seeds else math.nan
    return MetricTest(claim, len(seeds), tuple(seeds), mean_a, mean_b, effect, half, directed,
                      p_support, p_contra, claim.published_effect(higher_is_better))


def judge(catalog: Catalog, runs: pd.DataFrame, seed_set: str, *,
          defaults: Defaults, task_versions: Mapping[tuple[str, str], str] | None = None,
          min_seeds: int | None = None, directions: Mapping[str, bool] | None = None,
          confidence: float = 0.95) -> Judgement:
    """Judge every finding and rank table of ``catalog`` on ``runs`` (the wide records frame)
    restricted to the ``seed_set``'s seeds (``design`` or ``confirmation``).

    ``defaults(kind, name)``: a card's default hyperparameters (the live cards, or the stored
    ones: :func:`lossbench.report.catalog_section.stored_card_defaults`).
    ``task_versions[(suite, task)]``: the version to judge (default: the newest stored).
    ``min_seeds``: shared seeds a verdict needs (default: every seed of the set).
    ``directions``: metric → higher is better (default: the declared
    :data:`lossbench.metrics.METRICS`).
    """
    from .metrics import metric_info

    seeds = catalog.seeds(seed_set)
    need = len(seeds) if min_seeds is None else min_seeds
    versions = dict(task_versions or {})

    def higher(metric: str) -> bool:
        if directions is not None and metric in directions:
            return bool(directions[metric])
        return metric_info(metric).higher_is_better

    verdicts: list[FindingVerdict] = []
    for f in catalog.findings:
        rows, version = _task_rows(runs, f.suite, f.task, versions.get((f.suite, f.task)))
        names_a = [m.name for m in f.metrics]
        names_b = [m.metric_b for m in f.metrics]
        va, note_a = _config_values(rows, f.a, f.a_hparams, names_a, defaults, seeds)
        if f.same_entry:
            vb, note_b = _config_values(rows, f.a, f.a_hparams, names_b, defaults, seeds)
        else:
            vb, note_b = _config_values(rows, f.b, f.b_hparams, names_b, defaults, seeds)
        tests = tuple(_metric_test(m, va[m.name], vb[m.metric_b], higher(m.name), confidence)
                      for m in f.metrics)
        verdicts.append(FindingVerdict(f, seed_set, version, tests, "", note_a or note_b))
    verdicts = _holm_verdicts(verdicts, catalog.alpha, need)
    rankings = tuple(_rank(r, runs, seed_set, seeds, defaults, versions, confidence)
                     for r in catalog.rankings)
    return Judgement(seed_set, seeds, catalog.alpha, tuple(verdicts), rankings, catalog.digest,
                     dict(catalog.unranked))


def _holm_verdicts(verdicts: list[FindingVerdict], alpha: float,
                   need: int) -> list[FindingVerdict]:
    primary = [v.primary.p_support if v.primary.n >= need else math.nan for v in verdicts]
    adj_primary = agg.holm(primary)
    flat = [(i, j) for i, v in enumerate(verdicts) for j in range(len(v.tests))]
    contra = [verdicts[i].tests[j].p_contra if verdicts[i].tests[j].n >= need else math.nan
              for i, j in flat]
    adj_contra = dict(zip(flat, agg.holm(contra), strict=True))
    out = []
    for i, v in enumerate(verdicts):
        tests = tuple(replace(t, adj_contra=adj_contra[(i, j)],
                              adj_support=adj_primary[i] if t.claim.name == v.finding.primary
                              else math.nan)
                      for j, t in enumerate(v.tests))
        v = replace(v, tests=tests)
        if v.primary.n < need:
            verdict = "missing"
        elif any(t.contradicted(alpha) for t in tests):
            verdict = "contradicted"
        elif v.primary.adj_support < alpha:
            verdict = "confirmed"
        else:
            verdict = "unresolved"
        out.append(replace(v, verdict=verdict))
    return out


def _rank(r: Ranking, runs: pd.DataFrame, seed_set: str, seeds: Sequence[int],
          defaults: Defaults, versions: Mapping[tuple[str, str], str],
          confidence: float) -> RankingResult:
    rows, version = _task_rows(runs, r.suite, r.task, versions.get((r.suite, r.task)))
    per_entry = []
    notes = []
    for e in r.entries:
        values, note = _config_values(rows, e.entry, e.hparams, [r.metric], defaults, seeds)
        per_entry.append(values[r.metric])
        if note:
            notes.append(note)
    common = sorted(set.intersection(*(set(v) for v in per_entry))) if per_entry else []
    means = tuple(float(np.mean(list(v.values()))) if v else math.nan for v in per_entry)
    if len(common) < 2:
        absent = [e.entry.label for e, v in zip(r.entries, per_entry, strict=True) if not v]
        note = "; ".join(notes) or (f"no stored runs of {', '.join(absent)}" if absent else
                                    f"only {len(common)} seed(s) shared by every entry")
        return RankingResult(r, seed_set, version, len(common), means, math.nan, math.nan,
                             math.nan, note)
    matrix = np.array([[v[s] for s in common] for v in per_entry])
    tau, low, high = agg.kendall_tau_interval([e.value for e in r.entries], matrix, confidence)
    return RankingResult(r, seed_set, version, len(common),
                         tuple(float(x) for x in matrix.mean(axis=1)), tau, low, high,
                         "; ".join(notes))


__all__ = ["FindingVerdict", "Judgement", "MetricTest", "RankingResult", "SEED_SETS", "VERDICTS",
           "judge"]

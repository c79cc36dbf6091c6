"""Aggregate statistics over seeds and tasks: pure functions over arrays (rliable's style).

Score matrices are ``(runs × tasks)`` as in rliable (Agarwal et al., *Deep Reinforcement Learning
at the Edge of the Statistical Precipice*, NeurIPS 2021, arXiv:2108.13264). Nothing here reads
files or clocks; every random draw comes from an explicit, fixed seed, so the leaderboard built
from these functions is deterministic.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from .errors import LossbenchError

#: Fixed seed of every bootstrap: the same scores always give the same intervals.
BOOTSTRAP_SEED = 0
BOOTSTRAP_REPS = 2000


class MixedVersionsError(LossbenchError):
    """Scores of different versions of one task were passed to one aggregate."""


def mean_ci(values: np.ndarray, confidence: float = 0.95) -> tuple[float, float]:
    """Mean and the half-width of its Student-t confidence interval.

    ``half = t_{(1+c)/2, n-1} · s / √n`` with ``s`` the sample standard deviation (ddof = 1).
    NaN values are dropped; one value gives a NaN half-width (no interval from one seed).
    """
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    if len(v) == 0:
        return math.nan, math.nan
    mean = float(v.mean())
    if len(v) < 2:
        return mean, math.nan
    sem = float(v.std(ddof=1)) / math.sqrt(len(v))
    return mean, float(stats.t.ppf((1 + confidence) / 2, len(v) - 1) * sem)


def interval_side(mean: float, half: float) -> int:
    """Where the interval ``mean ± half`` lies relative to 0: ``+1`` wholly above, ``-1``
    wholly below, ``0`` when it contains 0 or is undefined (a NaN mean or half-width: without
    an interval no direction can be claimed). The one rule behind every verdict drawn from an
    interval (a finding's *reproduced* / *inverted*, a pair's *better* / *worse*)."""
    if mean - half > 0:
        return 1
    if mean + half < 0:
        return -1
    return 0


def intervals_overlap(a: tuple[float, float], b: tuple[float, float]) -> bool:
    """Whether two ``(mean, half-width)`` intervals overlap; a NaN half-width counts as overlap
    (without an interval a difference cannot be claimed)."""
    (ma, ha), (mb, hb) = a, b
    if any(math.isnan(v) for v in (ma, ha, mb, hb)):
        return True
    return abs(ma - mb) <= ha + hb


def paired_differences(x: Mapping[int, float], y: Mapping[int, float]) -> tuple[list[int],
                                                                             np.ndarray]:
    """``x[s] - y[s]`` over the seeds ``s`` both have (sorted), NaNs dropped.

    Pairing by seed removes the variance both runs share (the seed fixes the data split and the
    initialisation), which is why the versus-baseline comparison is paired.
    """
    seeds = sorted(s for s in set(x) & set(y)
                   if not (math.isnan(x[s]) or math.isnan(y[s])))
    return seeds, np.array([x[s] - y[s] for s in seeds], dtype=float)


@dataclass(frozen=True)
class PairedTest:
    """Result of a paired t-test on per-seed differences."""

    n: int
    mean: float
    t: float
    p: float
    df: int


def corrected_resampled_ttest(diffs: np.ndarray, test_train_ratio: float = 0.0) -> PairedTest:
    """Paired t-test on ``k`` per-seed differences with the Nadeau–Bengio variance correction.

    ``t = d̄ / sqrt((1/k + n_test/n_train) · s²)``, ``df = k - 1``, two-sided p-value, where ``s²``
    is the sample variance (ddof = 1) of the differences. Nadeau & Bengio, *Inference for the
    Generalization Error*, Machine Learning 52 (2003); recommended in Raschka, *Model Evaluation,
    Model Selection, and Algorithm Selection in Machine Learning* (arXiv:1811.12808, §4). The
    correction accounts for overlapping training sets across resamples; ``test_train_ratio = 0``
    gives the ordinary paired t-test (``scipy.stats.ttest_rel``). Fewer than two differences, or
    differences with zero variance, give NaN ``t`` and ``p``.
    """
    d = np.asarray(diffs, dtype=float)
    d = d[~np.isnan(d)]
    k = len(d)
    mean = float(d.mean()) if k else math.nan
    if k < 2:
        return PairedTest(k, mean, math.nan, math.nan, max(k - 1, 0))
    var = float(d.var(ddof=1))
    if np.ptp(d) == 0:  # constant differences (var may be a rounding residue, not 0)
        return PairedTest(k, mean, math.nan, math.nan, k - 1)
    t = mean / math.sqrt((1 / k + test_train_ratio) * var)
    p = float(2 * stats.t.sf(abs(t), k - 1))
    return PairedTest(k, mean, float(t), p, k - 1)


def probability_of_improvement(scores_x: np.ndarray, scores_y: np.ndarray) -> float:
    """rliable's probability of improvement ``P(X > Y)``: per task, the Mann–Whitney statistic
    ``(1/(N·M)) Σ_i Σ_j [x_i > y_j] + ½ [x_i = y_j]``, averaged over tasks (a task with a NaN
    score gives NaN, as rliable's ``scipy.stats.mannwhitneyu`` does).

    ``scores_x`` is ``(runs_x × tasks)``, ``scores_y`` is ``(runs_y × tasks)`` (a 1-D array is one
    task). Higher scores are better: negate lower-is-better metrics first.
    """
    x, y = _as_matrix(scores_x), _as_matrix(scores_y)
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"scores_x has {x.shape[1]} tasks, scores_y has {y.shape[1]}")
    a, b = x[:, None, :], y[None, :, :]  # (runs_x, runs_y, tasks)
    per_task = ((a > b) + 0.5 * (a == b)).mean(axis=(0, 1))
    per_task[np.isnan(x).any(axis=0) | np.isnan(y).any(axis=0)] = np.nan
    return float(per_task.mean())


def iqm(scores: np.ndarray) -> float:
    """Interquartile mean: the 25 % trimmed mean over all runs and tasks (rliable's IQM,
    ``scipy.stats.trim_mean(scores, 0.25, axis=None)``)."""
    return float(stats.trim_mean(_as_matrix(scores), 0.25, axis=None))


def iqm_interval(scores: np.ndarray, confidence: float = 0.95, reps: int = BOOTSTRAP_REPS,
                 seed: int = BOOTSTRAP_SEED) -> tuple[float, float, float]:
    """IQM and its stratified-bootstrap percentile interval ``(point, low, high)``.

    Each replicate resamples the runs of every task with replacement, independently per task
    (rliable's ``StratifiedBootstrap`` without task resampling), and takes the IQM; the interval
    is the ``(1 ± c)/2`` percentiles of the replicates. The generator is
    ``numpy.random.default_rng(seed)``, created for this call, so each entry's interval depends
    only on its own scores: adding an entry never moves another's interval. For one task this
    is ``scipy.stats.bootstrap``'s percentile interval draw for draw (tested); for several,
    the draws are taken in one call (``(reps, runs, tasks)``), which scipy's per-sample loop
    does not reproduce, so the two agree there to Monte-Carlo precision.
    """
    x = _as_matrix(scores)
    runs, tasks = x.shape
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, runs, size=(reps, runs, tasks))
    samples = x[idx, np.arange(tasks)]  # (reps, runs, tasks)
    replicates = stats.trim_mean(samples.reshape(reps, -1), 0.25, axis=1)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(replicates, [tail, 100 - tail])
    return iqm(x), float(low), float(high)


def performance_profile(scores: np.ndarray, taus: Sequence[float]) -> np.ndarray:
    """Score distribution (rliable's performance profile): for each ``τ``, the fraction of all
    runs over all tasks whose normalised score is above ``τ``."""
    x = _as_matrix(scores)
    return np.array([float(np.mean(x > tau)) for tau in taus])


def normalized_score(value: np.ndarray, baseline: float, higher_is_better: bool) -> np.ndarray:
    """Score relative to the baseline's mean: ``value / baseline`` for higher-is-better metrics,
    ``baseline / value`` for lower-is-better ones. 1 = the baseline; above 1 = better, whatever
    the metric's direction. NaN where the ratio is undefined (zero or NaN denominators)."""
    v = np.asarray(value, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = v / baseline if higher_is_better else baseline / v
    return np.where(np.isfinite(out), out, np.nan)


def require_single_version(versions: Mapping[str, Sequence[str]]) -> None:
    """Refuse to aggregate a task whose scores come from more than one task version.

    ``versions`` maps a task name to the versions its scores came from.
    """
    mixed = {t: sorted(set(v)) for t, v in versions.items() if len(set(v)) > 1}
    if mixed:
        detail = "; ".join(f"{t}: versions {', '.join(v)}" for t, v in sorted(mixed.items()))
        raise MixedVersionsError(
            f"refusing to aggregate scores from different task versions ({detail}); select one "
            f"version per task")


def _as_matrix(scores: np.ndarray) -> np.ndarray:
    x = np.asarray(scores, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.size == 0:
        raise ValueError(f"expected a non-empty (runs × tasks) matrix, got shape {x.shape}")
    return x


# ---------------------------------------------------------------- confirmatory tests

def t_pvalue(diffs: np.ndarray, threshold: float = 0.0, alternative: str = "two-sided") -> float:
    """p-value of a one-sample t-test of the per-seed differences against ``threshold``.

    ``alternative``: ``two-sided`` (mean ≠ threshold), ``greater`` (mean > threshold) or
    ``less`` (mean < threshold), as ``scipy.stats.ttest_1samp``. Differences with zero spread
    (every seed gives the same value) give p = 0 when that value lies on the alternative's side
    and 1 otherwise (scipy returns NaN there); fewer than two differences give NaN.
    """
    d = np.asarray(diffs, dtype=float)
    d = d[~np.isnan(d)]
    if len(d) < 2:
        return math.nan
    if alternative not in ("two-sided", "greater", "less"):
        raise ValueError(f"alternative must be two-sided, greater or less, got {alternative!r}")
    if np.ptp(d) == 0:
        gap = float(d[0]) - threshold
        side = {"two-sided": gap != 0, "greater": gap > 0, "less": gap < 0}[alternative]
        return 0.0 if side else 1.0
    return float(stats.ttest_1samp(d, threshold, alternative=alternative).pvalue)


def equivalence_pvalue(diffs: np.ndarray, margin: float) -> float:
    """Two one-sided tests (TOST; Schuirmann 1987) that the mean difference lies inside
    ``(−margin, margin)``: the larger of the two one-sided p-values."""
    return max(t_pvalue(diffs, -margin, "greater"), t_pvalue(diffs, margin, "less"))


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values (Holm 1979), controlling the family-wise error rate.

    With the ``m`` non-NaN p-values sorted ascending, ``p̃_(i) = max_{j ≤ i} min(1, (m − j + 1)
    p_(j))``; rejecting where ``p̃ < α`` keeps the family-wise error at ``α``. NaN entries (tests
    that could not run) stay NaN and are not counted in ``m``. Equals
    ``statsmodels.stats.multitest.multipletests(p, method="holm")[1]``.
    """
    p = np.asarray(pvalues, dtype=float)
    out = np.full(len(p), math.nan)
    idx = np.flatnonzero(~np.isnan(p))
    m = len(idx)
    if m == 0:
        return out.tolist()
    order = idx[np.argsort(p[idx], kind="stable")]
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out.tolist()


def kendall_tau_b(x: Sequence[float], y: Sequence[float]) -> float:
    """Kendall's τ-b between two rankings (ties in either corrected for; Kendall 1945), as
    ``scipy.stats.kendalltau(x, y, variant="b")``; NaN when either side is constant."""
    res = stats.kendalltau(np.asarray(x, dtype=float), np.asarray(y, dtype=float), variant="b")
    return float(res.statistic)


def kendall_tau_interval(published: Sequence[float], per_seed: np.ndarray,
                         confidence: float = 0.95, reps: int = BOOTSTRAP_REPS,
                         seed: int = BOOTSTRAP_SEED) -> tuple[float, float, float]:
    """τ-b between ``published`` values and the per-entry means of ``per_seed`` (``entries ×
    seeds``, the same seeds for every entry), with a percentile bootstrap interval over seeds:
    each replicate draws seeds with replacement (one draw shared by every entry, since a seed
    fixes the data split for all of them) and recomputes the means and τ-b. Returns
    ``(tau, low, high)``; replicates where τ is undefined are dropped."""
    v = np.asarray(per_seed, dtype=float)
    tau = kendall_tau_b(published, v.mean(axis=1))
    if v.shape[1] < 2:
        return tau, math.nan, math.nan
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, v.shape[1], size=(reps, v.shape[1]))
    taus = np.array([kendall_tau_b(published, v[:, d].mean(axis=1)) for d in draws])
    taus = taus[~np.isnan(taus)]
    if not len(taus):
        return tau, math.nan, math.nan
    lo, hi = np.quantile(taus, [(1 - confidence) / 2, (1 + confidence) / 2])
    return tau, float(lo), float(hi)

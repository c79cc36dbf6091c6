"""Tie groups from a paired test against the column's leader: the leaderboard's honest ranks.

A column of a table (one metric of one task, or one suite's CE-normalised scores across its
tasks) ranks its entries in groups instead of 1…n by means:

1. the *leader* is the entry with the best point estimate (mean, or the column's IQM);
2. every other entry is compared with the leader by a paired t-test over the samples both
   have — seeds within a task, ``(task, seed)`` pairs where a column aggregates several tasks
   (:func:`lossbench.aggregate.t_pvalue`, two-sided, as ``scipy.stats.ttest_rel``);
3. the p-values are Holm-adjusted across those comparisons (:func:`lossbench.aggregate.holm`,
   family-wise α = :data:`ALPHA`); group 1 is the leader and every entry *not significantly
   worse* than it (adjusted p ≥ α, or a mean difference in the entry's favour, or fewer than two
   shared samples: without a test no difference is claimed);
4. the best entry outside group 1 leads group 2 among the rest, and so on.

Within a group the order means nothing. Entries without a point estimate get no group.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping

import numpy as np

from .. import aggregate as agg

#: family-wise error rate of each step's Holm-adjusted comparisons with the leader
ALPHA = 0.05

Samples = Mapping[Hashable, float]


def versus_leader(leader: Samples, others: Mapping[str, Samples], sign: float = 1.0,
                  alpha: float = ALPHA) -> dict[str, bool]:
    """``{key: significantly worse than the leader}`` for each of ``others``: paired over the
    sample keys both have (NaNs dropped), two-sided paired t-test, Holm across ``others``;
    worse = adjusted p < ``alpha`` with the mean of ``sign · (other − leader)`` below 0
    (``sign`` = +1 when higher is better)."""
    keys = sorted(others)
    pvalues, means = [], []
    for key in keys:
        _, diffs = agg.paired_differences(dict(others[key]), dict(leader))
        pvalues.append(agg.t_pvalue(sign * diffs))
        means.append(float(np.mean(sign * diffs)) if len(diffs) else math.nan)
    adjusted = agg.holm(pvalues)
    return {key: (not math.isnan(p)) and p < alpha and mean < 0
            for key, p, mean in zip(keys, adjusted, means, strict=True)}


def groups_by_test(samples: Mapping[str, Samples], points: Mapping[str, float] | None = None,
                sign: float = 1.0, alpha: float = ALPHA) -> dict[str, int]:
    """``{key: group}`` (1 = best) for entries with paired ``samples`` (``{key: {pair: value}}``,
    a pair being a seed or a ``(task, seed)``), by the procedure of this module.

    ``points``: each entry's point estimate, which picks the leaders (default: the mean of its
    samples); ``sign`` = +1 when higher is better, −1 when lower is. Ties between equal points
    are broken by key, so the result is deterministic."""
    if points is None:
        points = {k: float(np.nanmean(list(v.values()))) if len(v) else math.nan
                  for k, v in samples.items()}
    rest = sorted((k for k in samples if k in points and not math.isnan(points[k])),
                  key=lambda k: (-sign * points[k], k))
    out: dict[str, int] = {}
    group = 0
    while rest:
        group += 1
        leader, others = rest[0], rest[1:]
        worse = versus_leader(samples[leader], {k: samples[k] for k in others}, sign, alpha)
        out[leader] = group
        for k in others:
            if not worse[k]:
                out[k] = group
        rest = [k for k in rest if k not in out]
    return out


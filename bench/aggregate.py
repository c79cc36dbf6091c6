"""Aggregate statistics over seeds and tasks: pure functions over arrays (rliable's style)."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats


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

"""How a mean and its interval are written, everywhere: ``0.8123 ± 0.0102``.

The one form of a mean ± the half-width of its interval — a task table's cell, a difference
against the baseline (signed: ``+0.0312 ± 0.0120``), a finding's effect in the validity tables
and in ``lossbench validate`` / ``lossbench findings``.
"""

from __future__ import annotations

import math


def plus_minus(mean: float, half: float, digits: int = 4, signed: bool = False) -> str:
    """``mean ± half`` with ``digits`` decimals (``signed``: the mean with its sign, for a
    difference); the mean alone when ``half`` is NaN (fewer than two values), ``–`` when the
    mean is NaN."""
    if math.isnan(mean):
        return "–"
    text = f"{mean:+.{digits}f}" if signed else f"{mean:.{digits}f}"
    return text if math.isnan(half) else f"{text} ± {half:.{digits}f}"

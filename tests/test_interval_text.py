"""The one way a mean ± its interval is written (board cells, differences against the baseline,
a finding's effect): fixed decimals, the sign on differences, the mean alone without an
interval, a dash without a mean."""

from __future__ import annotations

import math

from lossbench.interval_text import plus_minus


def test_a_mean_and_its_half_width_with_four_decimals():
    assert plus_minus(0.81234, 0.01016) == "0.8123 ± 0.0102"


def test_a_difference_carries_its_sign():
    assert plus_minus(0.0312, 0.012, signed=True) == "+0.0312 ± 0.0120"
    assert plus_minus(-0.0312, 0.012, 3, signed=True) == "-0.031 ± 0.012"


def test_without_an_interval_the_mean_stands_alone():
    assert plus_minus(0.5, math.nan) == "0.5000"
    assert plus_minus(0.5, math.nan, 3, signed=True) == "+0.500"


def test_without_a_mean_a_dash():
    assert plus_minus(math.nan, 0.1) == "–"

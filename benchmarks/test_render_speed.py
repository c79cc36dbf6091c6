"""The leaderboard's render time on the committed results (``nox -s bench``).

Rendering reads only the records (issue: a full render of the committed results under 5 s, with
no torch import). Measured as the summary + detail pages (no plots: those are redrawn only when
their inputs change), beside the time to merely read every record with pandas, so the figure
reads as a ratio on any machine: ``extra_info["vs_read_parquet"]``.
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import pytest

from lossbench import report

RESULTS = Path(__file__).resolve().parent.parent / "results"


def _read_all() -> float:
    t = time.perf_counter()
    for path in sorted(RESULTS.glob("*.parquet")):
        pd.read_parquet(path)
    return time.perf_counter() - t


@pytest.mark.skipif(not any(RESULTS.glob("*.parquet")), reason="no committed results")
def test_render_committed_results(benchmark):
    benchmark.pedantic(report.render_pages, args=(RESULTS, "lb.md", None, "p"), rounds=3,
                       iterations=1, warmup_rounds=1)
    benchmark.extra_info["records"] = sum(1 for _ in RESULTS.glob("*.parquet"))
    benchmark.extra_info["vs_read_parquet"] = benchmark.stats.stats.median / _read_all()

"""The committed leaderboard.md must be exactly what the committed results/ give.

Regenerate with `lossbench leaderboard` (or `nox -s leaderboard`) after adding results.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lossbench import report

ROOT = Path(__file__).resolve().parents[1]
RESULTS, LEADERBOARD = ROOT / "results", ROOT / "leaderboard.md"


def test_committed_leaderboard_matches_committed_results():
    has_results = RESULTS.is_dir() and any(RESULTS.glob("*.parquet"))
    if not LEADERBOARD.is_file():
        if has_results:
            pytest.fail(f"{RESULTS} holds results but {LEADERBOARD.name} is missing: run "
                        f"`lossbench leaderboard`")
        pytest.skip("no results and no leaderboard committed yet")
    expected = report.render(RESULTS, None, report.plots_link(RESULTS, LEADERBOARD))
    assert LEADERBOARD.read_text(encoding="utf-8") == expected, (
        "leaderboard.md is stale: run `lossbench leaderboard --results results --out "
        "leaderboard.md` and commit it")


def test_committed_leaderboard_is_a_one_screen_summary():
    """At most 40 KB, opening with the per-suite answers and the rankings; the full tables are
    on the detail pages (leaderboard/<suite>.md)."""
    if not LEADERBOARD.is_file():
        pytest.skip("no leaderboard committed yet")
    text = LEADERBOARD.read_text(encoding="utf-8")
    assert len(text.encode()) <= 40_000
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    assert headings[:1] == ["## Summary"]

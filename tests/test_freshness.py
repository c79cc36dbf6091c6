"""The leaderboard's stamp: what `lossbench run` uses to skip re-rendering an unchanged board."""

from __future__ import annotations

from lossbench import freshness
from lossbench.store import results_digest


def test_the_digest_follows_record_and_manifest_content(tmp_path):
    (tmp_path / "a.parquet").write_bytes(b"one")
    before = results_digest(tmp_path)
    (tmp_path / "a.parquet").write_bytes(b"two")
    changed = results_digest(tmp_path)
    (tmp_path / "_tuning").mkdir()
    (tmp_path / "_tuning" / "m.json").write_text("{}")
    assert len({before, changed, results_digest(tmp_path)}) == 3


def test_the_digest_ignores_plots_temporary_files_and_other_files(tmp_path):
    (tmp_path / "a.parquet").write_bytes(b"one")
    before = results_digest(tmp_path)
    (tmp_path / "_plots").mkdir()
    (tmp_path / "_plots" / "p.png").write_bytes(b"png")
    (tmp_path / ".a.parquet.123.tmp").write_bytes(b"partial")
    (tmp_path / "leaderboard.md").write_text("a board kept beside the records")
    assert results_digest(tmp_path) == before


def test_a_board_is_up_to_date_only_with_the_stamp_of_the_same_results(tmp_path):
    results, out = tmp_path / "results", tmp_path / "leaderboard.md"
    results.mkdir()
    (results / "a.parquet").write_bytes(b"one")
    link = freshness.plots_link(results, out)
    assert not freshness.up_to_date(results, out, link)  # no file
    out.write_text("# board\n\n" + freshness.stamp(results, link) + "\n")
    assert freshness.up_to_date(results, out, link)
    (results / "b.parquet").write_bytes(b"new record")
    assert not freshness.up_to_date(results, out, link)


def test_a_board_without_a_stamp_is_never_up_to_date(tmp_path):
    out = tmp_path / "leaderboard.md"
    out.write_text("# hand-written\n")
    assert not freshness.up_to_date(tmp_path, out, freshness.plots_link(tmp_path, out))

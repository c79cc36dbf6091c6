"""The leaderboard rendered from the golden result store (tests/fixtures/golden/): the summary
page (``leaderboard.md``) and the suite's detail page (``leaderboard/standard.md``)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lossbench import report
from lossbench.cli import main

GOLDEN = Path(__file__).parent / "fixtures" / "golden" / "results"


@pytest.fixture(scope="module")
def pages() -> dict[str, str]:
    texts = report.render_pages(GOLDEN, Path("leaderboard.md"), None, "results/_plots")
    return {p.as_posix(): t for p, t in texts.items()}


@pytest.fixture(scope="module")
def summary(pages) -> str:
    return pages["leaderboard.md"]


@pytest.fixture(scope="module")
def board(pages) -> str:
    """The detail page of the golden suite."""
    return pages["leaderboard/standard.md"]


def section(text: str, title: str) -> str:
    """The markdown from heading ``title`` to the next heading of the same or higher level."""
    start = text.index(title)
    level = title.split(" ", 1)[0]
    rest = text[start + len(title):]
    ends = [rest.find(f"\n{'#' * n} ") for n in range(1, len(level) + 1)]
    ends = [e for e in ends if e >= 0]
    return title + (rest[:min(ends)] if ends else rest)


def row(table: str, entry: str) -> list[str]:
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) > 1 and entry in cells[:2]:
            return cells
    raise AssertionError(f"no row {entry!r} in\n{table}")


def test_cells_are_mean_and_t_interval_over_seeds(board):
    table = section(board, "### standard / mnist1d (task v1)")
    assert "0.8300 ± 0.0411" in row(table, "cross_entropy")  # hand values: test_aggregate
    assert "0.8600 ± 0.0468" in row(table, "focal")


def test_rows_show_seeds_failures_tie_group_and_tuning_state(board):
    focal = row(section(board, "### standard / mnist1d (task v1)"), "focal")
    assert focal[0] == "1" and "4" in focal and "error ×1" in focal and "untuned" in focal
    ce = row(section(board, "### standard / mnist1d (task v1)"), "cross_entropy")
    # the intervals overlap, but focal − CE by seed is 0.03, 0.03, 0.02, 0.04: the paired test
    # against the leader (p 0.005) puts CE in group 2
    assert ce[0] == "2"


def test_best_is_bold_only_when_intervals_do_not_overlap(board):
    table = section(board, "### standard / mnist1d (task v1)")
    assert "**0.0250 ± 0.0205**" in row(table, "focal")  # ECE: .025±.021 vs .075±.021
    assert "**" not in " ".join(row(table, "focal")[5:6])  # top1 intervals overlap


def test_columns_state_their_direction(board):
    assert "top1 ↑" in board and "ece ↓" in board


def test_versus_ce_reports_paired_difference_probability_and_test(board):
    versus = section(board, "#### standard / mnist1d v1: versus cross-entropy")
    cell = row(versus, "focal")[3]
    assert cell.startswith("+0.0300 ± 0.0130") and "P 0.78" in cell and "p 0.005" in cell


def test_runs_with_recipe_options_get_their_own_section(board):
    default = section(board, "## Default recipe")
    smoke = section(board, '## Runs with recipe options `{"epochs":2}`')
    assert "0.5100" not in default and "0.5100 ± 0.0248" in smoke


def test_task_versions_are_separate_tables_and_never_aggregated_together(board):
    assert "### standard / mnist1d (task v0)" in board
    aggregate = section(section(board, "## Default recipe"), "### standard: aggregate over its")
    assert "Older task versions left out" in aggregate and "standard/mnist1d v0" in aggregate


def test_aggregate_iqm_of_ce_normalised_scores(board):
    aggregate = section(section(board, "## Default recipe"), "### standard: aggregate over its")
    assert row(aggregate, "focal (untuned)")[3].startswith(f"{0.855 / 0.83:.4f} [")


RANKING = "### Classification losses and regularizers: ranking per suite"


def test_summary_opens_with_the_per_suite_answers_then_the_ranking(summary):
    first_heading = next(line for line in summary.splitlines() if line.startswith("## "))
    assert first_heading == "## Summary"
    body = section(summary, "## Summary")
    assert body.index("### Clean data: accuracy") < body.index(RANKING) < \
        body.index("### How to read the summary")
    answer = section(body, "### Clean data: accuracy")
    assert "**1 better** (1 compared):" in answer
    assert row(answer, "focal")[1] == "+0.030 [+0.017, +0.043]"  # 0.03, 0.03, 0.02, 0.04


def test_summary_ranks_on_a_paired_test_against_the_leader(summary):
    matrix = section(summary, RANKING)
    focal = row(matrix, "focal")
    assert focal[-1].startswith(f"{0.855 / 0.83:.3f} [") and focal[-1].endswith(" g1")
    # intervals overlap, but paired by seed CE is significantly worse than focal
    assert row(matrix, "cross_entropy")[-1].endswith(" g2")


def test_every_summary_row_links_its_paper(summary):
    matrix = section(summary, RANKING)
    for entry in ("focal", "cross_entropy"):  # reference-style: the table stays narrow
        assert row(matrix, entry)[1] == f"[paper][p-{entry}]"
        assert f"\n[p-{entry}]: https://example.org/{entry}" in matrix


def test_summary_counts_better_tie_worse_versus_ce_per_suite(summary):
    counts = section(summary, "### Versus cross-entropy per suite")
    assert row(counts, "focal")[1] == "1 / 0 / 0"  # Δtop1 +0.030 ± 0.013 excludes 0


def test_summary_links_the_detail_pages_and_ends_with_provenance(summary):
    assert "- [standard](leaderboard/standard.md)" in summary
    assert summary.rstrip().splitlines()[-1].startswith("- ")
    assert summary.index("## Provenance") > summary.index("## Detail pages")


def test_provenance_comes_from_the_records(summary):
    block = section(summary, "## Provenance")
    assert "2026-01-01 … 2026-01-05" in block and "`0123456789abcdef`" in block
    assert "cpu:golden x1" in block and "ok 14, error 1" in block


def test_rendering_is_the_same_in_another_process_with_another_hash_seed(pages):
    """Byte-identical pages across interpreters: set and dict orders that depend on string
    hashing (``PYTHONHASHSEED``) must not leak into the leaderboard."""
    code = ("import json, sys\nfrom pathlib import Path\nfrom lossbench import report\n"
            f"texts = report.render_pages({str(GOLDEN)!r}, Path('leaderboard.md'), None, "
            "'results/_plots')\n"
            "sys.stdout.write(json.dumps({p.as_posix(): t for p, t in texts.items()}))")
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           timeout=300, check=True, env={**os.environ, "PYTHONHASHSEED": "12345"})
    assert json.loads(other.stdout) == pages


def test_scores_of_an_older_task_version_never_reach_a_table(tmp_path, pages):
    """The golden store holds cross-entropy runs of mnist1d version 0 beside version 1: setting
    their scores to 0 changes their own table only, never version 1's or the summary."""
    results = tmp_path / "results"
    shutil.copytree(GOLDEN, results)
    for path in results.glob("*.parquet"):
        table = pq.read_table(path)
        if table.column("task_version")[0].as_py() == "0":
            zeros = pa.array([0.0] * len(table), pa.float64())
            pq.write_table(table.set_column(table.schema.get_field_index("value"), "value", zeros),
                           path)
    texts = {p.as_posix(): t for p, t in
             report.render_pages(results, Path("leaderboard.md"), None, "results/_plots").items()}
    detail, before = texts["leaderboard/standard.md"], pages["leaderboard/standard.md"]
    assert "0.0000 ± 0.0000" in section(detail, "### standard / mnist1d (task v0)")
    title = "### standard / mnist1d (task v1)"
    assert section(detail, title) == section(before, title)

    def unstamped(text: str) -> list[str]:  # the freshness stamp hashes the changed records,
        # and the header names the (other) results folder
        return [line for line in text.splitlines()
                if "sha256" not in line and not line.startswith("_Generated by")]

    assert unstamped(texts["leaderboard.md"]) == unstamped(pages["leaderboard.md"])


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> Path:
    """A copy of the golden store with its leaderboard and plots written next to it."""
    root = tmp_path_factory.mktemp("written")
    shutil.copytree(GOLDEN, root / "results")
    report.write(root / "results", root / "leaderboard.md")
    return root


def test_write_draws_the_linked_plots(written):
    page = written / "leaderboard" / "standard.md"
    links = [line.split("](", 1)[1].rstrip(")") for line in page.read_text().splitlines()
             if line.startswith("- [") and ".png" in line]
    assert links and all((page.parent / link).is_file() for link in links)
    assert report.is_fresh(written / "results", written / "leaderboard.md")


def test_a_stale_detail_page_makes_the_leaderboard_stale(written, tmp_path):
    root = tmp_path / "copy"
    shutil.copytree(written, root)
    assert report.is_fresh(root / "results", root / "leaderboard.md")
    (root / "leaderboard" / "standard.md").write_text("edited by hand\n")
    assert not report.is_fresh(root / "results", root / "leaderboard.md")


def test_plots_folder_keeps_the_results_folder_readable_by_pandas(written):
    assert (written / "results" / "_plots").is_dir()
    assert len(pd.read_parquet(written / "results")) == 37  # every stored row; _plots/ skipped


def test_cli_check_reports_a_stale_leaderboard(tmp_path):
    out = tmp_path / "lb.md"
    out.write_text("stale\n")
    assert main(["leaderboard", "--results", str(GOLDEN), "--out", str(out), "--check"]) == 1
    assert main(["leaderboard", "--results", str(GOLDEN), "--out", str(out), "--no-plots"]) == 0
    assert main(["leaderboard", "--results", str(GOLDEN), "--out", str(out), "--check"]) == 0


def test_tuned_rows_are_marked_and_trials_hidden(tmp_path, monkeypatch):
    from lossbench import tune
    from tests.test_tune import _fake_sweep

    _fake_sweep(monkeypatch, lambda s: 0.5 + s.loss_hparams.get("gamma", 0) / 100)
    tune.tune(losses=["focal"], tasks=["standard/mnist1d"], trials=4, seeds=3, results=tmp_path)
    texts = report.render_pages(tmp_path, "lb.md", None, "p")
    page = texts[Path("lb/standard.md")]
    assert "tuned (K=4)" in page and "tuning-trial configuration(s)" in page
    assert "K = 4 configurations per entry" in texts[Path("lb.md")]


def test_a_suite_aggregate_covers_every_task_of_the_suite(tmp_path):
    from lossbench.record import Record
    from lossbench.spec import RunSpec
    from lossbench.store import write_record

    top1 = {("a", "cross_entropy"): 0.8, ("a", "focal"): 0.9,
            ("b", "cross_entropy"): 0.7, ("b", "focal"): 0.6}
    for (task, loss), value in top1.items():
        for seed in range(3):
            spec = RunSpec(loss=loss, loss_version="1", suite="standard", task=task,
                           task_version="1", seed=seed,
                           loss_hparams={"gamma": 2.0} if loss == "focal" else {})
            write_record(tmp_path, Record(spec, "ok", {"top1": value + seed / 100}, "", {}))
    page = report.render_pages(tmp_path, "lb.md", None, "p")[Path("lb/standard.md")]
    aggregate = section(page, "### standard: aggregate over its tasks")
    assert row(aggregate, "focal (gamma=2)")[1] == "2"


def _config(tuning: str, hparams: str, defaults: bool) -> report.Config:
    return report.Config("k", "focal", hparams, tuning, [], pd.DataFrame(), defaults=defaults)


def test_a_tuned_row_that_kept_the_defaults_also_counts_as_untuned_in_the_aggregate():
    kept = _config("tuned (K=4)", "gamma=2", defaults=True)
    assert kept.aggregate_keys == ["focal (tuned)", "focal (untuned)"]


def test_a_tuned_row_with_other_hyperparameters_counts_only_as_tuned():
    moved = _config("tuned (K=4)", "gamma=1.257", defaults=False)
    assert moved.aggregate_keys == ["focal (tuned)"]
    assert _config("untuned", "defaults", defaults=True).aggregate_keys == ["focal (untuned)"]


def test_smoke_runs_alone_are_summarised_and_said_to_be_smoke_runs(tmp_path):
    from lossbench.record import Record
    from lossbench.spec import RunSpec
    from lossbench.store import write_record

    for loss in ("cross_entropy", "focal"):
        for seed in range(2):
            spec = RunSpec(loss=loss, loss_version="1", suite="standard", task="mnist1d",
                           task_version="1", seed=seed, options={"epochs": 2})
            write_record(tmp_path, Record(spec, "ok", {"top1": 0.5 + seed / 10}, "", {}))
    summary = report.render(tmp_path, None, "p")
    assert 'runs with recipe options `{"epochs":2}`' in summary
    assert "| focal " in section(summary, "## Summary")

"""The leaderboard renders whatever the records are, and no string in them can inject markup."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from lossbench import report
from lossbench.runner import Record
from lossbench.spec import RunSpec
from lossbench.store import load_long, result_path, spec_of, write_record

GOLDEN = Path(__file__).parent / "fixtures" / "golden" / "results"
FAILED = ("error", "diverged", "timeout", "oom", "crashed")


def records_of(folder: Path) -> list[Record]:
    long = load_long(folder)
    out = []
    for _, rows in long.groupby("spec_key", sort=True):
        first = rows.iloc[0]
        metrics = {m: v for m, v in zip(rows["metric"], rows["value"], strict=True)
                   if isinstance(m, str)}
        out.append(Record(spec_of(first), first["status"], metrics, str(first["error"] or ""),
                          {"device": "cpu", "started_at": "2026-01-01T00:00:00+00:00"}))
    return out


GOLDEN_RECORDS = records_of(GOLDEN)


def render_all(folder: Path) -> str:
    """The summary and every detail page, one after the other."""
    return "\n".join(report.render_pages(folder, "lb.md", None, "plots").values())


def table_rows(markdown: str) -> list[list[str]]:
    rows = []
    for line in markdown.splitlines():
        if line.startswith("|"):
            rows.append(re.split(r"(?<!\\)\|", line.strip()[1:-1]))
    return rows


@pytest.mark.parametrize("seed", range(12))
def test_random_subsets_of_records_with_random_statuses_always_render(tmp_path, seed):
    rng = random.Random(seed)
    chosen = rng.sample(GOLDEN_RECORDS, rng.randint(1, len(GOLDEN_RECORDS)))
    for rec in chosen:
        status = rng.choice(["ok", "ok", *FAILED])
        metrics = rec.metrics if status == "ok" else {}
        if status == "ok" and rng.random() < 0.3:  # a record missing some metrics
            metrics = {k: v for k, v in metrics.items() if rng.random() < 0.5}
        write_record(tmp_path, Record(rec.spec, status, metrics, "" if status == "ok" else
                                      "RuntimeError: x", rec.provenance))
    text = render_all(tmp_path)
    assert text.startswith(report.HEADER)
    for row in table_rows(text):  # every table row has as many cells as its header
        assert len(row) >= 2


def test_a_single_failed_cross_entropy_run_renders(tmp_path):
    spec = RunSpec(loss="cross_entropy", loss_version="1", suite="standard", task="mnist1d",
                   task_version="1", seed=0, options={"epochs": 3})
    write_record(tmp_path, Record(spec, "timeout", error="run exceeded the 0.2s timeout"))
    assert "timeout ×1" in render_all(tmp_path)


def test_a_failed_baseline_beside_good_records_renders(tmp_path):
    for rec in GOLDEN_RECORDS:
        failed = rec.spec.loss == "cross_entropy" and rec.spec.regularizer is None
        write_record(tmp_path, Record(rec.spec, "timeout" if failed else rec.status,
                                      {} if failed else rec.metrics, "", rec.provenance))
    assert "## Provenance" in report.render(tmp_path, None, "plots")


MARKUP = "x|y\n# heading <script>alert(1)</script> [a](javascript:alert(1)) <img onerror=x>`"


def test_markup_in_names_and_hyperparameters_is_escaped(tmp_path):
    for seed in range(2):
        spec = RunSpec(loss=MARKUP, loss_version="1", suite="standard", task="mnist1d",
                       task_version="1", seed=seed, loss_hparams={MARKUP: MARKUP},
                       regularizer=MARKUP, regularizer_version="1")
        write_record(tmp_path, Record(spec, "ok", {"top1": 0.5},
                                      provenance={"device": MARKUP, "host": MARKUP}))
    text = render_all(tmp_path)
    for raw in ("<script>", "<img", "[a](javascript:", "\n# heading", "x|y"):
        assert raw not in text
    blocks = re.findall(r"(?m)(?:^\|.*\n?)+", text)  # runs of consecutive table lines
    tables = [table_rows(block) for block in blocks]
    board = next(t for t in tables if "entry" in [c.strip() for c in t[0]])
    assert all(len(row) == len(board[0]) for row in board)  # no cell shifted by a stray `|`


def test_files_that_are_not_records_are_listed_by_path_and_left_out(tmp_path):
    write_record(tmp_path, GOLDEN_RECORDS[0])
    foreign = result_path(tmp_path, "0123456789abcdef")
    pq.write_table(pq.read_table(result_path(GOLDEN, GOLDEN_RECORDS[0].spec.key)), foreign)
    text = report.render(tmp_path, None, "plots")
    assert "`0123456789abcdef.parquet`: its rows belong to spec key(s)" in text
    assert "runs: 1 " in text

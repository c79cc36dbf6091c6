"""Entries that train on some seeds only are flagged as unstable, not averaged.

A run *failed to train* when its top-1 (or the task's first headline metric) got at most 5 % of
the way from chance to perfect, and *trained* when it got at least 10 %; a configuration with
both is unstable.
"""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from lossbench.record_format import RUN_COLUMNS
from lossbench.report import model as M
from lossbench.report import stability as S
from lossbench.report.aggregates import build_aggregate
from lossbench.report.boards import build_task
from lossbench.report.configs import Tuning, config_keys


def runs_frame(values: dict[str, list[float]], num_classes: int | None = 10,
               metric: str = "top1", headline: tuple[str, ...] = ("top1",),
               extra: dict[str, float] | None = None) -> pd.DataFrame:
    """One ok run per (loss, seed) of standard/mnist1d with ``metric`` = the given values."""
    task = {"headline": list(headline), "higher_is_better": {metric: True}}
    if num_classes is not None:
        task["num_classes"] = num_classes
    rows = []
    for loss, seeds in values.items():
        for seed, v in enumerate(seeds):
            row = {c: None for c in RUN_COLUMNS}
            row.update(spec_key=f"{loss}-{seed}", loss=loss, loss_version="1",
                       loss_hparams="{}", regularizer_hparams="{}", suite="standard",
                       task="mnist1d", task_version="2", options="{}", seed=seed, status="ok",
                       started_at="2026-01-01", task_json=json.dumps(task),
                       card_json=json.dumps({"loss": {"name": loss, "hparams": {}},
                                             "regularizer": None}),
                       **{metric: v}, **(extra or {}))
            rows.append(row)
    return pd.DataFrame(rows)


def verdicts(runs: pd.DataFrame) -> dict[str, tuple[str, int, int, tuple[int, ...]]]:
    table = S.unstable_configs(runs)
    names = dict(zip(config_keys(runs), runs["loss"], strict=True))
    return {names[k]: (r.verdict, r.k, r.n, r.failed_seeds) for k, r in table.iterrows()}


def test_every_seed_trained_is_stable():
    assert verdicts(runs_frame({"ce": [0.88, 0.87, 0.89]}))["ce"] == (S.STABLE, 0, 3, ())


def test_seeds_split_between_trained_and_failed_are_unstable():
    """sum_exp on standard/mnist1d: seed 1 at 0.13 (chance 0.1), the others 0.64-0.88."""
    found = verdicts(runs_frame({"sum_exp": [0.639, 0.130, 0.878, 0.869, 0.880]}))
    assert found["sum_exp"] == (S.UNSTABLE, 1, 5, (1,))


def test_every_seed_failed_is_failed_to_train_not_unstable():
    assert verdicts(runs_frame({"x": [0.10, 0.12, 0.09]}))["x"] == (S.FAILED, 3, 3, (0, 1, 2))


def test_seeds_near_chance_on_either_side_of_the_band_are_not_a_split():
    """80 % label noise: every entry sits near chance; 0.14 and 0.17 are noise, not a split."""
    assert verdicts(runs_frame({"focal": [0.159, 0.143, 0.157]}))["focal"][0] == S.STABLE
    assert verdicts(runs_frame({"mae": [0.089, 0.169, 0.101]}))["mae"][0] == S.STABLE


def test_the_bands_at_ten_classes():
    # lift (v - 0.1) / 0.9: failed at v <= 0.145, trained at v >= 0.19
    assert verdicts(runs_frame({"x": [0.144, 0.191]}))["x"] == (S.UNSTABLE, 1, 2, (0,))
    assert verdicts(runs_frame({"x": [0.146, 0.189]}))["x"] == (S.STABLE, 0, 2, ())


def test_the_lift_is_the_way_from_chance_to_perfect():
    assert S.lift(0.1, 0.1) == 0.0 and S.lift(1.0, 0.1) == 1.0
    assert S.lift(0.55, 0.5) == pytest.approx(0.1)


def test_the_chance_level_follows_the_number_of_classes_the_record_states():
    # 6 classes (OOD's ID digits): chance 1/6, failed at <= 1/6 + 0.05 * 5/6 = 0.2083
    assert verdicts(runs_frame({"x": [0.20, 0.9]}, num_classes=6))["x"][0] == S.UNSTABLE
    assert verdicts(runs_frame({"x": [0.21, 0.9]}, num_classes=6))["x"][0] == S.STABLE
    # 2 classes: chance 0.5, failed at <= 0.525, trained at >= 0.55
    assert verdicts(runs_frame({"x": [0.52, 0.75]}, num_classes=2))["x"][0] == S.UNSTABLE
    assert verdicts(runs_frame({"x": [0.52, 0.51]}, num_classes=2))["x"][0] == S.FAILED


def test_records_without_a_chance_level_flag_nothing():
    assert verdicts(runs_frame({"x": [0.01, 0.9]}, num_classes=None))["x"][0] == S.STABLE


def test_a_task_without_top1_uses_its_first_headline_metric_and_its_recorded_chance():
    runs = runs_frame({"x": [0.02, 0.5, 0.6]}, num_classes=None, metric="p_at_1",
                      headline=("p_at_1", "map_at_r"), extra={"p_at_1_chance": 0.0197})
    table = S.unstable_configs(runs)
    assert table["metric"].tolist() == ["p_at_1"]
    assert verdicts(runs)["x"] == (S.UNSTABLE, 1, 3, (0,))


def test_failed_statuses_are_not_seeds_that_failed_to_train():
    runs = runs_frame({"x": [0.05, 0.9, 0.9]})
    runs.loc[0, "status"] = "diverged"
    assert verdicts(runs)["x"] == (S.STABLE, 0, 2, ())


def test_the_flag_text_says_how_many_seeds_failed():
    assert S.Flag(S.UNSTABLE, "top1", 5, 1).text == "unstable (1 of 5 seeds failed)"
    assert S.Flag(S.FAILED, "top1", 3, 3).text == "failed to train (3 of 3 seeds)"


def test_an_unstable_row_has_no_mean_no_group_and_keeps_its_seeds():
    runs = runs_frame({"ce": [0.88, 0.87, 0.89], "sum_exp": [0.64, 0.13, 0.88]})
    board = build_task("standard", "mnist1d", "2", runs, Tuning())
    key = {c.label: c.key for c in board.configs}
    assert math.isnan(board.cells[(key["sum_exp"], "top1")][0])
    assert board.tie_groups() == {key["ce"]: 1}
    assert board.flags[key["sum_exp"]].values == {0: 0.64, 1: 0.13, 2: 0.88}
    assert board.cells[(key["ce"], "top1")][0] == pytest.approx(0.88)


def test_the_tables_show_the_flag_and_the_values_by_seed():
    from lossbench.report.suite_page import task_table, versus_table

    runs = runs_frame({"cross_entropy": [0.88, 0.87, 0.89], "sum_exp": [0.64, 0.13, 0.88]})
    board = build_task("standard", "mnist1d", "2", runs, Tuning())
    text = task_table(board)
    assert "unstable (1 of 3 seeds failed)" in text
    assert "sum_exp: 0: 0.640, 1: 0.130 (failed), 2: 0.880" in text
    assert "unstable (1 of 3 seeds failed)" in versus_table(board)


def test_the_summary_shows_the_flag_instead_of_an_iqm():
    runs = runs_frame({"cross_entropy": [0.88, 0.87, 0.89], "sum_exp": [0.64, 0.13, 0.88]})
    summary = M.build(runs, []).summary
    row = next(r for r in summary.rows if r.entry == "sum_exp")
    assert row.cells["standard"] is None and "standard" not in row.groups
    assert row.flags["standard"] == "unstable (1 of 3 seeds failed) on standard/mnist1d"
    aggregate = build_aggregate(M.build(runs, []).sections[0].boards)
    assert [r.name for r in aggregate.rows] == ["cross_entropy (untuned)"]
    assert list(aggregate.flagged) == ["sum_exp (untuned)"]


def test_the_site_shows_the_flag_and_keeps_the_row_under_its_suite_filter():
    import re

    from lossbench.report import site

    runs = runs_frame({"cross_entropy": [0.88, 0.87, 0.89], "sum_exp": [0.64, 0.13, 0.88]})
    page = site.index_page(M.build(runs, []))
    attrs, cells = re.search(r'<tr ([^>]*data-entry="sum_exp"[^>]*)>(.*?)</tr>', page,
                             re.S).groups()
    assert 'data-suite="standard"' in attrs
    assert "unstable (1 of 3 seeds failed) on standard/mnist1d" in cells

"""The summary's per-suite answers: the entries significantly better than the baseline, paired
over (task, seed), Holm across the entries compared, each with its gain and calibration."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from lossbench.record_format import RUN_COLUMNS
from lossbench.report import answers as A
from lossbench.report import model as M
from lossbench.report.answer_blocks import answer_block, answers_glance
from lossbench.report.summary_page import render_summary

CE = [0.80, 0.82, 0.84, 0.81]
BETTER = [0.85, 0.86, 0.90, 0.85]  # − CE: +.05, +.04, +.06, +.04
NOISE = [0.79, 0.84, 0.83, 0.82]  # − CE: −.01, +.02, −.01, +.01


def frame(values: dict[str, list[float]], suite: str = "standard", metric: str = "top1",
          objectives: dict[str, str] | None = None, fidelity: dict[str, str] | None = None,
          ece: dict[str, list[float]] | None = None) -> pd.DataFrame:
    rows = []
    for loss, by_seed in values.items():
        for seed, v in enumerate(by_seed):
            card = {"name": loss, "hparams": {},
                    "objective": (objectives or {}).get(loss, "classification"),
                    "fidelity": (fidelity or {}).get(loss, "exact")}
            row = {c: None for c in RUN_COLUMNS}
            row.update(spec_key=f"{loss}-{seed}", loss=loss, loss_version="1",
                       loss_hparams="{}", regularizer_hparams="{}", suite=suite, task="t",
                       task_version="1", options="{}", seed=seed, status="ok",
                       started_at="2026-01-01",
                       task_json=json.dumps({"headline": [metric],
                                             "higher_is_better": {metric: True, "ece": False,
                                                                  "ece_ts": False}}),
                       card_json=json.dumps({"loss": card, "regularizer": None}),
                       **{metric: v})
            if ece and loss in ece:
                row.update(ece=ece[loss][seed], ece_ts=ece[loss][seed] / 2)
            rows.append(row)
    return pd.DataFrame(rows)


def accuracy_answer(model: M.Model) -> A.Answer:
    return next(a for a in model.answers if a.question.title == "Clean data: accuracy")


def test_an_entry_better_at_every_seed_is_listed_with_its_paired_gain_and_interval():
    model = M.build(frame({"cross_entropy": CE, "better": BETTER, "noise": NOISE}), [])
    a = accuracy_answer(model)
    assert [g.entry for g in a.winners] == ["better"]
    diffs = np.subtract(BETTER, CE)
    g = a.winners[0]
    assert g.mean == pytest.approx(diffs.mean())
    low, high = stats.t.interval(0.95, len(diffs) - 1, diffs.mean(), stats.sem(diffs))
    assert (g.mean - g.half, g.mean + g.half) == pytest.approx((low, high))


def test_the_p_values_are_holm_adjusted_across_the_entries_compared():
    model = M.build(frame({"cross_entropy": CE, "better": BETTER, "noise": NOISE}), [])
    gains = {g.entry: g for g in accuracy_answer(model).gains}
    raw = [stats.ttest_rel(BETTER, CE).pvalue, stats.ttest_rel(NOISE, CE).pvalue]
    holm = multipletests(raw, method="holm")[1]
    assert [gains["better"].p, gains["noise"].p] == pytest.approx(raw)
    assert [gains["better"].p_holm, gains["noise"].p_holm] == pytest.approx(holm)


def test_no_winner_says_no_entry_beats_cross_entropy():
    model = M.build(frame({"cross_entropy": CE, "noise": NOISE}), [])
    text = answer_block(accuracy_answer(model))
    assert "**No entry beats cross-entropy** (1 compared)." in text


def test_each_winner_shows_its_calibration_and_its_approximate_mark():
    ece = {"cross_entropy": [0.05] * 4, "better": [0.40, 0.42, 0.44, 0.46]}
    model = M.build(frame({"cross_entropy": CE, "better": BETTER}, ece=ece,
                          fidelity={"better": "approximate: no paper code"}), [])
    a = accuracy_answer(model)
    assert a.winners[0].ece == pytest.approx(0.43)
    assert a.winners[0].ece_ts == pytest.approx(0.215)
    text = answer_block(a)
    # gain 0.0475 ± t(0.975, 3) · 0.00957 / √4 = 0.0475 ± 0.0152
    assert "| better† | +0.047 [+0.032, +0.063] | 0.215 | 0.430 |" in text
    assert "ECE after TS 0.025, raw ECE 0.050" in text  # the baseline's, for comparison


def test_calibration_is_answered_raw_and_after_temperature_scaling():
    ece = {"cross_entropy": [0.10, 0.11, 0.12, 0.10], "calibrated": [0.02, 0.03, 0.02, 0.03]}
    model = M.build(frame({"cross_entropy": CE, "calibrated": CE}, ece=ece), [])
    by_metric = {a.metric: a for a in model.answers}
    assert [g.entry for g in by_metric["ece"].winners] == ["calibrated"]
    assert by_metric["ece"].winners[0].mean == pytest.approx(0.0825)  # CE − entry: ↓ metric
    assert [g.entry for g in by_metric["ece_ts"].winners] == ["calibrated"]


def test_retrieval_compares_embedding_losses_with_triplet_semihard_not_cross_entropy():
    values = {"cross_entropy": [0.10, 0.11, 0.12, 0.10], "triplet_semihard": CE,
              "ntxent": BETTER, "weak": NOISE}
    model = M.build(frame(values, "metric_learning", "map_at_r",
                          objectives={k: "embedding" for k in values if k != "cross_entropy"}),
                    [])
    (a,) = model.answers
    assert a.question.baseline == "triplet_semihard"
    assert a.baseline_value == pytest.approx(np.mean(CE))
    assert sorted(g.entry for g in a.gains) == ["ntxent", "weak"]  # CE is not compared
    assert [g.entry for g in a.winners] == ["ntxent"]


def test_the_first_table_of_the_summary_answers_every_question_in_one_row():
    model = M.build(frame({"cross_entropy": CE, "better": BETTER, "noise": NOISE}), [])
    text = render_summary(model, "", "leaderboard", "")
    summary = text.split("## Summary", 1)[1]
    first_table = [line for line in summary.split("\n\n###", 1)[0].splitlines()
                   if line.startswith("|")]
    rows = first_table[2:]  # header and alignment first
    assert len(rows) == len(model.answers)
    accuracy = next(r for r in rows if "Clean data: accuracy" in r)
    gain = np.subtract(BETTER, CE).mean()
    assert f"better +{gain:.3f}" in accuracy and "noise" not in accuracy


def test_the_glance_counts_the_winners_it_does_not_name():
    values = {"cross_entropy": CE, **{f"b{i}": [v + i / 1000 for v in BETTER] for i in range(5)}}
    model = M.build(frame(values), [])
    row = answers_glance([accuracy_answer(model)], shown=3)
    assert "(+2 more)" in row and row.count("+0.0") == 3

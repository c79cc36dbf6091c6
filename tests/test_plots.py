"""Leaderboard plots: the recorded reliability bins and the figures drawn from them."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from lossbench import report
from lossbench.metrics import calibration
from lossbench.record import Record
from lossbench.report import plots
from lossbench.spec import RunSpec
from lossbench.store import write_record


def test_reliability_bins_reproduce_ece():
    g = torch.Generator().manual_seed(0)
    logits, labels = torch.randn(200, 5, generator=g) * 3, torch.randint(0, 5, (200,), generator=g)
    bins = calibration.reliability_metrics(logits, labels)
    ece = sum(bins[f"reliability/bin_{k:02d}/fraction"]
              * abs(bins[f"reliability/bin_{k:02d}/accuracy"]
                    - bins[f"reliability/bin_{k:02d}/confidence"])
              for k in range(15) if bins[f"reliability/bin_{k:02d}/fraction"] > 0)
    assert ece == pytest.approx(calibration.ece(logits, labels, n_bins=15))
    assert sum(bins[f"reliability/bin_{k:02d}/fraction"] for k in range(15)) == pytest.approx(1)


def test_pooling_weights_each_run_by_its_bin_share():
    runs = pd.DataFrame({"reliability/bin_00/fraction": [0.2, 0.6],
                         "reliability/bin_00/confidence": [0.5, 0.7],
                         "reliability/bin_00/accuracy": [0.4, 0.8]})
    frac, conf, acc = plots.pooled_reliability(runs)
    assert frac[0] == pytest.approx(0.4)
    assert conf[0] == pytest.approx((0.2 * 0.5 + 0.6 * 0.7) / 0.8)
    assert acc[0] == pytest.approx((0.2 * 0.4 + 0.6 * 0.8) / 0.8)


def test_reliability_diagrams_are_drawn_when_runs_record_bins(tmp_path):
    g = torch.Generator().manual_seed(1)
    for seed in range(3):
        logits, labels = torch.randn(100, 3, generator=g), torch.randint(0, 3, (100,), generator=g)
        spec = RunSpec(loss="cross_entropy", loss_version="1", suite="standard", task="mnist1d",
                       task_version="1", seed=seed)
        metrics = {"top1": 0.5, "ece": calibration.ece(logits, labels),
                   **calibration.reliability_metrics(logits, labels)}
        write_record(tmp_path / "results", Record(spec, "ok", metrics, "", {}))
    report.write(tmp_path / "results", tmp_path / "lb.md")
    page = (tmp_path / "lb" / "standard.md").read_text()
    assert "[standard/mnist1d v1: reliability diagrams](../results/_plots/reliability__" \
           "standard__mnist1d__v1.png)" in page
    assert (tmp_path / "results" / "_plots" / "reliability__standard__mnist1d__v1.png").is_file()
    assert "reliability/" not in page.split("### Plots")[0]  # the bins are no table columns


def test_plots_are_byte_identical_when_redrawn(tmp_path):
    from tests.test_report import GOLDEN

    report.render(GOLDEN, tmp_path / "a")
    report.render(GOLDEN, tmp_path / "b")
    for png in sorted((tmp_path / "a").iterdir()):
        assert png.read_bytes() == (tmp_path / "b" / png.name).read_bytes(), png.name


def test_pooled_reliability_ignores_runs_without_recorded_bins():
    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0], [1.0, 0.5]])
    labels = torch.tensor([0, 1, 1])
    with_bins = {"top1": 1.0, **calibration.reliability_metrics(logits, labels)}
    runs = pd.DataFrame([with_bins, {"top1": 0.5}])  # the second run recorded no bins
    frac, _, _ = plots.pooled_reliability(runs)
    assert not pd.isna(frac).any() and abs(frac.sum() - 1.0) < 1e-9
    assert plots.pooled_reliability(pd.DataFrame([{"top1": 0.5}])) is None


@pytest.mark.parametrize(("metric", "mean", "half", "expected"), [
    ("top1", 0.9, 0.3, (0.3, 0.1)),  # top-1 cannot exceed 1
    ("ece", 0.05, 0.2, (0.05, 0.2)),  # nor ECE fall below 0
    ("nll", 0.4, 0.1, (0.1, 0.1)),  # inside the range: unchanged
])
def test_error_bars_are_clipped_to_the_metric_range(metric, mean, half, expected):
    assert plots.clipped_errors(mean, half, metric) == pytest.approx(expected)


def test_no_plot_ranks_configurations_across_tasks():
    from tests.test_report import GOLDEN

    m = report.build_model(GOLDEN)
    names = [name for section in m.sections
             for _, name, _ in plots.suite_jobs(section, "standard", "")]
    assert names and not any("rank" in n for n in names)


def test_plots_are_redrawn_only_when_the_results_or_the_plot_code_change(tmp_path, monkeypatch):
    import shutil

    from tests.test_report import GOLDEN

    results = tmp_path / "results"
    shutil.copytree(GOLDEN, results)
    drawn = []
    real_draw = plots.draw
    monkeypatch.setattr(plots, "draw", lambda jobs, folder: drawn.append(1) or real_draw(
        jobs, folder))
    report.write(results, tmp_path / "lb.md")
    report.write(results, tmp_path / "lb.md")
    assert len(drawn) == 1  # the second render found the stamp of the same inputs
    (results / "_plots" / "aggregate_iqm__standard.png").unlink()
    report.write(results, tmp_path / "lb.md")
    assert len(drawn) == 2  # a plot file missing: redrawn


# ---------------------------------------------------------------- plots a person reads

LONG = "logit_adjustment_with_a_name_longer_than_thirty_characters"


@pytest.fixture(scope="module")
def binned_board():
    """standard/mnist1d: cross_entropy and an entry with a long name, 3 seeds each, with the
    recorded reliability bins of one fixed set of logits and an ECE."""
    from lossbench.report import model as M
    from tests.test_report_stability import runs_frame

    g = torch.Generator().manual_seed(0)
    logits, labels = torch.randn(100, 3, generator=g), torch.randint(0, 3, (100,), generator=g)
    bins = calibration.reliability_metrics(logits, labels)
    runs = runs_frame({"cross_entropy": [0.80, 0.82, 0.84], LONG: [0.83, 0.85, 0.86]},
                      extra={"ece": 0.05, **bins})
    return M.build(runs, []).sections[0].boards[0]


def test_reliability_titles_are_whole_and_do_not_say_untuned(binned_board):
    fig = plots.reliability_figure(binned_board)
    titles = [ax.get_title().replace("\n", " ") for ax in fig.axes if ax.get_visible()]
    assert titles == [f"{LONG} (3 seeds)", "cross_entropy (3 seeds)"]  # best first, not cut
    assert "untuned" in fig._suptitle.get_text()  # said once, for the figure


def test_the_aggregate_labels_do_not_say_untuned(binned_board):
    from lossbench.report.aggregates import build_aggregate

    fig = plots.iqm_figure(build_aggregate([binned_board]), "standard")
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert sorted(labels) == sorted(["cross_entropy", LONG])  # whole (one word: not wrapped)
    assert "untuned" in fig.axes[0].get_xlabel()


def test_every_scatter_point_has_one_hover_title(binned_board, tmp_path):
    import re

    path = tmp_path / "scatter.svg"
    plots.save(plots.accuracy_ece_figure([binned_board]), path)
    titles = re.findall(r"<title>([^<]*)</title>", path.read_text(encoding="utf-8"))
    assert titles == [f"{LONG} on mnist1d: top1 0.8467, ECE 0.0500 (3 seeds)",
                      "cross_entropy on mnist1d: top1 0.8200, ECE 0.0500 (3 seeds)"]


def test_entry_page_reliability_diagrams_have_tick_values():
    import numpy as np

    from lossbench.report import entry_page

    svg = entry_page.reliability_svg(np.array([0.5, 0.5]), np.array([0.3, 0.8]),
                               np.array([0.25, 0.9]), "a title (3 seeds)")
    assert svg.count(">0</text>") == 2 and svg.count(">0.5</text>") == 2  # both axes
    assert svg.count(">1</text>") == 2 and "a title (3 seeds)</figcaption>" in svg


def test_card_text_shows_code_not_rest_markup():
    from lossbench.report import site_html

    assert site_html.rest_inline("Focal loss: ``L = -(1 - p_y)^γ log p_y``.") == \
        "Focal loss: <code>L = -(1 - p_y)^γ log p_y</code>."
    assert site_html.rest_inline(":math:`x<1` and <b>") == "<code>x&lt;1</code> and &lt;b&gt;"


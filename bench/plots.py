"""Leaderboard plots (matplotlib, headless Agg), drawn from what :mod:`lossbench.report` computed.

- reliability diagrams in relplot's binned style (Błasiok & Nakkiran, *Smooth ECE: Principled
  Reliability Diagrams via Kernel Smoothing*, arXiv:2309.12236; ``relplot.diagrams``), from the
  per-bin metrics a run records (:func:`reliability_metrics`), pooled over seeds;
- accuracy (primary metric) versus ECE per suite;
- the rank heat map (configurations × tasks);
- the aggregate IQM with its bootstrap interval, and the performance profile (rliable).

Files are written without timestamps (``metadata={"Software": None}``), so the same results
give the same PNG bytes with the same matplotlib.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .metrics import metric_info  # noqa: E402
from .metrics.calibration import RELIABILITY_BINS, reliability_metrics  # noqa: E402,F401

if TYPE_CHECKING:
    from .report import Section, TaskBoard

_FIELDS = ("confidence", "accuracy", "fraction")


# ---------------------------------------------------------------- recorded reliability bins

def pooled_reliability(runs, prefix: str = "reliability/") -> tuple[np.ndarray, np.ndarray,
                                                                      np.ndarray] | None:
    """Pool the recorded bins of several runs (rows of a wide frame): per bin the sample share
    (mean over runs), and the count-weighted mean confidence and accuracy. None if not recorded.
    """
    bins = sorted({c.split("/")[1] for c in runs.columns
                   if c.startswith(prefix) and c.count("/") == 2})
    recorded = runs[[c for c in runs.columns if c.startswith(prefix)]].notna().any(axis=1)
    if not bins or not recorded.any():
        return None
    runs = runs[recorded]  # runs of this configuration that carry the per-bin metrics
    frac, conf, acc = [], [], []
    for b in bins:
        f = runs[f"{prefix}{b}/fraction"].to_numpy(float)
        c = runs[f"{prefix}{b}/confidence"].to_numpy(float)
        a = runs[f"{prefix}{b}/accuracy"].to_numpy(float)
        keep = (f > 0) & ~np.isnan(c) & ~np.isnan(a)
        frac.append(float(np.nanmean(f)) if (~np.isnan(f)).any() else 0.0)
        w = f[keep]
        conf.append(float(np.average(c[keep], weights=w)) if w.sum() > 0 else math.nan)
        acc.append(float(np.average(a[keep], weights=w)) if w.sum() > 0 else math.nan)
    return np.array(frac), np.array(conf), np.array(acc)


# ---------------------------------------------------------------- the figures

def _save(fig, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fig.savefig(tmp, format="png", dpi=100, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    tmp.replace(path)


def reliability_figure(board: TaskBoard, prefix: str = "reliability/"):
    """One relplot-style binned diagram per configuration (pooled over its seeds)."""
    from relplot.diagrams import plot_rel_diagram_binned

    panels = []
    for _, c in board.ranked():
        pooled = pooled_reliability(c.ok, prefix)
        if pooled is not None:
            panels.append((c, pooled))
    cols = min(4, len(panels))
    rows = math.ceil(len(panels) / cols)
    with plt.rc_context():
        fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 4.3 * rows), squeeze=False)
        for ax in axes.flat[len(panels):]:
            ax.set_visible(False)
        for ax, (c, (frac, conf, acc)) in zip(axes.flat, panels, strict=False):
            n = len(frac)
            t = np.linspace(0, 1, 1000)
            mu = np.nan_to_num(acc, nan=0.0)[np.minimum((t * n).astype(int), n - 1)]  # binned
            alphas = frac / frac.max() if frac.max() > 0 else frac
            ece = float(np.nansum(frac * np.abs(acc - conf)))
            plot_rel_diagram_binned(t, mu, np.nan_to_num(acc, nan=0.0), alphas, ece,
                                    fig=fig, ax=ax)
            ax.set_title(f"{c.agg_key}\n{len(c.ok)} seeds", fontsize=11)
            ax.set_xlabel("confidence", fontsize=10)
            ax.set_ylabel("accuracy", fontsize=10)
            ax.tick_params(labelsize=9)
            for text in ax.texts:
                text.set_fontsize(10)
        fig.suptitle(f"{board.suite}/{board.task} v{board.version}: reliability (pooled seeds)",
                     fontsize=12)
        fig.tight_layout()
    return fig


def accuracy_ece_figure(boards: list[TaskBoard]):
    """Primary metric versus ECE, mean ± 95 % interval, one marker per configuration and task."""
    fig, ax = plt.subplots(figsize=(7, 5))
    markers = "osD^v<>p*h"
    for i, b in enumerate(boards):
        for _, c in b.ranked():
            (xm, xh), (ym, yh) = b.cells[(c.key, "ece")], b.cells[(c.key, b.primary)]
            if math.isnan(xm) or math.isnan(ym):
                continue
            ax.errorbar(xm, ym, xerr=np.nan_to_num(xh), yerr=np.nan_to_num(yh),
                        fmt=markers[i % len(markers)], capsize=2, alpha=0.8)
            ax.annotate(c.agg_key, (xm, ym), fontsize=7, xytext=(3, 3),
                        textcoords="offset points")
    primary = boards[0].primary
    ax.set_xlabel("ECE ↓")
    ax.set_ylabel(f"{primary} {metric_info(primary).arrow}")
    ax.set_title(f"{boards[0].suite}: {primary} vs ECE ("
                 + ", ".join(f"{markers[i % len(markers)]} {b.task}"
                             for i, b in enumerate(boards)) + ")", fontsize=10)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def rank_matrix(boards: list[TaskBoard]) -> tuple[list[str], list[str], np.ndarray]:
    """(row names, task names, ranks) with NaN where a configuration did not run on a task."""
    tasks = [f"{b.suite}/{b.task} v{b.version}" for b in boards]
    names = sorted({c.agg_key for b in boards for c in b.configs})
    ranks = np.full((len(names), len(boards)), np.nan)
    for j, b in enumerate(boards):
        for rank, c in b.ranked():
            ranks[names.index(c.agg_key), j] = rank
    return names, tasks, ranks


def rank_heatmap_figure(boards: list[TaskBoard]):
    names, tasks, ranks = rank_matrix(boards)
    fig, ax = plt.subplots(figsize=(max(5.0, 2.5 + 1.1 * len(tasks)), 1.5 + 0.35 * len(names)))
    im = ax.imshow(np.ma.masked_invalid(ranks), cmap="viridis_r", aspect="auto")
    ax.set_xticks(range(len(tasks)), tasks, rotation=30, ha="right", fontsize=8)
    ax.set_yticks(range(len(names)), names, fontsize=8)
    top = np.nanmax(ranks) if np.isfinite(ranks).any() else 1.0
    for (i, j), r in np.ndenumerate(ranks):
        if not math.isnan(r):  # dark text on the bright (good) end of viridis_r
            color = "k" if (r - 1) < (top - 1) / 2 else "w"
            ax.text(j, i, f"{int(r)}", ha="center", va="center", color=color, fontsize=8)
    fig.colorbar(im, ax=ax, label="rank (1 = best)")
    ax.set_title("rank per task on its primary metric", fontsize=10)
    fig.tight_layout()
    return fig


def iqm_figure(aggregate):
    rows = aggregate.rows
    fig, ax = plt.subplots(figsize=(7, 1 + 0.4 * len(rows)))
    y = np.arange(len(rows))[::-1]
    points = np.array([r.iqm[0] for r in rows])
    low = points - np.array([r.iqm[1] for r in rows])
    high = np.array([r.iqm[2] for r in rows]) - points
    ax.errorbar(points, y, xerr=[low, high], fmt="o", capsize=3)
    ax.axvline(1.0, color="k", lw=0.8, ls="--")
    ax.set_yticks(y, [r.name for r in rows], fontsize=8)
    ax.set_xlabel("IQM of CE-normalised score (1 = cross-entropy), 95 % bootstrap CI")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def profile_figure(aggregate):
    from .aggregate import performance_profile

    fig, ax = plt.subplots(figsize=(7, 4.5))
    taus = profile_taus([r.scores for r in aggregate.rows])
    for r in aggregate.rows:
        ax.step(taus, performance_profile(r.scores, taus), where="post", label=r.name)
    ax.axvline(1.0, color="k", lw=0.8, ls="--")
    ax.set_xlabel("CE-normalised score τ")
    ax.set_ylabel("fraction of runs with score > τ")
    ax.legend(fontsize=7, loc="lower left")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def profile_taus(scores: list[np.ndarray], points: int = 201) -> np.ndarray:
    """Thresholds spanning every finite score (and 1, the baseline), padded by 2 %."""
    finite = np.concatenate([s[np.isfinite(s)].ravel() for s in scores] + [np.array([1.0])])
    lo, hi = float(finite.min()), float(finite.max())
    pad = 0.02 * max(hi - lo, 1e-6)
    return np.linspace(lo - pad, hi + pad, points)


# ---------------------------------------------------------------- which plots a section gets

Job = Callable[[], object]


def _has_reliability(board: TaskBoard, prefix: str) -> bool:
    return any(pooled_reliability(c.ok, prefix) is not None for c in board.configs)


def jobs(section: Section, tag: str, prefix: str = "reliability/") -> list[tuple[str, str, Job]]:
    """(title, file name, figure factory) of every plot the section gets, in a stable order."""
    from .report import plot_name

    out: list[tuple[str, str, Job]] = []
    a = section.aggregate
    if a is not None and a.rows:
        out.append(("Aggregate IQM with 95 % bootstrap CIs", plot_name("aggregate_iqm", tag),
                    lambda a=a: iqm_figure(a)))
        out.append(("Performance profile", plot_name("performance_profile", tag),
                    lambda a=a: profile_figure(a)))
    if section.boards:
        out.append(("Rank heat map", plot_name("rank_heatmap", tag),
                    lambda boards=section.boards: rank_heatmap_figure(boards)))
    for suite in sorted({b.suite for b in section.boards}):
        boards = [b for b in section.boards if b.suite == suite and "ece" in b.metrics]
        if boards:
            out.append((f"{suite}: {boards[0].primary} vs ECE",
                        plot_name("accuracy_vs_ece", suite, tag),
                        lambda boards=boards: accuracy_ece_figure(boards)))
    for b in section.boards:
        if _has_reliability(b, prefix):
            out.append((f"{b.suite}/{b.task} v{b.version}: reliability diagrams",
                        plot_name("reliability", b.suite, b.task, f"v{b.version}", tag),
                        lambda b=b: reliability_figure(b, prefix)))
    return out


def draw_all(sections: list[Section], folder: Path) -> list[Path]:
    """Draw every section's plots into ``folder``; returns the paths written."""
    written = []
    for section in sections:
        for _, name, make in section.plots:
            path = folder / name
            _save(make(), path)
            written.append(path)
    return written

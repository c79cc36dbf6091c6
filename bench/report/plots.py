"""Leaderboard plots (matplotlib, headless Agg), drawn from the model (:mod:`.model`).

- binned reliability diagrams (per bin: accuracy bar against the diagonal, bar opacity = the
  bin's share of samples; the style of Błasiok & Nakkiran, *Smooth ECE*, arXiv:2309.12236), from
  the per-bin metrics a run records, pooled over seeds, on a grid of small panels;
- primary metric versus ECE per suite (newest task versions), intervals clipped to the metric's
  range, one colour per task, labels on the few best points of each task, and every point
  identifiable: the figure is an SVG whose points each carry a hover ``<title>`` (entry,
  hyperparameters, task, both values), which the HTML site shows inline;
- the suite aggregate: IQM of CE-normalised scores with bootstrap intervals.

Labels are whole (long ones wrap, none is cut) and say "(untuned)" nowhere: each figure says
once that configurations are the cards' untuned defaults unless marked *tuned*. No cross-task
rank heat map: ranks on different tasks are not comparable. Files are written without
timestamps (``metadata``; SVG ids from a fixed salt), so the same results give the same bytes
with the same matplotlib.
"""

from __future__ import annotations

import html
import math
import re
import textwrap
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..all_or_nothing import remove_leftovers, temp_path
from ..file_names import inside, slug
from ..text_safety import visible
from .aggregates import Aggregate, build_aggregate
from .boards import RELIABILITY_PREFIX, TaskBoard, newest_boards
from .configs import Config
from .model import Section
from .stored_metadata import arrow

LABELLED = 3  # points labelled in a scatter plot: the best few of each task on its primary metric
#: metrics bounded to [0, 1] (accuracies, AUROC, ECE, ...): intervals are clipped to it
UNIT_RANGE_PREFIXES = ("top1", "balanced_accuracy", "many_shot", "medium_shot", "few_shot",
                       "macro_f1", "ece", "smooth_ece", "adaptive_ece", "shift_top1",
                       "shift_ece", "p_at_1", "map_at_r", "r_precision", "nmi", "opis",
                       "noisy_fit")
#: said once per figure instead of "(untuned)" on every label
UNTUNED_NOTE = "card defaults (untuned) unless marked tuned"
COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf")  # matplotlib's tab10


def pyplot():
    """matplotlib's pyplot on the headless Agg backend, imported only when a figure is drawn
    (listing the plots of a page needs no matplotlib)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    matplotlib.rcParams["svg.hashsalt"] = "lossbench"  # the same ids in every drawing
    matplotlib.rcParams["svg.fonttype"] = "none"  # text stays text (searchable, selectable)
    return plt


def metric_range(metric: str) -> tuple[float, float]:
    """The values a metric can take: [0, 1] for accuracies, rates, AUROC and calibration
    errors; [0, ∞) otherwise (NLL, Brier, cost ratios)."""
    if metric.startswith(UNIT_RANGE_PREFIXES) or "auroc" in metric or "fpr" in metric:
        return 0.0, 1.0
    return 0.0, math.inf


def clipped_errors(mean: float, half: float, metric: str) -> tuple[float, float]:
    """(lower, upper) error-bar lengths of ``mean ± half`` clipped to the metric's range."""
    if math.isnan(half):
        return 0.0, 0.0
    lo, hi = metric_range(metric)
    return mean - max(lo, mean - half), min(hi, mean + half) - mean


# ---------------------------------------------------------------- recorded reliability bins

def pooled_reliability(runs, prefix: str = RELIABILITY_PREFIX
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Pool the recorded bins of several runs (rows of a wide frame): per bin the sample share
    (mean over runs), and the count-weighted mean confidence and accuracy. None if not recorded.
    """
    bins = sorted({c.split("/")[1] for c in runs.columns
                   if c.startswith(prefix) and c.count("/") == 2})
    if not bins:
        return None
    recorded = runs[[c for c in runs.columns if c.startswith(prefix)]].notna().any(axis=1)
    if not recorded.any():
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


def has_bins(c: Config, prefix: str = RELIABILITY_PREFIX) -> bool:
    """Whether an ok run of ``c`` recorded reliability bins."""
    return any(k.startswith(prefix) and len(c.values(k)) for k in c.arrays)


# ---------------------------------------------------------------- the figures

def save(fig, path: Path) -> None:
    """Write ``fig`` to ``path`` through a temporary file of this process (two processes drawing
    the same plot never write the same temporary file), renamed into place."""
    plt = pyplot()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    try:
        if path.suffix == ".svg":
            fig.savefig(tmp, format="svg", bbox_inches="tight",
                        metadata={"Date": None, "Creator": None})
            titles = getattr(fig, "point_titles", {})
            tmp.write_text(with_titles(tmp.read_text(encoding="utf-8"), titles),
                           encoding="utf-8")
        else:
            fig.savefig(tmp, format="png", dpi=80, bbox_inches="tight",
                        metadata={"Software": None})
        tmp.replace(path)
    finally:
        plt.close(fig)
        tmp.unlink(missing_ok=True)


def with_titles(svg: str, titles: dict[str, str]) -> str:
    """An SVG written by matplotlib with a hover ``<title>`` as the first child of each group
    whose id (an artist's ``gid``) is a key of ``titles``."""
    def add(m: re.Match) -> str:
        gid = m.group(1)
        return m.group(0) + (f"\n   <title>{html.escape(titles[gid])}</title>"
                             if gid in titles else "")

    return re.sub(r'<g id="([^"]+)">', add, svg)


def inline_svg(svg: str) -> str:
    """An SVG file's markup to inline in an HTML page: without the XML prolog and doctype,
    scaled to its box (class ``plot``)."""
    start = svg.index("<svg")
    return re.sub(r"^<svg ", '<svg class="plot" ', svg[start:], count=1)


#: the longest label drawn whole; a longer one (no real entry name comes near) is cut, so a
#: hostile name cannot make a figure thousands of pixels wide
MAX_LABEL = 160


def label(text: str) -> str:
    """A label from a record, whole: control and bidi characters shown visibly
    (:func:`lossbench.text_safety.visible`), a trailing "(untuned)" dropped (each figure says
    once that configurations are untuned unless marked); only past :data:`MAX_LABEL`
    characters is it cut."""
    text = visible(text)
    text = text[:-len(" (untuned)")] if text.endswith(" (untuned)") else text
    return text if len(text) <= MAX_LABEL else text[:MAX_LABEL - 1] + "…"


def wrapped(text: str, width: int) -> str:
    """``text`` on lines of at most ``width`` characters where it has spaces (never cut)."""
    return "\n".join(textwrap.wrap(text, width, break_long_words=False,
                                    break_on_hyphens=False)) or text


def reliability_panel(ax, frac: np.ndarray, conf: np.ndarray, acc: np.ndarray,
                      title: str) -> None:
    """One binned reliability diagram: bars of per-bin accuracy over equal-width confidence bins
    (opacity = share of samples), the diagonal, and the binned ECE."""
    n = len(frac)
    edges = np.linspace(0, 1, n + 1)[:-1]
    share = frac / frac.max() if frac.max() > 0 else frac
    keep = (frac > 0) & ~np.isnan(acc)
    colours = [(0.12, 0.47, 0.71, 0.25 + 0.75 * float(a)) for a in share[keep]]
    ax.bar(edges[keep], acc[keep], width=1 / n, align="edge", color=colours,
           edgecolor="#1f77b4", linewidth=0.5)
    ax.plot([0, 1], [0, 1], color="k", lw=0.8, ls="--")
    ece = float(np.nansum(frac * np.abs(np.nan_to_num(acc) - np.nan_to_num(conf))))
    ax.text(0.04, 0.92, f"ECE {ece:.3f}", fontsize=8, transform=ax.transAxes)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_aspect("equal")
    ax.set_title(title, fontsize=8)
    ax.tick_params(labelsize=7)


def reliability_figure(board: TaskBoard, prefix: str = RELIABILITY_PREFIX, cols: int = 6):
    """A grid of small reliability diagrams, one per configuration (pooled over its seeds), in
    the order of the task table."""
    panels = []
    for c in board.ranked():
        pooled = pooled_reliability(c.ok, prefix)
        if pooled is not None:
            panels.append((c, pooled))
    cols = max(1, min(cols, len(panels)))
    rows = math.ceil(len(panels) / cols)
    fig, axes = pyplot().subplots(rows, cols, figsize=(2.3 * cols, 2.6 * rows + 0.5),
                                  squeeze=False)
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    for i, (ax, (c, (frac, conf, acc))) in enumerate(zip(axes.flat, panels, strict=False)):
        reliability_panel(ax, frac, conf, acc,
                          wrapped(f"{label(c.agg_key)} ({c.n_ok} seeds)", 28))
        if i % cols:
            ax.set_yticklabels([])
        if i < len(panels) - cols:
            ax.set_xticklabels([])
    fig.suptitle(f"{visible(board.name)}: reliability (pooled seeds; x confidence, y accuracy; "
                 f"{UNTUNED_NOTE})", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    return fig


def accuracy_ece_figure(boards: list[TaskBoard]):
    """Primary metric versus ECE, mean ± 95 % interval clipped to each metric's range, one colour
    per task; the best few configurations of each task carry a label and every point a hover
    title (``fig.point_titles``: artist gid -> text, written by :func:`save` into the SVG)."""
    fig, ax = pyplot().subplots(figsize=(7.5, 5))
    titles: dict[str, str] = {}
    for i, b in enumerate(boards):
        colour = COLOURS[i % len(COLOURS)]
        for rank, c in enumerate(b.ranked()):
            (xm, xh), (ym, yh) = b.cells[(c.key, "ece")], b.cells[(c.key, b.primary)]
            if math.isnan(xm) or math.isnan(ym):
                continue
            xerr = np.array(clipped_errors(xm, xh, "ece")).reshape(2, 1)
            yerr = np.array(clipped_errors(ym, yh, b.primary)).reshape(2, 1)
            bars = ax.errorbar(xm, ym, xerr=xerr, yerr=yerr, fmt="o", ms=4, capsize=2,
                               alpha=0.75, color=colour,
                               label=visible(b.task) if rank == 0 else None)
            gid = f"point-{len(titles)}"
            bars.lines[0].set_gid(gid)
            titles[gid] = (f"{label(c.agg_key)} on {visible(b.task)}: {b.primary} "
                           f"{ym:.4f}, ECE {xm:.4f} ({c.n_ok} seeds)")
            if rank < LABELLED:
                ax.annotate(label(c.label), (xm, ym), fontsize=7, xytext=(4, 3),
                            textcoords="offset points", color=colour)
    primary = boards[0].primary
    ax.set_xlabel("ECE ↓")
    ax.set_ylabel(f"{primary} {arrow(primary, boards[0].directions)}")
    ax.set_title(f"{visible(boards[0].suite)}: {primary} vs ECE (labels: best {LABELLED} per "
                 f"task; hover a point for its entry; {UNTUNED_NOTE})", fontsize=9)
    ax.legend(fontsize=8, loc="best", title="task", title_fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.point_titles = titles
    return fig


def iqm_figure(aggregate: Aggregate, title: str):
    rows = aggregate.rows
    fig, ax = pyplot().subplots(figsize=(7, 1 + 0.28 * len(rows)))
    y = np.arange(len(rows))[::-1]
    points = np.array([r.iqm[0] for r in rows])
    low = points - np.array([r.iqm[1] for r in rows])
    high = np.array([r.iqm[2] for r in rows]) - points
    ax.errorbar(points, y, xerr=[low, high], fmt="o", ms=4, capsize=3)
    ax.axvline(1.0, color="k", lw=0.8, ls="--")
    ax.set_yticks(y, [wrapped(label(r.name), 50) for r in rows], fontsize=8)
    ax.set_xlabel(f"IQM of CE-normalised score (1 = cross-entropy), 95 % bootstrap CI; "
                  f"{UNTUNED_NOTE}")
    ax.set_title(visible(title), fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------- which plots a page gets

Job = Callable[[], object]


def plot_name(kind: str, *parts: str, suffix: str = ".png") -> str:
    """The file name of a plot: its kind and the suite, task, version and options it shows,
    joined by ``__``, made a file name by :func:`lossbench.file_names.slug`; ``suffix`` its
    format (``.png``, or ``.svg`` for a figure with hover titles)."""
    return f"{slug('__'.join(p for p in (kind, *parts) if p))}{suffix}"


def suite_jobs(section: Section, suite: str, tag: str,
               prefix: str = RELIABILITY_PREFIX) -> list[tuple[str, str, Job]]:
    """(title, file name, figure factory) of every plot of ``suite`` in ``section``."""
    boards = [b for b in section.boards if b.suite == suite]
    out: list[tuple[str, str, Job]] = []
    a = build_aggregate(boards)
    if a is not None and a.rows:
        out.append((f"{suite}: aggregate IQM with 95 % bootstrap CIs",
                    plot_name("aggregate_iqm", suite, tag),
                    lambda a=a: iqm_figure(a, f"{suite}: IQM over {len(a.tasks)} task(s)")))
    newest, _ = newest_boards(boards)  # older task versions: tables only
    newest = sorted(newest, key=lambda b: b.task)
    with_ece = [b for b in newest if "ece" in b.metrics]
    if with_ece:
        out.append((f"{suite}: {with_ece[0].primary} vs ECE",
                    plot_name("accuracy_vs_ece", suite, tag, suffix=".svg"),
                    lambda bs=with_ece: accuracy_ece_figure(bs)))
    for b in newest:
        if any(has_bins(c, prefix) for c in b.configs):
            out.append((f"{b.name}: reliability diagrams",
                        plot_name("reliability", b.suite, b.task, f"v{b.version}", tag),
                        lambda b=b: reliability_figure(b, prefix)))
    return out


def draw(jobs: list[tuple[str, str, Job]], folder: Path) -> list[Path]:
    """Draw ``jobs`` into ``folder``; returns the paths written."""
    written = []
    for _, name, make in jobs:
        path = inside(folder, name)
        remove_leftovers(path)  # a killed drawer's temporary file
        save(make(), path)
        written.append(path)
    return written

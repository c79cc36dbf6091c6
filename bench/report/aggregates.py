"""Aggregates over tasks: CE-normalised primary scores, their IQM and bootstrap interval.

On each task a score is the primary metric relative to cross-entropy's mean there
(:func:`lossbench.aggregate.normalized_score`: metric/CE for ↑ metrics, CE/metric for ↓ ones;
1 = CE, above 1 = better); over tasks the interquartile mean with a stratified-bootstrap
percentile interval (:func:`lossbench.aggregate.iqm_interval`) and rliable's probability of
improvement over CE. Two views: every configuration run on every task of a suite
(:func:`build_aggregate`, the detail pages), and an entry's best validated configuration on the
tasks it ran on (:func:`entry_aggregate`, the summary's cells). Newest task versions only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from .. import aggregate as agg
from ..findings import CONFIDENCE
from .boards import TaskBoard, newest_boards
from .configs import Config, best_validated
from .stored_metadata import higher_is_better


@dataclass
class AggregateRow:
    name: str  # agg key
    entry: str  # label
    tasks: int
    runs: int
    iqm: tuple[float, float, float]
    mean: float
    poi: float
    scores: np.ndarray  # (runs × tasks) normalised scores


@dataclass
class Aggregate:
    tasks: list[str]
    rows: list[AggregateRow]
    excluded: dict[str, list[str]]  # agg key -> missing tasks
    dropped_versions: list[str]
    #: agg key -> "task: flag" where it is unstable or failed to train (not aggregated)
    flagged: dict[str, list[str]] = field(default_factory=dict)


def normalised_by_seed(board: TaskBoard, c: Config) -> dict[int, float]:
    """``{seed: score}`` of configuration ``c`` on ``board``: its primary metric relative to the
    CE baseline's mean there (:func:`lossbench.aggregate.normalized_score`: metric/CE for ↑
    metrics, CE/metric for ↓ ones; NaN where undefined, and everywhere when the baseline recorded
    no value), seeds in order. The one CE normalisation of the board's aggregates."""
    m = board.primary
    base_values = list(board.baseline().by_seed(m).values())
    base_mean = float(np.mean(base_values)) if base_values else math.nan
    by_seed = c.by_seed(m)
    seeds = sorted(by_seed)
    scores = agg.normalized_score(np.array([by_seed[s] for s in seeds]), base_mean,
                                  higher_is_better(m, board.directions))
    return dict(zip(seeds, scores.tolist(), strict=True))


def build_aggregate(boards: list[TaskBoard]) -> Aggregate | None:
    """CE-normalised primary-metric scores of every configuration present on every one of
    ``boards`` (newest version of each task), IQM with stratified-bootstrap intervals."""
    chosen, dropped = newest_boards(boards)
    chosen = [b for b in chosen if b.baseline() is not None]
    if not chosen:
        return None
    names = [f"{b.suite}/{b.task}" for b in chosen]
    per_entry: dict[str, dict[str, np.ndarray]] = {}
    labels: dict[str, str] = {}
    baselines: dict[str, np.ndarray] = {}
    flagged: dict[str, list[str]] = {}
    for b, tname in zip(chosen, names, strict=True):
        base = b.baseline()
        for c in b.configs:
            if c.key in b.flags:  # a mean of trained and failed seeds is not a score
                for key in c.aggregate_keys:
                    flagged.setdefault(key, []).append(f"{tname}: {b.flags[c.key].text}")
                continue
            if not c.by_seed(b.primary):
                continue
            scores = np.array(list(normalised_by_seed(b, c).values()))
            for key in c.aggregate_keys:
                per_entry.setdefault(key, {})[tname] = scores
                labels[key] = c.label
            if c.key == base.key:
                baselines[tname] = scores
    rows, excluded = [], {}
    base_matrix = _matrix(baselines, names)
    for name in sorted(per_entry):
        missing = [t for t in names if t not in per_entry[name]]
        if name in flagged:
            continue
        if missing:
            excluded[name] = missing
            continue
        x = _matrix(per_entry[name], names)
        if x is None:
            excluded[name] = [t for t in names if np.isnan(per_entry[name][t]).all()]
            continue
        poi = agg.probability_of_improvement(x, base_matrix) if base_matrix is not None \
            else math.nan
        rows.append(AggregateRow(name, labels[name], len(names), x.shape[0],
                                 agg.iqm_interval(x, CONFIDENCE), float(np.mean(x)), poi, x))
    rows.sort(key=lambda r: (-r.iqm[0], r.name))
    return Aggregate(names, rows, excluded, dropped, flagged)


def _matrix(by_task: Mapping[str, np.ndarray], names: list[str]) -> np.ndarray | None:
    """Stack per-task score vectors into (runs × tasks), keeping the first n runs of each task
    (n = the smallest count), NaNs dropped."""
    cols = [by_task[t][~np.isnan(by_task[t])] for t in names if t in by_task]
    if len(cols) != len(names) or min(len(c) for c in cols) == 0:
        return None
    n = min(len(c) for c in cols)
    return np.stack([c[:n] for c in cols], axis=1)


def normalised_scores(boards: list[TaskBoard], entry: str
                      ) -> tuple[dict[str, dict[int, float]], dict[str, dict[int, float]]]:
    """``entry``'s CE-normalised primary scores by task (``"suite/task"``) and seed over the
    ``boards`` it ran on (newest versions, tasks with a CE baseline), its best validated
    configuration on each; and the baseline's own normalised scores on the same tasks."""
    mine: dict[str, dict[int, float]] = {}
    base_scores: dict[str, dict[int, float]] = {}
    for b in newest_boards(boards)[0]:
        base = b.baseline()
        c = best_validated(b.configs, entry)
        if base is None or c is None:
            continue
        if not base.by_seed(b.primary) or not c.by_seed(b.primary):
            continue
        name = f"{b.suite}/{b.task}"
        mine[name] = normalised_by_seed(b, c)
        base_scores[name] = normalised_by_seed(b, base)
    return mine, base_scores


def paired_scores(boards: list[TaskBoard], entry: str) -> dict[tuple[str, int], float]:
    """``{(task, seed): CE-normalised primary score}`` of ``entry`` over ``boards`` (see
    :func:`normalised_scores`): what a summary column's groups pair on."""
    return {(task, seed): v for task, by_seed in normalised_scores(boards, entry)[0].items()
            for seed, v in by_seed.items()}


def entry_aggregate(boards: list[TaskBoard], entry: str) -> AggregateRow | None:
    """IQM (with its stratified-bootstrap interval) of ``entry``'s CE-normalised primary scores
    over the ``boards`` it ran on (newest versions, tasks with a CE baseline), its best validated
    configuration on each; P(> CE) against the baseline on the same tasks."""
    mine, base_scores = normalised_scores(boards, entry)
    names = list(mine)

    def arrays(by_task: dict[str, dict[int, float]]) -> dict[str, np.ndarray]:
        return {t: np.array([v for _, v in sorted(d.items())]) for t, d in by_task.items()}

    x = _matrix(arrays(mine), names) if names else None
    if x is None:
        return None
    y = _matrix(arrays(base_scores), names)
    poi = agg.probability_of_improvement(x, y) if y is not None else math.nan
    return AggregateRow(entry, entry, len(names), x.shape[0], agg.iqm_interval(x, CONFIDENCE),
                        float(np.mean(x)), poi, x)

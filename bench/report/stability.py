"""Entries that train on some seeds only: flagged, not averaged.

A configuration whose seeds split between "trained" and "failed to train" (``sum_exp`` on
``standard/mnist1d``: top-1 0.13 on seed 1, 0.64–0.88 on the others) has no meaningful mean: a
mean ± interval over a bimodal handful of seeds ranks a coin flip. The report shows such a
configuration as **unstable** instead, from the records alone:

* the *training metric* of a task is ``top1`` where its runs record it, else the task's first
  headline metric (retrieval: ``p_at_1``);
* its *chance level* per run is the run's ``<metric>_chance`` metric where recorded (retrieval
  records ``p_at_1_chance``), else for top-1-like metrics (:data:`CLASS_CHANCE`) one over the
  number of classes the record's ``task_json`` states (a uniform guess); without one nothing is
  flagged;
* a run's *lift* is how far its value got from chance towards perfect, ``(v − c) / (1 − c)``
  (0 = chance, 1 = perfect; Cohen's κ against a uniform guess), so one rule fits 2 classes and
  100. A successful run **failed to train** when its lift is at most :data:`FAILED_LIFT` (10
  classes: top-1 ≤ 0.145, about 1.5 × chance) and **trained** when it is at least
  :data:`TRAINED_LIFT` (10 classes: ≥ 0.19). The gap between the two bands keeps a task where
  every entry sits near chance (80 % symmetric label noise: CE itself reaches 0.15–0.18 top-1 on
  10 classes) from being called a split by seed noise;
* a configuration with at least one failed and at least one trained run is **unstable**; one
  whose every run failed **failed to train**; any other is **stable**.

Metrics of the ``↓`` direction have no chance band here (none is a training metric).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..cells import is_missing
from .configs import config_keys
from .stored_metadata import stored_json, stored_task_meta

#: lift (v − chance) / (1 − chance) at or below which a run failed to train
FAILED_LIFT = 0.05
#: lift at or above which a run trained
TRAINED_LIFT = 0.10
#: metrics whose chance level is 1 / (number of classes): a uniform guess on the test set
CLASS_CHANCE = ("top1", "top1_best_val", "balanced_accuracy", "val_top1", "shift_top1")
CHANCE_SUFFIX = "_chance"
STABLE, UNSTABLE, FAILED = "stable", "unstable", "failed to train"
COLUMNS = ("metric", "n", "k", "trained", "failed_seeds", "values", "verdict")


@dataclass(frozen=True)
class Flag:
    """A configuration's training verdict on one task (``k`` of ``n`` successful seeds failed
    to train; ``values``: the training metric by seed, ``failed_seeds`` the failed ones)."""

    verdict: str
    metric: str
    n: int
    k: int
    failed_seeds: tuple[int, ...] = ()
    values: dict[int, float] = field(default_factory=dict)

    @property
    def flagged(self) -> bool:
        return self.verdict != STABLE

    @property
    def text(self) -> str:
        """What the tables show in place of the mean ± interval."""
        if self.verdict == UNSTABLE:
            return f"unstable ({self.k} of {self.n} seeds failed)"
        return f"failed to train ({self.k} of {self.n} seeds)"


def training_metric(runs: pd.DataFrame, headline: list[str]) -> str | None:
    """``top1`` when the runs record it, else the first headline metric they record."""
    for metric in ("top1", *headline[:1]):
        if metric in runs and runs[metric].notna().any():
            return metric
    return None


def _num_classes(task_json) -> float:
    n = stored_json(task_json).get("num_classes")
    return float(n) if isinstance(n, int) and not isinstance(n, bool) and n > 0 else np.nan


def lift(value: float, chance: float) -> float:
    """``(value − chance) / (1 − chance)``: 0 at chance, 1 at perfect."""
    return (value - chance) / (1.0 - chance)


def chance_levels(runs: pd.DataFrame, metric: str) -> np.ndarray:
    """Each run's chance level of ``metric`` (NaN where the record does not state one, or
    states one of 1 or more, where nothing can be learnt)."""
    chance = np.full(len(runs), np.nan)
    if metric + CHANCE_SUFFIX in runs:
        chance = runs[metric + CHANCE_SUFFIX].to_numpy(dtype=float).copy()
    if metric in CLASS_CHANCE and "task_json" in runs:
        classes = np.array([_num_classes(t) for t in runs["task_json"]], dtype=float)
        chance = np.where(np.isnan(chance), 1.0 / classes, chance)
    return np.where(chance < 1.0, chance, np.nan)


def unstable_configs(runs: pd.DataFrame, headline: list[str] | None = None) -> pd.DataFrame:
    """One row per configuration (index: its config key) of one task's ``runs``: the training
    metric, ``n`` successful runs with a value and a chance level, ``k`` of them failed to
    train, ``trained`` of them trained, the failed seeds, the values by seed and the verdict
    (:data:`STABLE`, :data:`UNSTABLE` or :data:`FAILED`)."""
    if headline is None:
        headline = [str(h) for h in stored_task_meta(runs).get("headline") or ["top1"]]
    metric = training_metric(runs, headline) if len(runs) else None
    if metric is None:
        return pd.DataFrame(columns=list(COLUMNS))
    keys = np.array(config_keys(runs), dtype=object)
    value = runs[metric].to_numpy(dtype=float)
    chance = chance_levels(runs, metric)
    usable = (runs["status"] == "ok").to_numpy() & ~np.isnan(value) & ~np.isnan(chance)
    rows = {}
    for key in sorted(set(keys)):
        mine = (keys == key) & usable
        seeds = [int(s) for s in runs["seed"].to_numpy()[mine]]
        v, c = value[mine], chance[mine]
        failed, trained = lift(v, c) <= FAILED_LIFT, lift(v, c) >= TRAINED_LIFT
        n, k = int(mine.sum()), int(failed.sum())
        verdict = UNSTABLE if k and trained.any() else FAILED if n and k == n else STABLE
        rows[key] = {"metric": metric, "n": n, "k": k, "trained": int(trained.sum()),
                     "failed_seeds": tuple(sorted(s for s, f in zip(seeds, failed, strict=True)
                                                  if f)),
                     "values": dict(sorted(zip(seeds, map(float, v), strict=True))),
                     "verdict": verdict}
    return pd.DataFrame.from_dict(rows, orient="index", columns=list(COLUMNS))


def flags(runs: pd.DataFrame, headline: list[str] | None = None) -> dict[str, Flag]:
    """:func:`unstable_configs` as ``{config key: Flag}`` for the flagged configurations."""
    table = unstable_configs(runs, headline)
    return {key: Flag(r.verdict, r.metric, int(r.n), int(r.k), r.failed_seeds, r.values)
            for key, r in zip(table.index, table.itertuples(), strict=True)
            if r.verdict != STABLE}


def seeds_text(flag: Flag, digits: int = 3) -> str:
    """``"0: 0.639, 1: 0.130 (failed), …"``: the per-seed values a flagged row keeps visible."""
    return ", ".join(f"{s}: {v:.{digits}f}" + (" (failed)" if s in flag.failed_seeds else "")
                     for s, v in flag.values.items() if not is_missing(v))

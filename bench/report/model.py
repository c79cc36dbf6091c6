"""The leaderboard's model: records in, boards out. No rendering, no registry, no torch.

Everything here is computed from the stored records alone — their spec columns, metrics, and
the metadata each record carries (``card_json``: the entries' cards as read at run time,
``task_json``: the task's headline metrics, metric directions and findings; see
:mod:`lossbench.record_meta`) — and from the tuning manifests. So the same results give the
same boards whatever is installed. Statistics come from :mod:`lossbench.aggregate`.

Groups: runs are split by recipe ``options`` (smoke runs with ``{"epochs": 2}`` never mix with
default-recipe runs), then by suite, task and task version (versions are never mixed); within a
task, a *configuration* is an entry (loss ± regularizer) with fixed hyperparameters.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .. import aggregate as agg
from ..store import RUN_COLUMNS, is_missing, version_key
from .groups import groups_by_test
from .stability import Flag
from .stability import flags as training_flags

if TYPE_CHECKING:
    from .answers import Answer

CONFIDENCE = 0.95
MIN_SEEDS = 3
BASELINE_LOSS = "cross_entropy"
#: calibration columns of the task tables; ``ece_ts`` (after temperature scaling) beside ``ece``
CALIBRATION_METRICS = ("ece", "ece_ts", "smooth_ece", "nll")
COST_METRICS = ("loss_cost_ratio",)
RELIABILITY_PREFIX = "reliability/"
#: metrics a reader expects as a suite's primary score when the task lists them among its
#: headline metrics (metric learning: MAP@R, which ranks embedding losses the way the
#: literature does; P@1 puts every classification loss above every embedding loss)
PRIMARY_PREFERRED = ("map_at_r",)
LOCAL_VERSION_TAG = "+local."  # lossbench.registry.LOCAL_VERSION_TAG (not imported: light)
STATUSES = ("ok", "error", "diverged", "timeout", "oom", "crashed")
#: provenance columns whose mixing inside one table is flagged
MIX_COLUMNS = (("git_sha", "git SHAs"), ("device", "devices"), ("task_version", "task versions"),
               ("harness_fingerprint", "harness fingerprints"),
               ("machine_id", "machines"))


# ---------------------------------------------------------------- stored metadata

@functools.lru_cache(maxsize=4096)
def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return None


def stored_json(value) -> dict[str, Any]:
    """A record's ``card_json`` / ``task_json`` cell as a dict ({} when absent or unreadable)."""
    if is_missing(value) or not value:
        return {}
    data = _json(str(value))
    return data if isinstance(data, dict) else {}


def stored_card(runs, group: str) -> dict[str, Any]:
    """The card (``group``: loss | regularizer) the newest of ``runs`` (a frame or a dict of
    column arrays) stored; {} if none."""
    for value in _newest_first(runs, "card_json"):
        card = stored_json(value).get(group)
        if isinstance(card, dict):
            return card
    return {}


def _newest_first(runs, column: str) -> list:
    """The values of ``column`` from the newest run to the oldest (start time, then key);
    ``runs``: a frame or a dict of column arrays."""
    if column not in runs or not len(runs[column]):
        return []
    rows = sorted(zip(("" if is_missing(v) else str(v) for v in runs["started_at"]),
                      runs["spec_key"], runs[column], strict=True),
                  key=lambda r: (r[0], r[1]), reverse=True)
    return [r[2] for r in rows]


def task_meta(runs: pd.DataFrame) -> dict[str, Any]:
    """The task metadata the newest of ``runs`` stored; {} if none."""
    for value in _newest_first(runs, "task_json"):
        meta = stored_json(value)
        if meta:
            return meta
    return {}


def higher_is_better(metric: str, directions: Mapping[str, bool]) -> bool:
    """A metric's direction as the records state it; unknown ones count as ↑ (and are listed
    as such in the table header)."""
    return bool(directions.get(metric, True))


def arrow(metric: str, directions: Mapping[str, bool]) -> str:
    return "↑" if higher_is_better(metric, directions) else "↓"


# ---------------------------------------------------------------- configurations

def unpublished(name, version) -> bool:
    """A ``module:attr`` target run without packaging (origin ``local``): a name with a colon
    and a version with the ``+local.`` tag."""
    return (not is_missing(name) and ":" in str(name) and not is_missing(version)
            and LOCAL_VERSION_TAG in str(version))


def entry_name(name, version) -> str:
    """An entry's display name; an unpublished target with its source hash."""
    if not unpublished(name, version):
        return str(name)
    return f"{name} ({str(version).rpartition(LOCAL_VERSION_TAG)[2]})"


_KEY_COLUMNS = ("loss", "loss_hparams", "regularizer", "regularizer_hparams", "loss_version",
                "regularizer_version")


def config_key(row: Mapping[str, Any]) -> str:
    """A configuration's identity: loss, its hyperparameters, regularizer, its hyperparameters
    (and the version of an unpublished ``module:attr`` target, whose edits make new rows)."""
    key = [None if is_missing(row[c]) else row[c] for c in
           ("loss", "loss_hparams", "regularizer", "regularizer_hparams")]
    for name, version in (("loss", "loss_version"), ("regularizer", "regularizer_version")):
        if unpublished(row[name], row[version]):  # an edited module:attr target: another row
            key.append(row[version])
    return json.dumps(key)


def config_keys(runs: pd.DataFrame) -> list[str]:
    """:func:`config_key` of every run."""
    cols = [runs[c].tolist() for c in _KEY_COLUMNS]
    return [config_key(dict(zip(_KEY_COLUMNS, values, strict=True)))
            for values in zip(*cols, strict=True)]


def _hparams(text) -> dict[str, Any] | None:
    if is_missing(text) or not text:
        return {}
    data = _json(str(text))
    return data if isinstance(data, dict) else None


def hparams_text(text) -> str:
    values = _hparams(text)
    if values is None:
        return str(text)
    return ", ".join(f"{k}={f'{v:.4g}' if isinstance(v, float) else v}"
                     for k, v in sorted(values.items()))


@dataclass
class Config:
    """One row of a task table: an entry (loss ± regularizer) with fixed hyperparameters."""

    key: str  # identity: loss, hparams, regularizer, hparams (canonical JSON)
    label: str  # "loss" or "loss + regularizer" (display names, unescaped)
    hparams: str  # "defaults", "(none)" or "name=value, ..."
    tuning: str  # "tuned (K=…)" | "tuned (no search space)" | "untuned"
    approximate: list[str]  # "name: fidelity note" of approximate implementations
    runs: pd.DataFrame  # all of its runs (any status)
    defaults: bool = False  # every hyperparameter is the card's default
    cards: dict[str, dict] = field(default_factory=dict)  # group -> stored card
    #: the runs' columns as arrays (:func:`column_arrays`): what the statistics read, without
    #: indexing the wide frame once per configuration and metric
    arrays: dict[str, np.ndarray] | None = None
    #: the cards of the declared aliases merged into this row (:mod:`.aliases`)
    alias_cards: list[dict[str, dict]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.arrays is None:
            self.arrays = column_arrays(self.runs)
        a = self.arrays
        self._ok_mask = (a["status"] == "ok") if "status" in a else \
            np.ones(len(self.runs), dtype=bool)
        self.first = {c: a[c][0] for c in RUN_COLUMNS if c in a} if len(self.runs) else {}
        self._ok: pd.DataFrame | None = None
        self._by_seed: dict[str, dict[int, float]] = {}
        self._values: dict[str, np.ndarray] = {}

    @property
    def ok(self) -> pd.DataFrame:
        """Its runs with status ok."""
        if self._ok is None:
            self._ok = self.runs[self._ok_mask] if len(self.runs) else self.runs
        return self._ok

    @property
    def n_ok(self) -> int:
        return int(self._ok_mask.sum())

    @property
    def statuses(self) -> list[str]:
        return [str(v) for v in self.arrays.get("status", [])]

    def values(self, metric: str) -> np.ndarray:
        """The recorded values of ``metric`` in the ok runs (none when no run recorded it)."""
        if metric not in self._values:
            column = self.arrays.get(metric)
            if column is None:
                self._values[metric] = np.empty(0)
            else:
                v = np.asarray(column[self._ok_mask], dtype=float)
                self._values[metric] = v[~np.isnan(v)]
        return self._values[metric]

    @property
    def entry(self) -> str:
        """The entry's identity across tasks and configurations (its row label)."""
        return self.label

    @property
    def tuned(self) -> bool:
        return self.tuning.startswith("tuned")

    def by_seed(self, metric: str) -> dict[int, float]:
        """``{seed: value}`` of ``metric`` over its ok runs (a seed run twice: the last)."""
        if metric not in self._by_seed:
            column = self.arrays.get(metric)
            out: dict[int, float] = {}
            if column is not None:
                seeds = self.arrays["seed"][self._ok_mask]
                for seed, v in zip(seeds, column[self._ok_mask], strict=True):
                    if not is_missing(v):
                        out[int(seed)] = float(v)
            self._by_seed[metric] = out
        return self._by_seed[metric]

    @property
    def agg_key(self) -> str:
        """Identity across tasks (tuned hyperparameters differ per task)."""
        if self.tuned:
            return f"{self.label} (tuned)"
        return f"{self.label} (untuned)" if self.hparams in ("", "(none)", "defaults") else \
            f"{self.label} ({self.hparams})"

    @property
    def aggregate_keys(self) -> list[str]:
        """The cross-task series this row's runs belong to: its :attr:`agg_key`, and also
        "(untuned)" when tuning selected the card's defaults — those runs *are* the untuned
        configuration on this task, and leaving them out would drop the task from that series."""
        keys = [self.agg_key]
        untuned = f"{self.label} (untuned)"
        if self.defaults and untuned not in keys:
            keys.append(untuned)
        return keys


@dataclass
class Tuning:
    """What the tuning manifests of one task say: trial keys and the selected configurations
    (the manifest's ``selected_key``: the choice is read, never recomputed)."""

    trial_keys: set[str] = field(default_factory=set)
    selected: dict[str, int] = field(default_factory=dict)  # config key -> K
    manifests: list[dict] = field(default_factory=list)


def tuning_by_task(manifests: list[dict], runs: pd.DataFrame) -> dict[tuple, Tuning]:
    by_key = runs.set_index("spec_key")
    out: dict[tuple, Tuning] = {}
    for m in manifests:
        task_key = (m["suite"], m["task"], str(m["task_version"]),
                    json.dumps(m["options"], sort_keys=True, separators=(",", ":")))
        tuning = out.setdefault(task_key, Tuning())
        tuning.trial_keys.update(m["trial_keys"])
        metric = m["selection_metric"]
        values = []
        for k in m["trial_keys"]:
            ok = k in by_key.index and by_key.at[k, "status"] == "ok" and metric in by_key
            values.append(float(by_key.at[k, metric]) if ok else math.nan)
        selected = m.get("selected_key")
        chosen = m["trial_keys"].index(selected) if selected in m["trial_keys"] else None
        tuning.manifests.append({**m, "values": values, "chosen": chosen})
        if selected is not None and selected in by_key.index:
            tuning.selected[config_key(by_key.loc[selected])] = \
                int(m.get("budget", m["trials"])) if m["search_space"] else 0
    return out


def column_arrays(runs: pd.DataFrame) -> dict[str, np.ndarray]:
    """Every column of ``runs`` as a NumPy array (metrics as floats)."""
    return {c: runs[c].to_numpy() for c in runs.columns}


def build_configs(runs: pd.DataFrame, tuning: Tuning) -> tuple[list[Config], int]:
    """The rows of one task's table, and how many trial-only configurations were left out."""
    configs, hidden = [], 0
    arrays = column_arrays(runs)
    positions: dict[str, list[int]] = {}
    for i, key in enumerate(config_keys(runs)):
        positions.setdefault(key, []).append(i)
    for key in sorted(positions):
        pos = np.array(positions[key])
        group = runs.iloc[pos]
        mine = {c: a[pos] for c, a in arrays.items()}
        first = {c: mine[c][0] for c in RUN_COLUMNS if c in mine}
        trials_only = set(mine["spec_key"]) <= tuning.trial_keys
        if key in tuning.selected:
            k = tuning.selected[key]
            tuning_text = f"tuned (K={k})" if k else "tuned (no search space)"
        elif trials_only:
            hidden += 1
            continue
        else:
            tuning_text = "untuned"
        cards = {"loss": stored_card(mine, "loss")}
        reg = first["regularizer"]
        if not is_missing(reg):
            cards["regularizer"] = stored_card(mine, "regularizer")
        defaults = {}
        for g, col in (("loss", "loss_hparams"), ("regularizer", "regularizer_hparams")):
            if g in cards:
                defaults[g] = bool(cards[g]) and _hparams(first[col]) == dict(
                    cards[g].get("hparams") or {})
        is_default = all(defaults.values())
        parts = [hparams_text(first["loss_hparams"])]
        if not is_missing(reg):
            parts.append(hparams_text(first["regularizer_hparams"]))
        hp = "; ".join(p for p in parts if p)
        if is_default and hp and not tuning_text.startswith("tuned"):
            hp = "defaults"
        hp = hp or "(none)"
        approx = [f"{card.get('name', g)}: {card['fidelity']}" for g, card in cards.items()
                  if str(card.get("fidelity", "")).startswith("approximate")]
        loss = entry_name(first["loss"], first["loss_version"])
        label = loss if is_missing(reg) else \
            f"{loss} + {entry_name(reg, first['regularizer_version'])}"
        configs.append(Config(key, label, hp, tuning_text, approx, group,
                              defaults=is_default, cards=cards, arrays=mine))
    return configs, hidden


# ---------------------------------------------------------------- per-task boards

@dataclass
class TaskBoard:
    """Everything computed for one (options, suite, task, task version)."""

    suite: str
    task: str
    version: str
    metrics: list[str]  # table columns; metrics[0] is the primary
    configs: list[Config]
    hidden_trials: int
    cells: dict[tuple[str, str], tuple[float, float]]  # (config key, metric) -> (mean, half)
    directions: dict[str, bool]  # metric -> higher is better
    meta: dict[str, Any]  # the stored task metadata
    headline: list[str]
    runs: pd.DataFrame  # every run of the task (any status)
    #: config key -> its flag, for configurations that are unstable or failed to train: their
    #: cells are NaN (no mean, no tie group, no rank), the tables show the flag (.stability)
    flags: dict[str, Flag] = field(default_factory=dict)

    @property
    def primary(self) -> str:
        return self.metrics[0]

    @property
    def name(self) -> str:
        return f"{self.suite}/{self.task} v{self.version}"

    def sign(self, metric: str) -> float:
        return 1.0 if higher_is_better(metric, self.directions) else -1.0

    def ranked(self) -> list[Config]:
        """Configurations by the primary metric's mean, best first (ties: label, key)."""
        sign = self.sign(self.primary)

        def key(c: Config):
            mean = self.cells[(c.key, self.primary)][0]
            return (math.inf if math.isnan(mean) else -sign * mean, c.label, c.key)

        return sorted(self.configs, key=key)

    def tie_groups(self, metric: str | None = None) -> dict[str, int]:
        """Honest ranks on ``metric`` (default: the primary), by a paired test against the
        leader (:mod:`.groups`): group 1 holds the configuration with the best mean and every
        configuration not significantly worse than it (paired t-test over shared seeds, Holm
        across the configurations compared, α = 0.05); group 2 starts at the best configuration
        outside group 1, and so on. Configurations without a value (none recorded, or flagged
        unstable) get no group."""
        metric = metric or self.primary
        means = {c.key: self.cells[(c.key, metric)][0] for c in self.configs}
        samples = {c.key: c.by_seed(metric) for c in self.configs
                   if not math.isnan(means[c.key])}
        return groups_by_test(samples, means, self.sign(metric))

    def baseline(self) -> Config | None:
        """The cross-entropy row without regularizer (tuned first, then most seeds)."""
        if hasattr(self, "_baseline"):
            return self._baseline
        ce = [c for c in self.configs if c.first["loss"] == BASELINE_LOSS
              and is_missing(c.first["regularizer"])]
        self._baseline = None
        if not ce:
            return None
        self._baseline = sorted(ce, key=lambda c: (not c.tuned, -c.n_ok, c.key))[0]
        return self._baseline


def choose_metrics(headline: list[str], measured: set[str],
                   suite_headline: list[str] | None = None) -> list[str]:
    """Table columns: the primary metric, the ID top-1 when the task records it and it is not
    the primary (OOD detection: ID accuracy beside the OOD scores), the task's other headline
    metrics, calibration and loss cost.

    The primary is a preferred metric (MAP@R) when the task lists it, else the suite's first
    headline metric when the task records it (a suite compares its tasks on one metric: OOD
    detection on near-OOD AUROC even where a task lists its ID top-1 first), else the task's
    first headline metric."""
    primary = next((m for m in PRIMARY_PREFERRED if m in headline and m in measured), None)
    if primary is None and suite_headline and suite_headline[0] in measured:
        primary = suite_headline[0]
    wanted = ([primary] if primary else []) + list(headline[:1])
    if "top1" in measured:
        wanted.insert(1, "top1")
    wanted += list(headline[1:]) + list(CALIBRATION_METRICS) + list(COST_METRICS)
    out = []
    for m in wanted:
        if m in measured and m not in out:
            out.append(m)
    return out


def build_task(suite: str, task: str, version: str, runs: pd.DataFrame,
               tuning: Tuning) -> TaskBoard:
    meta = task_meta(runs)
    headline = [str(h) for h in meta.get("headline") or ["top1"]]
    metric_columns = [c for c in runs.columns if c not in RUN_COLUMNS]
    recorded = runs[metric_columns].notna().to_numpy().any(axis=0)
    measured = {c for c, r in zip(metric_columns, recorded, strict=True) if r}
    suite_headline = [str(h) for h in meta.get("suite_headline") or headline]
    metrics = choose_metrics(headline, measured, suite_headline) or \
        sorted(m for m in measured if not m.startswith(RELIABILITY_PREFIX))[:1] or headline[:1]
    configs, hidden = build_configs(runs, tuning)
    from .aliases import alias_merges, merge_alias_configs

    configs = merge_alias_configs(configs, alias_merges(runs))
    flagged = training_flags(runs, headline)
    cells = {}
    for c in configs:
        for m in metrics:
            cells[(c.key, m)] = agg.mean_ci(c.values(m), CONFIDENCE) \
                if len(c.values(m)) and c.key not in flagged else (math.nan, math.nan)
    directions = {k: bool(v) for k, v in (meta.get("higher_is_better") or {}).items()}
    return TaskBoard(suite, task, version, metrics, configs, hidden, cells, directions, meta,
                     headline, runs, {c.key: flagged[c.key] for c in configs if c.key in flagged})


def best_marks(board: TaskBoard) -> set[tuple[str, str]]:
    """(config key, metric) cells that are best in their column with an interval that does not
    overlap the runner-up's."""
    marks = set()
    for m in board.metrics:
        sign = board.sign(m)
        scored = sorted((-sign * board.cells[(c.key, m)][0], c.key) for c in board.configs
                        if not math.isnan(board.cells[(c.key, m)][0]))
        if len(scored) < 2:
            continue
        best, second = scored[0][1], scored[1][1]
        if not agg.intervals_overlap(board.cells[(best, m)], board.cells[(second, m)]):
            marks.add((best, m))
    return marks


# ---------------------------------------------------------------- versus cross-entropy

@dataclass
class Versus:
    """A configuration against the task's CE baseline on one metric, paired by seed."""

    n: int
    mean: float
    half: float
    poi: float
    p: float

    @property
    def verdict(self) -> str:
        """better / worse when the paired interval excludes 0 (in the metric's good
        direction, :func:`lossbench.aggregate.interval_side`), tie otherwise (also with fewer
        than two paired seeds)."""
        if self.n < 2:
            return "tie"
        return {1: "better", -1: "worse", 0: "tie"}[agg.interval_side(self.mean, self.half)]


def test_train_ratio(a: Config, b: Config) -> tuple[float, bool]:
    """``n_test / n_train`` for the Nadeau–Bengio correction when the runs record both sizes."""
    ratios = []
    for c in (a, b):
        test, train = c.by_seed("n_test"), c.by_seed("n_train")
        if len(test) != c.n_ok or len(train) != c.n_ok:
            return 0.0, False
        ratios += [test[s] / train[s] for s in test]
    return (float(np.mean(ratios)), True) if ratios else (0.0, False)


def paired(board: TaskBoard, c: Config, base: Config, metric: str) -> Versus:
    """``c`` − ``base`` on ``metric`` paired by seed (mean ± t-interval; positive = better in
    the metric's direction), without the tests of :func:`versus`."""
    seeds, diffs = agg.paired_differences(c.by_seed(metric), base.by_seed(metric))
    mean, half = agg.mean_ci(board.sign(metric) * diffs, CONFIDENCE)
    return Versus(len(seeds), mean, half, math.nan, math.nan)


def versus(board: TaskBoard, c: Config, base: Config, metric: str) -> tuple[Versus, bool]:
    """``c`` − ``base`` on ``metric`` paired by seed (the raw difference, mean ± t-interval),
    with rliable's probability of improvement and the (corrected) paired t-test."""
    ratio, corrected = test_train_ratio(c, base)
    seeds, diffs = agg.paired_differences(c.by_seed(metric), base.by_seed(metric))
    sign = board.sign(metric)
    mean, half = agg.mean_ci(diffs, CONFIDENCE)
    x, y = c.values(metric), base.values(metric)
    poi = agg.probability_of_improvement(sign * x, sign * y) if len(x) and len(y) else math.nan
    test = agg.corrected_resampled_ttest(diffs, ratio)
    return Versus(len(seeds), mean, half, poi, test.p), corrected


def versus_metrics(board: TaskBoard) -> list[str]:
    """Metrics compared with CE: the headline metrics (and the ID top-1 beside them) and ECE."""
    wanted = set(board.headline) | {"ece", board.primary, "top1"}
    return [m for m in board.metrics if m in wanted] or board.metrics[:1]


# ---------------------------------------------------------------- aggregates

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


def newest_boards(boards: list[TaskBoard]) -> tuple[list[TaskBoard], list[str]]:
    """The newest version of each task (versions are never mixed), and the ones left out."""
    newest: dict[tuple[str, str], TaskBoard] = {}
    dropped = []
    for b in sorted(boards, key=lambda b: (b.suite, b.task, version_key(b.version))):
        key = (b.suite, b.task)
        if key in newest:
            dropped.append(newest[key].name)
        newest[key] = b
    return list(newest.values()), dropped


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
        m = b.primary
        base = b.baseline()
        base_values = list(base.by_seed(m).values())
        base_mean = float(np.mean(base_values)) if base_values else math.nan
        for c in b.configs:
            if c.key in b.flags:  # a mean of trained and failed seeds is not a score
                for key in c.aggregate_keys:
                    flagged.setdefault(key, []).append(f"{tname}: {b.flags[c.key].text}")
                continue
            values = [v for _, v in sorted(c.by_seed(m).items())]
            if not values:
                continue
            scores = agg.normalized_score(np.array(values), base_mean,
                                          higher_is_better(m, b.directions))
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


# ---------------------------------------------------------------- the summary

@dataclass
class EntrySummary:
    """One row of the summary: an entry's best validated configuration per task (tuned where
    tuning ran, else its card defaults) aggregated over each suite and over its own tasks."""

    entry: str
    cards: dict[str, dict]
    kind: str
    fidelity: str
    tuned: bool
    cells: dict[str, AggregateRow | None]  # column ("own", suite) -> aggregate row
    counts: dict[str, tuple[int, int, int]]  # suite -> better, tie, worse vs CE (tasks)
    groups: dict[str, int] = field(default_factory=dict)  # column -> tie group
    unpublished: bool = False  # a module:attr target run without packaging
    alias_cards: list[dict[str, dict]] = field(default_factory=list)  # merged aliases' cards
    #: column -> flag text where its configuration on a task of that column is unstable or
    #: failed to train (the cell shows it instead of an IQM, and takes no tie group)
    flags: dict[str, str] = field(default_factory=dict)
    #: what the entry optimises (its loss card's ``objective``: classification | embedding);
    #: entries of different objectives are ranked apart (:meth:`Summary.ranking`)
    objective: str = "classification"
    #: column -> ``{(task, seed): CE-normalised primary score}``, what the column's groups pair
    scores: dict[str, dict[tuple[str, int], float]] = field(default_factory=dict)

    @property
    def order(self) -> float:
        """The mean of its tie groups over the suites it ran on (the summary's row order, after
        the number of suites: entries run more widely first)."""
        suites = [g for col, g in self.groups.items() if col != "own"]
        return sum(suites) / len(suites) if suites else math.inf


#: objectives in the order the summary shows their rankings (others follow, sorted)
OBJECTIVE_ORDER = ("classification", "embedding")


@dataclass
class Summary:
    """The summary's rows, one per entry. Its rankings (tie groups, row order) are computed
    within one objective at a time: a classification entry and an embedding entry are never in
    one ranking, since their scores on a task measure different things (an embedding loss's
    MAP@R against a classifier's penultimate features)."""

    suites: list[str]
    rows: list[EntrySummary]

    def objectives(self) -> list[str]:
        """The objectives present, classification first, then embedding, then any other."""
        present = {r.objective for r in self.rows}
        return [o for o in OBJECTIVE_ORDER if o in present] + \
            sorted(present - set(OBJECTIVE_ORDER))

    def ranking(self, objective: str) -> list[EntrySummary]:
        """The rows of one objective, in the summary's order; their groups rank them among
        themselves only."""
        return [r for r in self.rows if r.objective == objective]

    def columns(self, objective: str) -> list[str]:
        """The suites where some entry of ``objective`` has a cell or a flag."""
        rows = self.ranking(objective)
        return [s for s in self.suites
                if any(r.cells.get(s) is not None or s in r.flags for r in rows)]


def best_validated(configs: list[Config], entry: str) -> Config | None:
    """An entry's row on one task: its tuned configuration, else its card defaults, else (a
    hand-set configuration only) the one with the most seeds."""
    mine = [c for c in configs if c.label == entry]
    if not mine:
        return None
    return sorted(mine, key=lambda c: (not c.tuned, not c.defaults, -c.n_ok, c.key))[0]


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
        m = b.primary
        base_values = list(base.by_seed(m).values())
        if not base_values or not c.by_seed(m):
            continue
        hib = higher_is_better(m, b.directions)
        base_mean = float(np.mean(base_values))
        name = f"{b.suite}/{b.task}"
        for out, config in ((mine, c), (base_scores, base)):
            seeds = sorted(config.by_seed(m))
            values = agg.normalized_score(np.array([config.by_seed(m)[s] for s in seeds]),
                                          base_mean, hib)
            out[name] = dict(zip(seeds, values.tolist(), strict=True))
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


def entry_flags(boards: list[TaskBoard], entry: str) -> list[str]:
    """``"suite/task: flag"`` for each of the ``boards`` (newest versions) where ``entry``'s best
    validated configuration is unstable or failed to train."""
    out = []
    for b in newest_boards(boards)[0]:
        c = best_validated(b.configs, entry)
        if c is not None and c.key in b.flags:
            out.append(f"{b.suite}/{b.task}: {b.flags[c.key].text}")
    return out


def objective_of(cards: Mapping[str, dict]) -> str:
    """What an entry optimises: its loss card's ``objective`` (a ``loss + regularizer`` entry's
    is its loss's); classification when the card does not say."""
    return str((cards.get("loss") or {}).get("objective") or "classification")


def build_summary(boards: list[TaskBoard]) -> Summary:
    """One row per entry, its cells per column (``own`` and each suite), and in each suite column
    its tie group from a paired test against the column's leader (:mod:`.groups`, pairs =
    ``(task, seed)``), computed within each objective apart. The ``own`` column (every task the
    entry ran on) gets no group: its entries ran on different tasks, so no test compares them."""
    suites = sorted({b.suite for b in boards})
    newest, _ = newest_boards(boards)
    entries: dict[str, Config] = {}
    for b in newest:
        for c in b.configs:
            entries.setdefault(c.label, c)
    rows = []
    for entry in sorted(entries):
        first = entries[entry]
        flagged = {}
        for col, col_boards in [("own", boards), *((s, [b for b in boards if b.suite == s])
                                                    for s in suites)]:
            found = entry_flags(col_boards, entry)
            if found:
                flagged[col] = "; ".join(found) if col == "own" or len(found) > 1 else \
                    found[0].partition(": ")[2] + f" on {found[0].partition(': ')[0]}"
        cells = {"own": None if "own" in flagged else entry_aggregate(boards, entry)}
        scores = {"own": {} if "own" in flagged else paired_scores(boards, entry)}
        tuned = False
        counts = {}
        for s in suites:
            suite_boards = [b for b in boards if b.suite == s]
            cells[s] = None if s in flagged else entry_aggregate(suite_boards, entry)
            scores[s] = {} if s in flagged else paired_scores(suite_boards, entry)
            b_c_w = [0, 0, 0]
            for b in newest_boards(suite_boards)[0]:
                base, c = b.baseline(), best_validated(b.configs, entry)
                if c is None:
                    continue
                tuned |= c.tuned
                if base is None or c.key == base.key or c.key in b.flags:
                    continue
                v = paired(b, c, base, b.primary)
                b_c_w[("better", "tie", "worse").index(v.verdict)] += 1
            counts[s] = tuple(b_c_w)
        kind = "regularizer" if "regularizer" in first.cards else \
            str((first.cards.get("loss") or {}).get("objective") or "–")
        fidelity = " / ".join(str(c.get("fidelity") or "exact") for c in first.cards.values()
                              if c) or "unknown"
        rows.append(EntrySummary(entry, first.cards, kind, fidelity, tuned, cells, counts,
                                 unpublished=any(unpublished(first.first.get(n),
                                                             first.first.get(f"{n}_version"))
                                                 for n in ("loss", "regularizer")),
                                 alias_cards=first.alias_cards, flags=flagged,
                                 objective=objective_of(first.cards), scores=scores))
    for objective in {r.objective for r in rows}:
        ranked = [r for r in rows if r.objective == objective]
        for col in suites:  # "own" gets no group: entries ran on different tasks there
            present = [r for r in ranked if r.cells.get(col) is not None]
            groups = groups_by_test({r.entry: r.scores[col] for r in present},
                                    {r.entry: r.cells[col].iqm[0] for r in present})
            for r in present:
                r.groups[col] = groups[r.entry]
    rows.sort(key=lambda r: (-sum(s in r.groups for s in suites), r.order,
                             -r.cells["own"].iqm[0] if r.cells.get("own") else math.inf,
                             r.entry))
    return Summary(suites, rows)


# ---------------------------------------------------------------- provenance

def mixed(runs: pd.DataFrame) -> list[str]:
    """What a table's runs mix that should not be mixed: ``"git SHAs (a, b)"``, ... (for the
    optional ``harness_fingerprint`` column only when the records have it)."""
    out = []
    for col, what in MIX_COLUMNS:
        if col not in runs:
            continue
        values = sorted({str(v) for v in runs[col] if not is_missing(v) and str(v)})
        if len(values) > 1:
            shown = ", ".join(v[:12] if re.fullmatch(r"[0-9a-f]{40}(-dirty)?", v) else v
                              for v in values[:4]) + (" …" if len(values) > 4 else "")
            out.append(f"{len(values)} {what} ({shown})")
    return out


# ---------------------------------------------------------------- assembly

@dataclass
class Section:
    """All boards run with one set of recipe options."""

    options: str
    boards: list[TaskBoard]
    aggregate: Aggregate | None

    @property
    def default(self) -> bool:
        return self.options == "{}"


def recipe_description(description: str, options: str) -> str:
    """A task's description for the runs of a section with recipe ``options`` (JSON): a smoke
    run's ``{"epochs": 2}`` turns the recipe's "40 epochs" into "2 epochs (recipe: 40)"; the
    description is the task's own (its recipe) otherwise."""
    try:
        epochs = json.loads(options or "{}").get("epochs")
    except (ValueError, AttributeError):
        return description
    if not isinstance(epochs, int) or isinstance(epochs, bool):
        return description

    def override(found: re.Match) -> str:
        recipe = int(found.group(1).replace(",", ""))
        return found.group(0) if recipe == epochs else f"{epochs} epochs (recipe: {recipe})"

    text, count = re.subn(r"\b(\d[\d,]*) epochs\b", override, description, count=1)
    return text if count else f"{description}; run with {epochs} epochs (--epochs)"


@dataclass
class Model:
    """Everything the renderers draw from."""

    runs: pd.DataFrame
    tunings: dict[tuple, Tuning]
    sections: list[Section]
    summary: Summary | None  # of the summarised section
    untrusted: list[tuple[str, str]]  # (file name, reason)
    store_check: str = ""  # whether the records verified (lossbench.integrity.Verification)
    #: every trusted record, confirmation seeds included (``runs`` holds the board's seeds)
    all_runs: pd.DataFrame | None = None
    #: the per-suite answers of the summarised section (:func:`.answers.answers`)
    answers: list[Answer] = field(default_factory=list)

    @property
    def default(self) -> Section | None:
        return next((s for s in self.sections if s.default), None)

    @property
    def summarised(self) -> Section | None:
        """The section the summary shows: the default recipe's; without default-recipe runs
        (a smoke run with ``--epochs``) the first other one, so that its summary is not empty."""
        return self.default or (self.sections[0] if self.sections else None)


def build(runs: pd.DataFrame, manifests: list[dict],
          untrusted: list[tuple[str, str]] = (), store_check: str = "") -> Model:
    """The model of ``runs`` (the wide records frame) and the tuning manifests; ``untrusted``
    and ``store_check`` say what the store left out and whether it verified."""
    if runs.empty:
        return Model(runs, {}, [], None, list(untrusted), store_check)
    runs = runs.sort_values("spec_key", kind="stable").reset_index(drop=True)
    tunings = tuning_by_task(manifests, runs)
    sections = []
    for options in sorted(runs["options"].unique(), key=lambda o: (o != "{}", o)):
        group = runs[runs["options"] == options]
        boards = []
        for (suite, task, version), task_runs in group.groupby(
                ["suite", "task", "task_version"], sort=True):
            tuning = tunings.get((suite, task, str(version), options), Tuning())
            boards.append(build_task(suite, task, str(version), task_runs, tuning))
        sections.append(Section(options, boards, build_aggregate(boards)))
    m = Model(runs, tunings, sections, None, list(untrusted), store_check)
    if m.summarised is not None:
        from .answers import answers

        m.summary = build_summary(m.summarised.boards)
        m.answers = answers(m.summarised.boards)
    return m

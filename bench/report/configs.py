"""Configurations: the rows of a task's table, built from its records and tuning manifests.

A *configuration* is an entry (loss ± regularizer) with fixed hyperparameters on one task
(:func:`config_key`). Its row says whether tuning selected it (the manifest's choice, read and
never recomputed: :class:`Tuning`), whether its hyperparameters are the card's defaults, and
holds its runs; an entry's *best validated* row on a task is its tuned configuration, else its
card defaults (:func:`best_validated`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..cells import is_missing
from ..record_format import RUN_COLUMNS
from ..targets import LOCAL_VERSION_TAG
from .stored_metadata import parsed_json, stored_card


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
    data = parsed_json(str(text))
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


def best_validated(configs: list[Config], entry: str) -> Config | None:
    """An entry's row on one task: its tuned configuration, else its card defaults, else (a
    hand-set configuration only) the one with the most seeds."""
    mine = [c for c in configs if c.label == entry]
    if not mine:
        return None
    return sorted(mine, key=lambda c: (not c.tuned, not c.defaults, -c.n_ok, c.key))[0]

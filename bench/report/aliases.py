"""Aliases: two entries that compute one function are one method, shown as one row.

An entry whose default computes the same function as another entry declares it on its card
(``alias_of``, :mod:`lossbench.registry`): ``balanced_softmax`` (Ren et al. 2020) is
``logit_adjustment`` (Menon et al. 2021) at τ = 1. Ranking both would count one method twice,
so where the records say so the report merges them:

* :func:`alias_merges` — a configuration whose stored card says ``alias_of = X`` merges into
  the configuration of ``X`` (same regularizer and its hyperparameters, same task, version and
  recipe options) whose ok runs have the same seeds and bit-identical quality metrics on every
  one of them; the row keeps ``X``'s runs and shows both names (``X = alias``). Numbers that
  differ (a non-default τ, another seed set) keep two rows.
* :func:`identical_pairs` / :func:`undeclared_pairs` — the check behind the test that fails when
  two entries give bit-identical records without declaring it.

Quality metrics are every recorded metric but the timings (:data:`TIMING_METRICS`), which differ
between two runs of one function. Records only: the declarations come from ``card_json``.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..cells import is_missing
from ..record_format import RUN_COLUMNS
from .configs import Config, config_keys
from .stored_metadata import stored_card, stored_json

#: Recorded metrics that measure time, not quality: two runs of the same function differ there.
TIMING_METRICS = ("train_seconds", "samples_per_second", "loss_cost_ratio")
#: What one table holds: runs are compared only within one task, version and recipe.
TASK_COLUMNS = ("suite", "task", "task_version", "options")
#: Shared seeds two entries need before identical records say they are one function.
MIN_SHARED_SEEDS = 3
GROUPS = (("loss", "loss_hparams"), ("regularizer", "regularizer_hparams"))


def quality_metrics(runs: pd.DataFrame) -> list[str]:
    """The metric columns of the wide records frame ``runs``, less :data:`TIMING_METRICS`."""
    return [c for c in runs.columns if c not in RUN_COLUMNS and c not in TIMING_METRICS]


def _by_seed(runs: pd.DataFrame, metrics: list[str]) -> dict[int, np.ndarray]:
    """``{seed: quality metric values}`` of the ok runs (a seed run twice: the last)."""
    ok = runs[runs["status"] == "ok"]
    values = ok[metrics].to_numpy(dtype=float) if metrics else np.empty((len(ok), 0))
    return {int(s): v for s, v in zip(ok["seed"], values, strict=True)}


def _identical(a: np.ndarray, b: np.ndarray) -> bool:
    """Bit-for-bit the same values (a metric missing from both counts as the same)."""
    return bool(np.array_equal(a, b, equal_nan=True))


def identical_seeds(a: pd.DataFrame, b: pd.DataFrame, metrics: list[str]) -> list[int]:
    """The seeds the ok runs of ``a`` and ``b`` share when every quality metric is bit-identical
    on each of them, else [] (one differing value on one shared seed is enough)."""
    return _identical_seeds(_by_seed(a, metrics), _by_seed(b, metrics))


def _identical_seeds(x: dict[int, np.ndarray], y: dict[int, np.ndarray]) -> list[int]:
    shared = sorted(set(x) & set(y))
    if not all(_identical(x[s], y[s]) for s in shared):
        return []
    return shared


def _configs(runs: pd.DataFrame) -> dict[str, pd.DataFrame]:
    keys = np.array(config_keys(runs), dtype=object)
    return {k: runs[keys == k] for k in sorted(set(keys))}


def _entry(config: pd.DataFrame, group: str) -> str | None:
    value = config[group].iloc[0]
    return None if is_missing(value) or not value else str(value)


def stored_aliases(runs: pd.DataFrame) -> dict[tuple[str, str], str]:
    """``{(kind, name): alias_of}`` as the records' cards (``card_json``) declare it."""
    out: dict[tuple[str, str], str] = {}
    for text in runs["card_json"].dropna().unique() if "card_json" in runs else ():
        for kind, card in stored_json(text).items():
            if isinstance(card, dict) and isinstance(card.get("alias_of"), str) \
                    and isinstance(card.get("name"), str):
                out[(kind, card["name"])] = card["alias_of"]
    return out


def declared(a: pd.DataFrame, b: pd.DataFrame,
             aliases: Mapping[tuple[str, str], str]) -> bool:
    """Whether configurations ``a`` and ``b`` differ only by entries declared aliases of each
    other (in either direction), loss and regularizer alike."""
    differ = False
    for group, _ in GROUPS:
        x, y = _entry(a, group), _entry(b, group)
        if x == y:
            continue
        if x is None or y is None or (aliases.get((group, x)) != y
                                      and aliases.get((group, y)) != x):
            return False
        differ = True
    return differ


def _label(config: pd.DataFrame) -> str:
    parts = []
    for group, hp in GROUPS:
        name = _entry(config, group)
        if name:
            params = config[hp].iloc[0]
            parts.append(name if is_missing(params) or params in ("", "{}")
                         else f"{name} {params}")
    return " + ".join(parts)


def identical_pairs(runs: pd.DataFrame, min_seeds: int = MIN_SHARED_SEEDS) -> pd.DataFrame:
    """Pairs of configurations of different entries, on one (suite, task, version, options),
    whose ok runs share at least ``min_seeds`` seeds with every quality metric bit-identical on
    each of them: one function under two names, unless the numbers are a coincidence (they are
    not, over thousands of values). Columns: the task columns, ``a`` and ``b`` (labels with
    hyperparameters), ``seeds`` (the shared seeds) and ``a_key`` / ``b_key`` (config keys)."""
    metrics = quality_metrics(runs)
    stored = stored_aliases(runs)
    rows = []
    for task, group in runs.groupby(list(TASK_COLUMNS), sort=True):
        configs = _configs(group)
        values = {k: _by_seed(c, metrics) for k, c in configs.items()}
        entries = {k: tuple(_entry(c, g) for g, _ in GROUPS) for k, c in configs.items()}
        for (ka, a), (kb, b) in itertools.combinations(configs.items(), 2):
            if entries[ka] == entries[kb]:
                continue  # one entry with two hyperparameter sets: not an alias question
            seeds = _identical_seeds(values[ka], values[kb])
            if len(seeds) >= min_seeds:
                rows.append({**dict(zip(TASK_COLUMNS, task, strict=True)), "a": _label(a),
                             "b": _label(b), "seeds": seeds, "a_key": ka, "b_key": kb,
                             "declared": declared(a, b, stored)})
    columns = [*TASK_COLUMNS, "a", "b", "seeds", "a_key", "b_key", "declared"]
    return pd.DataFrame(rows, columns=columns)


def undeclared_pairs(runs: pd.DataFrame,
                     aliases: Mapping[tuple[str, str], str] | None = None,
                     min_seeds: int = MIN_SHARED_SEEDS) -> pd.DataFrame:
    """:func:`identical_pairs` whose entries are not declared aliases — by ``aliases``
    (``{(kind, name): alias_of}``, e.g. from the installed cards) or else by the records' cards."""
    pairs = identical_pairs(runs, min_seeds)
    if aliases is None or pairs.empty:
        return pairs[~pairs["declared"].astype(bool)].reset_index(drop=True)
    configs = {}
    for _, group in runs.groupby(list(TASK_COLUMNS), sort=True):
        configs.update(_configs(group))
    keep = [not declared(configs[a], configs[b], aliases)
            for a, b in zip(pairs["a_key"], pairs["b_key"], strict=True)]
    return pairs[keep].reset_index(drop=True)


def alias_merges(runs: pd.DataFrame) -> dict[str, str]:
    """``{alias config key: config key it merges into}`` for the runs of one table (one suite,
    task, version and recipe options): a configuration whose stored card declares ``alias_of =
    X`` merges into the configuration of ``X`` with the same other entry whose ok runs have the
    same seeds (at least one) and bit-identical quality metrics on each. When several of
    ``X``'s configurations qualify, the first by config key is taken."""
    declarations = stored_aliases(runs)
    if not declarations:
        return {}
    names = {name for _, name in declarations} | set(declarations.values())
    runs = runs[runs["loss"].isin(names) | runs["regularizer"].isin(names)]  # the rest: no part
    metrics = quality_metrics(runs)
    configs = _configs(runs)
    merges: dict[str, str] = {}
    for key, config in configs.items():
        for group, _ in GROUPS:
            target = stored_card(config, group).get("alias_of")
            if not isinstance(target, str) or _entry(config, group) is None:
                continue
            other = next(g for g, _ in GROUPS if g != group)
            other_hp = dict(GROUPS)[other]
            seeds = set(_by_seed(config, metrics))
            for tkey, candidate in configs.items():
                if tkey == key or tkey in merges or _entry(candidate, group) != target \
                        or _entry(candidate, other) != _entry(config, other) \
                        or _hparams(candidate, other_hp) != _hparams(config, other_hp):
                    continue
                same = identical_seeds(config, candidate, metrics)
                if same and set(same) == seeds == set(_by_seed(candidate, metrics)):
                    merges[key] = tkey
                    break
            if key in merges:
                break
    return merges


def _hparams(config: pd.DataFrame, column: str) -> object:
    value = config[column].iloc[0]
    if is_missing(value) or not value:
        return {}
    try:
        return json.loads(str(value))
    except ValueError:
        return str(value)


#: How a merged row is labelled: the entry that owns the function, then its aliases.
ALIAS_JOIN = " = "


def merge_alias_configs(configs: list[Config], merges: Mapping[str, str]) -> list[Config]:
    """``configs`` with each alias configuration of ``merges`` (:func:`alias_merges`) folded
    into the one it merges into: that row keeps its own runs and numbers, is labelled with both
    names (``logit_adjustment = balanced_softmax``) and carries the alias's cards
    (``alias_cards``: its paper is linked too); the alias's own row is gone."""
    by_key = {c.key: c for c in configs}
    folded: dict[str, list[Config]] = {}
    for alias, target in merges.items():
        if alias in by_key and target in by_key:
            folded.setdefault(target, []).append(by_key[alias])
    gone = {a.key for aliases in folded.values() for a in aliases}
    out = []
    for c in configs:
        if c.key in gone:
            continue
        if c.key in folded:
            aliases = sorted(folded[c.key], key=lambda a: a.label)
            c = dataclasses.replace(
                c, label=ALIAS_JOIN.join([c.label, *(a.label for a in aliases)]),
                alias_cards=[*c.alias_cards, *(a.cards for a in aliases)], arrays=c.arrays)
        out.append(c)
    return out

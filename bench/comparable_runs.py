"""The comparable runs of an entry on one task: the records a finding or a catalog claim is
judged on.

Comparable means: default-recipe runs (empty spec ``options``, :data:`DEFAULT_OPTIONS`) whose
stored hyperparameters equal the expected ones — the card's defaults (:func:`card_defaults`,
or the defaults the records stored, :func:`lossbench.report.catalog_section.stored_card_defaults`)
— one run per seed (the newest start wins), values by seed from the ``ok`` runs and the failed
seeds counted apart (:func:`side_values`). The suites' own findings (:mod:`lossbench.findings`)
and the catalog's judge (:mod:`lossbench.validity`) both read runs this way.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .suites.declared_findings import EntryRef

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_OPTIONS = "{}"  # canonical JSON of a default-recipe run's spec options


def card_defaults(kind: str, name: str) -> dict[str, Any] | None:
    """The card's default hyperparameters of a registered loss or regularizer; None when the
    entry is not registered or its card cannot be read (its stored runs stay readable)."""
    from .registry import registry_for

    try:
        return dict(registry_for(kind).card(name).hparams)
    except Exception:  # noqa: BLE001 - a plugin that no longer loads still has stored results
        return None


def _hparams(text: Any) -> dict[str, Any]:
    from .cells import is_missing

    return {} if is_missing(text) or not text else json.loads(text)


@dataclass
class Side:
    """The comparable runs of one entry: values by seed (ok, metric recorded) and failures."""

    values: dict[str, dict[int, float]] = field(default_factory=dict)  # metric -> seed -> value
    ok_seeds: set[int] = field(default_factory=set)
    failed_seeds: set[int] = field(default_factory=set)
    failed: int = 0
    note: str = ""


def side_values(runs: pd.DataFrame, ref: EntryRef, metrics: Sequence[str],
                defaults: Callable[[str, str], Mapping[str, Any] | None]) -> Side:
    """The comparable runs of ``ref`` in ``runs`` (one task's rows): its records whose stored
    hyperparameters equal ``defaults(kind, name)`` for the loss and the regularizer, one per
    seed (the newest start wins), values of ``metrics`` by seed from the ``ok`` ones."""
    from .cells import is_missing

    side = Side()
    loss_default = defaults("loss", ref.loss)
    reg_default = {} if ref.regularizer is None else defaults("regularizer", ref.regularizer)
    if loss_default is None or reg_default is None:
        side.values = {m: {} for m in metrics}
        bad = ref.loss if loss_default is None else ref.regularizer
        if len(runs) and (runs["loss"] == bad).any() | (runs["regularizer"] == bad).any():
            side.note = f"the card of {bad!r} cannot be read, so its default hyperparameters " \
                        f"are unknown"
        return side  # an entry without records (or card): nothing to compare, missing
    reg = runs["regularizer"]
    same_reg = reg.map(is_missing) if ref.regularizer is None else reg == ref.regularizer
    rows = runs[(runs["loss"] == ref.loss) & same_reg.astype(bool)]
    if len(rows):
        rows = rows[rows["loss_hparams"].map(lambda t: _hparams(t) == dict(loss_default))]
    if len(rows):
        rows = rows[rows["regularizer_hparams"].map(lambda t: _hparams(t) == dict(reg_default))]
    # one run per seed: a re-run under another harness version has another spec key; the newest
    # start wins
    rows = rows.sort_values(["started_at", "spec_key"], kind="stable", na_position="first")
    ok = rows[rows["status"] == "ok"]
    side.failed = int((rows["status"] != "ok").sum())
    side.ok_seeds = {int(s) for s in ok["seed"]}
    side.failed_seeds = {int(s) for s in rows.loc[rows["status"] != "ok", "seed"]} - side.ok_seeds
    for m in metrics:
        vals: dict[int, float] = {}
        if m in ok.columns:
            for s, v in zip(ok["seed"], ok[m], strict=True):
                if not is_missing(v):
                    vals[int(s)] = float(v)
        side.values[m] = vals
        if side.ok_seeds and not vals:
            side.note = f"{ref.label}'s ok runs do not record {m!r}"
    return side

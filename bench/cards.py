"""Cards: the frozen description of an entry, and the rules of its fields that need no registry.

A card is read from the optional attributes of an entry's target
(:func:`lossbench.card_reading.card_from_target`) and validated by
:func:`lossbench.card_reading.card_problems`, which checks what this module defines: the field
limits, the objectives, the fidelity text, finite JSON hyperparameters and the search-space
format (:func:`search_space_problem`). The checks that name other entries (a card's suites, its
``alias_of``) need the registered entries and live there.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Card:
    """The frozen description of an entry: what the leaderboard links to.

    Built from optional attributes on the entry-point target (``version``, ``paper``, ``hparams``,
    ``search_space``, ``suites``, ``fidelity``, ``objective``, ``accepts_soft_targets``,
    ``alias_of``, ``model_needs``), so a plugin never imports lossbench to describe itself. A
    loss's ``model_needs`` (:mod:`lossbench.model_needs`) is recorded in ``hparams`` under that
    name. (``objective`` was called ``kind`` before harness 0.2; a target that still declares
    ``kind = "embedding"`` is read the same.)
    """

    name: str
    kind: str  # loss | regularizer | suite | executor
    version: str
    origin: str  # "<distribution> <version>"
    target: str  # "module:attr"
    summary: str = ""
    paper: str = ""
    hparams: Mapping[str, Any] = field(default_factory=dict)
    search_space: Mapping[str, Any] = field(default_factory=dict)
    suites: tuple[str, ...] = ()
    fidelity: str = "exact"
    #: what a loss trains: class logits (``classification``) or an ``embedding`` head
    objective: str = "classification"
    accepts_soft_targets: bool = False
    #: the target's docstring (``lossbench show`` prints it: formula, notes), cut to DOC_LIMIT
    doc: str = ""
    #: the entry of the same kind whose *default* computes the same function (e.g.
    #: ``balanced_softmax`` is ``logit_adjustment`` at tau = 1): the leaderboard shows the two as
    #: one row where their records are bit-identical
    #: (:func:`lossbench.card_reading.alias_problem` validates it)
    alias_of: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["hparams"] = dict(self.hparams)
        d["search_space"] = dict(self.search_space)
        d["suites"] = list(self.suites)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Card:
        """The inverse of :meth:`to_dict` (``Card.from_dict(c.to_dict()) == c``)."""
        fields = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        fields["suites"] = tuple(fields.get("suites", ()))
        return cls(**fields)

    def applies_to(self, suite: str) -> bool:
        """True if the entry declares ``suite`` (an entry that declares none applies everywhere)."""
        return not self.suites or suite in self.suites


SUMMARY_LIMIT = 200
DOC_LIMIT = 4000
VERSION_LIMIT = 64
OBJECTIVES = ("classification", "embedding")
FIDELITY_HINT = 'fidelity must be "exact" or start with "approximate:"'


def _first_doc_line(obj: Any) -> str:
    doc = inspect.getdoc(obj) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def _short_repr(value: Any, limit: int = 60) -> str:
    try:
        text = repr(value)
    except Exception as exc:  # noqa: BLE001 - a hostile __repr__
        text = f"<unprintable: {type(exc).__name__}>"
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _jsonable(value: Any, where: str, problems: list[str]) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        return {}
    try:
        return json.loads(json.dumps(dict(value), sort_keys=True, allow_nan=False))
    except (TypeError, ValueError) as exc:
        bad = _non_finite(value)
        problems.append(f"{where} must be JSON with finite numbers; {bad}" if bad else
                        f"{where} must be JSON-serialisable: {exc}")
        return {}


def _non_finite(value: Any, path: str = "") -> str:
    """Where in ``value`` a NaN or infinite number sits ('' if none)."""
    if isinstance(value, float) and not math.isfinite(value):
        return f"{path or 'value'} is {value}"
    if isinstance(value, Mapping):
        for k, v in value.items():
            found = _non_finite(v, f"{path}[{k!r}]")
            if found:
                return found
    if isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            found = _non_finite(v, f"{path}[{i}]")
            if found:
                return found
    return ""


#: ``search_space_problem``'s default when there is none to check (``None`` can be a default).
NO_DEFAULT = object()


def search_space_problem(spec: Any, default: Any = NO_DEFAULT) -> str:
    """Why a search-space spec is malformed ('' if it is well-formed); see the card format. The
    one rule of search spaces: ``list``, the sweep, ``check`` and ``tune`` all apply it."""
    if not isinstance(spec, dict):
        return f"expected a dict like {{'low': 0.0, 'high': 1.0}} or {{'choices': [...]}}, " \
               f"got {_short_repr(spec)}"
    if "choices" in spec:
        choices = spec["choices"]
        if not isinstance(choices, list) or not choices:
            return f"choices must be a non-empty list, got {_short_repr(choices)}"
        if default is not NO_DEFAULT and default not in choices:
            return f"the default {default!r} is not among the choices {_short_repr(choices)}"
        return ""
    unknown = sorted(set(spec) - {"low", "high", "log", "int"})
    if unknown or not {"low", "high"} <= set(spec):
        return f"expected keys low, high (optional log, int) or choices, got {sorted(spec)}"
    low, high = spec["low"], spec["high"]
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
               for v in (low, high)):
        return f"low and high must be finite numbers, got {low!r}, {high!r}"
    if not low < high:
        return f"low must be < high, got {low} >= {high}"
    if spec.get("log") and low <= 0:
        return f"a log-scale range needs low > 0, got {low}"
    if isinstance(default, (int, float)) and not low <= default <= high:
        return f"the default {default} is outside [{low}, {high}]"
    return ""

"""Hyperparameter values a user gives (``--hparam NAME=VALUE``, ``hparams={...}``), typed and
checked by the card of the entry they set: what planning applies to the named entries.

Every bad value raises :class:`~lossbench.errors.UsageError` naming the value, the entry and the
valid choices.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from .errors import UsageError
from .registry import Card


def typed_hparam(card: Card, name: str, value: Any) -> Any:
    """``value`` for hyperparameter ``name`` of ``card``, typed like its default (a string such
    as ``"3"`` from ``--hparam gamma=3`` becomes ``3.0`` when the default is a float; ``true`` /
    ``false`` for booleans; JSON for lists, dicts and a ``None`` default) and checked against
    the search space's ``choices`` and ``int`` flag; ``UsageError`` naming the value otherwise."""
    default = card.hparams[name]
    space = card.search_space.get(name, {}) if isinstance(card.search_space, Mapping) else {}
    where = f"--hparam {name}={value} for {card.kind} {card.name!r}"
    if isinstance(value, str):
        text = value.strip()
        try:
            if isinstance(default, bool):
                low = text.lower()
                if low not in ("true", "false", "1", "0", "yes", "no"):
                    raise ValueError
                value = low in ("true", "1", "yes")
            elif isinstance(default, int):
                try:
                    value = int(text)
                except ValueError:  # an int default with a real-valued range takes floats
                    if not space or space.get("int") or "choices" in space:
                        raise
                    value = float(text)
            elif isinstance(default, float):
                value = float(text)
            elif isinstance(default, str):
                value = text
            else:  # None, lists, dicts: JSON, else the plain string
                try:
                    value = json.loads(text)
                except ValueError:
                    value = text
        except ValueError:
            kind = type(default).__name__
            raise UsageError(f"{where}: expected {'a' if kind != 'int' else 'an'} {kind} like "
                             f"the default {default!r}, got {text!r}") from None
    elif isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if isinstance(value, float) and not math.isfinite(value):
        raise UsageError(f"{where}: hyperparameters must be finite numbers")
    if isinstance(space, Mapping) and "choices" in space and value not in space["choices"]:
        raise UsageError(f"{where}: valid choices: "
                         f"{', '.join(map(repr, space['choices']))}")
    if isinstance(space, Mapping) and space.get("int") and not (
            isinstance(value, int) and not isinstance(value, bool)):
        raise UsageError(f"{where}: expected an integer (the search space says int)")
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        raise UsageError(f"{where}: the value must be JSON-serialisable") from None
    return value


def apply_hparams(hparams: Mapping[str, Any], named: list[Card],
                   loss_hparams: dict[str, dict[str, Any]],
                   regularizer_hparams: dict[str, dict[str, Any]]) -> None:
    """Set each of ``hparams`` on every named card that has it (typed by that card)."""
    if not named:
        raise UsageError("--hparam needs the losses or regularizers it sets to be named "
                         "(--loss NAME or --regularizer NAME)")
    for name, value in hparams.items():
        owners = [c for c in named if name in c.hparams]
        if not owners:
            valid = sorted({f"{h} ({c.name})" for c in named for h in c.hparams})
            raise UsageError(f"--hparam {name}={value}: no selected entry has a hyperparameter "
                             f"{name!r} (selected: {', '.join(c.name for c in named)}); valid "
                             f"names: {', '.join(valid) or '(none: they take no hyperparameters)'}")
        for card in owners:
            target = loss_hparams if card.kind == "loss" else regularizer_hparams
            target.setdefault(card.name, {})[name] = typed_hparam(card, name, value)


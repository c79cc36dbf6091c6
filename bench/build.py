"""Building an entry: its hyperparameters resolved against its card, and its factory called.

A run, ``lossbench check`` and :func:`lossbench.create_loss` build an entry the same way:
:func:`resolve_hparams` (the card's defaults updated by the overrides, each name checked) then
:func:`build` (``factory(**hparams, **the build context its signature names)``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .cards import Card
from .errors import EntryLoadError, UsageError
from .model_needs import HPARAM as NEEDS_HPARAM
from .model_needs import factory_hparams, needs_problems
from .registry import Entry
from .signatures import BUILD_CONTEXT, context_kwargs


def resolve_hparams(card: Card, overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    """The card's defaults updated by ``overrides``; unknown names, and an overridden
    ``model_needs`` that is not a valid declaration, are a :class:`UsageError`."""
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - set(card.hparams))
    if unknown:
        raise UsageError(
            f"{card.kind} {card.name!r} has no hyperparameter {unknown[0]!r}; "
            f"valid: {', '.join(sorted(card.hparams)) or '(none)'}"
        )
    resolved = {**card.hparams, **overrides}
    if NEEDS_HPARAM in overrides:
        problems = needs_problems(resolved[NEEDS_HPARAM], resolved)
        if problems:
            raise UsageError(f"{card.kind} {card.name!r}: " + "; ".join(problems))
    return resolved


def build(entry: Entry, hparams: Mapping[str, Any],
          context: Mapping[str, Any] | None = None) -> Any:
    """Instantiate an entry: ``factory(**hparams, **context the factory's signature names)``."""
    factory = entry.load()
    kwargs = factory_hparams(hparams)  # the recorded model needs are the harness's to honour
    kwargs.update(context_kwargs(factory, context or {}, BUILD_CONTEXT))
    try:
        return factory(**kwargs)
    except Exception as exc:
        raise EntryLoadError(
            f"{entry.kind} {entry.name!r} could not be built with {kwargs!r}: "
            f"{type(exc).__name__}: {exc}"
        ) from exc

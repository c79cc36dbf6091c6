"""Reading a card from an entry's target, and the one validation of cards.

:func:`card_from_target` reads the optional metadata attributes of an entry-point target into a
:class:`~lossbench.cards.Card`; :func:`entry_card` adds the ``+local.<hash>`` version of a
``module:attr`` target named by the user; :func:`card_problems` is the one validation of cards,
used by ``list``, the sweep's planning, ``lossbench check`` and the child that reads third-party
cards alike. The field rules that need nothing else are in :mod:`lossbench.cards`.

Two checks name other entries — a card's ``suites`` must be registered suites, and its
``alias_of`` another registered entry of its kind (:func:`alias_problem`) — so every function
here takes ``registries``: the registered entries by kind (:data:`lossbench.registry.REGISTRIES`
in the package), anything with ``names()`` and ``card(name)`` (:class:`Registered`). This module
reads no registry of its own, so it sits below :mod:`lossbench.registry`, whose entries validate
their cards with it.
"""

from __future__ import annotations

import dataclasses
import inspect
import threading
from collections.abc import Mapping
from typing import Any, Protocol

from .cards import (
    DOC_LIMIT,
    FIDELITY_HINT,
    OBJECTIVES,
    SUMMARY_LIMIT,
    VERSION_LIMIT,
    Card,
    _first_doc_line,
    _jsonable,
    _non_finite,
    _short_repr,
    search_space_problem,
)
from .errors import EntryLoadError
from .model_needs import HPARAM as NEEDS_HPARAM
from .model_needs import needs_problems
from .signatures import factory_defaults
from .targets import LOCAL_VERSION_TAG, source_digest


class Registered(Protocol):
    """The registered entries of one kind, as card validation consults them (a
    :class:`lossbench.registry.Registry` is one)."""

    def names(self) -> list[str]:
        """The registered names, sorted."""
        ...

    def card(self, name: str) -> Card:
        """The validated card of the entry registered as ``name``."""
        ...


def card_from_target(obj: Any, name: str, kind: str, origin: str, target: str, *,
                     registries: Mapping[str, Registered]) -> Card:
    """Read a card from the optional metadata attributes of an entry-point target.

    Raises :class:`EntryLoadError` naming every attribute that is ill-typed or out of range
    (:func:`card_problems`, which consults ``registries``), so an invalid card fails that
    entry only.
    """
    problems: list[str] = []

    def text(attr: str, default: str) -> str:
        value = getattr(obj, attr, default)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            problems.append(f"{attr} must be a string, got {type(value).__name__} "
                            f"{_short_repr(value)}")
            return default
        try:
            return str(value)
        except ValueError as exc:  # an int too large to print
            problems.append(f"{attr}: {exc}")
            return default

    if kind == "suite":
        summary = text("description", "") or _first_doc_line(obj)
        card = Card(name=name, kind=kind, version=text("version", "1"), origin=origin,
                    target=target, summary=summary[:SUMMARY_LIMIT])
    else:
        hparams = getattr(obj, "hparams", None)
        if hparams is None:
            hparams = factory_defaults(obj)
        space = getattr(obj, "search_space", None) or {}
        suites = getattr(obj, "suites", ())
        if isinstance(suites, str):
            suites = (suites,)
        if not isinstance(suites, (list, tuple)):
            problems.append(f"suites must be a list of suite names, got {type(suites).__name__} "
                            f"{_short_repr(suites)}")
            suites = ()
        soft = getattr(obj, "accepts_soft_targets", False)
        if not isinstance(soft, bool):
            problems.append(f"accepts_soft_targets must be True or False, got {_short_repr(soft)}")
            soft = False
        for attr, value in (("hparams", hparams), ("search_space", space)):
            if not isinstance(value, Mapping):
                problems.append(f"{attr} must be a dict, got {type(value).__name__} "
                                f"{_short_repr(value)}")
        needs = getattr(obj, NEEDS_HPARAM, None)
        if needs is not None and isinstance(hparams, Mapping):
            if kind != "loss":
                problems.append(f"model_needs is for losses only, not a {kind}")
            elif NEEDS_HPARAM in hparams:
                problems.append(f"hparams must not name {NEEDS_HPARAM!r} (reserved for the "
                                f"entry's model_needs)")
            else:  # recorded among the hyperparameters: in every spec, its hash, the board
                hparams = {**hparams, NEEDS_HPARAM: needs}
        card = Card(
            name=name, kind=kind, version=text("version", "0"), origin=origin, target=target,
            summary=_first_doc_line(obj)[:SUMMARY_LIMIT], paper=text("paper", ""),
            doc=(inspect.getdoc(obj) or "")[:DOC_LIMIT],
            hparams=_jsonable(hparams, "hparams", problems),
            search_space=_jsonable(space, "search_space", problems),
            suites=tuple(suites), fidelity=text("fidelity", "exact"),
            objective=text("objective", text("kind", "classification")),
            accepts_soft_targets=soft, alias_of=text("alias_of", "") or None,
        )
    problems += card_problems(card, registries)
    if problems:
        raise EntryLoadError("invalid card: " + "; ".join(dict.fromkeys(problems)))
    return card


def entry_card(obj: Any, name: str, kind: str, origin: str, target: str, local: bool = False,
               *, registries: Mapping[str, Registered]) -> Card:
    """:func:`card_from_target`, and for a ``module:attr`` target named by the user (``local``)
    the card's version gets ``+local.<hash of the module's source file>``: an edited file is a
    new version, so its runs are new specs (unpublished code changes without a version bump)."""
    card = card_from_target(obj, name, kind, origin, target, registries=registries)
    if not local:
        return card
    card = dataclasses.replace(card, version=f"{card.version}{LOCAL_VERSION_TAG}"
                                             f"{source_digest(target)}")
    problems = card_problems(card, registries)
    if problems:
        raise EntryLoadError("invalid card: " + "; ".join(problems))
    return card


def card_problems(card: Card, registries: Mapping[str, Registered]) -> list[str]:
    """Everything wrong with a card ([] for a valid one): the one validation of cards, used by
    ``list``, the sweep's planning and ``lossbench check`` alike. Its ``suites`` are checked
    against ``registries["suite"]``, its ``alias_of`` by :func:`alias_problem`."""
    problems = []
    for attr in ("name", "version", "paper", "summary", "fidelity", "objective", "origin",
                 "target", "doc"):
        if not isinstance(getattr(card, attr), str):
            problems.append(f"{attr} must be a string, got {_short_repr(getattr(card, attr))}")
    if problems:
        return problems
    if not card.version.strip():
        problems.append("version must not be empty")
    if len(card.version) > VERSION_LIMIT or "\n" in card.version:
        problems.append(f"version must be one line of at most {VERSION_LIMIT} characters, got "
                        f"{len(card.version)} characters")
    if card.kind == "suite":
        return problems
    if card.objective not in OBJECTIVES:
        problems.append(f"objective must be one of {', '.join(OBJECTIVES)}, got "
                        f"{_short_repr(card.objective)}")
    if card.fidelity != "exact" and not card.fidelity.startswith("approximate:"):
        problems.append(f"{FIDELITY_HINT}, got {_short_repr(card.fidelity)}")
    if not isinstance(card.accepts_soft_targets, bool):
        problems.append("accepts_soft_targets must be True or False")
    hparams, space = card.hparams, card.search_space
    if not isinstance(hparams, Mapping) or not all(isinstance(k, str) for k in hparams):
        problems.append("hparams must be a dict with string keys")
        hparams = {}
    else:
        bad = _non_finite(dict(hparams), "hparams")
        if bad:
            problems.append(f"hyperparameters must be finite numbers: {bad}")
    if not isinstance(space, Mapping):
        problems.append("search_space must be a dict")
        space = {}
    if NEEDS_HPARAM in hparams:
        problems += needs_problems(hparams[NEEDS_HPARAM], hparams)
    if NEEDS_HPARAM in space:
        problems.append(f"search_space must not name {NEEDS_HPARAM!r} (a declaration, not a "
                        f"number to tune)")
    for name, spec in space.items():
        if name not in hparams:
            problems.append(f"search_space names {name!r}, which is not in hparams "
                            f"({', '.join(sorted(hparams)) or 'none'})")
            continue
        problem = search_space_problem(spec, hparams[name])
        if problem:
            problems.append(f"search_space[{name!r}]: {problem}")
    bad_suites = [s for s in card.suites if not isinstance(s, str) or not s]
    if bad_suites:
        problems.append(f"suites must be suite names (strings), got {_short_repr(bad_suites)}")
    else:
        known = set(registries["suite"].names())
        unknown = sorted(set(card.suites) - known)
        if unknown:
            problems.append(f"suites names unknown suite(s) {', '.join(map(repr, unknown))}; "
                            f"valid: {', '.join(sorted(known))}")
    alias = alias_problem(card, registries)
    if alias:
        problems.append(alias)
    return problems


#: ``(kind, name)`` of the cards whose ``alias_of`` this thread is checking (a cycle reads the
#: first card again: its chain is being checked further up, so it is not read a third time)
_alias_checks = threading.local()


def alias_problem(card: Card, registries: Mapping[str, Registered]) -> str:
    """Why ``card.alias_of`` is invalid ('' if it is None or valid): it must name another
    entry of the same kind registered in ``registries``, whose own card declares no
    ``alias_of`` (no chains, hence no cycles: an alias names the entry that owns the function)."""
    alias = card.alias_of
    if alias is None:
        return ""
    if not isinstance(alias, str) or not alias.strip():
        return f"alias_of must be the name of an entry or None, got {_short_repr(alias)}"
    registry = registries.get(card.kind)
    if registry is None or card.kind not in ("loss", "regularizer"):
        return f"alias_of is for losses and regularizers, not a {card.kind}"
    if alias == card.name:
        return f"alias_of names the entry itself ({alias!r}); name the entry it duplicates"
    names = [n for n in registry.names() if n != card.name]
    if alias not in names:
        return (f"alias_of names {_short_repr(alias)}, which is not another registered "
                f"{card.kind}; valid: {', '.join(names)}")
    active = getattr(_alias_checks, "active", None)
    if active is None:
        active = _alias_checks.active = set()
    if (card.kind, card.name) in active:
        return ""
    active.add((card.kind, card.name))
    try:
        target = registry.card(alias)
    except EntryLoadError as exc:
        return f"alias_of names {alias!r}, whose card cannot be read: {exc}"
    finally:
        active.discard((card.kind, card.name))
    if target.alias_of is not None:
        return (f"alias_of names {alias!r}, which is itself an alias of "
                f"{target.alias_of!r}: name {target.alias_of!r} (aliases do not chain)")
    return ""

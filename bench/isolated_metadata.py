"""The metadata of third-party entries, read by child processes and kept for this process.

A third-party entry (:attr:`lossbench.registry.Entry.isolated`) is never imported by the process
that lists, plans or schedules: :func:`describe_isolated` answers its card (and a suite's task
list) from memory, from :mod:`lossbench.metadata_cache`, or from one child per distribution
(:func:`lossbench.sandbox.describe_entries`, which runs :mod:`lossbench.describe_child`). A child
describes every third-party entry of its distribution, in every kind, so a package costs one
child however it is used; the entries it may describe are passed in (``registries``), so this
module reads no registry and sits below :mod:`lossbench.registry`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from . import metadata_cache as mc
from .sandbox import describe_entries


class Describable(Protocol):
    """What describing an entry reads of it (a :class:`lossbench.registry.Entry` is one)."""

    kind: str
    name: str
    target: str
    origin: str
    distribution: str
    from_entry_point: bool
    conflict: str | None

    def describe_request(self) -> dict[str, Any]:
        """What the child needs to import and describe the entry."""
        ...


class Listing(Protocol):
    """The entries of one kind (a :class:`lossbench.registry.Registry` is one)."""

    def entries(self) -> Iterable[Describable]:
        """Every entry of the kind, rejected ones included."""
        ...


#: ``(kind, name, target, origin) -> answer`` of the child that described a third-party entry.
_described: dict[tuple[str, str, str, str], dict[str, Any]] = {}


def describe_isolated(entries: Iterable[Describable], registries: Mapping[str, Listing]
                      ) -> dict[tuple[str, str], dict[str, Any]]:
    """The metadata of third-party entries (``{"card": ..., "tasks": ...}`` or
    ``{"error": reason}``), keyed ``(kind, name)``, from memory, the metadata cache, or one child
    per distribution.

    When a child is needed for a distribution, every third-party entry of that distribution
    among ``registries`` (the registered entries by kind) is described by it too.
    """
    wanted = list(entries)
    todo: dict[str, dict[tuple, Describable]] = {}
    for entry in wanted:
        key = (entry.kind, entry.name, entry.target, entry.origin)
        if key in _described:
            continue
        card = mc.peek(entry.kind, entry.name, entry.target, entry.origin, "card")
        tasks = mc.peek(entry.kind, entry.name, entry.target, entry.origin, "tasks") \
            if entry.kind == "suite" else None
        if card is not mc.MISS and tasks is not mc.MISS:
            _described[key] = {"card": card, **({"tasks": tasks} if tasks is not None else {})}
            continue
        todo.setdefault(entry.distribution, {})[key] = entry
    if todo:
        for reg in registries.values():  # the rest of each distribution, in the same child
            for other in reg.entries():
                key = (other.kind, other.name, other.target, other.origin)
                if (other.distribution in todo and other.from_entry_point and not other.conflict
                        and key not in _described):
                    todo[other.distribution][key] = other
        answers = describe_entries({d: [e.describe_request() for e in es.values()]
                                    for d, es in todo.items()})
        for es in todo.values():
            for key, entry in es.items():
                answer = answers.get((entry.kind, entry.name), {"error": "not described"})
                _described[key] = answer
                if "error" not in answer:
                    for what in ("card", "tasks"):
                        if what in answer:
                            mc.put(entry.kind, entry.name, entry.target, entry.origin, what,
                                   answer[what])
    return {(e.kind, e.name): _described[(e.kind, e.name, e.target, e.origin)]
            for e in wanted}


def forget_described() -> None:
    """Forget the cards children read in this process (tests; after changing a plugin)."""
    _described.clear()

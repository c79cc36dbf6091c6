"""Plugin discovery: one small generic registry over package entry points.

Every loss, regularizer, suite and executor — built-in or third-party — is an entry point in one of
the groups below. The registry holds *lazy* targets: listing reads only package metadata, and a
target module is imported the first time its entry is used, so one broken plugin cannot break
``lossbench list`` or any other entry.

Name conflicts are errors that name both origins. A built-in (distribution ``lossbench``) keeps its
name and the third-party entry that collides with it is reported as broken; two third-party entries
with the same name are both reported as broken, since neither can be chosen silently.

Third-party entries (any distribution but ``lossbench``) are never imported by the process that
lists, plans or schedules: their cards and status come from a child process
(:func:`lossbench.isolated_metadata.describe_isolated`), unless this process is itself a plugin
process (a run's child) or the entry was loaded explicitly. Every card — built-in or not, read
in-process, from the cache or from a child — is validated by
:func:`lossbench.card_reading.card_problems` against :data:`REGISTRIES` (a card's ``suites`` and
``alias_of`` name registered entries). Reading a card from its target is in
:mod:`lossbench.card_reading`, the card's fields in :mod:`lossbench.cards`, ``module:attr``
targets in :mod:`lossbench.targets`, and building an entry in :mod:`lossbench.build`.
"""

from __future__ import annotations

import fnmatch
import importlib.metadata as md
import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .card_reading import card_problems, entry_card
from .cards import Card
from .errors import EntryLoadError, UsageError, unknown_value
from .isolated_metadata import describe_isolated
from .targets import LOCAL_ORIGIN, TARGET_PATTERN, _import_target, is_target

GROUPS: dict[str, str] = {
    "loss": "lossbench.losses",
    "regularizer": "lossbench.regularizers",
    "suite": "lossbench.suites",
    "executor": "lossbench.executors",
}
BUILTIN_DISTRIBUTION = "lossbench"


@dataclass
class Entry:
    """One registered name: where it comes from, and (once loaded) its target or load error."""

    name: str
    #: loss | regularizer | suite | executor (its registry's and its card's ``kind``)
    kind: str
    target: str
    distribution: str
    dist_version: str
    _loader: Callable[[], Any] | None = None
    conflict: str | None = None
    #: discovered through an entry point (its metadata may be served from the metadata cache);
    #: entries registered in-process are always read from their target
    from_entry_point: bool = False
    #: a ``module:attr`` target named on the command line or in the API (``--loss mod:Attr``):
    #: unpackaged third-party code (origin ``local``), read and run in children like a plugin
    local_target: bool = False
    _obj: Any = None
    _error: str | None = None
    _loaded: bool = False

    @property
    def origin(self) -> str:
        return f"{self.distribution} {self.dist_version}".strip()

    @property
    def builtin(self) -> bool:
        return self.distribution == BUILTIN_DISTRIBUTION

    @property
    def isolated(self) -> bool:
        """A third-party entry-point entry: this process reads its card through a child (see
        :mod:`lossbench.sandbox`) unless it may import plugin code or has loaded it already."""
        from .sandbox import in_plugin_process

        return ((self.from_entry_point or self.local_target) and not self.builtin
                and not self.conflict and not self._loaded and not in_plugin_process())

    def describe_request(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "target": self.target,
                "origin": self.origin, "local": self.local_target}

    def load(self) -> Any:
        """Import the target (once) or raise :class:`EntryLoadError` with the reason."""
        if self.conflict:
            raise EntryLoadError(self.conflict)
        if not self._loaded:
            try:
                self._obj = (self._loader() if self._loader else
                             _import_target(self.target, search_cwd=self.local_target))
            except BaseException as exc:  # noqa: BLE001 - a plugin may raise anything on import
                if isinstance(exc, KeyboardInterrupt):
                    raise
                self._error = f"{type(exc).__name__}: {exc}"
            self._loaded = True
        if self._error:
            raise EntryLoadError(
                f"{self.kind} {self.name!r} from {self.origin} ({self.target}) failed to load: "
                f"{self._error}"
            )
        return self._obj

    @property
    def status(self) -> str:
        """``ok`` or the reason the entry cannot be used (conflict, import error, crash or hang
        at import, invalid card). An entry-point entry is judged by its card, which the
        metadata cache serves without importing it while its package's files are unchanged
        (so ``lossbench list`` imports nothing when nothing changed); others are loaded."""
        try:
            if self.isolated or (self.from_entry_point and not self.conflict
                                 and not self._loaded):
                self.card()
            else:
                self.load()
        except EntryLoadError as exc:
            return str(exc)
        return "ok"

    def _failed(self, reason: str) -> EntryLoadError:
        return EntryLoadError(f"{self.kind} {self.name!r} from {self.origin} ({self.target}) "
                              f"failed to load: {reason}")

    def card(self) -> Card:
        """The entry's validated card; served from :mod:`lossbench.metadata_cache` without
        importing the target when the entry and its package's files are unchanged since it was
        last read (a third-party entry's is read by a child process)."""
        data = self.metadata("card", lambda obj: entry_card(
            obj, self.name, self.kind, self.origin, self.target, self.local_target,
            registries=REGISTRIES).to_dict())
        try:
            card = Card.from_dict(data)
            problems = card_problems(card, REGISTRIES)
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            problems = [f"{type(exc).__name__}: {exc}"]
        if problems:
            raise self._failed("invalid card: " + "; ".join(problems))
        return card

    def metadata(self, what: str, describe: Callable[[Any], Any]) -> Any:
        """``describe(target)`` — JSON-serialisable metadata of the loaded target — cached on
        disk for entries discovered through entry points (see :mod:`lossbench.metadata_cache`).
        For a third-party entry (:attr:`isolated`) a child process computes it."""
        if self.isolated:
            answer = describe_isolated([self], REGISTRIES)[(self.kind, self.name)]
            if "error" in answer:
                raise self._failed(answer["error"])
            if what not in answer:
                raise self._failed(f"no {what!r} metadata (a {self.kind} has none)")
            return answer[what]
        if self.conflict or self._loaded or not (self.from_entry_point or self.local_target):
            return json.loads(json.dumps(describe(self.load())))
        from .metadata_cache import cached

        return cached(self.kind, self.name, self.target, self.origin, what,
                      lambda: describe(self.load()))


class Registry:
    """Entries of one kind, discovered from one entry-point group (lazily, once)."""

    def __init__(self, kind: str, group: str):
        self.kind = kind
        self.group = group
        self._entries: dict[str, Entry] | None = None
        self._rejected: list[Entry] = []
        self._targets: dict[str, Entry] = {}
        self._lock = threading.Lock()

    # -- discovery -------------------------------------------------------------------------
    def _discover(self) -> dict[str, Entry]:
        with self._lock:
            if self._entries is None:
                self._entries, self._rejected = _resolve_conflicts(
                    self.kind, _entry_points(self.kind, self.group)
                )
            return self._entries

    def refresh(self) -> None:
        """Forget what was discovered (after installing or removing a plugin in-process)."""
        with self._lock:
            self._entries = None
            self._rejected = []
            self._targets = {}

    def register(self, name: str, target: str | Callable[[], Any], origin: str = "local") -> Entry:
        """Register an entry in-process (tests, notebooks). Conflicts raise like entry points do."""
        entries = self._discover()
        if name in entries:
            raise UsageError(
                f"{self.kind} {name!r} is already registered by {entries[name].origin} "
                f"({entries[name].target}); choose another name"
            )
        loader = target if callable(target) else None
        entry = Entry(name, self.kind, getattr(target, "__qualname__", str(target)), origin, "",
                      _loader=loader)
        if loader is None:
            entry.target = str(target)
        entries[name] = entry
        return entry

    # -- queries ---------------------------------------------------------------------------
    def names(self) -> list[str]:
        return sorted(self._discover())

    def entries(self, pattern: str | None = None) -> list[Entry]:
        """Usable names plus rejected (conflicting) entries, optionally filtered by a wildcard."""
        all_entries = list(self._discover().values()) + list(self._rejected)
        if pattern:
            all_entries = [e for e in all_entries if fnmatch.fnmatchcase(e.name, pattern)]
        return sorted(all_entries, key=lambda e: (e.name, e.origin))

    def get(self, name: str) -> Entry:
        """The entry registered as ``name``, or for a ``module:attr`` target an unregistered
        entry of origin ``local`` (its code is imported only where it runs: a child)."""
        entries = self._discover()
        if name in entries:
            return entries[name]
        if is_target(name):
            return self.target(name)
        raise unknown_value(self.kind, name, entries)

    def target(self, target: str) -> Entry:
        """The ``local`` entry of a ``module:attr`` target (one per target and registry);
        ``UsageError`` when ``target`` is not of that form."""
        if not TARGET_PATTERN.fullmatch(target):
            raise UsageError(f"{self.kind} target {target!r} is not of the form module:attr "
                             f"(e.g. my_losses:MyLoss, dotted names allowed on both sides)")
        with self._lock:
            if target not in self._targets:
                self._targets[target] = Entry(target, self.kind, target, LOCAL_ORIGIN, "",
                                              local_target=True)
            return self._targets[target]

    def load(self, name: str) -> Any:
        return self.get(name).load()

    def card(self, name: str) -> Card:
        return self.get(name).card()

    def __contains__(self, name: object) -> bool:
        return name in self._discover()


def _entry_points(kind: str, group: str) -> list[Entry]:
    seen: set[tuple[str, str, str]] = set()
    found: list[Entry] = []
    for ep in md.entry_points(group=group):
        dist = getattr(ep, "dist", None)
        dist_name = (dist.metadata["Name"] if dist is not None else "") or "unknown"
        dist_version = dist.version if dist is not None else ""
        key = (ep.name, ep.value, dist_name)
        if key in seen:  # the same distribution visible twice on sys.path
            continue
        seen.add(key)
        found.append(Entry(ep.name, kind, ep.value, dist_name, dist_version, _loader=ep.load,
                           from_entry_point=True))
    return found


def _resolve_conflicts(kind: str, found: Iterable[Entry]) -> tuple[dict[str, Entry], list[Entry]]:
    by_name: dict[str, list[Entry]] = {}
    for entry in found:
        by_name.setdefault(entry.name, []).append(entry)
    usable: dict[str, Entry] = {}
    rejected: list[Entry] = []
    for name, same_name in by_name.items():
        if len(same_name) == 1:
            usable[name] = same_name[0]
            continue
        builtins = [e for e in same_name if e.builtin]
        described = "; ".join(f"{e.origin} ({e.target})" for e in same_name)
        if len(builtins) == 1:
            usable[name] = builtins[0]
            for e in same_name:
                if e is not builtins[0]:
                    e.conflict = (
                        f"{kind} name {name!r} from {e.origin} ({e.target}) conflicts with the "
                        f"built-in {builtins[0].target}; built-ins cannot be shadowed - rename the "
                        f"entry point"
                    )
                    rejected.append(e)
        else:
            msg = f"{kind} name {name!r} is registered more than once: {described}"
            for e in same_name:
                e.conflict = msg
            usable[name] = same_name[0]  # get() still finds it, and load() raises the conflict
            rejected.extend(same_name[1:])
    return usable, rejected


LOSSES = Registry("loss", GROUPS["loss"])
REGULARIZERS = Registry("regularizer", GROUPS["regularizer"])
SUITES = Registry("suite", GROUPS["suite"])
EXECUTORS = Registry("executor", GROUPS["executor"])
REGISTRIES: dict[str, Registry] = {
    "loss": LOSSES,
    "regularizer": REGULARIZERS,
    "suite": SUITES,
    "executor": EXECUTORS,
}


def registry_for(kind: str) -> Registry:
    if kind not in REGISTRIES:
        raise unknown_value("kind", kind, REGISTRIES)
    return REGISTRIES[kind]

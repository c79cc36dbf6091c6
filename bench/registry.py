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
(:func:`describe_isolated`, through :mod:`lossbench.sandbox`), unless this process is itself a
plugin process (a run's child) or the entry was loaded explicitly. Every card — built-in or not,
read in-process, from the cache or from a child — is validated by :func:`card_problems`.

Reading a card from its target (:func:`card_from_target`) and validating it live here, beside
the discovery, because they consult it: a card's ``suites`` must name registered suites and its
``alias_of`` a registered entry, and an :class:`Entry` validates its card when read. The card
rules that need no registry are in :mod:`lossbench.cards`, ``module:attr`` targets in
:mod:`lossbench.targets`, signature introspection in :mod:`lossbench.signatures`, and building
an entry in :mod:`lossbench.build`.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import importlib.metadata as md
import inspect
import json
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

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
from .errors import EntryLoadError, UsageError, unknown_value
from .model_needs import HPARAM as NEEDS_HPARAM
from .model_needs import needs_problems
from .signatures import factory_defaults
from .targets import (
    LOCAL_ORIGIN,
    LOCAL_VERSION_TAG,
    TARGET_PATTERN,
    _import_target,
    is_target,
    source_digest,
)

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
    group: str
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
        return {"group": self.group, "name": self.name, "target": self.target,
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
                f"{self.group} {self.name!r} from {self.origin} ({self.target}) failed to load: "
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
        return EntryLoadError(f"{self.group} {self.name!r} from {self.origin} ({self.target}) "
                              f"failed to load: {reason}")

    def card(self) -> Card:
        """The entry's validated card; served from :mod:`lossbench.metadata_cache` without
        importing the target when the entry and its package's files are unchanged since it was
        last read (a third-party entry's is read by a child process)."""
        data = self.metadata("card", lambda obj: entry_card(
            obj, self.name, self.group, self.origin, self.target, self.local_target).to_dict())
        try:
            card = Card.from_dict(data)
            problems = card_problems(card)
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
            answer = describe_isolated([self])[(self.group, self.name)]
            if "error" in answer:
                raise self._failed(answer["error"])
            if what not in answer:
                raise self._failed(f"no {what!r} metadata (a {self.group} has none)")
            return answer[what]
        if self.conflict or self._loaded or not (self.from_entry_point or self.local_target):
            return json.loads(json.dumps(describe(self.load())))
        from .metadata_cache import cached

        return cached(self.group, self.name, self.target, self.origin, what,
                      lambda: describe(self.load()))


def card_from_target(obj: Any, name: str, group: str, origin: str, target: str) -> Card:
    """Read a card from the optional metadata attributes of an entry-point target.

    Raises :class:`EntryLoadError` naming every attribute that is ill-typed or out of range
    (:func:`card_problems`), so an invalid card fails that entry only.
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

    if group == "suite":
        summary = text("description", "") or _first_doc_line(obj)
        card = Card(name=name, kind=group, version=text("version", "1"), origin=origin,
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
            if group != "loss":
                problems.append(f"model_needs is for losses only, not a {group}")
            elif NEEDS_HPARAM in hparams:
                problems.append(f"hparams must not name {NEEDS_HPARAM!r} (reserved for the "
                                f"entry's model_needs)")
            else:  # recorded among the hyperparameters: in every spec, its hash, the board
                hparams = {**hparams, NEEDS_HPARAM: needs}
        card = Card(
            name=name, kind=group, version=text("version", "0"), origin=origin, target=target,
            summary=_first_doc_line(obj)[:SUMMARY_LIMIT], paper=text("paper", ""),
            doc=(inspect.getdoc(obj) or "")[:DOC_LIMIT],
            hparams=_jsonable(hparams, "hparams", problems),
            search_space=_jsonable(space, "search_space", problems),
            suites=tuple(suites), fidelity=text("fidelity", "exact"),
            objective=text("objective", text("kind", "classification")),
            accepts_soft_targets=soft, alias_of=text("alias_of", "") or None,
        )
    problems += card_problems(card)
    if problems:
        raise EntryLoadError("invalid card: " + "; ".join(dict.fromkeys(problems)))
    return card


def entry_card(obj: Any, name: str, group: str, origin: str, target: str,
               local: bool = False) -> Card:
    """:func:`card_from_target`, and for a ``module:attr`` target named by the user (``local``)
    the card's version gets ``+local.<hash of the module's source file>``: an edited file is a
    new version, so its runs are new specs (unpublished code changes without a version bump)."""
    card = card_from_target(obj, name, group, origin, target)
    if not local:
        return card
    card = dataclasses.replace(card, version=f"{card.version}{LOCAL_VERSION_TAG}"
                                             f"{source_digest(target)}")
    problems = card_problems(card)
    if problems:
        raise EntryLoadError("invalid card: " + "; ".join(problems))
    return card


def card_problems(card: Card) -> list[str]:
    """Everything wrong with a card ([] for a valid one): the one validation of cards, used by
    ``list``, the sweep's planning and ``lossbench check`` alike."""
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
        known = set(SUITES.names())
        unknown = sorted(set(card.suites) - known)
        if unknown:
            problems.append(f"suites names unknown suite(s) {', '.join(map(repr, unknown))}; "
                            f"valid: {', '.join(sorted(known))}")
    alias = alias_problem(card)
    if alias:
        problems.append(alias)
    return problems


#: ``(kind, name)`` of the cards whose ``alias_of`` this thread is checking (a cycle reads the
#: first card again: its chain is being checked further up, so it is not read a third time)
_alias_checks = threading.local()


def alias_problem(card: Card) -> str:
    """Why ``card.alias_of`` is invalid ('' if it is None or valid): it must name another
    registered entry of the same kind, whose own card declares no ``alias_of`` (no chains, hence
    no cycles: an alias names the entry that owns the function)."""
    alias = card.alias_of
    if alias is None:
        return ""
    if not isinstance(alias, str) or not alias.strip():
        return f"alias_of must be the name of an entry or None, got {_short_repr(alias)}"
    registry = REGISTRIES.get(card.kind)
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
        target = registry.get(alias).card()
    except EntryLoadError as exc:
        return f"alias_of names {alias!r}, whose card cannot be read: {exc}"
    finally:
        active.discard((card.kind, card.name))
    if target.alias_of is not None:
        return (f"alias_of names {alias!r}, which is itself an alias of "
                f"{target.alias_of!r}: name {target.alias_of!r} (aliases do not chain)")
    return ""


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
    for name, group in by_name.items():
        if len(group) == 1:
            usable[name] = group[0]
            continue
        builtins = [e for e in group if e.builtin]
        described = "; ".join(f"{e.origin} ({e.target})" for e in group)
        if len(builtins) == 1:
            usable[name] = builtins[0]
            for e in group:
                if e is not builtins[0]:
                    e.conflict = (
                        f"{kind} name {name!r} from {e.origin} ({e.target}) conflicts with the "
                        f"built-in {builtins[0].target}; built-ins cannot be shadowed - rename the "
                        f"entry point"
                    )
                    rejected.append(e)
        else:
            msg = f"{kind} name {name!r} is registered more than once: {described}"
            for e in group:
                e.conflict = msg
            usable[name] = group[0]  # get() still finds it, and load() raises the conflict
            rejected.extend(group[1:])
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


#: ``(group, name, target, origin) -> answer`` of the child that described a third-party entry.
_described: dict[tuple[str, str, str, str], dict[str, Any]] = {}


def describe_isolated(entries: Iterable[Entry]) -> dict[tuple[str, str], dict[str, Any]]:
    """The metadata of third-party entries (``{"card": ..., "tasks": ...}`` or
    ``{"error": reason}``), from memory, the metadata cache, or one child per distribution.

    When a child is needed for a distribution, every third-party entry of that distribution (in
    every group) is described by it, so a package costs one child however it is used.
    """
    from . import metadata_cache as mc
    from .sandbox import describe_entries

    wanted = list(entries)
    todo: dict[str, dict[tuple, Entry]] = {}
    for entry in wanted:
        key = (entry.group, entry.name, entry.target, entry.origin)
        if key in _described:
            continue
        card = mc.peek(entry.group, entry.name, entry.target, entry.origin, "card")
        tasks = mc.peek(entry.group, entry.name, entry.target, entry.origin, "tasks") \
            if entry.group == "suite" else None
        if card is not mc.MISS and tasks is not mc.MISS:
            _described[key] = {"card": card, **({"tasks": tasks} if tasks is not None else {})}
            continue
        todo.setdefault(entry.distribution, {})[key] = entry
    if todo:
        for reg in REGISTRIES.values():  # the rest of each distribution, in the same child
            for other in reg.entries():
                key = (other.group, other.name, other.target, other.origin)
                if (other.distribution in todo and other.from_entry_point and not other.conflict
                        and key not in _described):
                    todo[other.distribution][key] = other
        answers = describe_entries({d: [e.describe_request() for e in es.values()]
                                    for d, es in todo.items()})
        for es in todo.values():
            for key, entry in es.items():
                answer = answers.get((entry.group, entry.name), {"error": "not described"})
                _described[key] = answer
                if "error" not in answer:
                    for what in ("card", "tasks"):
                        if what in answer:
                            mc.put(entry.group, entry.name, entry.target, entry.origin, what,
                                   answer[what])
    return {(e.group, e.name): _described[(e.group, e.name, e.target, e.origin)]
            for e in wanted}


def forget_described() -> None:
    """Forget the cards children read in this process (tests; after changing a plugin)."""
    _described.clear()

"""Plugin discovery: one small generic registry over package entry points.

Every loss, regularizer, suite and executor — built-in or third-party — is an entry point in one of
the groups below. The registry holds *lazy* targets: listing reads only package metadata, and a
target module is imported the first time its entry is used, so one broken plugin cannot break
``lossbench list`` or any other entry.

Name conflicts are errors that name both origins. A built-in (distribution ``lossbench``) keeps its
name and the third-party entry that collides with it is reported as broken; two third-party entries
with the same name are both reported as broken, since neither can be chosen silently.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import importlib
import importlib.metadata as md
import inspect
import json
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import EntryLoadError, UsageError, unknown_value

GROUPS: dict[str, str] = {
    "loss": "lossbench.losses",
    "regularizer": "lossbench.regularizers",
    "suite": "lossbench.suites",
    "executor": "lossbench.executors",
}
BUILTIN_DISTRIBUTION = "lossbench"

#: Keyword arguments the harness passes to an entry's factory *only* when its signature names them
#: (construction-time context, e.g. ArcFace needs ``num_classes`` and ``embedding_size``).
BUILD_CONTEXT = ("num_classes", "embedding_size", "class_counts", "num_train", "num_epochs")


@dataclass(frozen=True)
class Card:
    """The frozen description of an entry: what the leaderboard links to.

    Built from optional attributes on the entry-point target (``version``, ``paper``, ``hparams``,
    ``search_space``, ``suites``, ``fidelity``, ``kind``, ``accepts_soft_targets``), so a plugin
    never imports lossbench to describe itself.
    """

    name: str
    group: str  # loss | regularizer | suite | executor
    version: str
    origin: str  # "<distribution> <version>"
    target: str  # "module:attr"
    summary: str = ""
    paper: str = ""
    hparams: Mapping[str, Any] = field(default_factory=dict)
    search_space: Mapping[str, Any] = field(default_factory=dict)
    suites: tuple[str, ...] = ()
    fidelity: str = "exact"
    kind: str = "classification"  # losses: classification | embedding
    accepts_soft_targets: bool = False

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
    _obj: Any = None
    _error: str | None = None
    _loaded: bool = False

    @property
    def origin(self) -> str:
        return f"{self.distribution} {self.dist_version}".strip()

    @property
    def builtin(self) -> bool:
        return self.distribution == BUILTIN_DISTRIBUTION

    def load(self) -> Any:
        """Import the target (once) or raise :class:`EntryLoadError` with the reason."""
        if self.conflict:
            raise EntryLoadError(self.conflict)
        if not self._loaded:
            try:
                self._obj = self._loader() if self._loader else _import_target(self.target)
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
        """``ok`` or the reason the entry cannot be used (conflict, import error)."""
        try:
            self.load()
        except EntryLoadError as exc:
            return str(exc)
        return "ok"

    def card(self) -> Card:
        """The entry's card; served from :mod:`lossbench.metadata_cache` without importing the
        target when the entry and its package's files are unchanged since it was last read."""
        return Card.from_dict(self.metadata("card", lambda obj: card_from_target(
            obj, self.name, self.group, self.origin, self.target).to_dict()))

    def metadata(self, what: str, describe: Callable[[Any], Any]) -> Any:
        """``describe(target)`` — JSON-serialisable metadata of the loaded target — cached on
        disk for entries discovered through entry points (see :mod:`lossbench.metadata_cache`)."""
        if self.conflict or self._loaded or not self.from_entry_point:
            return json.loads(json.dumps(describe(self.load())))
        from .metadata_cache import cached

        return cached(self.group, self.name, self.target, self.origin, what,
                      lambda: describe(self.load()))


def _import_target(target: str) -> Any:
    module, _, attr = target.partition(":")
    obj = importlib.import_module(module.strip())
    for part in attr.strip().split(".") if attr else []:
        obj = getattr(obj, part)
    return obj


def _first_doc_line(obj: Any) -> str:
    doc = inspect.getdoc(obj) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def factory_defaults(obj: Any) -> dict[str, Any]:
    """Keyword defaults of a factory/class signature, less the harness-supplied context."""
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return {}
    return {
        name: p.default
        for name, p in sig.parameters.items()
        if p.default is not inspect.Parameter.empty
        and name not in BUILD_CONTEXT
        and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    }


def card_from_target(obj: Any, name: str, group: str, origin: str, target: str) -> Card:
    """Read a card from the optional metadata attributes of an entry-point target."""
    if group == "suite":
        return Card(
            name=name, group=group, version=str(getattr(obj, "version", "1")), origin=origin,
            target=target, summary=str(getattr(obj, "description", "")) or _first_doc_line(obj),
        )
    hparams = getattr(obj, "hparams", None)
    hparams = dict(hparams) if hparams is not None else factory_defaults(obj)
    suites = getattr(obj, "suites", ())
    if isinstance(suites, str):
        suites = (suites,)
    return Card(
        name=name,
        group=group,
        version=str(getattr(obj, "version", "0")),
        origin=origin,
        target=target,
        summary=_first_doc_line(obj),
        paper=str(getattr(obj, "paper", "")),
        hparams=_jsonable(hparams, f"{name}.hparams"),
        search_space=_jsonable(dict(getattr(obj, "search_space", {}) or {}),
                               f"{name}.search_space"),
        suites=tuple(suites),
        fidelity=str(getattr(obj, "fidelity", "exact")),
        kind=str(getattr(obj, "kind", "classification")),
        accepts_soft_targets=bool(getattr(obj, "accepts_soft_targets", False)),
    )


def _jsonable(value: dict[str, Any], where: str) -> dict[str, Any]:
    try:
        return json.loads(json.dumps(value, sort_keys=True))
    except TypeError as exc:
        raise EntryLoadError(f"{where} must be JSON-serialisable: {exc}") from None


class Registry:
    """Entries of one kind, discovered from one entry-point group (lazily, once)."""

    def __init__(self, kind: str, group: str):
        self.kind = kind
        self.group = group
        self._entries: dict[str, Entry] | None = None
        self._rejected: list[Entry] = []
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
        entries = self._discover()
        if name not in entries:
            raise unknown_value(self.kind, name, entries)
        return entries[name]

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


def resolve_hparams(card: Card, overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    """The card's defaults updated by ``overrides``; unknown names are a :class:`UsageError`."""
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - set(card.hparams))
    if unknown:
        raise UsageError(
            f"{card.group} {card.name!r} has no hyperparameter {unknown[0]!r}; "
            f"valid: {', '.join(sorted(card.hparams)) or '(none)'}"
        )
    return {**card.hparams, **overrides}


def build(entry: Entry, hparams: Mapping[str, Any],
          context: Mapping[str, Any] | None = None) -> Any:
    """Instantiate an entry: ``factory(**hparams, **context the factory's signature names)``."""
    factory = entry.load()
    kwargs = dict(hparams)
    kwargs.update(context_kwargs(factory, context or {}, BUILD_CONTEXT))
    try:
        return factory(**kwargs)
    except Exception as exc:
        raise EntryLoadError(
            f"{entry.group} {entry.name!r} could not be built with {kwargs!r}: "
            f"{type(exc).__name__}: {exc}"
        ) from exc


def accepted_names(fn: Any) -> frozenset[str]:
    """Names a callable's signature spells out as keywords (``**kwargs`` does not count: context
    is passed only to callables that name it, as the plugin protocol promises)."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return frozenset()
    return frozenset(
        n for n, p in sig.parameters.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    )


def context_kwargs(fn: Any, context: Mapping[str, Any], allowed: Iterable[str]) -> dict[str, Any]:
    """The subset of ``context`` (restricted to ``allowed`` keys) that ``fn`` names."""
    names = accepted_names(fn)
    return {k: context[k] for k in allowed if k in context and k in names}

"""The pre-registered findings catalog: what the embedded tasks are judged against.

An embedded task is a proxy; it is worth something only if it ranks methods the way the full-scale
literature does. The catalog (``bench/catalog.toml``, shipped with the package) declares published
comparative results *before* a recipe is changed, each with the source's setting and every metric
the source reports for the comparison, and published rank tables of at least five entries. It is
judged by :mod:`lossbench.validity` on two disjoint seed sets: the **design seeds** (the board,
used to choose recipes) and the **confirmation seeds** (never used to choose anything; their
verdicts are the headline).

A finding (``[[finding]]``) says: entry A with hyperparameters ``a_hparams`` compares with entry B
(``b_hparams``) on task ``suite/task`` in the way each ``[[finding.metric]]`` table says —
``expect`` = ``a_better``, ``a_worse`` or ``tie`` (within ``margin``), by the metric's declared
direction (:data:`lossbench.metrics.METRICS`), with the published values ``a`` and ``b`` in
lossbench's units. ``primary`` names the metric the verdict rests on. A *same-entry* finding has
A = B (same hyperparameters) and compares A's metric ``name`` with its metric ``name_b``.

A rank table (``[[ranking]]``) lists at least five entries with their published values of one
metric on one benchmark; :mod:`lossbench.validity` reports Kendall's τ-b between those values and
the task's means.

Light: no torch. :func:`load_catalog` parses and checks the structure;
:func:`lossbench.catalog_checks.check_catalog` checks the names (tasks, entries,
hyperparameters, metrics) against what is registered.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .errors import UsageError, unknown_value
from .suites.declared_findings import EntryRef

try:  # Python >= 3.11
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

#: The catalog shipped with the package.
CATALOG_FILE = Path(__file__).with_name("catalog.toml")
SCHEMA_VERSION = 1
EXPECTATIONS = ("a_better", "a_worse", "tie")
#: The two seed sets: ``design`` (the board; recipes are chosen on it) and ``confirmation``.
SEED_SETS = ("design", "confirmation")
#: The smallest rank table worth a correlation.
MIN_RANKED = 5

_SLUG = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


class CatalogError(UsageError):
    """The catalog is declared wrongly; the message names the finding, the field and the bad
    value, and the valid choices where there are any."""


@dataclass(frozen=True)
class MetricClaim:
    """One metric of a finding as the source reports it.

    ``expect``: ``a_better`` / ``a_worse`` (by the metric's direction) or ``tie`` (the source's
    difference is within ``margin``, in the metric's units). ``a`` / ``b``: the published values.
    ``name_b``: B's metric when it differs from A's (same-entry findings).
    """

    name: str
    expect: str
    a: float
    b: float
    margin: float | None = None
    name_b: str | None = None
    note: str = ""

    @property
    def metric_b(self) -> str:
        return self.name_b or self.name

    def published_effect(self, higher_is_better: bool) -> float:
        """The published difference signed so that positive = A better by the metric's direction
        (the units of :func:`lossbench.validity` effects)."""
        sign = 1.0 if higher_is_better else -1.0
        return sign * (self.a - self.b)


@dataclass(frozen=True)
class CatalogFinding:
    """One pre-registered published comparison (see the module docstring)."""

    id: str
    suite: str
    task: str
    a: EntryRef
    a_hparams: Mapping[str, Any]
    b: EntryRef
    b_hparams: Mapping[str, Any]
    source: str
    url: str
    setting: str
    proxy: str
    claim: str
    primary: str
    metrics: tuple[MetricClaim, ...]

    @property
    def same_entry(self) -> bool:
        return self.a == self.b and dict(self.a_hparams) == dict(self.b_hparams)

    @property
    def primary_claim(self) -> MetricClaim:
        return next(m for m in self.metrics if m.name == self.primary)

    def sides(self) -> list[tuple[EntryRef, Mapping[str, Any]]]:
        """The (entry, declared hyperparameters) configurations the finding needs runs of."""
        if self.same_entry:
            return [(self.a, self.a_hparams)]
        return [(self.a, self.a_hparams), (self.b, self.b_hparams)]


@dataclass(frozen=True)
class RankedEntry:
    entry: EntryRef
    hparams: Mapping[str, Any]
    value: float


@dataclass(frozen=True)
class Ranking:
    """A published table ranking at least :data:`MIN_RANKED` entries on one metric."""

    id: str
    suite: str
    task: str
    metric: str
    source: str
    url: str
    setting: str
    proxy: str
    entries: tuple[RankedEntry, ...]


@dataclass(frozen=True)
class Catalog:
    """The parsed catalog; ``digest`` is the first 12 hex digits of the file's SHA-256 (the
    board shows it, so any later edit is visible)."""

    design_seeds: tuple[int, ...]
    confirmation_seeds: tuple[int, ...]
    alpha: float
    findings: tuple[CatalogFinding, ...]
    rankings: tuple[Ranking, ...]
    digest: str
    path: str = ""
    suites: tuple[str, ...] = field(default=())
    #: suites with no published rank table the catalog could use, each with the reason
    unranked: Mapping[str, str] = field(default_factory=dict)

    def seeds(self, which: str) -> tuple[int, ...]:
        """``design`` or ``confirmation`` seeds."""
        if which == "design":
            return self.design_seeds
        if which == "confirmation":
            return self.confirmation_seeds
        raise unknown_value("seed set", which, SEED_SETS)

    def only(self, suites: Iterable[str]) -> Catalog:
        """The findings and rank tables of ``suites`` only (same digest: the file is the same)."""
        keep = set(suites)
        return replace(self, findings=tuple(f for f in self.findings if f.suite in keep),
                       rankings=tuple(r for r in self.rankings if r.suite in keep),
                       suites=tuple(s for s in self.suites if s in keep),
                       unranked={s: r for s, r in self.unranked.items() if s in keep})

    def configurations(self) -> dict[tuple[str, str], list[tuple[EntryRef, dict[str, Any]]]]:
        """Per ``(suite, task)``: every (entry, declared hyperparameters) the catalog needs runs
        of, each once, in declaration order."""
        out: dict[tuple[str, str], list[tuple[EntryRef, dict[str, Any]]]] = {}
        for f in self.findings:
            for ref, hp in f.sides():
                _add_config(out, (f.suite, f.task), ref, hp)
        for r in self.rankings:
            for e in r.entries:
                _add_config(out, (r.suite, r.task), e.entry, e.hparams)
        return out


def _add_config(out: dict, key: tuple[str, str], ref: EntryRef, hp: Mapping[str, Any]) -> None:
    configs = out.setdefault(key, [])
    if (ref, dict(hp)) not in configs:
        configs.append((ref, dict(hp)))


# ---------------------------------------------------------------- parsing

def required_text(d: Mapping[str, Any], key: str, where: str) -> str:
    """``d[key]`` when it is a non-empty string; a :class:`CatalogError` naming ``where``, the
    key and the bad value otherwise."""
    value = d.get(key)
    if not isinstance(value, str) or not value.strip():
        raise CatalogError(f"{where}: {key!r} must be a non-empty string, got {value!r}")
    return value


def _number(d: Mapping[str, Any], key: str, where: str, required: bool = True) -> float | None:
    value = d.get(key)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise CatalogError(f"{where}: {key!r} must be a finite number, got {value!r}")
    return float(value)


def _hparams(d: Mapping[str, Any], key: str, where: str) -> dict[str, Any]:
    if key not in d:
        raise CatalogError(f"{where}: {key!r} is missing: state the hyperparameters as the source "
                           f"ran them ({{}} only for an entry without hyperparameters)")
    value = d[key]
    if not isinstance(value, Mapping):
        raise CatalogError(f"{where}: {key!r} must be a table of hyperparameters, got {value!r}")
    return dict(value)


def _entry(d: Mapping[str, Any], key: str, where: str) -> EntryRef:
    try:
        return EntryRef.parse(required_text(d, key, where))
    except UsageError as exc:
        raise CatalogError(f"{where}: {exc}") from None


def _slug(value: Any, where: str, seen: set[str]) -> str:
    if not isinstance(value, str) or not _SLUG.match(value):
        raise CatalogError(f"{where}: bad id {value!r}: use lower-case letters, digits, '-', '_' "
                           f"or '.'")
    if value in seen:
        raise CatalogError(f"{where}: the id {value!r} is declared twice")
    seen.add(value)
    return value


def _metric_claim(d: Mapping[str, Any], where: str) -> MetricClaim:
    name = required_text(d, "name", where)
    where = f"{where} metric {name!r}"
    expect = d.get("expect")
    if expect not in EXPECTATIONS:
        raise CatalogError(f"{where}: {unknown_value('expect', expect, EXPECTATIONS)}")
    margin = _number(d, "margin", where, required=expect == "tie")
    if margin is not None and margin <= 0:
        raise CatalogError(f"{where}: margin must be > 0, got {margin!r}")
    if margin is not None and expect != "tie":
        raise CatalogError(f"{where}: margin is only for expect = 'tie', not {expect!r}")
    name_b = d.get("name_b")
    if name_b is not None and (not isinstance(name_b, str) or not name_b):
        raise CatalogError(f"{where}: name_b must be a metric name, got {name_b!r}")
    note = d.get("note", "")
    return MetricClaim(name, expect, _number(d, "a", where), _number(d, "b", where), margin,
                       name_b, str(note))


def _finding(d: Mapping[str, Any], seen: set[str]) -> CatalogFinding:
    fid = _slug(d.get("id"), f"finding {d.get('id')!r}", seen)
    where = f"finding {fid!r}"
    metrics = d.get("metric")
    if not isinstance(metrics, list) or not metrics:
        raise CatalogError(f"{where}: declare every metric the source reports in "
                           f"[[finding.metric]] tables (none given)")
    claims = tuple(_metric_claim(m, where) for m in metrics)
    names = [m.name if m.name_b is None else f"{m.name}/{m.name_b}" for m in claims]
    if len(set(names)) != len(names):
        raise CatalogError(f"{where}: a metric is declared twice: {names}")
    primary = required_text(d, "primary", where)
    if primary not in {m.name for m in claims}:
        declared = [m.name for m in claims]
        raise CatalogError(f"{where}: {unknown_value('primary metric', primary, declared)} (the "
                           f"primary must be one of the declared metrics)")
    finding = CatalogFinding(
        id=fid, suite=required_text(d, "suite", where), task=required_text(d, "task", where),
        a=_entry(d, "a", where), a_hparams=_hparams(d, "a_hparams", where),
        b=_entry(d, "b", where), b_hparams=_hparams(d, "b_hparams", where),
        source=required_text(d, "source", where), url=required_text(d, "url", where),
        setting=required_text(d, "setting", where), proxy=required_text(d, "proxy", where),
        claim=required_text(d, "claim", where), primary=primary, metrics=claims)
    if finding.same_entry:
        if any(m.name_b is None or m.name_b == m.name for m in claims):
            raise CatalogError(f"{where}: A and B are the same configuration, so every metric "
                               f"table needs name_b (B's metric), different from name")
    elif any(m.name_b is not None for m in claims):
        raise CatalogError(f"{where}: name_b is only for same-entry findings (A = B)")
    return finding


def _ranking(d: Mapping[str, Any], seen: set[str]) -> Ranking:
    rid = _slug(d.get("id"), f"ranking {d.get('id')!r}", seen)
    where = f"ranking {rid!r}"
    raw = d.get("entry")
    if not isinstance(raw, list) or len(raw) < MIN_RANKED:
        count = len(raw) if isinstance(raw, list) else 0
        raise CatalogError(f"{where}: a rank table needs at least {MIN_RANKED} [[ranking.entry]] "
                           f"tables, got {count}")
    entries = []
    for i, e in enumerate(raw):
        ew = f"{where} entry {i + 1}"
        entries.append(RankedEntry(_entry(e, "entry", ew), _hparams(e, "hparams", ew),
                                   _number(e, "value", ew)))
    keys = [(e.entry, tuple(sorted(e.hparams.items()))) for e in entries]
    if len(set(keys)) != len(keys):
        raise CatalogError(f"{where}: an entry is listed twice")
    texts = (required_text(d, key, where)
             for key in ("suite", "task", "metric", "source", "url", "setting", "proxy"))
    return Ranking(rid, *texts, tuple(entries))


def _seeds(d: Mapping[str, Any], key: str) -> tuple[int, ...]:
    value = d.get(key)
    if not isinstance(value, list) or not value or not all(
            isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in value):
        raise CatalogError(f"catalog: {key} must be a non-empty list of seeds >= 0, got {value!r}")
    if len(set(value)) != len(value):
        raise CatalogError(f"catalog: {key} lists a seed twice: {value!r}")
    return tuple(value)


def toml_data(raw: bytes, what: str) -> dict[str, Any]:
    """``raw`` (UTF-8 TOML) parsed; a :class:`CatalogError` naming ``what`` when it is not."""
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise CatalogError(f"{what} is not valid TOML: {exc}") from None


def read_declared(path: Path, what: str) -> bytes:
    """The bytes of a declaration file; a :class:`CatalogError` naming ``what``, the path and
    the reason when it cannot be read."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise CatalogError(f"{what} {path} cannot be read: {exc.strerror or exc}") from None


def parse_catalog(text: str | bytes, path: str = "") -> Catalog:
    """Parse and structurally check a catalog (no registry look-ups: :func:`check_catalog`)."""
    raw = text.encode("utf-8") if isinstance(text, str) else text
    data = toml_data(raw, f"catalog {path or '<text>'}")
    if data.get("schema") != SCHEMA_VERSION:
        raise CatalogError(f"catalog: schema must be {SCHEMA_VERSION}, got {data.get('schema')!r}")
    design, confirmation = _seeds(data, "design_seeds"), _seeds(data, "confirmation_seeds")
    overlap = sorted(set(design) & set(confirmation))
    if overlap:
        raise CatalogError(f"catalog: design and confirmation seeds overlap on {overlap}: a seed "
                           f"that chose a recipe can never confirm it")
    if len(confirmation) < 10:
        raise CatalogError(f"catalog: at least 10 confirmation seeds are needed, got "
                           f"{len(confirmation)}")
    alpha = _number(data, "alpha", "catalog")
    if not 0 < alpha < 1:
        raise CatalogError(f"catalog: alpha must be between 0 and 1, got {alpha!r}")
    seen: set[str] = set()
    findings = tuple(_finding(f, seen) for f in data.get("finding") or [])
    rankings = tuple(_ranking(r, seen) for r in data.get("ranking") or [])
    if not findings:
        raise CatalogError("catalog: no [[finding]] is declared")
    suites = tuple(dict.fromkeys([f.suite for f in findings] + [r.suite for r in rankings]))
    unranked = data.get("unranked") or {}
    if not isinstance(unranked, Mapping) or not all(
            isinstance(v, str) and v.strip() for v in unranked.values()):
        raise CatalogError(f"catalog: [unranked] maps a suite to the reason it has no rank "
                           f"table (non-empty text), got {unranked!r}")
    both = sorted(set(unranked) & {r.suite for r in rankings})
    if both:
        raise CatalogError(f"catalog: {both} listed in [unranked] but ranked by a [[ranking]]")
    return Catalog(design, confirmation, alpha, findings, rankings,
                   hashlib.sha256(raw).hexdigest()[:12], path, suites, dict(unranked))


def load_catalog(path: str | Path | None = None) -> Catalog:
    """Read the catalog (default: the one shipped with lossbench) and check its structure."""
    p = Path(path) if path is not None else CATALOG_FILE
    return parse_catalog(read_declared(p, "catalog"), str(p))

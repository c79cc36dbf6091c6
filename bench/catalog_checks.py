"""The catalog against the installed harness: every name it uses (suites, tasks, entries, their
hyperparameters and how those are typed, metrics) checked against what is registered, and the
hyperparameters a run with a declared setting stores.

:func:`lossbench.catalog.load_catalog` checks the catalog's structure alone; these checks need
the registered names, passed in (``tasks``, ``defaults``), so that they stay pure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .catalog import Catalog, CatalogError
from .errors import unknown_value
from .suites.declared_findings import EntryRef


def check_catalog(catalog: Catalog, tasks: Mapping[str, Iterable[str]],
                  defaults: Callable[[str, str], Mapping[str, Any] | None],
                  metrics: Iterable[str] | None = None) -> None:
    """Raise :class:`CatalogError` for the first name the catalog gets wrong: a suite or task
    (``tasks`` maps each suite to its task names), an entry (``defaults(kind, name)`` is None for
    an unknown or unreadable entry, else its card's default hyperparameters), a hyperparameter the
    card does not have or a value not typed like its default, or a metric not in ``metrics``
    (default: :data:`lossbench.metrics.METRICS`)."""
    if metrics is None:
        from .metrics import METRICS

        metrics = METRICS
    metrics = set(metrics)

    def task(where: str, suite: str, name: str) -> None:
        if suite not in tasks:
            raise CatalogError(f"{where}: {unknown_value('suite', suite, tasks)}")
        if name not in set(tasks[suite]):
            what = f"task of suite {suite!r}"
            raise CatalogError(f"{where}: {unknown_value(what, name, tasks[suite])}")

    def metric(where: str, name: str) -> None:
        if name not in metrics:
            raise CatalogError(f"{where}: {unknown_value('metric', name, metrics)}")

    def entry(where: str, ref: EntryRef, hparams: Mapping[str, Any]) -> None:
        loss = defaults("loss", ref.loss)
        if loss is None:
            raise CatalogError(f"{where}: the loss {ref.loss!r} is not registered (or its card "
                               f"cannot be read)")
        known = dict(loss)
        if ref.regularizer is not None:
            reg = defaults("regularizer", ref.regularizer)
            if reg is None:
                raise CatalogError(f"{where}: the regularizer {ref.regularizer!r} is not "
                                   f"registered (or its card cannot be read)")
            known.update(reg)
        for name, value in hparams.items():
            if name not in known:
                raise CatalogError(f"{where}: {ref.label!r} has no hyperparameter {name!r}; "
                                   f"its card's are: {', '.join(sorted(known)) or 'none'}")
            default = known[name]
            if not _same_type(value, default):
                raise CatalogError(f"{where}: {ref.label!r} hyperparameter {name}={value!r} is "
                                   f"not typed like its default {default!r}")

    for f in catalog.findings:
        where = f"finding {f.id!r}"
        task(where, f.suite, f.task)
        for ref, hp in f.sides():
            entry(where, ref, hp)
        for m in f.metrics:
            metric(where, m.name)
            metric(where, m.metric_b)
    for suite in catalog.unranked:
        if suite not in tasks:
            raise CatalogError(f"catalog [unranked]: {unknown_value('suite', suite, tasks)}")
    for r in catalog.rankings:
        where = f"ranking {r.id!r}"
        task(where, r.suite, r.task)
        metric(where, r.metric)
        for e in r.entries:
            entry(where, e.entry, e.hparams)


def _same_type(value: Any, default: Any) -> bool:
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(default, bool)
    if isinstance(default, float):
        return isinstance(value, int | float)
    if isinstance(default, int):
        return isinstance(value, int)
    if default is None:
        return True
    return isinstance(value, type(default))


def resolved_hparams(defaults: Mapping[str, Any] | None,
                     declared: Mapping[str, Any]) -> dict[str, Any] | None:
    """The hyperparameters a run with the declared setting stores: the card's defaults updated by
    the declared values (an integer given for a float default counts as that float)."""
    if defaults is None:
        return None
    out = dict(defaults)
    for k, v in declared.items():
        out[k] = float(v) if isinstance(out.get(k), float) and isinstance(v, int) else v
    return out

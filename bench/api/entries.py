"""The registered entries and suites: listing them, one entry's card and stored results
(``lossbench show``), its conformance checks, and building a loss or regularizer object."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import UsageError
from ..isolated_metadata import describe_isolated
from ..registry import REGISTRIES, registry_for
from .options import DEFAULT_RESULTS

if TYPE_CHECKING:
    from ..conformance.results import CheckReport


def list_entries(pattern: str | None = None, kind: str | None = None) -> list[dict[str, Any]]:
    """Registered entries (name, kind, version, origin, status, summary, paper, fidelity),
    filtered by a wildcard pattern.

    ``status`` is ``ok`` or the reason the entry cannot be used (import error, crash or hang at
    import, invalid card, name conflict); a broken entry is listed, never hidden, and never
    breaks the listing of the others. Third-party entries are read by child processes (one per
    distribution, concurrently; :mod:`lossbench.sandbox`), never imported here.
    """
    kinds = [kind] if kind else ["loss", "regularizer"]
    rows = []
    listed = {k: registry_for(k).entries(pattern) for k in kinds}
    describe_isolated([e for es in listed.values() for e in es if e.isolated], REGISTRIES)
    for k in kinds:
        for entry in listed[k]:
            status = entry.status
            version, summary, fidelity, paper = "", "", "", ""
            if status == "ok":
                try:
                    card = entry.card()
                    version, summary, fidelity = card.version, card.summary, card.fidelity
                    paper = card.paper
                except Exception as exc:  # noqa: BLE001 - bad metadata is a status, not a crash
                    status = f"bad card: {type(exc).__name__}: {exc}"
            rows.append({"name": entry.name, "kind": k, "version": version,
                         "origin": entry.origin, "status": status, "fidelity": fidelity,
                         "summary": summary, "paper": paper})
    return rows


def list_suites(pattern: str | None = None) -> list[dict[str, str]]:
    """One row per task of the registered suites matching the wildcard ``pattern`` (``suite``,
    ``task``, ``version``, ``default``: "yes" when the default sweep runs it, ``data``: "local",
    "missing" or why it is unknown, ``origin``, ``status``); a suite that cannot be used is one
    row with the reason as its status. A third-party suite's tasks are read by a child process
    (its data is not checked); a built-in suite is loaded here."""
    from ..registry import SUITES
    from ..suites.description import suite_info

    def row(entry, task: str = "", version: str = "", default: bool = False,
            data: str = "") -> dict[str, str]:
        return {"suite": entry.name, "task": task, "version": version,
                "default": "yes" if default else "", "data": data, "origin": entry.origin,
                "status": entry.status}

    rows = []
    for entry in SUITES.entries(pattern):
        if entry.status != "ok":
            rows.append(row(entry))
        elif entry.isolated:  # a third-party suite: its task list comes from a child
            rows += [row(entry, task.name, task.version, task.in_default_sweep,
                         "not checked (third-party)")
                     for task in suite_info(entry.name).tasks.values()]
        else:
            for task in entry.load().tasks.values():
                try:
                    available = "local" if task.available() else "missing"
                except Exception as exc:  # noqa: BLE001
                    available = f"unknown ({exc})"
                rows.append(row(entry, task.name, task.version, task.in_default_sweep,
                                available))
    return rows


def check(entry: str, kind: str | None = None, timeout: float | None = None) -> CheckReport:
    """Run the plugin conformance checks on ``entry`` (a registered name or ``module:attr``);
    ``kind`` (loss | regularizer) is looked up from the registries when not given.

    The checks run in a child process (the entry's code never runs in this one) within
    ``timeout`` seconds (default :data:`lossbench.conformance.CHECK_TIMEOUT`); a crash or a hang
    is a failed check. Entries registered in-process only are checked in this process.
    """
    from ..conformance import check_isolated

    return check_isolated(entry, kind=kind, timeout=timeout)


def create_loss(name: str, **kwargs: Any) -> Any:
    """Build the loss ``name`` (a registered name or ``module:attr``) like a run does, in the
    style of timm's ``create_model``: the card's defaults updated by ``kwargs``.

    ``kwargs`` are hyperparameters of the card (typed like their defaults, so ``gamma="3"``
    works too; an unknown name is a ``UsageError`` listing the valid ones) or build-time context
    the factory asks for (``num_classes``, ``embedding_size``, ``class_counts``, ``num_train``,
    ``num_epochs``). Building an object imports the entry **in this process** — that is what
    this function is for; :func:`run`, :func:`list_entries`, :func:`show` and :func:`check`
    never import a third-party entry here.

    >>> loss = lossbench.create_loss("focal", gamma=3.0)        # doctest: +SKIP
    >>> loss(logits, targets)                                   # doctest: +SKIP
    """
    return _create("loss", name, kwargs)


def create_regularizer(name: str, **kwargs: Any) -> Any:
    """Build the regularizer ``name`` (see :func:`create_loss`): an object with the hooks of
    the plugin protocol (``setup``, ``transform_batch``, ``penalty``, ``step``,
    ``on_epoch_end``)."""
    return _create("regularizer", name, kwargs)


def _create(kind: str, name: str, kwargs: dict[str, Any]) -> Any:
    from ..build import build, resolve_hparams
    from ..hparam_values import typed_hparam
    from ..signatures import BUILD_CONTEXT

    entry = registry_for(kind).get(name)
    entry.load()  # EntryLoadError with the reason when it does not import
    card = entry.card()
    context = {k: kwargs.pop(k) for k in list(kwargs) if k in BUILD_CONTEXT}
    overrides = {k: typed_hparam(card, k, v) if k in card.hparams else v
                 for k, v in kwargs.items()}
    return build(entry, resolve_hparams(card, overrides), context)


def show(name: str, kind: str | None = None, results: str | Path | None = DEFAULT_RESULTS
         ) -> dict[str, Any]:
    """What ``lossbench show NAME`` prints, as a dict: the entry's card (``card``: name, kind,
    version, origin, target, paper and ``paper_url``, summary, ``doc`` — the docstring, often
    the formula —, defaults, search space, suites, fidelity) and ``results``: one row per
    (options, suite, task, task version, configuration) of its rows on the leaderboard of
    ``results`` (:func:`board_rows`; none when ``results`` is None or missing), with the
    cross-entropy baseline's mean on the same seeds where it is stored: ``show`` and the board
    read the same runs. The entry is read the way ``list`` reads it (a third-party or
    ``module:attr`` entry in a child process, never imported here)."""
    from ..conformance import resolve
    from ..paper_links import paper_url

    entry, kind = resolve(name, kind)
    try:
        card = entry.card()
    except Exception as exc:  # noqa: BLE001 - EntryLoadError: the reason is the answer
        raise UsageError(str(exc)) from None
    out = {"kind": kind, "card": {**card.to_dict(), "paper_url": paper_url(card.paper)}}
    out["results"] = [] if results is None else board_rows(results, card.name, kind)
    return out


def board_rows(results: str | Path, name: str, kind: str) -> list[dict[str, Any]]:
    """``name``'s rows of the leaderboard built from ``results`` (:func:`lossbench.report.
    build_model`: trusted records, the board's seeds, tuning trials left out, declared aliases
    merged), one per (options, suite, task, task version, configuration): its runs and ok runs,
    the board's primary metric, its mean and sample sd over the ok seeds, and plain
    cross-entropy's mean on the same seeds (None where the board has no baseline row, or it
    shares no seed)."""
    import json
    import math

    import numpy as np

    from ..report import build_model

    if not Path(results).is_dir():
        return []
    column = "loss" if kind == "loss" else "regularizer"

    def number(value: float) -> float | None:
        return float(value) if math.isfinite(value) else None

    rows = []
    for section in build_model(results).sections:
        for board in section.boards:
            base = board.baseline()
            metric = board.primary
            for c in board.configs:
                if c.first.get(column) != name:
                    continue
                values = c.values(metric)
                seeds = sorted(int(s) for s in c.ok["seed"])
                same = [v for s, v in (base.by_seed(metric) if base else {}).items()
                        if s in seeds]
                hparams = {g: c.first.get(f"{g}_hparams") for g in ("loss", "regularizer")}
                rows.append({
                    "suite": board.suite, "task": board.task, "task_version": board.version,
                    "options": json.loads(section.options), "entry": c.label,
                    **{f"{g}_hparams": json.loads(v) if isinstance(v, str) else {}
                       for g, v in hparams.items()},
                    "runs": int(len(c.runs)), "ok": c.n_ok, "metric": metric,
                    "mean": number(np.mean(values)) if len(values) else None,
                    "sd": number(np.std(values, ddof=1)) if len(values) > 1 else None,
                    "seeds": seeds,
                    "cross_entropy_mean": number(np.mean(same)) if same else None,
                    "cross_entropy_seeds": len(same),
                })
    return rows

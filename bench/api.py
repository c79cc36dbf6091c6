"""The Python API. The CLI (``lossbench.cli``) is a thin layer over these functions; both share
one validation path (:mod:`lossbench.plan`) and one set of error messages."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .errors import UsageError
from .plan import plan
from .registry import REGISTRIES, registry_for

DEFAULT_RESULTS = "results"
DEFAULT_LEADERBOARD = "leaderboard.md"


def list_entries(pattern: str | None = None, kind: str | None = None) -> list[dict[str, Any]]:
    """Registered entries (name, kind, version, origin, status), filtered by a wildcard pattern.

    ``status`` is ``ok`` or the reason the entry cannot be used (import error, name conflict); a
    broken entry is listed, never hidden, and never breaks the listing of the others.
    """
    kinds = [kind] if kind else ["loss", "regularizer"]
    rows = []
    for k in kinds:
        reg = registry_for(k)
        for entry in reg.entries(pattern):
            status = entry.status
            version, summary, fidelity = "", "", ""
            if status == "ok":
                try:
                    card = entry.card()
                    version, summary, fidelity = card.version, card.summary, card.fidelity
                except Exception as exc:  # noqa: BLE001 - bad metadata is a status, not a crash
                    status = f"bad card: {type(exc).__name__}: {exc}"
            rows.append({"name": entry.name, "kind": k, "version": version,
                         "origin": entry.origin, "status": status, "fidelity": fidelity,
                         "summary": summary})
    return rows


def run(
    suites: Sequence[str] | None = None,
    tasks: Sequence[str] | None = None,
    losses: Sequence[str] | None = None,
    regularizers: Sequence[str] | None = None,
    seeds: int | Iterable[int] = 3,
    results: str | Path = DEFAULT_RESULTS,
    force: bool = False,
    retry_failed: bool = False,
    loss_hparams: Mapping[str, Mapping[str, Any]] | None = None,
    regularizer_hparams: Mapping[str, Mapping[str, Any]] | None = None,
    device: str = "cpu",
    options: Mapping[str, Any] | None = None,
    log=None,
):
    """Plan, run what is not stored yet, and return the records of the planned specs.

    ``options`` override the tasks' training recipes (``{"epochs": 2}`` for a smoke run); they are
    part of each spec, so such runs are stored and reported apart from default-recipe runs.
    Returns a wide DataFrame (one row per spec, a column per metric), cached runs included.
    """
    from .scheduler import run_sweep
    from .store import load_results

    specs, skipped = plan(suites, tasks, losses, regularizers, seeds, loss_hparams,
                          regularizer_hparams, options)
    for s in skipped:
        (log or _stderr)(f"skipped {s.what}: {s.reason}")
    if not specs:
        raise UsageError("the selection matches no run (check --suite/--task/--loss/"
                         "--regularizer against `lossbench list`)")
    run_sweep(specs, results, force=force, retry_failed=retry_failed, device=device, log=log)
    df = load_results(results)
    return df[df["spec_key"].isin({s.key for s in specs})].reset_index(drop=True)


def load_results(path: str | Path = DEFAULT_RESULTS, wide: bool = True):
    """Stored results as a DataFrame (see :func:`lossbench.store.load_results`)."""
    from .store import load_results as _load

    return _load(path, wide=wide)


def leaderboard(path: str | Path = DEFAULT_RESULTS, out: str | Path | None = DEFAULT_LEADERBOARD
                ) -> str:
    """Render the leaderboard from ``path``; also write it to ``out`` unless ``out`` is None."""
    from . import report as lb

    if out is not None:
        lb.write(path, out)
        return Path(out).read_text(encoding="utf-8")
    return lb.render(path)


def check(entry: str, kind: str = "loss"):
    """Run the plugin conformance checks on ``entry`` (a registered name or ``module:attr``)."""
    from .conformance import check_entry

    return check_entry(entry, kind=kind)


def _stderr(msg: str) -> None:
    import sys

    print(msg, file=sys.stderr, flush=True)


__all__ = ["list_entries", "run", "load_results", "leaderboard", "check"]

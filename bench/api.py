"""The Python API. The CLI (``lossbench.cli``) is a thin layer over these functions; both share
one validation path (:mod:`lossbench.plan`) and one set of error messages."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .errors import UsageError
from .plan import DEFAULT_SEEDS, plan
from .registry import registry_for

DEFAULT_RESULTS = "results"
DEFAULT_LEADERBOARD = "leaderboard.md"


def list_entries(pattern: str | None = None, kind: str | None = None) -> list[dict[str, Any]]:
    """Registered entries (name, kind, version, origin, status), filtered by a wildcard pattern.

    ``status`` is ``ok`` or the reason the entry cannot be used (import error, crash or hang at
    import, invalid card, name conflict); a broken entry is listed, never hidden, and never
    breaks the listing of the others. Third-party entries are read by child processes (one per
    distribution, concurrently; :mod:`lossbench.sandbox`), never imported here.
    """
    from .registry import describe_isolated

    kinds = [kind] if kind else ["loss", "regularizer"]
    rows = []
    listed = {k: registry_for(k).entries(pattern) for k in kinds}
    describe_isolated([e for es in listed.values() for e in es if e.isolated])
    for k in kinds:
        for entry in listed[k]:
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
    seeds: int | Iterable[int] = DEFAULT_SEEDS,
    results: str | Path = DEFAULT_RESULTS,
    force: bool = False,
    retry_failed: bool = False,
    loss_hparams: Mapping[str, Mapping[str, Any]] | None = None,
    regularizer_hparams: Mapping[str, Mapping[str, Any]] | None = None,
    device: str = "cpu",
    options: Mapping[str, Any] | None = None,
    log=None,
    executor: str = "local",
    workers: int | None = None,
    threads: int | None = None,
    timeout: float | None = None,
    memory_limit_mb: int | None = None,
    address: str | None = None,
    amp: bool | str = False,
    compile: bool = False,
    progress: str = "auto",
):
    """Plan, run what is not stored yet, and return the records of the planned specs.

    ``options`` override the tasks' training recipes (``{"epochs": 2}`` for a smoke run); they are
    part of each spec, so such runs are stored and reported apart from default-recipe runs.
    ``amp`` (``True`` or ``"bf16"``: bfloat16 autocast) and ``compile`` (``torch.compile``) are
    such options too. ``executor`` (``local``, ``serial``, ``ray``), ``workers``, ``threads``,
    ``timeout`` (seconds per run), ``memory_limit_mb`` (per run) and ``address`` (Ray) say how
    the runs execute and do not change results; ``progress`` is ``auto``, ``rich``, ``plain`` or
    ``quiet``. Returns a wide DataFrame (one row per spec, a column per metric), cached runs
    included.
    """
    from .scheduler import run_sweep
    from .store import load_results

    options = _with_speed_options(options, amp, compile)
    _check_executor(executor)
    _check_device(device)
    specs, skipped = plan(suites, tasks, losses, regularizers, seeds, loss_hparams,
                          regularizer_hparams, options)
    from .sandbox import one_line

    for s in skipped:
        (log or _stderr)(f"skipped {s.what}: {one_line(s.reason)}")
    if not specs:
        raise UsageError("the selection matches no run (check --suite/--task/--loss/"
                         "--regularizer against `lossbench list`)")
    run_sweep(specs, results, force=force, retry_failed=retry_failed, device=device, log=log,
              executor=executor, workers=workers, threads=threads, timeout=timeout,
              memory_limit_mb=memory_limit_mb, address=address,
              progress="plain" if log is not None and progress == "auto" else progress)
    keys = {s.key for s in specs}
    return load_results(results, keys=keys).reset_index(drop=True)


def _with_speed_options(options: Mapping[str, Any] | None, amp: bool | str,
                        compile: bool) -> dict[str, Any] | None:
    """Fold ``amp`` / ``compile`` into the spec options (they change numerics, so the hash)."""
    from .spec import AMP_CHOICES

    out = dict(options or {})
    if amp:
        mode = "bf16" if amp is True else amp
        if mode not in AMP_CHOICES:
            raise UsageError(f"unknown amp mode {amp!r}; valid: {', '.join(AMP_CHOICES)}")
        out["amp"] = mode
    if compile:
        out["compile"] = True
    return out or None


def _check_device(device: str) -> None:
    """A usable torch device string; ``cuda`` only where a CUDA device is visible."""
    if device == "cpu":
        return  # the default: valid without importing torch
    import torch

    from .executors import visible_gpus

    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise UsageError(f"unknown device {device!r} ({exc}); valid: cpu, cuda, cuda:N") from None
    if parsed.type == "cuda" and visible_gpus() == 0:
        raise UsageError(f"device {device!r} requested, but no CUDA device is visible "
                         "(torch.cuda.device_count() == 0); use --device cpu")
    if parsed.type not in ("cpu", "cuda"):
        raise UsageError(f"unsupported device {device!r}; valid: cpu, cuda, cuda:N")


def _check_executor(name: str) -> None:
    from .registry import EXECUTORS

    EXECUTORS.get(name)  # UsageError with did-you-mean for an unknown name


def load_results(path: str | Path = DEFAULT_RESULTS, wide: bool = True):
    """Stored results as a DataFrame (see :func:`lossbench.store.load_results`)."""
    from .store import load_results as _load

    return _load(path, wide=wide)


def leaderboard(path: str | Path = DEFAULT_RESULTS, out: str | Path | None = DEFAULT_LEADERBOARD
                ) -> str:
    """Render the leaderboard from ``path``; also write it to ``out`` unless ``out`` is None.

    ``UsageError`` when ``path`` is not an existing folder or ``out``'s folder is missing or not
    writable (:mod:`lossbench.outputs`), before anything is rendered."""
    from . import report as lb
    from .outputs import check_output_file, check_results_to_read

    check_results_to_read(path)
    if out is not None:
        check_output_file(out)

    if out is not None:
        lb.write(path, out)
        return Path(out).read_text(encoding="utf-8")
    return lb.render(path)


def validate(path: str | Path = DEFAULT_RESULTS, suites: Sequence[str] | None = None,
             min_seeds: int | None = None, confidence: float = 0.95):
    """Judge the published findings the suites declare (:mod:`lossbench.findings`) on the
    records in ``path``: what ``lossbench validate`` prints, as a DataFrame with one row per
    finding.

    Columns: ``suite``, ``id``, ``task``, ``task_version`` (the suite's current version, the one
    judged), ``metric``, ``metric_b`` (same-entry findings), ``a``, ``b`` (entry labels, ``b``
    None for a same-entry finding), ``higher`` (the claim is "A higher"), ``n`` and ``seeds``
    (the shared ok seeds), ``mean_a``, ``mean_b``, ``diff`` (mean of A − B signed so that
    positive = the published direction), ``low``, ``high`` (its two-sided ``confidence``
    Student-t interval), ``confidence``, ``verdict`` (reproduced | unresolved | inverted |
    missing), ``failed_a``, ``failed_b`` (comparable runs not ok), ``command`` (the ``lossbench
    run`` command producing the missing runs), ``note``, ``claim``, ``published``, ``source``.
    ``min_seeds`` (default 5): shared seeds needed for a verdict. A wrong declaration raises
    :class:`lossbench.findings.FindingError` naming the bad value.
    """
    import pandas as pd

    from . import findings

    results = findings.validate(str(path), suites,
                                min_seeds=findings.DEFAULT_MIN_SEEDS if min_seeds is None
                                else min_seeds, confidence=confidence, log=_stderr)
    return pd.DataFrame([r.to_dict() for r in results], columns=list(findings.RESULT_COLUMNS))


def check(entry: str, kind: str | None = None, timeout: float | None = None):
    """Run the plugin conformance checks on ``entry`` (a registered name or ``module:attr``);
    ``kind`` (loss | regularizer) is looked up from the registries when not given.

    The checks run in a child process (the entry's code never runs in this one) within
    ``timeout`` seconds (default :data:`lossbench.conformance.CHECK_TIMEOUT`); a crash or a hang
    is a failed check. Entries registered in-process only are checked in this process.
    """
    from .conformance import check_isolated

    return check_isolated(entry, kind=kind, timeout=timeout)


def _stderr(msg: str) -> None:
    import sys

    print(msg, file=sys.stderr, flush=True)


__all__ = ["list_entries", "run", "load_results", "leaderboard", "validate", "check"]

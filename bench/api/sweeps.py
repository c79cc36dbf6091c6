"""The sweeps: :func:`run` (plan a :class:`~.options.Selection`, run what is not stored yet) and
:func:`tune` (equal-budget tuning, :mod:`lossbench.tune`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import UsageError
from ..plan import Plan, plan
from ..progress import stderr
from .options import Execution, Selection, check_device, check_executor

if TYPE_CHECKING:
    import pandas as pd

    from ..tune import TuningResult


def run(selection: Selection | None = None, execution: Execution | None = None) -> pd.DataFrame:
    """Plan ``selection`` (default :class:`Selection`\\ (): every entry on every suite's
    embedded tasks), run what ``execution``'s results folder does not hold yet the way
    ``execution`` says (default :class:`Execution`\\ (): ``results/``, local child processes),
    and return the records of the planned specs.

    Returns a wide DataFrame (one row per spec, a column per metric), stored runs included.
    Before the first run the plan's size and an estimated time are printed, and
    ``execution.confirm`` may cancel the sweep; no spec runs twice, even with another process
    storing into the same folder (:mod:`lossbench.results_lock`).
    """
    from ..scheduler import run_sweep
    from ..store import load_results
    from ..text_safety import one_line

    selection = selection if selection is not None else Selection()
    execution = execution if execution is not None else Execution()
    log = execution.log
    check_executor(execution.executor)
    check_device(execution.device)
    s = selection
    planned = plan(s.suites, s.tasks, s.losses, s.regularizers, s.seeds, s.loss_hparams,
                   s.regularizer_hparams, s.spec_options, baseline=s.baseline, hparams=s.hparams)
    specs = planned.specs
    for skip in planned.skipped:
        (log or stderr)(f"skipped {skip.what}: {one_line(skip.reason)}")
    if not specs:
        raise UsageError("the selection matches no run (check --suite/--task/--loss/"
                         "--regularizer against `lossbench list`)")
    added = _baseline_note(planned)
    if added:
        (log or stderr)(added)
    e = execution
    run_sweep(specs, e.results, force=e.force, retry_failed=e.retry_failed, device=e.device,
              log=log, executor=e.executor, workers=e.workers, threads=e.threads,
              timeout=e.timeout, memory_limit_mb=e.memory_limit_mb, address=e.address,
              confirm=e.confirm,
              progress="plain" if log is not None and e.progress == "auto" else e.progress,
              wait=e.wait)
    keys = {spec.key for spec in specs}
    return load_results(e.results, keys=keys).reset_index(drop=True)


def _baseline_note(planned: Plan) -> str:
    """The line saying the cross-entropy baseline was added (``planned.baseline``; '' when the
    plan added none: nothing was named, or the selection runs plain cross-entropy itself)."""
    from ..plan import BASELINE_LOSS

    if not planned.baseline:
        return ""
    tasks = sorted({f"{s.suite}/{s.task}" for s in planned.baseline})
    return (f"baseline: {BASELINE_LOSS} added on {', '.join(tasks)} ({len(planned.baseline)} "
            f"runs; stored ones are reused; --no-baseline / baseline=False leaves it out)")


def tune(selection: Selection, execution: Execution | None = None, trials: int | None = None,
         selection_metric: str | None = None) -> list[TuningResult]:
    """Equal-budget tuning (what ``lossbench tune`` runs) of the losses (alone) and
    regularizers (with cross-entropy) ``selection`` names, on its tasks: per entry and task,
    ``trials`` configurations (default :data:`lossbench.tune.DEFAULT_TRIALS`: the card's
    defaults and quasi-random draws from its search space) on the tuning seed; the one with the
    best validation ``selection_metric`` (a ``val_*`` metric; default: the suite's selection
    metric, else ``val_<first headline metric>``, else ``val_top1``) then runs for the
    selection's seeds. The test split never chooses.

    Tuning chooses the hyperparameters, so ``selection`` sets none (``hparams``,
    ``loss_hparams``, ``regularizer_hparams``), and no baseline is added. ``execution`` as for
    :func:`run` (its ``confirm`` is asked before each of the two sweeps). One
    :class:`lossbench.tune.TuningResult` per entry and task (``selected`` None: nothing could be
    selected, ``note`` says why); the manifests land in ``<results>/_tuning/``."""
    from ..tune import DEFAULT_TRIALS
    from ..tune import tune as _tune

    execution = execution if execution is not None else Execution()
    for name in ("hparams", "loss_hparams", "regularizer_hparams"):
        if getattr(selection, name):
            raise UsageError(f"tuning chooses the hyperparameters: leave {name} unset, got "
                             f"{getattr(selection, name)!r}")
    check_selection_metric(selection_metric)
    s, e = selection, execution
    return _tune(losses=s.losses, regularizers=s.regularizers, suites=s.suites, tasks=s.tasks,
                 trials=DEFAULT_TRIALS if trials is None else trials, seeds=s.seeds,
                 results=e.results, device=e.device,
                 options=s.spec_options, selection_metric=selection_metric, log=e.log,
                 force=e.force, retry_failed=e.retry_failed, executor=e.executor,
                 workers=e.workers, threads=e.threads, timeout=e.timeout,
                 memory_limit_mb=e.memory_limit_mb, address=e.address, progress=e.progress,
                 confirm=e.confirm, wait=e.wait)


def check_selection_metric(metric: str | None) -> None:
    """Tuning selects on a validation metric (``val_*``) or the default (None), never on the
    test split: a UsageError otherwise."""
    if metric is not None and not metric.startswith("val_"):
        raise UsageError(f"--select must be a validation metric (val_*), got {metric!r}: "
                         f"selection never looks at the test split")

"""Warming the sweep process up, so that the run children forked from it start at once.

The ``local`` executor forks each run's child from the sweep process
(:mod:`lossbench.executors.local`); whatever that process has imported and built before the fork
(torch, the built-in entries, the task data, the lazily imported metric libraries) the child
does not import or build again.
"""

from __future__ import annotations

import dataclasses

import torch

from .fingerprint import harness_fingerprint
from .provenance import git_sha
from .registry import LOSSES, REGULARIZERS, SUITES
from .replay import Request
from .runner import _learn_plan, _train_run, resolve_task, torch_threads
from .spec import RunSpec

_WARM_DATA: set[tuple[str, str, str, int]] = set()


_WARM_TASKS: set[tuple[str, str, str]] = set()


def warm_up(spec: RunSpec) -> None:
    """Prepare this process so that children forked from it run ``spec`` at once.

    Imports the entries, builds the task data of the spec's seed (tasks cache it), and once per
    embedded task runs a one-epoch cross-entropy dry run (not stored) so that every module a run
    imports lazily (the metric libraries, ``torch._dynamo`` behind the fused optimizers) is
    already loaded: seconds per run otherwise. Only built-in entries (distribution
    ``lossbench``) are imported here: a third-party loss, regularizer or suite is imported by the
    run's own child (:mod:`lossbench.sandbox`), so its import-time side effects never reach
    another run. Errors are left to the run itself to report.
    """
    task_key = (spec.suite, spec.task, spec.task_version)
    data_key = (*task_key, spec.seed)
    if data_key in _WARM_DATA:
        return
    _WARM_DATA.add(data_key)
    with torch_threads(1):  # no thread pool in the parent of forked children
        _warm_up(spec, task_key)


def _warm_up(spec: RunSpec, task_key: tuple[str, str, str]) -> None:
    git_sha()  # cached here, so forked children do not each run git for their provenance
    harness_fingerprint()  # and do not each hash the harness sources
    try:
        if SUITES.get(spec.suite).isolated:
            return  # a third-party suite's code runs in the run's child only
        _, task = resolve_task(spec)
        for entry in [LOSSES.get(spec.loss)] + (
                [REGULARIZERS.get(spec.regularizer)] if spec.regularizer else []):
            if not entry.isolated:
                entry.load()
        task.make_data(spec.seed)
        if task.embedded and task_key not in _WARM_TASKS and "cross_entropy" in LOSSES:
            _WARM_TASKS.add(task_key)
            dry = dataclasses.replace(
                spec, loss="cross_entropy", loss_hparams=dict(LOSSES.card("cross_entropy").hparams),
                regularizer=None, regularizer_hparams={}, options={"epochs": 1})
            # trusted (a built-in loss on a built-in task, in this process): the evaluation
            # plan is learnt from the run's own requests, without scoring it a second time
            requests: list[Request] = []
            run = _train_run(dry, torch.device("cpu"), {}, requests)
            if run.status == "ok":
                _learn_plan(dry, run.checkpoints, requests)
    except Exception:  # noqa: BLE001 - the run itself records the problem with its traceback
        pass

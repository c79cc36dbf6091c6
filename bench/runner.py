"""Execute one run: spec in, record out. The only place entries, tasks and the trainer meet.

A run has two halves: :func:`train_run` (untrusted: it imports and calls the entry; the run's
child) returns plain arrays (:mod:`lossbench.run_outputs`), and :func:`score` (trusted: harness
code only; the sweep process) computes the metrics, the provenance and the record for the spec.
:func:`execute` runs both in the calling process.

:func:`execute` never raises for a problem with the entry or the task: the problem becomes the
record's ``status`` (``ok``, ``error``, ``diverged``, ``oom`` for an allocation failure) and
``error`` text, so one bad plugin cannot stop a sweep. Process-level failures (timeouts, crashes,
kills) are recorded by the executor that ran the process, with the same record shape
(:func:`failure_record`).

Every ``ok`` record also carries throughput: ``samples_per_second`` (training) and
``loss_cost_ratio`` (the loss's forward+backward time over cross-entropy's on the same logits, in
the same process; see :mod:`lossbench.throughput`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import random
import time
import traceback
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from . import checkpoint_rules
from .build import build
from .evaluator import Evaluator
from .model_needs import resolve as resolve_model_needs
from .provenance import device_name, provenance
from .record import TRACEBACK_TAIL, Record
from .record_meta import record_meta
from .registry import LOSSES, REGULARIZERS, SUITES
from .replay import MissingOutputs, Request, answer, recording, replaying
from .run_outputs import RunOutputs, output_key
from .signatures import build_context
from .spec import AMP_CHOICES, RECIPE_OPTIONS, TRAIN_CONFIG_OPTIONS, RunSpec  # noqa: F401
from .suites.base import EvalInput, Suite, Task
from .train import Diverged, TrainConfig, train


def failure_record(spec: RunSpec, status: str, error: str, *, device: str = "cpu",
                   started: float | None = None, wall: float = float("nan")) -> Record:
    """A record for a run that failed outside :func:`execute` (timeout, OOM, crash)."""
    started = time.time() if started is None else started
    return Record(spec, status, error=error[-TRACEBACK_TAIL:],
                  provenance={**provenance(torch.device(device), started, wall, spec),
                              **record_meta(spec.loss, spec.regularizer, spec.suite, spec.task)})


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def resolve_task(spec: RunSpec) -> tuple[Suite, Task]:
    suite: Suite = SUITES.load(spec.suite)
    return suite, suite.task(spec.task)


def recipe_for(task: Task, options: dict[str, Any]) -> TrainConfig:
    """The task's training recipe with the spec's recipe options applied."""
    overrides = {k: options[k] for k in TRAIN_CONFIG_OPTIONS if k in options}
    return dataclasses.replace(task.train, **overrides) if overrides else task.train


def autocast_dtype(options: dict[str, Any]) -> torch.dtype | None:
    """The autocast dtype a spec asks for (``{"amp": "bf16"}``), or None."""
    amp = options.get("amp")
    if amp in (None, False, ""):
        return None
    if amp not in AMP_CHOICES:
        raise ValueError(f"unknown amp mode {amp!r}; valid: {', '.join(AMP_CHOICES)}")
    return torch.bfloat16


def is_out_of_memory(exc: BaseException) -> bool:
    """True for an allocation failure: Python's MemoryError, torch's OutOfMemoryError (CUDA), or
    the CPU allocator's RuntimeError ("can't allocate memory")."""
    if isinstance(exc, MemoryError):
        return True
    oom_type = getattr(torch, "OutOfMemoryError", None) or getattr(torch.cuda, "OutOfMemoryError",
                                                                    None)
    if oom_type is not None and isinstance(exc, oom_type):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and ("can't allocate memory" in text
                                              or "out of memory" in text)


def execute(spec: RunSpec, device: str | torch.device = "cpu",
            threads: int | None = None) -> Record:
    """Run ``spec`` to completion in this process and return its :class:`Record` (never raises
    for entry bugs): :func:`train_run`, then :func:`score`. The ``local`` executor runs the two
    halves in different processes; in-process (the ``serial`` executor, tests) is trusted code
    only, since the entry is imported here.

    ``threads``: torch's intra-op threads during the run (the caller's setting is restored after
    it). Default: 1 on CPU — the embedded models are too small to gain from more, and a second
    thread on a busy machine made runs several times slower —; on a GPU torch's own setting.
    """
    started, t0 = time.time(), time.perf_counter()
    return score(spec, train_run(spec, device, threads, evaluation_plans(spec)), device=device,
                 threads=threads, started=started, t0=t0)


@contextlib.contextmanager
def torch_threads(threads: int | None):
    """Run the block with ``threads`` torch intra-op threads (None: leave them), then restore."""
    before = torch.get_num_threads()
    if threads and threads != before:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)


def train_run(spec: RunSpec, device: str | torch.device = "cpu", threads: int | None = None,
              plans: Mapping[tuple[str, ...], list[Request]] | None = None) -> RunOutputs:
    """The untrusted half of a run (it imports and calls the entry): train ``spec`` and return
    plain arrays (:class:`lossbench.run_outputs.RunOutputs`): the outputs the task's metrics
    read, recorded by :mod:`lossbench.replay`, the training curve and the timings. Never raises
    for entry bugs (the problem is the returned status and error).

    ``plans``: :func:`evaluation_plans` of the spec, by checkpoints; with one for the trained
    checkpoints only the planned outputs are computed (:func:`lossbench.replay.answer`), else
    the task's ``evaluate`` runs with recording evaluators."""
    device = torch.device(device)
    if threads is None and device.type == "cpu":
        threads = 1
    with torch_threads(threads):
        outputs = _train_run(spec, device, plans or {})
        outputs.device = device_name(device)
        return outputs


#: Evaluation plans learnt by :func:`score` in this process, by :func:`_plan_key`.
_PLANS: dict[tuple[Any, ...], dict[tuple[str, ...], list[Request]]] = {}


def _plan_key(spec: RunSpec) -> tuple[Any, ...]:
    """What the inputs of a built-in task's ``evaluate`` depend on: the task, its data (the
    seed) and the loss's objective."""
    return (spec.suite, spec.task, spec.task_version, spec.seed, LOSSES.card(spec.loss).objective)


def evaluation_plans(spec: RunSpec) -> dict[tuple[str, ...], list[Request]]:
    """The inputs the task's ``evaluate`` asked for when this process last scored a run of the
    same task, seed and objective, by the run's checkpoints (``{}`` before the first)."""
    try:
        return dict(_PLANS.get(_plan_key(spec), {}))
    except Exception:  # noqa: BLE001 - no plan: the child runs evaluate itself
        return {}


def _learn_plan(spec: RunSpec, checkpoints: tuple[str, ...], requests: list[Request]) -> None:
    plans = _PLANS.setdefault(_plan_key(spec), {})
    if checkpoints not in plans:
        unique = {output_key(c, m, x): (c, m, x) for c, m, x in requests}
        plans[checkpoints] = list(unique.values())


def score(spec: RunSpec, run: RunOutputs, *, device: str | torch.device = "cpu",
          threads: int | None = None, started: float | None = None,
          t0: float | None = None) -> Record:
    """The trusted half of a run: ``spec``'s :class:`Record` from what its child returned.

    The metrics are computed here by the task's own ``evaluate``, on the task's data rebuilt
    from the spec, with the child's outputs replayed (:mod:`lossbench.replay`); the record, its
    provenance and its metadata are built for ``spec``, whatever the child says. Only a
    third-party suite's metrics and task metadata come from the child (this process never
    imports the suite). Runs with the same torch threads as the child (1 on CPU), so the
    metrics are bit-identical to computing them there; always on the CPU.
    """
    device = torch.device(device)
    started = time.time() if started is None else started
    t0 = time.perf_counter() if t0 is None else t0
    if threads is None and device.type == "cpu":
        threads = 1
    with torch_threads(threads):
        return _score(spec, run, device, started, t0)


def _train_run(spec: RunSpec, device: torch.device,
               plans: Mapping[tuple[str, ...], list[Request]],
               requests: list[Request] | None = None) -> RunOutputs:
    suite = None

    def claims(suite: Any, metrics: dict[str, float] | None = None) -> dict[str, Any]:
        """A third-party suite's metrics and task metadata: only this process can compute them."""
        if suite is None or not SUITES.get(spec.suite).isolated:
            return {}
        return {"metrics": None if metrics is None else {k: float(v) for k, v in metrics.items()},
                "task_json": record_meta(spec.loss, spec.regularizer, spec.suite, spec.task, suite,
                                         metrics)["task_json"]}

    try:
        suite, task = resolve_task(spec)
        options = dict(spec.options)
        recipe = recipe_for(task, options)
        data = private_data(task.make_data(spec.seed), device)
        loss_card = LOSSES.card(spec.loss)
        embedding = loss_card.objective == "embedding"
        out_dim = task.embedding_size if embedding else data.num_classes
        context = build_context(num_classes=data.num_classes, embedding_size=task.embedding_size,
                                class_counts=data.class_counts, num_train=len(data.x_train),
                                num_epochs=recipe.epochs)
        seed_everything(spec.seed)
        from .models import build_model

        # the entry's declared model needs; like any hyperparameter, the card's default when a
        # (hand-made) spec leaves it out
        needs = resolve_model_needs({**loss_card.hparams, **spec.loss_hparams})
        model = build_model(task.model, data.in_shape, out_dim, head=needs.head,
                            head_scale=needs.head_scale, **dict(task.model_kwargs))
        loss_fn = build(LOSSES.get(spec.loss), spec.loss_hparams, context)
        regularizers = []
        if spec.regularizer:
            regularizers.append(
                build(REGULARIZERS.get(spec.regularizer), spec.regularizer_hparams, context))
        model.to(device)
        if isinstance(loss_fn, torch.nn.Module):
            loss_fn.to(device)
        if options.get("compile"):
            model.compile()  # in place: parameter names and state_dict keys stay the same
        result = train(
            model, loss_fn, data.x_train, data.y_train, recipe,
            num_classes=data.num_classes, seed=spec.seed, regularizers=regularizers,
            select=checkpoint_rules.scorer(task.model_selection, data.x_val, data.y_val,
                                           loss_card.objective),
            accepts_soft_targets=loss_card.accepts_soft_targets,
            class_counts=data.class_counts, autocast=autocast_dtype(options),
            lr_multipliers=needs.lr_multipliers,
            objective=loss_card.objective,
        )
        checkpoints = {"last": Evaluator(result.model)}
        if result.best_state is not None:
            best = _clone_with_state(result.model, result.best_state)
            checkpoints["selected"] = Evaluator(best)
        plan = plans.get(tuple(checkpoints))
        if plan is not None and not SUITES.get(spec.suite).isolated:
            metrics, recorded = None, answer(checkpoints, plan)
        else:
            recorders, recorded = recording(checkpoints, requests)
            metrics = task.evaluate(EvalInput(data, recorders, loss_card.objective))
        scalars = {"train_seconds": result.train_seconds,
                   "samples_per_second": result.samples_per_second}
        if result.best_epoch >= 0:
            scalars["best_epoch"] = float(result.best_epoch)
        ratio = _loss_cost_ratio(result.model, loss_fn, data, recipe, loss_card)
        if ratio is not None:
            scalars["loss_cost_ratio"] = ratio
        return RunOutputs("ok", checkpoints=tuple(checkpoints), outputs=recorded,
                          history={k: np.asarray(v, dtype=np.float64)
                                   for k, v in result.history.items()},
                          scalars=scalars, **claims(suite, metrics))
    except Diverged as exc:
        return RunOutputs("diverged", str(exc)[-TRACEBACK_TAIL:],
                          scalars={"diverged_epoch": float(exc.epoch)}, **claims(suite))
    except Exception as exc:  # noqa: BLE001 - any entry bug becomes the run's status
        tb = traceback.format_exc()
        status = "oom" if is_out_of_memory(exc) else "error"
        return RunOutputs(status, f"{type(exc).__name__}: {exc}\n{tb}"[-TRACEBACK_TAIL:],
                          **claims(suite))


def _trusted_suite(spec: RunSpec) -> Suite | None:
    """The spec's suite when it is a built-in (its code is harness code), else None."""
    try:
        return None if SUITES.get(spec.suite).isolated else SUITES.load(spec.suite)
    except Exception:  # noqa: BLE001 - an unknown suite: the record says so without it
        return None


def _score(spec: RunSpec, run: RunOutputs, device: torch.device, started: float,
           t0: float) -> Record:
    suite = _trusted_suite(spec)
    num_classes = None  # of the task's data, once rebuilt: the report's chance level of top-1

    def record(status: str, metrics: dict[str, float] | None = None, error: str = "") -> Record:
        meta = record_meta(spec.loss, spec.regularizer, spec.suite, spec.task, suite, metrics,
                           num_classes)
        if suite is None and run.task_json is not None:  # a third-party suite's own metadata
            with contextlib.suppress(ValueError):
                meta["task_json"] = json.dumps(json.loads(run.task_json), sort_keys=True,
                                               separators=(",", ":"), default=str)
        return Record(spec, status, metrics or {}, error[-TRACEBACK_TAIL:],
                      {**provenance(device, started, time.perf_counter() - t0, spec,
                                    run.device if device.type != "cpu" else None), **meta})

    if run.status == "diverged":
        return record("diverged", {"diverged_epoch": run.scalars.get("diverged_epoch",
                                                                     float("nan"))}, run.error)
    if run.status != "ok":
        return record(run.status, error=run.error)
    try:
        missing = [k for k in ("train_seconds", "samples_per_second") if k not in run.scalars]
        curve = np.asarray(run.history.get("train_loss", ()), dtype=np.float64)
        if curve.ndim != 1 or not len(curve):
            missing.append("training curve (train_loss per epoch)")
        if missing:
            raise MissingOutputs(f"the run's child returned no {', '.join(missing)}")
        if suite is None:
            if SUITES.get(spec.suite).isolated and run.metrics is not None:
                metrics = dict(run.metrics)  # the third-party suite's own computation
            else:
                raise MissingOutputs(f"the run's child returned no metrics for the third-party "
                                     f"suite {spec.suite!r}")
        else:
            task = suite.task(spec.task)
            data = private_data(task.make_data(spec.seed), torch.device("cpu"))
            num_classes = data.num_classes
            objective = LOSSES.card(spec.loss).objective
            requests: list[Request] = []
            metrics = task.evaluate(EvalInput(
                data, replaying(run.checkpoints, run.outputs, requests), objective))
            _learn_plan(spec, tuple(run.checkpoints), requests)
        if "best_epoch" in run.scalars:
            metrics["best_epoch"] = run.scalars["best_epoch"]
        metrics.update({
            "train_seconds": run.scalars["train_seconds"],
            "samples_per_second": run.scalars["samples_per_second"],
            "final_train_loss": float(curve[-1]),
        })
        if "loss_cost_ratio" in run.scalars:
            metrics["loss_cost_ratio"] = run.scalars["loss_cost_ratio"]
        return record("ok", metrics)
    except MissingOutputs as exc:
        return record("error", error=f"{type(exc).__name__}: {exc}")
    except Exception as exc:  # noqa: BLE001 - the record says what failed
        return record("error", error=f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}")


def private_data(data: Any, device: torch.device) -> Any:
    """The run's own copy of the task data on ``device``: tasks cache their data per process,
    and an entry that modifies its inputs in place (``targets``, ``class_counts``) must not
    change them for the next run of the process (the serial executor runs them all in one)."""
    def copy(v: Any) -> Any:
        return v.to(device, copy=True) if torch.is_tensor(v) else v

    fields = {f.name: copy(getattr(data, f.name)) for f in dataclasses.fields(data)
              if f.name != "extra"}
    return dataclasses.replace(data, **fields,
                               extra={k: copy(v) for k, v in data.extra.items()})


def _loss_cost_ratio(model: torch.nn.Module, loss_fn: Any, data: Any, recipe: TrainConfig,
                     loss_card: Any) -> float | None:
    """The run's ``loss_cost_ratio`` on one training batch of the trained model's outputs (None
    when the loss cannot be timed outside training, e.g. it needs a regularizer's targets)."""
    from .throughput import loss_cost_ratio

    x = data.x_train[:recipe.batch_size]
    y = data.y_train[:recipe.batch_size]
    with torch.no_grad():
        outputs = model(x).float()
    context = {"index": torch.arange(len(x), device=x.device), "epoch": recipe.epochs - 1,
               "num_epochs": recipe.epochs, "model": model, "inputs": x,
               "class_counts": data.class_counts}
    try:
        return loss_cost_ratio(loss_fn, outputs, y, context, num_classes=data.num_classes)
    except Exception:  # noqa: BLE001 - a throughput figure must never fail a finished run
        return None


def _clone_with_state(model: torch.nn.Module, state: dict[str, torch.Tensor]) -> torch.nn.Module:
    import copy

    clone = copy.deepcopy(model)
    clone.load_state_dict(state)
    return clone


def configure_threads(threads: int | None) -> None:
    """Set torch's intra-op threads (workers set 1 each so they don't oversubscribe cores)."""
    if threads:
        torch.set_num_threads(threads)
        os.environ.setdefault("OMP_NUM_THREADS", str(threads))

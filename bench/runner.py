"""Execute one run: spec in, record out. The only place entries, tasks and the trainer meet.

:func:`execute` never raises for a problem with the entry or the task: the problem becomes the
record's ``status`` (``ok``, ``error``, ``diverged``) and ``error`` text, so one bad plugin cannot
stop a sweep. Process-level failures (timeouts, OOM kills, crashes) are recorded by the executor
that ran the process, with the same record shape (:func:`failure_record`).
"""

from __future__ import annotations

import dataclasses
import functools
import os
import platform
import random
import socket
import subprocess
import time
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch

from . import __version__
from .registry import LOSSES, REGULARIZERS, SUITES, build
from .spec import RunSpec
from .suites.base import EvalInput, Evaluator, Suite, Task
from .train import Diverged, TrainConfig, train

STATUSES = ("ok", "error", "diverged", "timeout", "oom", "crashed")
TRACEBACK_TAIL = 2000


@dataclass
class Record:
    """The outcome of one run: its spec, status, metrics and provenance."""

    spec: RunSpec
    status: str
    metrics: dict[str, float] = field(default_factory=dict)
    error: str = ""
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@functools.lru_cache(maxsize=1)
def git_sha() -> str:
    """The commit of the lossbench source tree, when it is a git checkout ('' otherwise)."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent,
                             capture_output=True, text=True, timeout=5, check=False)
        return out.stdout.strip() if out.returncode == 0 else ""
    except (OSError, subprocess.SubprocessError):
        return ""


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda:{torch.cuda.get_device_name(device)}"
    return f"cpu:{platform.processor() or platform.machine()} x{torch.get_num_threads()}"


def provenance(device: torch.device, started: float, wall: float) -> dict[str, Any]:
    return {
        "lossbench_version": __version__,
        "git_sha": git_sha(),
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "device": device_name(device),
        "host": socket.gethostname(),
        "started_at": datetime.fromtimestamp(started, timezone.utc).isoformat(timespec="seconds"),
        "wall_seconds": wall,
    }


def failure_record(spec: RunSpec, status: str, error: str, *, device: str = "cpu",
                   started: float | None = None, wall: float = float("nan")) -> Record:
    """A record for a run that failed outside :func:`execute` (timeout, OOM, crash)."""
    started = time.time() if started is None else started
    return Record(spec, status, error=error[-TRACEBACK_TAIL:],
                  provenance=provenance(torch.device(device), started, wall))


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def resolve_task(spec: RunSpec) -> tuple[Suite, Task]:
    suite: Suite = SUITES.load(spec.suite)
    return suite, suite.task(spec.task)


#: Spec options that override a task's training recipe (stored in the spec, so they are hashed and
#: shown: a run with options is never mixed with the task's default-recipe runs).
RECIPE_OPTIONS = ("epochs", "batch_size", "lr", "weight_decay")


def recipe_for(task: Task, options: dict[str, Any]) -> TrainConfig:
    """The task's training recipe with the spec's recipe options applied."""
    overrides = {k: options[k] for k in RECIPE_OPTIONS if k in options}
    return dataclasses.replace(task.train, **overrides) if overrides else task.train


def execute(spec: RunSpec, device: str | torch.device = "cpu") -> Record:
    """Run ``spec`` to completion and return its :class:`Record` (never raises for entry bugs)."""
    device = torch.device(device)
    started = time.time()
    t0 = time.perf_counter()

    def record(status: str, metrics: dict[str, float] | None = None, error: str = "") -> Record:
        return Record(spec, status, metrics or {}, error[-TRACEBACK_TAIL:],
                      provenance(device, started, time.perf_counter() - t0))

    try:
        suite, task = resolve_task(spec)
        recipe = recipe_for(task, dict(spec.options))
        data = task.make_data(spec.seed).to(device)
        loss_card = LOSSES.card(spec.loss)
        out_dim = task.embedding_size if loss_card.kind == "embedding" else data.num_classes
        context = {
            "num_classes": data.num_classes,
            "embedding_size": task.embedding_size,
            "class_counts": data.class_counts,
            "num_train": len(data.x_train),
            "num_epochs": recipe.epochs,
        }
        seed_everything(spec.seed)
        from .models import build_model

        model = build_model(task.model, data.in_shape, out_dim, **dict(task.model_kwargs))
        loss_fn = build(LOSSES.get(spec.loss), spec.loss_hparams, context)
        regularizers = []
        if spec.regularizer:
            regularizers.append(
                build(REGULARIZERS.get(spec.regularizer), spec.regularizer_hparams, context))
        model.to(device)
        if isinstance(loss_fn, torch.nn.Module):
            loss_fn.to(device)
        result = train(
            model, loss_fn, data.x_train, data.y_train, recipe,
            num_classes=data.num_classes, seed=spec.seed, regularizers=regularizers,
            x_val=data.x_val, y_val=data.y_val, accepts_soft_targets=loss_card.accepts_soft_targets,
            class_counts=data.class_counts,
        )
        checkpoints = {"last": Evaluator(result.model)}
        if result.best_state is not None:
            best = _clone_with_state(result.model, result.best_state)
            checkpoints["best_val"] = Evaluator(best)
        metrics = task.evaluate(EvalInput(data, checkpoints, loss_card.kind))
        metrics.update({
            "train_seconds": result.train_seconds,
            "samples_per_second": result.samples_per_second,
            "best_epoch": float(result.best_epoch),
            "final_train_loss": result.history["train_loss"][-1],
        })
        return record("ok", metrics)
    except Diverged as exc:
        return record("diverged", {"diverged_epoch": float(exc.epoch)}, str(exc))
    except Exception as exc:  # noqa: BLE001 - any entry bug becomes the run's status
        tb = traceback.format_exc()
        return record("error", error=f"{type(exc).__name__}: {exc}\n{tb}")


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

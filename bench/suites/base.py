"""Suites and tasks: declarative, versioned benchmark settings.

A :class:`Suite` is what the ``lossbench.suites`` entry-point group registers: a name, a version and
its :class:`Task` objects. A task owns the data (a deterministic function of the run seed), the
model, the training recipe and the metrics; an entry owns only the objective (AlgoPerf's lesson).
Bump a task's ``version`` whenever its semantics change: results of different task versions are
never mixed in one leaderboard table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch

from ..checkpoint_rules import DEFAULT_SELECTION, get_selection
from ..errors import unknown_value
from ..evaluator import Evaluator
from ..train import TrainConfig
from .declared_findings import Finding
from .info import SuiteInfo, TaskInfo, _SuiteTasks  # noqa: F401 - the descriptions


@dataclass
class TaskData:
    """A task's splits as tensors (on the run's device), plus suite-specific extras."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    num_classes: int
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def in_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    @property
    def class_counts(self) -> torch.Tensor:
        """Training-label counts per class (what imbalance-aware losses receive)."""
        return torch.bincount(self.y_train, minlength=self.num_classes)

    def to(self, device: torch.device | str) -> TaskData:
        def move(v: Any) -> Any:
            return v.to(device) if torch.is_tensor(v) else v

        return TaskData(
            **{k: move(getattr(self, k)) for k in
               ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")},
            num_classes=self.num_classes,
            extra={k: move(v) for k, v in self.extra.items()},
        )


@dataclass
class EvalInput:
    """What a task's ``evaluate`` receives after training.

    ``checkpoints`` maps a checkpoint to an :class:`Evaluator`: ``"last"`` (the final epoch)
    always, ``"selected"`` (the epoch of the best validation score under the task's
    ``model_selection``) when the rule tracked one. :attr:`selected` falls back to the last epoch.
    """

    data: TaskData
    checkpoints: Mapping[str, Evaluator]
    loss_kind: str = "classification"

    @property
    def last(self) -> Evaluator:
        return self.checkpoints["last"]

    @property
    def selected(self) -> Evaluator:
        """The checkpoint the task's model-selection rule chose (the last epoch without one)."""
        return self.checkpoints.get("selected", self.checkpoints["last"])


Evaluate = Callable[[EvalInput], dict[str, float]]


@dataclass(frozen=True)
class Task:
    """One benchmark setting. ``make_data(seed)`` must be a deterministic function of the seed."""

    name: str
    version: str
    description: str
    make_data: Callable[[int], TaskData]
    evaluate: Evaluate
    train: TrainConfig = field(default_factory=TrainConfig)
    model: str = "cnn1d"
    model_kwargs: Mapping[str, Any] = field(default_factory=dict)
    #: runs offline on a CPU in minutes (generated or package-shipped data, a CPU-sized model);
    #: full-scale tasks (downloaded data, GPU-sized models) are not embedded
    embedded: bool = True
    #: what ``lossbench run`` runs when no task is named; None: the same as ``embedded``
    in_default_sweep: bool | None = None
    supports_embedding: bool = False  # embedding losses (objective = "embedding") can run here
    embedding_size: int = 64
    available: Callable[[], bool] = lambda: True
    headline: tuple[str, ...] = ("top1",)
    #: the checkpoint the test metrics use: a rule in :data:`lossbench.checkpoint_rules.SELECTIONS`
    #: (``val_top1``, ``val_map_at_r``, ``last_epoch``)
    model_selection: str = DEFAULT_SELECTION

    def __post_init__(self) -> None:
        get_selection(self.model_selection)  # UsageError naming the valid rules
        if self.in_default_sweep is None:
            object.__setattr__(self, "in_default_sweep", self.embedded)


@dataclass(frozen=True)
class Suite(_SuiteTasks):
    """A named, versioned group of tasks with its headline metrics."""

    name: str
    version: str
    description: str
    tasks: Mapping[str, Task]
    headline: tuple[str, ...] = ("top1",)
    #: the validation metric ``lossbench tune`` selects on (None: ``val_<first headline>``)
    selection_metric: str | None = None
    #: published results the embedded tasks should reproduce (``lossbench validate``)
    findings: tuple[Finding, ...] = ()

    def task(self, name: str) -> Task:
        if name not in self.tasks:
            raise unknown_value(f"task of suite {self.name!r}", name, self.tasks)
        return self.tasks[name]

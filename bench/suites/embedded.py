"""Shared pieces of the embedded (CPU, offline) tasks: the MNIST-1D pool, seeded splits, the
conversion through Hugging Face ``datasets`` to tensors, and the recipes."""

from __future__ import annotations

import numpy as np
import torch

from ..data import from_arrays, mnist1d_arrays, to_tensors
from ..train import TrainConfig
from .base import TaskData


def mnist1d_recipe(epochs: int, batch_size: int = 128, weight_decay: float = 0.1) -> TrainConfig:
    """The MNIST-1D recipe family: AdamW, one-cycle learning rate with peak 1e-2, and the epochs,
    batch size and (decoupled) weight decay a task states. Why each task's values were chosen,
    with the measurements, is in docs/suites.md ("Why these recipes")."""
    return TrainConfig(epochs=epochs, batch_size=batch_size, optimizer="adamw", lr=1e-2,
                       weight_decay=weight_decay, schedule="onecycle")


def as_task_data(splits: dict[str, tuple[np.ndarray, np.ndarray]], num_classes: int,
                 **extra) -> TaskData:
    """``{"train": (x, y), "val": ..., "test": ...}`` → :class:`TaskData`, each split passing
    through a ``datasets.Dataset`` (the one data path embedded and full-scale tasks share)."""
    tensors = {name: to_tensors(from_arrays(x, y)) for name, (x, y) in splits.items()}
    (xtr, ytr), (xva, yva), (xte, yte) = tensors["train"], tensors["val"], tensors["test"]
    return TaskData(xtr, ytr, xva, yva, xte, yte, num_classes=num_classes, extra=extra)


def per_class_subset(y: np.ndarray, per_class: int, gen: np.random.Generator) -> np.ndarray:
    """Sorted indices of ``per_class`` random samples of every class in ``y``."""
    return np.sort(np.concatenate([gen.choice(np.flatnonzero(y == c), per_class, replace=False)
                                   for c in np.unique(y)]))


def mnist1d_pool(num_samples: int = 5000) -> dict[str, np.ndarray]:
    """MNIST-1D with the generator defaults: ``num_samples`` sequences of length 40 (default
    5,000), 80 % of them the training split and 20 % the test split."""
    return mnist1d_arrays(num_samples=num_samples)


def relabel(y: np.ndarray, classes: list[int] | tuple[int, ...]) -> np.ndarray:
    """Map the labels ``classes[k]`` to ``k`` (a subset of classes as a contiguous label set)."""
    lut = np.full(int(y.max()) + 1, -1, dtype=np.int64)
    lut[list(classes)] = np.arange(len(classes))
    return lut[y]


def tensor(x: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(np.ascontiguousarray(x), dtype=torch.float32)

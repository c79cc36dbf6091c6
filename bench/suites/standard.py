"""The ``standard`` suite: clean, balanced classification on embedded data.

It is the control condition every other suite is read against: the same data, model and recipe
with no corruption. Headline: test top-1; calibration (ECE-15, NLL, Brier) beside it.
"""

from __future__ import annotations

import functools

from ..data import from_arrays, mnist1d_arrays, to_tensors
from ..metrics import calibration, classification
from ..train import TrainConfig
from .base import EvalInput, Suite, Task, TaskData
from .splits import stratified_holdout

#: MNIST-1D recipe: trains the 1D CNN to interpolation (train accuracy 1.0), the regime in which the
#: published calibration effects of focal-style losses appear (see docs/design.md).
MNIST1D_RECIPE = TrainConfig(epochs=150, batch_size=100, optimizer="adamw", lr=1e-2,
                             weight_decay=0.0, schedule="onecycle")
VAL_FRACTION = 0.1


def classification_metrics(ev: EvalInput) -> dict[str, float]:
    """Test top-1, NLL, Brier and ECE-15 of the final model, and its validation accuracy."""
    d = ev.data
    logits = ev.last.outputs(d.x_test)
    return {
        "top1": classification.top1(logits, d.y_test),
        "nll": classification.nll(logits, d.y_test),
        "brier": classification.brier(logits, d.y_test),
        "ece": calibration.ece(logits, d.y_test, n_bins=15),
        "val_top1": classification.top1(ev.last.outputs(d.x_val), d.y_val),
    }


@functools.lru_cache(maxsize=4)
def _mnist1d_splits(seed: int) -> TaskData:
    raw = mnist1d_arrays()
    keep, hold = stratified_holdout(raw["y"], VAL_FRACTION, seed)
    train = from_arrays(raw["x"][keep], raw["y"][keep])
    val = from_arrays(raw["x"][hold], raw["y"][hold])
    test = from_arrays(raw["x_test"], raw["y_test"])
    (xtr, ytr), (xva, yva), (xte, yte) = (to_tensors(s) for s in (train, val, test))
    return TaskData(xtr, ytr, xva, yva, xte, yte, num_classes=10)


def mnist1d_data(seed: int) -> TaskData:
    """MNIST-1D (5,000 sequences of length 40, generator seed 42): the generator's 1,000-sample
    test split, and its 4,000 training samples split 90/10 into train/validation by ``seed``."""
    return _mnist1d_splits(seed)


MNIST1D = Task(
    name="mnist1d",
    version="1",
    description="MNIST-1D, 10 classes, 3,600 train / 400 val / 1,000 test, 1D CNN, 150 epochs",
    make_data=mnist1d_data,
    evaluate=classification_metrics,
    train=MNIST1D_RECIPE,
    model="cnn1d",
    model_kwargs={"channels": 32},
    headline=("top1", "nll", "ece"),
)

SUITE = Suite(
    name="standard",
    version="1",
    description="clean, balanced classification (the control condition)",
    tasks={MNIST1D.name: MNIST1D},
    headline=("top1", "nll", "brier", "ece"),
)

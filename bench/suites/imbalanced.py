"""The ``imbalanced`` suite: long-tailed training sets, balanced test sets.

Embedded tasks (MNIST-1D, 1D CNN): the training split (90 % of the generator's 4,000 training
sequences, chosen by the run seed) is subsampled to the exponential profile
``n_c = ⌊n_max · ρ^(-c/(C-1))⌋`` with ``n_max = 350`` and ρ ∈ {10, 100} (class 0 is the head); the
validation split (the other 10 %) and the test split (89 sequences of every class from the
generator's test set, the size of its rarest class) are balanced. Headline: balanced accuracy
(= top-1 on the balanced test set), few-shot accuracy, ECE. Entries that ask for ``class_counts``
receive the long-tailed counts (``TaskData.class_counts``).
"""

from __future__ import annotations

import functools

from ..metrics import classification
from .base import EvalInput, Suite, Task, TaskData
from .corruption import long_tail_counts, long_tail_indices
from .embedded import as_task_data, mnist1d_pool, mnist1d_recipe, per_class_subset
from .fullscale import imbalanced_tasks, tail_group
from .splits import rng, stratified_holdout
from .standard import classification_metrics

N_MAX = 350
TEST_PER_CLASS = 89
VAL_FRACTION = 0.1
#: The LT training sets are 1,426 (ρ = 10) and 864 (ρ = 100) sequences; 150 epochs of batch 100
#: reach training accuracy 1.0, the regime of the published long-tail results.
RECIPE = mnist1d_recipe(epochs=150, batch_size=100)


@functools.lru_cache(maxsize=8)
def mnist1d_long_tail(rho: float, seed: int) -> TaskData:
    """MNIST-1D with a long-tailed training split of imbalance ratio ``rho`` (see module doc)."""
    raw = mnist1d_pool()
    keep, hold = stratified_holdout(raw["y"], VAL_FRACTION, seed)
    counts = long_tail_counts(N_MAX, 10, rho)
    lt = keep[long_tail_indices(raw["y"][keep], counts, rng(seed, "long-tail"))]
    test = per_class_subset(raw["y_test"], TEST_PER_CLASS, rng(seed, "balanced-test"))
    return as_task_data({
        "train": (raw["x"][lt], raw["y"][lt]),
        "val": (raw["x"][hold], raw["y"][hold]),
        "test": (raw["x_test"][test], raw["y_test"][test]),
    }, num_classes=10, imbalance_ratio=float(rho))


def long_tail_metrics(ev: EvalInput) -> dict[str, float]:
    """The standard suite's classification metrics (calibration summary on the balanced test set,
    balanced accuracy, macro-F1, validation top-1) plus many/medium/few-shot accuracy (thresholds
    > 100, 20..100, < 20 training samples)."""
    d = ev.data
    logits = ev.last.outputs(d.x_test)
    return {**classification_metrics(ev),
            **classification.shot_accuracies(logits, d.y_test, d.class_counts)}


def _task(rho: int) -> Task:
    return Task(
        name=f"mnist1d-lt{rho}",
        version="1",
        description=(f"MNIST-1D long tail rho={rho} (n_max={N_MAX}), balanced val/test, 1D CNN, "
                     f"{RECIPE.epochs} epochs AdamW one-cycle lr {RECIPE.lr}, batch "
                     f"{RECIPE.batch_size}"),
        make_data=functools.partial(mnist1d_long_tail, float(rho)),
        evaluate=long_tail_metrics,
        train=RECIPE,
        model="cnn1d",
        model_kwargs={"channels": 32},
        headline=("balanced_accuracy", tail_group(N_MAX, rho), "ece"),
    )


_TASKS = [_task(10), _task(100), *imbalanced_tasks(long_tail_metrics)]

SUITE = Suite(
    name="imbalanced",
    version="1",
    description="long-tailed training sets (rho = 10, 100), balanced test sets",
    tasks={t.name: t for t in _TASKS},
    headline=("balanced_accuracy", "many_shot", "medium_shot", "few_shot", "macro_f1", "ece"),
)

"""The ``imbalanced`` suite: long-tailed training sets, balanced test sets.

Embedded tasks (MNIST-1D, 1D CNN), version 2: a larger MNIST-1D pool (15,000 generated
sequences: 12,000 train / 3,000 test) so that the tail classes keep enough samples to be learnable
(CIFAR-10-LT's rarest class has 50; version 1's had 3). The training split (90 % of the pool's
training sequences, chosen by the run seed) is subsampled to the exponential profile
``n_c = ⌊n_max · ρ^(-c/(C-1))⌋`` with ``n_max = 1,000`` and ρ ∈ {10, 100} (class 0 is the head);
the validation split (the other 10 %) and the test split (250 sequences of every class from the
pool's test sequences) are balanced. Recipe: AdamW with decoupled weight decay 0.1 (docs/suites.md
says why: without weight decay, trained to interpolation, additive logit adjustments lose their
effect). Headline: balanced accuracy (= top-1 on the balanced test set), the tail group's
accuracy, ECE. Entries that ask for ``class_counts`` receive the long-tailed counts
(``TaskData.class_counts``)."""

from __future__ import annotations

import functools

from ..metrics import classification
from .base import EvalInput, Suite, Task, TaskData
from .corruption import long_tail_counts, long_tail_indices
from .embedded import as_task_data, mnist1d_pool, mnist1d_recipe, per_class_subset
from .fullscale import imbalanced_tasks, tail_group
from .splits import rng, stratified_holdout
from .standard import classification_metrics

#: MNIST-1D sequences generated for this suite (80 % train, 20 % test: 12,000 / 3,000).
POOL_SAMPLES = 15000
N_MAX = 1000
TEST_PER_CLASS = 250
VAL_FRACTION = 0.1
#: The LT training sets are 4,085 (ρ = 10) and 2,478 (ρ = 100) sequences; 40 epochs of batch 256
#: (the budget study's V9, docs/suites.md).
RECIPE = mnist1d_recipe(epochs=40, batch_size=256, weight_decay=0.1)


@functools.lru_cache(maxsize=8)
def mnist1d_long_tail(rho: float, seed: int) -> TaskData:
    """MNIST-1D with a long-tailed training split of imbalance ratio ``rho`` (see module doc)."""
    raw = mnist1d_pool(POOL_SAMPLES)
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
    logits = ev.selected.outputs(d.x_test)
    return {**classification_metrics(ev),
            **classification.shot_accuracies(logits, d.y_test, d.class_counts)}


def _task(rho: int) -> Task:
    return Task(
        name=f"mnist1d-lt{rho}",
        # 3: batch 256 (2: 15,000-sequence pool, n_max 1,000, 250 test/class, AdamW wd 0.1)
        version="3",
        description=(f"MNIST-1D ({POOL_SAMPLES:,} generated) long tail rho={rho} "
                     f"(n_max={N_MAX:,}), balanced val/test, 1D CNN, {RECIPE.epochs} epochs AdamW "
                     f"one-cycle lr {RECIPE.lr} wd {RECIPE.weight_decay}, batch "
                     f"{RECIPE.batch_size}"),
        make_data=functools.partial(mnist1d_long_tail, float(rho)),
        evaluate=long_tail_metrics,
        train=RECIPE,
        model="cnn1d",
        model_kwargs={"channels": 32},
        headline=("balanced_accuracy", tail_group(N_MAX, rho), "ece"),
        # the final epoch, as the long-tail papers report after a schedule that ends at lr 0
        model_selection="last_epoch",
    )


_TASKS = [_task(10), _task(100), *imbalanced_tasks(long_tail_metrics)]


SUITE = Suite(
    name="imbalanced",
    version="1",
    description="long-tailed training sets (rho = 10, 100), balanced test sets",
    tasks={t.name: t for t in _TASKS},
    headline=("balanced_accuracy", "many_shot", "medium_shot", "few_shot", "macro_f1", "ece"),
)

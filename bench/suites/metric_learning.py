"""The ``metric_learning`` suite: learn an embedding on some classes, retrieve unseen classes.

Embedded task ``mnist1d-retrieval`` (1D CNN) follows the protocol of Musgrave et al. 2020 ("A
Metric Learning Reality Check") at MNIST-1D scale. Its 100 classes are the ordered pairs of
MNIST-1D's digit templates side by side (:func:`lossbench.data.digit_pair_templates`), 60
generated sequences each. A fixed random half of the classes is for training: 40 train, 10 are
held out *as whole classes* for validation; the other 50 classes (3,000 sequences, never seen)
are the retrieval set. Batches hold 4 samples per class (``TrainConfig.samples_per_class``).
Embedding losses (``objective = "embedding"``) train an ``embedding_size``-dimensional head and
are evaluated on its outputs; classification losses train a 40-way head and are evaluated on the
penultimate features (``Classifier.features``), the usual protocol for comparing them with
embedding losses.

Validation: P@1 and MAP@R among the validation classes (``val_p_at_1``, ``val_map_at_r``);
the checkpoint of best ``val_map_at_r`` is the one tested, and ``lossbench tune`` selects on it,
so a configuration is never chosen by its score on the classes it is tested on.

Metrics on the L2-normalised retrieval embeddings, every sample querying all others: Precision@1,
MAP@R, R-precision (``pytorch_metric_learning``'s ``AccuracyCalculator``), NMI and AMI of k-means
(k = the number of classes), and OPIS, the threshold-inconsistency score of the TCM paper
(:func:`bench.metrics.retrieval.opis`). Chance P@1 is the probability that a random other sample
has the query's class (≈ 0.02), stored as ``p_at_1_chance``.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import torch

from ..data import mnist1d_arrays
from ..metrics.retrieval import cluster_metrics, opis, retrieval_metrics
from .base import EvalInput, Suite, Task, TaskData
from .embedded import as_task_data, mnist1d_recipe, relabel
from .fullscale import metric_learning_tasks

#: 100 classes of 60 sequences (the pair templates through the MNIST-1D generator, seed 42).
PAIR_CLASSES = 100
SAMPLES_PER_CLASS = 60
_SEEN = np.sort(np.random.default_rng(0).permutation(PAIR_CLASSES)[:PAIR_CLASSES // 2])
#: Fixed class split: 40 training classes, 10 validation classes (held out whole), 50 retrieved.
TRAIN_CLASSES = tuple(int(c) for c in _SEEN[:40])
VAL_CLASSES = tuple(int(c) for c in _SEEN[40:])
TEST_CLASSES = tuple(int(c) for c in np.setdiff1d(np.arange(PAIR_CLASSES), _SEEN))
EMBEDDING_SIZE = 64
#: 2,400 training sequences; 40 epochs of batch 128 (32 classes × 4 samples), no weight decay
#: (docs/suites.md, "Why these recipes": the measurements that chose it).
RECIPE = dataclasses.replace(mnist1d_recipe(epochs=40, batch_size=128, weight_decay=0.0),
                             samples_per_class=4)


def digit_pair_pool() -> tuple[np.ndarray, np.ndarray]:
    """The 6,000 generated sequences of the 100 pair classes and their labels."""
    raw = mnist1d_arrays(template_set="digit-pairs", num_samples=PAIR_CLASSES * SAMPLES_PER_CLASS,
                         train_split=1.0, template_len=24)
    return raw["x"], raw["y"]


@functools.lru_cache(maxsize=4)
def mnist1d_retrieval(seed: int) -> TaskData:
    """Train on the 40 training classes, validate on the 10 validation classes, retrieve the 50
    unseen classes (labels renumbered from 0 within each split). The split is fixed; the seed
    changes the model's initialisation and the batches."""
    x, y = digit_pair_pool()
    parts = {}
    for name, classes in (("train", TRAIN_CLASSES), ("val", VAL_CLASSES), ("test", TEST_CLASSES)):
        members = np.isin(y, classes)
        parts[name] = (x[members], relabel(y[members], classes))
    return as_task_data(parts, num_classes=len(TRAIN_CLASSES))


def chance_precision_at_1(labels: torch.Tensor) -> float:
    """Expected P@1 of a random neighbour: ``Σ_c (n_c/N) · (n_c - 1)/(N - 1)``."""
    n = torch.bincount(labels.cpu()).double()
    total = n.sum()
    return ((n / total) * (n - 1) / (total - 1)).sum().item()


def embeddings_for(ev: EvalInput, x: torch.Tensor) -> torch.Tensor:
    """The selected checkpoint's head outputs for an embedding loss, its penultimate features
    otherwise."""
    model = ev.selected
    return model.outputs(x) if ev.loss_kind == "embedding" else model.features(x)


def retrieval_task_metrics(ev: EvalInput) -> dict[str, float]:
    """P@1, MAP@R, R-precision, NMI, AMI and OPIS on the unseen classes; P@1 and MAP@R among
    the validation split (``val_*``: what model selection and tuning use, so a configuration is
    never chosen by its score on the classes it is tested on)."""
    d = ev.data
    emb = embeddings_for(ev, d.x_test)
    val = retrieval_metrics(embeddings_for(ev, d.x_val), d.y_val)
    return {
        **retrieval_metrics(emb, d.y_test),
        **cluster_metrics(emb, d.y_test, seed=0),
        "opis": opis(emb, d.y_test),
        "p_at_1_chance": chance_precision_at_1(d.y_test),
        "val_p_at_1": val["p_at_1"],
        "val_map_at_r": val["map_at_r"],
    }


MNIST1D_RETRIEVAL = Task(
    name="mnist1d-retrieval",
    # 2: records val_p_at_1 / val_map_at_r; 3: 40 epochs of batch 128 (2: 100 epochs of 100);
    # 4: test metrics of the checkpoint of best validation MAP@R (3: the last epoch);
    # 5: 100 digit-pair classes (40 train / 10 validation / 50 retrieved; 4: digits 0-4 / 5-9 with
    # a 10 % validation split of the training classes), 4 samples per class in each batch
    version="5",
    description=("MNIST-1D digit pairs, 100 classes: train on 40, select on 10 held-out classes, "
                 f"retrieve the other 50; 1D CNN, embedding {EMBEDDING_SIZE}-d, "
                 f"{RECIPE.epochs} epochs AdamW one-cycle lr {RECIPE.lr}, no weight decay, "
                 f"batch {RECIPE.batch_size} of {RECIPE.samples_per_class} per class"),
    make_data=mnist1d_retrieval,
    evaluate=retrieval_task_metrics,
    train=RECIPE,
    model="cnn1d",
    model_kwargs={"channels": 32},
    supports_embedding=True,
    embedding_size=EMBEDDING_SIZE,
    headline=("p_at_1", "map_at_r", "r_precision", "nmi", "opis"),
    model_selection="val_map_at_r",
)

_TASKS = [MNIST1D_RETRIEVAL, *metric_learning_tasks(retrieval_task_metrics)]


SUITE = Suite(
    name="metric_learning",
    version="1",
    description="train an embedding on half the classes, retrieve the unseen half",
    tasks={t.name: t for t in _TASKS},
    headline=("p_at_1", "map_at_r", "r_precision", "nmi", "opis"),
    # tuning selects on MAP@R among the held-out validation classes, the quantity the tasks'
    # model selection uses too (Musgrave et al. 2020, §4); P@1 there ranks configurations less
    # finely
    selection_metric="val_map_at_r",
)

"""The ``metric_learning`` suite: learn an embedding on some classes, retrieve unseen classes.

Embedded task ``mnist1d-retrieval`` (MNIST-1D, 1D CNN): all 5,000 generator sequences are pooled;
digits 0–4 are for training (split 90/10 into train/validation by the run seed), digits 5–9
(≈2,500 sequences, never seen in training) are the retrieval set. Embedding losses (``kind =
"embedding"``) train a ``embedding_size``-dimensional head and are evaluated on its outputs;
classification losses train a 5-way head and are evaluated on the penultimate features
(``Classifier.features``), the usual protocol for comparing them with embedding losses.

Validation: P@1 and MAP@R among the held-out 10 % of the training classes (``val_p_at_1``,
``val_map_at_r``); ``lossbench tune`` selects on ``val_map_at_r``, since P@1 there saturates.
Version 2 of the task added them; its training is the same as version 1's.

Metrics on the L2-normalised retrieval embeddings, every sample querying all others: Precision@1,
MAP@R, R-precision (``pytorch_metric_learning``'s ``AccuracyCalculator``), NMI and AMI of k-means
(k = 5), and OPIS, the threshold-inconsistency score of the TCM paper
(:func:`bench.metrics.retrieval.opis`). Chance P@1 is the probability that a random other sample
has the query's class (≈ 0.2), stored as ``p_at_1_chance``.
"""

from __future__ import annotations

import functools

import numpy as np
import torch

from ..findings import EntryRef, Finding
from ..metrics.retrieval import cluster_metrics, opis, retrieval_metrics
from .base import EvalInput, Suite, Task, TaskData
from .embedded import as_task_data, mnist1d_pool, mnist1d_recipe, relabel
from .fullscale import metric_learning_tasks
from .splits import stratified_holdout

TRAIN_CLASSES = (0, 1, 2, 3, 4)
TEST_CLASSES = (5, 6, 7, 8, 9)
VAL_FRACTION = 0.1
EMBEDDING_SIZE = 64
#: ≈2,250 training sequences; 40 epochs of batch 128, no weight decay (docs/suites.md: the
#: published metric-learning finding is unresolved on every recipe measured, so the cheapest won).
RECIPE = mnist1d_recipe(epochs=40, batch_size=128, weight_decay=0.0)


@functools.lru_cache(maxsize=4)
def mnist1d_retrieval(seed: int) -> TaskData:
    """Train/val on digits 0–4, retrieval ("test") set on digits 5–9 (labels 0–4 there too)."""
    raw = mnist1d_pool()
    x = np.concatenate([raw["x"], raw["x_test"]])
    y = np.concatenate([raw["y"], raw["y_test"]])
    seen = np.isin(y, TRAIN_CLASSES)
    x_seen, y_seen = x[seen], relabel(y[seen], TRAIN_CLASSES)
    keep, hold = stratified_holdout(y_seen, VAL_FRACTION, seed)
    return as_task_data({
        "train": (x_seen[keep], y_seen[keep]),
        "val": (x_seen[hold], y_seen[hold]),
        "test": (x[~seen], relabel(y[~seen], TEST_CLASSES)),
    }, num_classes=len(TRAIN_CLASSES))


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
    the validation samples of the training classes (``val_*``: what tuning selects on, so a
    configuration is never chosen by its score on the classes it is tested on)."""
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
    # 4: test metrics of the checkpoint of best validation MAP@R (3: the last epoch)
    version="4",
    description=("MNIST-1D, train on digits 0-4, retrieve digits 5-9; 1D CNN, embedding "
                 f"{EMBEDDING_SIZE}-d, {RECIPE.epochs} epochs AdamW one-cycle lr {RECIPE.lr}, "
                 f"no weight decay, batch {RECIPE.batch_size}"),
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

FINDINGS = (
    Finding(
        id="ms-above-triplet", task="mnist1d-retrieval", metric="map_at_r",
        a=EntryRef("multi_similarity"), b=EntryRef("triplet_semihard"),
        source="Wang et al. 2019, Multi-Similarity Loss with General Pair Weighting for Deep "
               "Metric Learning (CVPR); Musgrave et al. 2020, A Metric Learning Reality Check "
               "(ECCV), Tables 3–4",
        published="multi-similarity above triplet in MAP@R (CUB-200-2011, Cars-196, SOP)",
        claim="Embeddings trained with the multi-similarity loss retrieve unseen classes better "
              "(higher MAP@R) than embeddings trained with a triplet loss.",
    ),
)


SUITE = Suite(
    name="metric_learning",
    version="1",
    description="train an embedding on half the classes, retrieve the unseen half",
    tasks={t.name: t for t in _TASKS},
    headline=("p_at_1", "map_at_r", "r_precision", "nmi", "opis"),
    # P@1 among the held-out samples of the training classes saturates (1.0 for most
    # configurations on MNIST-1D), so it cannot rank them; MAP@R there still does.
    selection_metric="val_map_at_r",
    findings=FINDINGS,
)

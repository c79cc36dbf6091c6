"""The two distance-based losses of *SuSana Distancia is all you need* (Mendez-Ruiz et al. 2023).

Proto-Triplet (a triplet loss against class prototypes) and ICNN (−log of the inter/intra-class
nearest-neighbour score). Both act on plain Euclidean distances between unnormalized embeddings,
``d(a, b) = sqrt(‖a - b‖² + 1e-6)`` as in the authors' code (github.com/maumruiz/FSL-Loss,
``algorithms/icnn_loss.py``). The paper trains episodically (support/query sets); lossbench trains
on ordinary labelled batches, so both losses are computed on the whole batch: the prototypes are
the batch's class means and ICNN is the authors' ``fullicnn`` variant (support and query pooled).
"""

from __future__ import annotations

import torch
from torch import nn

from .pml_adapter import check_positive

#: Added to squared distances before the square root, as in the authors' ``nearest_neighbors``.
DIST_EPS = 1e-6
#: Guards the ratios of the ICNN score, as in the authors' ``modified_score``.
SCORE_EPS = 1e-7


def euclidean_distances(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``[n, m]`` matrix of ``sqrt(‖x_i - y_j‖² + 1e-6)`` (finite gradient at ``x_i = y_j``)."""
    return ((x[:, None, :] - y[None, :, :]).pow(2).sum(-1) + DIST_EPS).sqrt()


def class_prototypes(embeddings: torch.Tensor, labels: torch.Tensor
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    """The batch's classes (sorted) and their mean embeddings ``[C, d]``."""
    classes, inverse = torch.unique(labels, return_inverse=True)
    sums = torch.zeros(len(classes), embeddings.shape[1], dtype=embeddings.dtype,
                       device=embeddings.device).index_add_(0, inverse, embeddings)
    counts = torch.bincount(inverse, minlength=len(classes)).to(embeddings.dtype)
    return classes, sums / counts[:, None]


def proto_triplet_loss(embeddings: torch.Tensor, labels: torch.Tensor,
                       margin: float = 0.5) -> torch.Tensor:
    """``mean_i max(0, d(x_i, c_{y_i}) - min_{c ≠ y_i} d(x_i, c) + margin)`` over class means ``c``.

    A batch with a single class has no negative prototype and gives 0.
    """
    classes, protos = class_prototypes(embeddings, labels)
    dist = euclidean_distances(embeddings, protos)
    own = labels[:, None] == classes[None, :]
    positive = dist[own]  # exactly one own prototype per sample, in sample order
    negative = dist.masked_fill(own, float("inf")).min(dim=1).values
    return torch.clamp(positive - negative + margin, min=0).mean()


def icnn_score(embeddings: torch.Tensor, labels: torch.Tensor, k: int = 4,
               neighbors: int | None = None) -> torch.Tensor:
    """The inter/intra-class nearest-neighbour (ICNN) score in (0, 1], higher is better separated.

    For each sample take its ``neighbors`` nearest other samples (``p`` of them, default ``k + 1``)
    and, among the first ``k``, measure (authors' ``modified_score``):

    - λ_same = 1 - mean_i mean_{same-class j ≤ k} d_ij / d_i,nn-other (row-normalised by
      ``max(1, row max)``; ``d_i,nn-other`` is the nearest other-class distance among the ``p``),
    - λ_other = |mean_i mean_{other-class j ≤ k} d_ij / max d_other - [no other-class neighbour at
      all]|,
    - γ = mean_i (#same-class among the first k) / k (1 when ``k + 2 ≥ n``),

    and return ``((λ_same + λ_other)/2 + γ) / 2``. Means over ``i`` count only samples that have
    such neighbours. ``k`` shrinks to ``n - 2`` on small batches, as in the authors' code.
    """
    n = embeddings.shape[0]
    if n < 3:
        raise ValueError(f"the ICNN score needs at least 3 samples, got {n}")
    if k + 2 >= n:
        k = n - 2
    p = min(k + 1 if neighbors is None else max(neighbors, k), n - 1)
    dist = euclidean_distances(embeddings, embeddings)
    dist = dist.masked_fill(torch.eye(n, dtype=torch.bool, device=dist.device), float("inf"))
    near, index = dist.topk(p, dim=1, largest=False)
    same = (labels[index] == labels[:, None]).to(near.dtype)
    other = 1 - same

    nearest_other = near.masked_fill(other == 0, float("inf")).min(dim=1).values
    ratio = near[:, :k] / (nearest_other[:, None] + SCORE_EPS)
    ratio = ratio / ratio.max(dim=1, keepdim=True).values.clamp_min(1.0)
    same_k = same[:, :k]
    same_counts = same_k.sum(dim=1)
    same_mean = (ratio * same_k).sum(dim=1) / (same_counts + SCORE_EPS)
    lambda_same = 1 - same_mean.sum() / (torch.count_nonzero(same_counts) + SCORE_EPS)

    other_k = other[:, :k]
    other_dist = (near * other)[:, :k]
    other_dist = other_dist / (other_dist.max() + SCORE_EPS)
    none_other = -1.0 if bool((other_k == 0).all()) else 0.0
    other_counts = other_k.sum(dim=1)
    other_mean = other_dist.sum(dim=1) / (other_counts + SCORE_EPS)
    lambda_other = (other_mean.sum() / (torch.count_nonzero(other_counts) + SCORE_EPS)
                    + none_other).abs()

    gamma = (same_counts / k).sum() / n if k + 2 < n else torch.ones((), dtype=near.dtype,
                                                                     device=near.device)
    return ((lambda_same + lambda_other) / 2 + gamma) / 2


class ProtoTriplet(nn.Module):
    """Proto-Triplet loss: a triplet loss whose positive and negative are class prototypes.

    Mendez-Ruiz, Gonzalez-Zapata, Reyes-Amezcua, Flores-Araiza, Lopez-Tiro, Mendez-Vazquez,
    Ochoa-Ruiz. *SuSana Distancia is all you need: Enforcing class separability in metric learning
    via two novel distance-based loss functions for few-shot image classification.*
    arXiv:2305.09062 (2023). With ``c_y`` the mean embedding of class ``y`` and Euclidean ``d``::

        L = mean_i max(0, d(x_i, c_{y_i}) - min_{y ≠ y_i} d(x_i, c_y) + m)

    Default m = 0.5 (the authors' code).
    """

    version = "2"
    objective = "embedding"
    suites = ("metric_learning",)
    paper = ("Mendez-Ruiz et al. SuSana Distancia is all you need: Enforcing class separability in "
             "metric learning via two novel distance-based loss functions for few-shot image "
             "classification. arXiv:2305.09062, 2023")
    hparams = {"margin": 0.5}
    search_space = {"margin": {"low": 0.05, "high": 2.0, "log": True}}
    fidelity = ("approximate: prototypes are the batch's class means (including the sample "
                "itself), not the means of a separate support set as in the paper's episodes "
                "(authors' proto_triplet_loss otherwise; leave-one-out prototypes measured "
                "worse, docs/plugins.md)")

    def __init__(self, margin: float = 0.5):
        super().__init__()
        check_positive(margin=margin)
        self.margin = margin

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return proto_triplet_loss(embeddings, labels, self.margin)


class ICNN(nn.Module):
    """ICNN loss: ``L = -log(ICNN score)`` of the batch (see :func:`icnn_score`).

    Mendez-Ruiz et al. *SuSana Distancia is all you need.* arXiv:2305.09062 (2023): the score
    rewards same-class nearest neighbours that are close relative to the nearest other-class
    neighbour and other-class neighbours that are far. Defaults k = 4 (the authors' code) and
    16 neighbours (their ``fullicnn`` uses shot + query samples per class, 1 + 15 in 1-shot
    episodes). The score's counting term γ has no gradient; training signal comes from the
    distance terms. The score is floored at 1e-12 before the log.
    """

    version = "2"
    objective = "embedding"
    suites = ("metric_learning",)
    paper = ProtoTriplet.paper
    hparams = {"k": 4, "neighbors": 16}
    search_space = {"k": {"low": 1, "high": 16, "int": True},
                    "neighbors": {"low": 4, "high": 64, "int": True}}
    fidelity = ("approximate: computed on the whole training batch (the paper's `fullicnn` on "
                "support + query of an episode), with a fixed neighbour count (the authors' "
                "modified_score otherwise; 4 neighbours, the batch's samples per class, measured: "
                "no resolved difference, docs/plugins.md)")

    def __init__(self, k: int = 4, neighbors: int = 16):
        super().__init__()
        if k < 1 or neighbors < 1:
            raise ValueError(f"k and neighbors must be >= 1, got {k}, {neighbors}")
        self.k, self.neighbors = int(k), int(neighbors)

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        score = icnn_score(embeddings, labels, self.k, self.neighbors)
        return -torch.log(score.clamp_min(1e-12))

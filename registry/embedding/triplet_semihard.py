"""Triplet loss on semi-hard negatives (Schroff et al. 2015), TensorFlow's selection rule."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .pml_adapter import check_positive


def semihard_negative_distances(dist: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """``[N, N]``: for anchor ``a`` and every sample ``p``, the negative distance its triplet uses.

    The smallest ``d(a, n)`` over the negatives ``n`` of ``a`` with ``d(a, n) > d(a, p)`` (the
    semi-hard negative); when ``a`` has none, the largest ``d(a, n)`` over its negatives
    (TensorFlow's ``negatives_outside`` / ``negatives_inside``). Rows of an anchor without any
    negative are ``-inf``.
    """
    n = labels.shape[0]
    negative = labels[:, None] != labels[None, :]
    # farther[a, p, k]: k is a negative of a and d(a, k) > d(a, p)
    farther = negative[:, None, :] & (dist[:, None, :] > dist[:, :, None])
    outside = dist[:, None, :].expand(n, n, n).masked_fill(~farther, float("inf")).amin(dim=2)
    inside = dist.masked_fill(~negative, float("-inf")).amax(dim=1, keepdim=True).expand(n, n)
    return torch.where(farther.any(dim=2), outside, inside)


def triplet_semihard_loss(embeddings: torch.Tensor, labels: torch.Tensor,
                          margin: float = 0.2) -> torch.Tensor:
    """``Σ_{(a,p)} max(0, d(a, p) - d(a, n*(a, p)) + m) / #(a, p)`` on squared L2 distances.

    ``d`` is the squared Euclidean distance between L2-normalised embeddings, ``(a, p)`` runs over
    every ordered pair of distinct same-label samples and ``n*`` is
    :func:`semihard_negative_distances`' choice. A batch without a positive pair or without a
    negative gives 0.
    """
    normed = F.normalize(embeddings, dim=1)
    dist = (normed[:, None, :] - normed[None, :, :]).pow(2).sum(dim=-1)
    same = labels[:, None] == labels[None, :]
    positive = same & ~torch.eye(len(labels), dtype=torch.bool, device=labels.device)
    if not positive.any() or same.all():
        return embeddings.sum() * 0.0
    chosen = semihard_negative_distances(dist, labels)
    return (margin + dist - chosen).clamp_min(0)[positive].mean()


class TripletSemiHard(nn.Module):
    """Triplet loss with one semi-hard negative per anchor-positive pair (baseline).

    Schroff, Kalenichenko, Philbin. *FaceNet: A Unified Embedding for Face Recognition and
    Clustering.* CVPR 2015, arXiv:1503.03832, eq. 1 and §3.2: with squared Euclidean distances
    ``d`` between embeddings on the unit hypersphere (``‖f(x)‖₂ = 1``), every anchor-positive pair
    of the batch and a semi-hard negative (``d(a, p) < d(a, n)``)::

        L = mean over (a, p) of max(0, d(a, p) - d(a, n) + α)

    The paper states the semi-hard condition, not which such negative; the entry takes the rule of
    TensorFlow's ``triplet_semihard_loss`` (tensorflow/tensorflow at a11ea716,
    ``tensorflow/contrib/losses/python/metric_learning/metric_loss_ops.py``, which cites
    FaceNet): the closest negative farther than the positive, else the farthest negative, on
    squared distances, averaged over all ordered positive pairs. Default α = 0.2 (FaceNet's; the
    TensorFlow function's default is 1.0). Version 1 was pytorch-metric-learning's semi-hard miner
    + ``TripletMarginLoss`` (plain distances, every semi-hard triplet).
    """

    version = "2"
    objective = "embedding"
    suites = ("metric_learning",)
    paper = ("Schroff, Kalenichenko, Philbin. FaceNet: A Unified Embedding for Face Recognition "
             "and Clustering. CVPR 2015, arXiv:1503.03832")
    hparams = {"margin": 0.2}
    search_space = {"margin": {"low": 0.01, "high": 1.0, "log": True}}
    fidelity = "exact"

    def __init__(self, margin: float = 0.2):
        super().__init__()
        check_positive(margin=margin)
        self.margin = margin

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return triplet_semihard_loss(embeddings, labels, self.margin)

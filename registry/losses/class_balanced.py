"""Class-balanced re-weighting by the effective number of samples (Cui et al. 2019)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ._class_counts import as_class_counts
from ._precision import upcast


def effective_number_weights(class_counts: torch.Tensor | Sequence[float],
                             beta: float = 0.9999) -> torch.Tensor:
    """``w_c ∝ (1 − β) / (1 − β^{n_c})``, normalised so that ``Σ_c w_c = C``.

    A class with no training sample gets the weight of a class seen once.
    """
    counts = as_class_counts(class_counts).clamp_min(1)
    weights = (1 - beta) / (1 - torch.pow(torch.tensor(beta, dtype=torch.float64), counts))
    return (weights / weights.sum() * len(counts)).float()


def class_balanced_cross_entropy(logits: torch.Tensor, targets: torch.Tensor,
                                 class_weights: torch.Tensor) -> torch.Tensor:
    """``(1/N) Σ_i w_{y_i} CE(z_i, y_i)`` (a plain mean over samples, as in the authors' code)."""
    z = upcast(logits)
    ce = F.cross_entropy(z, targets, reduction="none")
    w = class_weights.to(device=z.device, dtype=z.dtype)[targets]
    return (w * ce).mean().to(logits.dtype)


class ClassBalanced(nn.Module):
    """Class-balanced softmax cross-entropy: ``L = (1 − β) / (1 − β^{n_y}) · CE(z, y)``.

    Cui, Jia, Lin, Song, Belongie. *Class-Balanced Loss Based on Effective Number of Samples.*
    CVPR 2019, arXiv:1901.05555, eq. 4 with the softmax cross-entropy of §4: each class is
    weighted by the inverse of its effective number ``(1 − β^{n})/(1 − β)``, weights normalised to
    sum to ``C`` (the authors' code, github.com/richardaecn/class-balanced-loss). β = 0.9999.
    ``class_counts`` is passed by the harness at build time.
    """

    version = "1"
    paper = ("Cui, Jia, Lin, Song, Belongie. Class-Balanced Loss Based on Effective Number of "
             "Samples. CVPR 2019, arXiv:1901.05555")
    hparams = {"beta": 0.9999}
    search_space = {"beta": {"choices": [0.9, 0.99, 0.999, 0.9999]}}
    # A long-tail loss (CIFAR-LT, iNaturalist, ImageNet): long-tail suite.
    suites = ("standard", "imbalanced")

    def __init__(self, class_counts: torch.Tensor | Sequence[float], beta: float = 0.9999):
        super().__init__()
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"beta must be in [0, 1), got {beta}")
        self.beta = beta
        self.register_buffer("class_weights", effective_number_weights(class_counts, beta))

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return class_balanced_cross_entropy(logits, targets, self.class_weights)

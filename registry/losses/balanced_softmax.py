"""Balanced Softmax cross-entropy (Ren et al. 2020)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .logit_adjustment import log_class_prior, logit_adjusted_cross_entropy


class BalancedSoftmax(nn.Module):
    """Balanced Softmax: ``L = -log [n_y e^{z_y} / Σ_j n_j e^{z_j}]`` (``n_j`` class counts).

    Ren, Yu, Sheng, Ma, Zhao, Yi, Li. *Balanced Meta-Softmax for Long-Tailed Visual Recognition.*
    NeurIPS 2020, arXiv:2007.10740, eq. 4 (the Balanced Softmax loss, without the meta-sampler).
    It equals ``CE(z + log n, y)``, i.e. the logit-adjusted loss of Menon et al. with τ = 1, and is
    computed that way (``log n`` and ``log π`` differ by a per-sample constant, which softmax
    ignores). ``class_counts`` is passed by the harness at build time.

    So it is declared an alias of ``logit_adjustment`` (``alias_of``): both call
    :func:`logit_adjusted_cross_entropy` with the same ``log π`` and τ = 1, their runs are
    bit-identical, and the leaderboard shows them as one row. The two papers derived the same
    loss independently (Ren et al. from a softmax estimate of the balanced posterior, Menon et
    al. from Fisher consistency for the balanced error).
    """

    version = "1"
    paper = ("Ren, Yu, Sheng, Ma, Zhao, Yi, Li. Balanced Meta-Softmax for Long-Tailed Visual "
             "Recognition. NeurIPS 2020, arXiv:2007.10740")
    hparams: dict = {}
    search_space: dict = {}
    # A long-tail loss (CIFAR-LT, ImageNet-LT, Places-LT): long-tail suite.
    suites = ("standard", "imbalanced")
    accepts_soft_targets = True
    alias_of = "logit_adjustment"  # τ = 1, its default: the same function (docstring)

    def __init__(self, class_counts: torch.Tensor | Sequence[float]):
        super().__init__()
        self.register_buffer("log_prior", log_class_prior(class_counts))

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return logit_adjusted_cross_entropy(logits, targets, self.log_prior, 1.0)

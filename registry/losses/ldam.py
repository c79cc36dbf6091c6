"""LDAM loss with deferred re-weighting (Cao et al. 2019)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ._class_counts import as_class_counts
from ._precision import upcast
from .class_balanced import effective_number_weights


def ldam_margins(class_counts: torch.Tensor | Sequence[float], max_margin: float = 0.5
                 ) -> torch.Tensor:
    """``Δ_c ∝ n_c^{-1/4}``, scaled so that the rarest class gets ``max_margin``."""
    counts = as_class_counts(class_counts).clamp_min(1)
    margins = counts.pow(-0.25)
    return (margins * (max_margin / margins.max())).float()


def ldam_loss(logits: torch.Tensor, targets: torch.Tensor, margins: torch.Tensor,
              scale: float = 30.0, class_weights: torch.Tensor | None = None) -> torch.Tensor:
    """``CE(s·(z − Δ_y·onehot(y)), y)``, weighted mean when ``class_weights`` is given (DRW).

    ``z`` are cosine logits in the authors' form (``LDAMLoss`` of github.com/kaidic/LDAM-DRW
    ``losses.py``). Logits already scaled by ``s`` (a cosine head of scale ``s``) take
    ``margins · s`` and ``scale = 1``: ``CE(s cos θ − s Δ_y)`` is the same loss."""
    z = upcast(logits)
    margin = margins.to(device=z.device, dtype=z.dtype)[targets]
    shifted = z.scatter_add(-1, targets[:, None], -margin[:, None])
    w = None if class_weights is None else class_weights.to(device=z.device, dtype=z.dtype)
    return F.cross_entropy(scale * shifted, targets, weight=w).to(logits.dtype)


class LDAMDRW(nn.Module):
    """LDAM-DRW: ``L = CE(s (cos θ − Δ_y·onehot(y)), y)`` on a cosine last layer, then DRW.

    ``L = -log e^{s(cos θ_y − Δ_y)} / (e^{s(cos θ_y − Δ_y)} + Σ_{j≠y} e^{s cos θ_j})``.
    Cao, Wei, Gaidon, Arechiga, Ma. *Learning Imbalanced Datasets with Label-Distribution-Aware
    Margin Loss.* NeurIPS 2019, arXiv:1906.07413, eq. 13 and Algorithm 1. Margins
    ``Δ_c = C / n_c^{1/4}`` with the largest margin 0.5, scale ``s = 30``; deferred re-weighting
    (DRW) switches on class-balanced weights ``(1 − β)/(1 − β^{n_c})`` (β = 0.9999, Cui et al.)
    for the last 20 % of training (epoch 160 of 200 in the paper, scaled here to
    ``num_epochs``), as a weighted mean like the authors' code (github.com/kaidic/LDAM-DRW).

    The model: as in the authors' code (``models/resnet_cifar.py``, ``use_norm = True`` for the
    LDAM loss only), the last layer is a normalised linear layer (``NormedLinear``), whose
    outputs are the cosines ``cos θ_j`` between the features and the class weights. The entry
    declares it (``model_needs``: a cosine head whose scale is the hyperparameter ``scale``), so
    the model's logits are ``z = s cos θ`` and the loss is ``CE(z − s Δ_y·onehot(y))``, the
    authors' ``CE(s (cos θ − Δ_y))``; the model's probabilities are ``softmax(s cos θ)``, the
    distribution the loss trains (the authors report only accuracy, which the scale does not
    change). Expects the declared head: on raw logits of a linear head the margins ``s Δ_c``
    would be in logit units.
    """

    version = "2"
    paper = ("Cao, Wei, Gaidon, Arechiga, Ma. Learning Imbalanced Datasets with "
             "Label-Distribution-Aware Margin Loss. NeurIPS 2019, arXiv:1906.07413")
    hparams = {"max_margin": 0.5, "scale": 30.0, "beta": 0.9999, "drw_start": 0.8}
    search_space = {"max_margin": {"low": 0.1, "high": 1.0}, "scale": {"low": 1.0, "high": 64.0,
                                                                         "log": True},
                    "drw_start": {"low": 0.5, "high": 1.0}}
    #: the authors' NormedLinear last layer, its logits times the loss's scale s
    model_needs = {"head": "cosine", "head_scale": "scale"}
    # A long-tail loss (CIFAR-LT, Tiny-ImageNet-LT, iNaturalist): long-tail suite.
    suites = ("standard", "imbalanced")
    fidelity = "exact"

    def __init__(self, class_counts: torch.Tensor | Sequence[float], max_margin: float = 0.5,
                 scale: float = 30.0, beta: float = 0.9999, drw_start: float = 0.8):
        super().__init__()
        if max_margin < 0 or scale <= 0:
            raise ValueError(f"max_margin must be >= 0 and scale > 0, got {max_margin}, {scale}")
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"beta must be in [0, 1), got {beta}")
        if not 0.0 <= drw_start <= 1.0:
            raise ValueError(f"drw_start (fraction of training) must be in [0, 1], got {drw_start}")
        self.scale = scale
        self.drw_start = drw_start
        self.register_buffer("margins", ldam_margins(class_counts, max_margin))
        self.register_buffer("drw_weights", effective_number_weights(class_counts, beta))

    def reweighting(self, epoch: int, num_epochs: int | None) -> bool:
        """True once training reaches ``drw_start`` of ``num_epochs`` (DRW's second stage)."""
        return num_epochs is not None and epoch >= int(self.drw_start * num_epochs)

    def forward(self, logits: torch.Tensor, targets: torch.Tensor, *, epoch: int = 0,
                num_epochs: int | None = None) -> torch.Tensor:
        """``logits``: ``s cos θ`` of the declared cosine head."""
        weights = self.drw_weights if self.reweighting(epoch, num_epochs) else None
        return ldam_loss(logits, targets, self.margins * self.scale, 1.0, weights)

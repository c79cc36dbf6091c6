"""REG refined generalized focal loss, classification part (Panboonyuen 2025)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ._probs import upcast


def reg_focal_loss(logits: torch.Tensor, targets: torch.Tensor, alpha: float = 0.25,
                   gamma: float = 2.0) -> torch.Tensor:
    """Mean over samples × classes of ``α (1 − p_t)^γ · BCE(z_c, t_c)``, ``p_t = exp(−BCE)``.

    ``t`` is the one-hot target (or a soft target row); each class is a sigmoid (one-vs-all)
    output, as in dense-detection focal loss.
    """
    z = upcast(logits)
    if targets.is_floating_point():
        t = targets.to(z.dtype)
    else:
        t = F.one_hot(targets, z.shape[-1]).to(z.dtype)
    bce = F.binary_cross_entropy_with_logits(z, t, reduction="none")
    p_t = torch.exp(-bce)
    return (alpha * (1 - p_t).clamp_min(1e-12) ** gamma * bce).mean().to(logits.dtype)


class REGFocal(nn.Module):
    """REG, classification term: ``L = mean_{i,c} α (1 − p_{i,c})^γ · BCE(z_{i,c}, t_{i,c})``.

    Panboonyuen. *REG: Refined Generalized Focal Loss for Road Asset Detection on Thai Highways
    Using Vision-Based Detection and Segmentation Models.* IEEE KST 2025, arXiv:2409.09877. The
    paper writes the loss as ``-(1/N) Σ_i Σ_c α_c (1 − p_{i,c})^γ log(p_{i,c}) · g_{i,c}`` with a
    spatial-contextual factor ``g_{i,c} = σ(β(d_{i,c} − δ))`` (d: distance to the nearest
    ground-truth object), plus a probabilistic refinement and detection/segmentation terms. Image
    classification has no spatial distance, so ``g ≡ 1``; the classification term is implemented
    as in the authors' code (github.com/kaopanboonyuen/REG, ``REGLoss.focal_loss``: sigmoid focal
    loss on per-class logits, α = 0.25, γ = 2, mean over all entries).
    """

    version = "1"
    paper = (
        "Panboonyuen. REG: Refined Generalized Focal Loss for Road Asset Detection on Thai "
        "Highways Using Vision-Based Detection and Segmentation Models. IEEE KST 2025, "
        "arXiv:2409.09877"
    )
    hparams = {"alpha": 0.25, "gamma": 2.0}
    search_space = {"alpha": {"low": 0.05, "high": 1.0}, "gamma": {"low": 0.0, "high": 5.0}}
    # Class imbalance in detection, no calibration claim: long-tail suite.
    suites = ("standard", "imbalanced")
    accepts_soft_targets = True
    fidelity = (
        "approximate: classification term only, with the spatial-contextual factor g ≡ 1 (no "
        "object distances in image classification) and without the probabilistic refinement, which "
        "the authors' code does not implement; follows that code's sigmoid focal term"
    )

    def __init__(self, alpha: float = 0.25, gamma: float = 2.0):
        super().__init__()
        if alpha <= 0:
            raise ValueError(f"alpha must be > 0, got {alpha}")
        if gamma < 0:
            raise ValueError(f"gamma must be >= 0, got {gamma}")
        self.alpha, self.gamma = alpha, gamma

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return reg_focal_loss(logits, targets, self.alpha, self.gamma)

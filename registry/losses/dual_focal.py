"""Dual focal loss (Tao, Dong & Xu 2023)."""

from __future__ import annotations

import torch
from torch import nn

from ._probs import upcast


def dual_focal_loss(logits: torch.Tensor, targets: torch.Tensor,
                    gamma: float = 5.0) -> torch.Tensor:
    """Mean of ``-(1 - p_y + p_j)^γ log p_y``, ``p_j`` the largest probability below ``p_y``.

    ``p_j`` is 0 when no class has a smaller probability than the target (as in the reference
    code, which masks every probability ``>= p_y`` before taking the maximum). When the target is
    the top class, ``p_j`` is the largest non-target probability.
    """
    logp_all = upcast(logits).log_softmax(-1)
    probs = logp_all.exp()
    logp = logp_all.gather(-1, targets[:, None]).squeeze(-1)
    p = logp.exp()
    below = probs < p[:, None]
    p_j = torch.where(below, probs, torch.zeros_like(probs)).amax(-1)
    weight = (1 - p + p_j).clamp_min(1e-12) ** gamma if gamma != 0 else torch.ones_like(p)
    return (-weight * logp).mean().to(logits.dtype)


class DualFocal(nn.Module):
    """Dual focal loss: ``L = -(1 - p_y + p_j)^γ log p_y``.

    Tao, Dong, Xu. *Dual Focal Loss for Calibration.* ICML 2023, arXiv:2305.13665. ``p_j`` is the
    probability ranked just below the target's (the "highest logit ranked after the ground-truth
    logit"), as in the reference implementation (github.com/Linwei94/DualFocalLoss,
    ``Losses/dual_focal_loss.py``): when the model is right it is the largest non-target
    probability, so the weight ``1 - (p_y - p_j)`` shrinks as the top-1/top-2 gap grows. The paper
    tunes γ per data set and model; γ = 5 is used here (the reference code's default, γ = 0, is
    plain cross-entropy). The reference sums over the batch; this entry takes the mean.
    """

    version = "1"
    paper = "Tao, Dong, Xu. Dual Focal Loss for Calibration. ICML 2023, arXiv:2305.13665"
    hparams = {"gamma": 5.0}
    search_space = {"gamma": {"low": 0.0, "high": 8.0}}
    # A calibration loss; calibration (ECE) is measured on every classification suite.
    suites = ("standard", "imbalanced", "noisy", "ood")

    def __init__(self, gamma: float = 5.0):
        super().__init__()
        if gamma < 0:
            raise ValueError(f"gamma must be >= 0, got {gamma}")
        self.gamma = gamma

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return dual_focal_loss(logits, targets, self.gamma)

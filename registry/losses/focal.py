"""Focal loss (Lin et al. 2017)."""

from __future__ import annotations

import torch
from torch import nn

from ._precision import upcast


def focal_loss(logits: torch.Tensor, targets: torch.Tensor, gamma: float = 2.0) -> torch.Tensor:
    """Mean over samples of ``-(1 - p_y)^γ log p_y`` (multi-class, softmax, no α weighting).

    Computed from ``log_softmax`` in at least float32 (bfloat16/float16 → float32, float64 stays
    float64, as ``_precision.upcast``) so that ``log p_y`` stays finite for extreme logits;
    ``γ = 0`` is exactly cross-entropy.
    """
    logp = upcast(logits).log_softmax(-1).gather(-1, targets[:, None]).squeeze(-1)
    p = logp.exp()
    weight = (1 - p).clamp_min(0) ** gamma if gamma != 0 else torch.ones_like(p)
    return (-weight * logp).mean().to(logits.dtype)


class Focal(nn.Module):
    """Focal loss: ``L = -(1 - p_y)^γ log p_y``.

    Lin, Goyal, Girshick, He, Dollár. *Focal Loss for Dense Object Detection.* ICCV 2017,
    arXiv:1708.02002. The multi-class softmax form without the α class weight, as used for
    calibration by Mukhoti et al. (NeurIPS 2020, arXiv:2002.09437). Default γ = 2 (the paper's).
    """

    version = "1"
    paper = (
        "Lin, Goyal, Girshick, He, Dollár. Focal Loss for Dense Object Detection. ICCV 2017, "
        "arXiv:1708.02002"
    )
    hparams = {"gamma": 2.0}
    search_space = {"gamma": {"low": 0.0, "high": 5.0}}
    # Calibration (Mukhoti et al. 2020) and imbalance (Lin et al.): every classification suite.
    suites = ("standard", "imbalanced", "noisy", "ood")

    def __init__(self, gamma: float = 2.0):
        super().__init__()
        if gamma < 0:
            raise ValueError(f"gamma must be >= 0, got {gamma}")
        self.gamma = gamma

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return focal_loss(logits, targets, self.gamma)

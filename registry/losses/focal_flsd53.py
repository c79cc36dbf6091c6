"""Focal loss with the sample-dependent FLSD-53 γ schedule (Mukhoti et al. 2020)."""

from __future__ import annotations

import torch
from torch import nn

from ._probs import target_log_prob


def flsd_focal_loss(logits: torch.Tensor, targets: torch.Tensor, gamma_low: float = 5.0,
                    gamma_high: float = 3.0, threshold: float = 0.2) -> torch.Tensor:
    """Mean of ``-(1 - p_y)^γ log p_y``, ``γ = gamma_low if p_y < threshold else gamma_high``.

    γ is chosen per sample from the current ``p_y`` and is not differentiated through (the
    reference implementation reads ``p_y`` with ``.item()``).
    """
    logp = target_log_prob(logits, targets)
    p = logp.exp()
    gamma = torch.where(p.detach() < threshold, gamma_low, gamma_high)
    weight = (1 - p).clamp_min(1e-12) ** gamma
    return (-weight * logp).mean().to(logits.dtype)


class FocalFLSD53(nn.Module):
    """Sample-dependent focal loss FLSD-53: ``L = -(1 - p_y)^γ log p_y``, γ = 5 if p_y < 0.2 else 3.

    Mukhoti, Kulharia, Sanyal, Golodetz, Torr, Dokania. *Calibrating Deep Neural Networks using
    Focal Loss.* NeurIPS 2020, arXiv:2002.09437, §5 (FLSD-53); focal loss from Lin et al.,
    ICCV 2017, arXiv:1708.02002. The reference code (github.com/torrvision/focal_calibration,
    ``FocalLossAdaptive``) uses γ = 5 for p_y < 0.2 and γ = 3 otherwise.
    """

    version = "1"
    paper = (
        "Mukhoti, Kulharia, Sanyal, Golodetz, Torr, Dokania. Calibrating Deep Neural Networks "
        "using Focal Loss. NeurIPS 2020, arXiv:2002.09437"
    )
    hparams = {"gamma_low": 5.0, "gamma_high": 3.0, "threshold": 0.2}
    search_space = {
        "gamma_low": {"low": 0.0, "high": 8.0},
        "gamma_high": {"low": 0.0, "high": 5.0},
        "threshold": {"low": 0.05, "high": 0.5},
    }
    # Calibration loss (calibration + OOD/shift in the paper); ECE is on every classification suite.
    suites = ("standard", "imbalanced", "noisy", "ood")

    def __init__(self, gamma_low: float = 5.0, gamma_high: float = 3.0, threshold: float = 0.2):
        super().__init__()
        if gamma_low < 0 or gamma_high < 0:
            raise ValueError(
                f"gammas must be >= 0, got gamma_low={gamma_low}, gamma_high={gamma_high}")
        if not 0.0 < threshold < 1.0:
            raise ValueError(f"threshold must be in (0, 1), got {threshold}")
        self.gamma_low, self.gamma_high, self.threshold = gamma_low, gamma_high, threshold

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return flsd_focal_loss(logits, targets, self.gamma_low, self.gamma_high, self.threshold)

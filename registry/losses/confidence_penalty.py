"""Confidence penalty (Pereyra et al. 2017)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ._precision import upcast


def confidence_penalty_loss(logits: torch.Tensor, targets: torch.Tensor, beta: float = 0.1
                            ) -> torch.Tensor:
    """Mean of ``CE(z, t) − β H(softmax(z))``, ``H(p) = -Σ_c p_c log p_c``."""
    z = upcast(logits)
    log_p = z.log_softmax(-1)
    entropy = -(log_p.exp() * log_p).sum(-1)
    t = targets.to(z.dtype) if targets.is_floating_point() else targets
    ce = F.cross_entropy(z, t, reduction="none")
    return (ce - beta * entropy).mean().to(logits.dtype)


class ConfidencePenalty(nn.Module):
    """Confidence penalty: ``L = -log p_y − β H(p)``.

    Pereyra, Tucker, Chorowski, Kaiser, Hinton. *Regularizing Neural Networks by Penalizing
    Confident Output Distributions.* ICLR 2017 workshop, arXiv:1701.06548, §3: the negative
    entropy of the output distribution is added to the negative log-likelihood with weight β.
    The paper tunes β per task; default β = 0.1. The paper's hinge variant (penalise only
    entropies below a threshold) is not included.
    """

    version = "1"
    paper = ("Pereyra, Tucker, Chorowski, Kaiser, Hinton. Regularizing Neural Networks by "
             "Penalizing Confident Output Distributions. arXiv:1701.06548, 2017")
    hparams = {"beta": 0.1}
    search_space = {"beta": {"low": 0.01, "high": 4.0, "log": True}}
    # Penalises overconfident outputs (calibration-type); ECE is on every classification suite.
    suites = ("standard", "imbalanced", "noisy", "ood")
    accepts_soft_targets = True

    def __init__(self, beta: float = 0.1):
        super().__init__()
        if beta < 0:
            raise ValueError(f"beta must be >= 0, got {beta}")
        self.beta = beta

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return confidence_penalty_loss(logits, targets, self.beta)

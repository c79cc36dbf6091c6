"""Logit-adjusted cross-entropy (Menon et al. 2021)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ._class_counts import as_class_counts
from ._precision import upcast


def logit_adjusted_cross_entropy(logits: torch.Tensor, targets: torch.Tensor,
                                 log_prior: torch.Tensor, tau: float = 1.0) -> torch.Tensor:
    """Mean of ``CE(z + τ log π, t)`` (class indices or soft targets)."""
    z = upcast(logits)
    adjusted = z + tau * log_prior.to(device=z.device, dtype=z.dtype)
    t = targets.to(z.dtype) if targets.is_floating_point() else targets
    return F.cross_entropy(adjusted, t).to(logits.dtype)


def log_class_prior(class_counts: torch.Tensor | Sequence[float]) -> torch.Tensor:
    """``log π_c = log(n_c / Σ n)``; a class absent from training counts as seen once."""
    counts = as_class_counts(class_counts).clamp_min(1)
    return (counts / counts.sum()).log().float()


class LogitAdjustment(nn.Module):
    """Logit-adjusted loss: ``L = -log softmax(z + τ log π)_y``, ``π_c = n_c / Σ_k n_k``.

    Menon, Jayasumana, Rawat, Jain, Veit, Kumar. *Long-tail learning via logit adjustment.* ICLR
    2021, arXiv:2007.07314, eq. 10 (the logit-adjusted softmax cross-entropy), τ = 1 (the paper's
    default, Fisher-consistent for the balanced error). Predictions use the raw logits ``z``.
    ``class_counts`` (training-label counts) is passed by the harness at build time. At its
    default τ = 1 it is Ren et al. 2020's Balanced Softmax (``balanced_softmax``, which declares
    itself an alias of this entry).
    """

    version = "1"
    paper = ("Menon, Jayasumana, Rawat, Jain, Veit, Kumar. Long-tail learning via logit "
             "adjustment. ICLR 2021, arXiv:2007.07314")
    hparams = {"tau": 1.0}
    search_space = {"tau": {"low": 0.0, "high": 3.0}}
    # A long-tail loss (CIFAR-LT, ImageNet-LT, iNaturalist): long-tail suite.
    suites = ("standard", "imbalanced")
    accepts_soft_targets = True

    def __init__(self, class_counts: torch.Tensor | Sequence[float], tau: float = 1.0):
        super().__init__()
        if tau < 0:
            raise ValueError(f"tau must be >= 0, got {tau}")
        self.tau = tau
        self.register_buffer("log_prior", log_class_prior(class_counts))

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return logit_adjusted_cross_entropy(logits, targets, self.log_prior, self.tau)

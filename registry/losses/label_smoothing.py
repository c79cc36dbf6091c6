"""Label smoothing (Szegedy et al. 2016)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class LabelSmoothing(nn.Module):
    """Label smoothing: cross-entropy against ``(1 - ε)·onehot(y) + ε/C``.

    Szegedy, Vanhoucke, Ioffe, Shlens, Wojna. *Rethinking the Inception Architecture for Computer
    Vision.* CVPR 2016, arXiv:1512.00567, §7. Default ε = 0.1 (the paper's value). Equal to
    ``torch.nn.functional.cross_entropy(..., label_smoothing=ε)``.
    """

    version = "1"
    paper = "Szegedy et al. Rethinking the Inception Architecture. CVPR 2016, arXiv:1512.00567"
    hparams = {"epsilon": 0.1}
    search_space = {"epsilon": {"low": 0.0, "high": 0.3}}
    # Makes the model less confident (§7; calibration-type); ECE is on every classification suite.
    suites = ("standard", "imbalanced", "noisy", "ood")
    accepts_soft_targets = True

    def __init__(self, epsilon: float = 0.1):
        super().__init__()
        if not 0.0 <= epsilon < 1.0:
            raise ValueError(f"epsilon must be in [0, 1), got {epsilon}")
        self.epsilon = epsilon

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        # torch applies the same smoothing to class-index and soft (probability) targets
        return F.cross_entropy(logits, targets, label_smoothing=self.epsilon)

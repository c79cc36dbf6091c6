"""Self-adjusting Dice loss (Li et al. 2020)."""

from __future__ import annotations

import torch
from torch import nn

from ._precision import upcast


def self_adjusting_dice_loss(logits: torch.Tensor, targets: torch.Tensor, alpha: float = 1.0,
                             gamma: float = 1.0) -> torch.Tensor:
    """Mean over samples of ``1 − (2 q + γ) / (q + 1 + γ)``, ``q = (1 − p_y)^α p_y``.

    ``p_y = softmax(z)_y`` is the gold-class probability (the per-example DSC with ``y = 1``).
    """
    p = upcast(logits).softmax(-1).gather(-1, targets[:, None]).squeeze(-1)
    # (1 − p) is kept >= 1e-6 so that α < 1 has a finite gradient at p = 1
    q = (1 - p).clamp_min(1e-6) ** alpha * p if alpha != 0 else p
    return (1 - (2 * q + gamma) / (q + 1 + gamma)).mean().to(logits.dtype)


class SelfAdjustingDice(nn.Module):
    """Self-adjusting Dice loss: ``L = 1 − (2 (1−p)^α p·y + γ) / ((1−p)^α p + y + γ)``.

    Li, Sun, Meng, Liang, Wu, Li. *Dice Loss for Data-imbalanced NLP Tasks.* ACL 2020,
    arXiv:1911.02855, §3.4 (the per-example self-adjusting DSC). The paper states it for one
    binary label ``y``; for ``C`` classes it is applied to the gold-class softmax probability
    ``p = p_y`` with ``y = 1``, as in common multi-class reimplementations. The factor
    ``(1 − p)^α`` down-weights easy examples, so the loss is not monotone in ``p``: it is
    smallest at ``p = 1/(1 + α)`` (the paper's "self-adjusting" design). Defaults α = 1, γ = 1
    (the paper tunes both per task).
    """

    version = "1"
    paper = ("Li, Sun, Meng, Liang, Wu, Li. Dice Loss for Data-imbalanced NLP Tasks. ACL 2020, "
             "arXiv:1911.02855")
    hparams = {"alpha": 1.0, "gamma": 1.0}
    search_space = {"alpha": {"low": 0.0, "high": 2.0}, "gamma": {"low": 0.01, "high": 2.0,
                                                                    "log": True}}
    # Dice for data-imbalanced NLP tasks (imbalance, not calibration): long-tail suite.
    suites = ("standard", "imbalanced")
    fidelity = ("approximate: the paper's per-example DSC is stated for a binary label; here it is "
                "applied to the gold-class softmax probability (the authors' code instead pools "
                "each class's Dice over the batch)")

    def __init__(self, alpha: float = 1.0, gamma: float = 1.0):
        super().__init__()
        if alpha < 0:
            raise ValueError(f"alpha must be >= 0, got {alpha}")
        if gamma <= 0:
            raise ValueError(f"gamma must be > 0, got {gamma}")
        self.alpha = alpha
        self.gamma = gamma

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return self_adjusting_dice_loss(logits, targets, self.alpha, self.gamma)

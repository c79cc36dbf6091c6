"""PolyLoss Poly-1 (Leng et al. 2022)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ._probs import upcast


def poly1_loss(logits: torch.Tensor, targets: torch.Tensor, epsilon: float = 1.0) -> torch.Tensor:
    """Mean of ``CE + ε (1 − p_t)`` with ``p_t = Σ_c t_c p_c`` (``p_y`` for class-index targets)."""
    z = upcast(logits)
    probs = z.softmax(-1)
    if targets.is_floating_point():
        targets = targets.to(z.dtype)
        p_t = (targets * probs).sum(-1)
    else:
        p_t = probs.gather(-1, targets[:, None]).squeeze(-1)
    ce = F.cross_entropy(z, targets, reduction="none")
    return (ce + epsilon * (1 - p_t)).mean().to(logits.dtype)


class Poly1(nn.Module):
    """Poly-1 loss: ``L = -log p_t + ε (1 − p_t)``.

    Leng, Tan, Liu, Cubuk, Shi, Cheng, Anguelov. *PolyLoss: A Polynomial Expansion Perspective of
    Classification Loss Functions.* ICLR 2022, arXiv:2204.12511, eq. 3 (Poly-1); ε = 1 (their
    ImageNet setting). With soft targets ``p_t = Σ_c t_c p_c`` and the CE term is soft, as in the
    paper's code listing (which applies label smoothing to both terms). ε = 0 is cross-entropy.
    """

    version = "1"
    paper = (
        "Leng et al. PolyLoss: A Polynomial Expansion Perspective of Classification Loss "
        "Functions. ICLR 2022, arXiv:2204.12511"
    )
    hparams = {"epsilon": 1.0}
    search_space = {"epsilon": {"low": -1.0, "high": 5.0}}
    # Poly-1 (CE form) is evaluated on balanced image classification (ImageNet): standard only.
    suites = ("standard",)
    accepts_soft_targets = True

    def __init__(self, epsilon: float = 1.0):
        super().__init__()
        if epsilon < -1.0:
            raise ValueError(
                f"epsilon must be >= -1 (keeps the loss decreasing in p_t), got {epsilon}")
        self.epsilon = epsilon

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return poly1_loss(logits, targets, self.epsilon)

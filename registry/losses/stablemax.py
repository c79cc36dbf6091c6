"""StableMax cross-entropy (Prieto et al. 2025)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ._precision import upcast


def log_stablemax(logits: torch.Tensor) -> torch.Tensor:
    """``log s(z_i) − log Σ_j s(z_j)`` with ``s(x) = x + 1`` (x ≥ 0), ``1 / (1 − x)`` (x < 0).

    ``log s(x) = log1p(max(x, 0)) − log1p(max(−x, 0))``: both branches are finite everywhere, so
    the gradient is finite for any logits (no ``where`` over a branch that overflows).
    """
    z = upcast(logits)
    log_s = torch.log1p(z.clamp_min(0)) - torch.log1p((-z).clamp_min(0))
    return log_s - torch.logsumexp(log_s, dim=-1, keepdim=True)


def stablemax_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean over samples of ``-Σ_c t_c log StableMax(z)_c`` (class indices or soft targets)."""
    log_p = log_stablemax(logits)
    if targets.is_floating_point():
        loss = -(targets.to(log_p.dtype) * log_p).sum(-1)
    else:
        loss = F.nll_loss(log_p, targets, reduction="none")
    return loss.mean().to(logits.dtype)


class StableMaxCE(nn.Module):
    """StableMax cross-entropy: ``L = -log s(z_y) / Σ_j s(z_j)``.

    Prieto, Barsbey, Mediano, Birdal. *Grokking at the Edge of Numerical Stability.* ICLR 2025,
    arXiv:2501.04697, §5: ``s(x) = x + 1`` for ``x ≥ 0`` and ``1 / (1 − x)`` otherwise, a softmax
    replacement that grows linearly instead of exponentially, avoiding the floating-point
    absorption ("softmax collapse") that stalls learning at near-zero loss. The authors' code
    (github.com/LucasPrietoAl/grokking-at-the-edge-of-numerical-stability) evaluates it in
    float64; here float32 (float64 for float64 inputs) with a log-domain form that is exact.
    """

    version = "1"
    paper = ("Prieto, Barsbey, Mediano, Birdal. Grokking at the Edge of Numerical Stability. "
             "ICLR 2025, arXiv:2501.04697")
    hparams: dict = {}
    search_space: dict = {}
    # Evaluated on clean grokking/classification tasks (softmax collapse): standard only.
    suites = ("standard",)
    accepts_soft_targets = True

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return stablemax_cross_entropy(logits, targets)

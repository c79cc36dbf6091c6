"""Symmetric cross-entropy (Wang et al. 2019)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ._precision import upcast
from ._probs import target_mask

#: ``A = ln 1e-4``: both official codes clamp the one-hot labels at 1e-4 before the log.
LOG_ZERO = math.log(1e-4)
#: Both official codes clamp the softmax probabilities at 1e-7 in the RCE term.
PROB_FLOOR = 1e-7


def reverse_cross_entropy(logits: torch.Tensor, targets: torch.Tensor,
                          log_zero: float = LOG_ZERO) -> torch.Tensor:
    """Per-sample ``-Σ_k p_k log q_k`` with ``q`` one-hot, ``log 0 := A`` and ``p`` clamped to
    ``[1e-7, 1]`` as in the official codes: ``-A Σ_{k≠y} max(p_k, 1e-7)`` (≈ ``-A (1 − p_y)``)."""
    p = upcast(logits).softmax(-1).clamp(PROB_FLOOR, 1.0)
    off_target = p.masked_fill(target_mask(p, targets), 0.0)
    return -log_zero * off_target.sum(-1)


def symmetric_cross_entropy(logits: torch.Tensor, targets: torch.Tensor, alpha: float = 0.1,
                            beta: float = 1.0, log_zero: float = LOG_ZERO) -> torch.Tensor:
    """Mean over samples of ``α CE + β RCE``."""
    ce = F.cross_entropy(upcast(logits), targets, reduction="none")
    rce = reverse_cross_entropy(logits, targets, log_zero)
    return (alpha * ce + beta * rce).mean().to(logits.dtype)


class SymmetricCE(nn.Module):
    """Symmetric cross-entropy: ``L = α·CE(q, p) + β·RCE``, ``RCE = -Σ_k p_k log q_k``.

    Wang, Ma, Chen, Luo, Yi, Bailey. *Symmetric Cross Entropy for Robust Learning with Noisy
    Labels.* ICCV 2019, arXiv:1908.06112, eq. 5-6. ``q`` is the one-hot label distribution with
    ``log 0`` clipped to ``A``, so ``RCE ≈ -A (1 − p_y)`` (a scaled MAE, robust to label noise).

    Exact transcription of ``SCELoss`` in the PyTorch code the official repository's README points
    to (github.com/HanxunH/SCELoss-Reproduce at c81fb33, ``loss.py``): CE is the exact
    log-softmax cross-entropy; RCE clamps the softmax at 1e-7 and the one-hot labels at 1e-4, i.e.
    ``A = ln 1e-4 ≈ −9.21`` and ``RCE = -A Σ_{k≠y} max(p_k, 1e-7)``. The authors' Keras code
    (github.com/YisenWang/symmetric_cross_entropy_for_noisy_labels at ec778df, ``loss.py``) has the
    same RCE and clips ``p`` at 1e-7 inside its CE term too (a difference only where
    ``p_y < 1e-7``). Defaults α = 0.1, β = 1.0: the CIFAR-10 setting of both codes (the Keras
    ``train_models.py``'s active call, the PyTorch README's CIFAR-10 command) and of the paper.

    Which A: the paper's text states A = −4, but both codes, which produced the paper's tables, use
    ``ln 1e-4``; the entry follows the codes (version 1 used −4: ``--hparam log_zero=-4`` runs it;
    the two are compared in docs/plugins.md, "Entry fidelity: measured choices").
    """

    version = "2"
    paper = ("Wang, Ma, Chen, Luo, Yi, Bailey. Symmetric Cross Entropy for Robust Learning with "
             "Noisy Labels. ICCV 2019, arXiv:1908.06112")
    hparams = {"alpha": 0.1, "beta": 1.0, "log_zero": LOG_ZERO}
    search_space = {"alpha": {"low": 0.01, "high": 10.0, "log": True},
                    "beta": {"low": 0.1, "high": 10.0, "log": True}}
    # Evaluated under symmetric and asymmetric label noise: label noise.
    suites = ("standard", "noisy")
    fidelity = "exact"

    def __init__(self, alpha: float = 0.1, beta: float = 1.0, log_zero: float = LOG_ZERO):
        super().__init__()
        if alpha < 0 or beta < 0:
            raise ValueError(f"alpha and beta must be >= 0, got {alpha}, {beta}")
        if log_zero >= 0:
            raise ValueError(f"log_zero (A, the clipped log 0) must be < 0, got {log_zero}")
        self.alpha = alpha
        self.beta = beta
        self.log_zero = log_zero

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return symmetric_cross_entropy(logits, targets, self.alpha, self.beta, self.log_zero)

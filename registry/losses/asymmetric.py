"""Asymmetric loss, single-label form (Ridnik et al. 2021)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ._precision import upcast


def asymmetric_single_label_loss(logits: torch.Tensor, targets: torch.Tensor,
                                 gamma_pos: float = 0.0, gamma_neg: float = 4.0,
                                 eps: float = 0.1) -> torch.Tensor:
    """Mean over samples of ``-Σ_c t_c w_c log p_c`` with ``p = softmax(z)``.

    ``w_y = (1 − p_y)^γ+`` on the target and ``w_c = p_c^γ−`` elsewhere; ``t = (1 − ε)·onehot +
    ε/C`` (label smoothing). The focusing weights are not detached, as in the reference code.
    """
    z = upcast(logits)
    log_p = z.log_softmax(-1)
    p = log_p.exp()
    onehot = F.one_hot(targets, z.shape[-1]).to(z.dtype)
    base = torch.where(onehot.bool(), 1 - p, p).clamp_min(0)
    exponent = gamma_pos * onehot + gamma_neg * (1 - onehot)
    weight = base ** exponent
    smoothed = onehot * (1 - eps) + eps / z.shape[-1]
    return -(smoothed * weight * log_p).sum(-1).mean().to(logits.dtype)


class AsymmetricSingleLabel(nn.Module):
    """Asymmetric loss (ASL), single-label form: ``L = -Σ_c t_c w_c log p_c``.

    Ridnik, Ben-Baruch, Zamir, Noy, Friedman, Protter, Zelnik-Manor. *Asymmetric Loss For
    Multi-Label Classification.* ICCV 2021, arXiv:2009.14119. The paper's loss is multi-label
    (one sigmoid per class); its authors' code also ships the single-label form this entry
    transcribes exactly: ``ASLSingleLabel`` (github.com/Alibaba-MIIL/ASL at 8c9e0bd,
    ``src/loss_functions/losses.py``; also ``timm.loss.AsymmetricLossSingleLabel``): softmax
    probabilities, focusing weight ``(1 − p_y)^γ+`` on the target and ``p_c^γ−`` on the other
    classes (not detached), label-smoothed targets ``(1 − ε)·onehot + ε/C``, mean over samples.
    Defaults γ+ = 0, γ− = 4, ε = 0.1: ``ASLSingleLabel``'s own. Version 2 changes only the card
    (the label, now that the source is named); the function is version 1's.
    """

    version = "2"
    paper = ("Ridnik et al. Asymmetric Loss For Multi-Label Classification. ICCV 2021, "
             "arXiv:2009.14119 (single-label form of the authors' code)")
    hparams = {"gamma_pos": 0.0, "gamma_neg": 4.0, "eps": 0.1}
    search_space = {"gamma_pos": {"low": 0.0, "high": 2.0}, "gamma_neg": {"low": 0.0, "high": 6.0},
                    "eps": {"low": 0.0, "high": 0.3}}
    # Multi-label benchmarks; the single-label form is a plain classifier loss: standard only.
    suites = ("standard",)
    fidelity = "exact"

    def __init__(self, gamma_pos: float = 0.0, gamma_neg: float = 4.0, eps: float = 0.1):
        super().__init__()
        if gamma_pos < 0 or gamma_neg < 0:
            raise ValueError(f"gamma_pos and gamma_neg must be >= 0, got {gamma_pos}, {gamma_neg}")
        if not 0.0 <= eps < 1.0:
            raise ValueError(f"eps must be in [0, 1), got {eps}")
        self.gamma_pos = gamma_pos
        self.gamma_neg = gamma_neg
        self.eps = eps

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return asymmetric_single_label_loss(logits, targets, self.gamma_pos, self.gamma_neg,
                                            self.eps)

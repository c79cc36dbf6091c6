"""REG refined generalized focal loss, classification part (Panboonyuen 2025)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ._probs import upcast


def reg_focal_loss(logits: torch.Tensor, targets: torch.Tensor, alpha: float = 0.25,
                   gamma: float = 2.0) -> torch.Tensor:
    """Mean over samples × classes of ``α (1 − p_t)^γ · BCE(z_c, t_c)``, ``p_t = exp(−BCE)``.

    ``t`` is the one-hot target (or a soft target row); each class is a sigmoid (one-vs-all)
    output, as in dense-detection focal loss.
    """
    z = upcast(logits)
    if targets.is_floating_point():
        t = targets.to(z.dtype)
    else:
        t = F.one_hot(targets, z.shape[-1]).to(z.dtype)
    bce = F.binary_cross_entropy_with_logits(z, t, reduction="none")
    p_t = torch.exp(-bce)
    return (alpha * (1 - p_t).clamp_min(1e-12) ** gamma * bce).mean().to(logits.dtype)


class REGFocal(nn.Module):
    """REG, classification term: ``L = mean_{i,c} α (1 − p_{i,c})^γ · BCE(z_{i,c}, t_{i,c})``.

    Panboonyuen. *REG: Refined Generalized Focal Loss for Road Asset Detection on Thai Highways
    Using Vision-Based Detection and Segmentation Models.* IEEE KST 2025, arXiv:2409.09877. The
    paper writes the loss as ``-(1/N) Σ_i Σ_c α_c (1 − p_{i,c})^γ log(p_{i,c}) · g_{i,c}`` with a
    spatial-contextual factor ``g_{i,c} = σ(β(d_{i,c} − δ))`` (d: distance to the nearest
    ground-truth object), plus a probabilistic refinement and detection/segmentation terms.

    This entry is the authors' code's classification (detection) term, formula and defaults:
    github.com/kaopanboonyuen/REG, ``src/model.py`` at commit
    755c8efd27ff7d7bde071fcc16b18abd9fc16d60, ``REGLoss.__init__`` (line 28:
    ``alpha=0.25, gamma=2.0``) and ``REGLoss.focal_loss`` (lines 36–40):
    ``bce = binary_cross_entropy_with_logits(z, t, reduction='none')``, ``p_t = exp(−bce)``,
    ``(α (1 − p_t)^γ bce).mean()`` — a sigmoid (one-vs-all) focal loss on
    per-class logits, averaged over samples × classes. That code has no spatial factor ``g`` and
    no probabilistic refinement; its other terms (a segmentation BCE and a Laplacian smoothness
    penalty on segmentation maps) need pixel maps, which image classification does not have.
    The paper's equation read as a multi-class softmax focal loss was compared with this choice on
    ``standard/mnist1d`` (docs/plugins.md, "Entry fidelity: measured choices").
    """

    version = "1"
    paper = (
        "Panboonyuen. REG: Refined Generalized Focal Loss for Road Asset Detection on Thai "
        "Highways Using Vision-Based Detection and Segmentation Models. IEEE KST 2025, "
        "arXiv:2409.09877"
    )
    hparams = {"alpha": 0.25, "gamma": 2.0}
    search_space = {"alpha": {"low": 0.05, "high": 1.0}, "gamma": {"low": 0.0, "high": 5.0}}
    # Class imbalance in detection, no calibration claim: long-tail suite.
    suites = ("standard", "imbalanced")
    accepts_soft_targets = True
    fidelity = "exact"

    def __init__(self, alpha: float = 0.25, gamma: float = 2.0):
        super().__init__()
        if alpha <= 0:
            raise ValueError(f"alpha must be > 0, got {alpha}")
        if gamma < 0:
            raise ValueError(f"gamma must be >= 0, got {gamma}")
        self.alpha, self.gamma = alpha, gamma

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return reg_focal_loss(logits, targets, self.alpha, self.gamma)

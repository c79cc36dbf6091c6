"""Squentropy (Hui, Belkin et al. 2023)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ._probs import target_mask, upcast


def squentropy_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean over samples of ``CE + (1/(C−1)) Σ_{k≠y} z_k²``."""
    z = upcast(logits)
    num_classes = z.shape[-1]
    if num_classes < 2:
        raise ValueError(f"squentropy needs at least 2 classes, got {num_classes}")
    square = z.square().masked_fill(target_mask(z, targets), 0.0).sum(-1) / (num_classes - 1)
    return (F.cross_entropy(z, targets, reduction="none") + square).mean().to(logits.dtype)


class Squentropy(nn.Module):
    """Squentropy: ``L = -log p_y + (1/(C−1)) Σ_{k≠y} z_k²`` (cross-entropy + average square loss
    of the incorrect-class logits).

    Hui, Belkin, Wright. *Cut your Losses with Squentropy.* ICML 2023, arXiv:2302.03952. No
    hyperparameters ("plug-and-play" with the cross-entropy recipe).
    """

    version = "1"
    paper = "Hui, Belkin, Wright. Cut your Losses with Squentropy. ICML 2023, arXiv:2302.03952"
    hparams: dict = {}
    search_space: dict = {}
    # Plug-in CE replacement claiming better accuracy and calibration: every classification suite.
    suites = ("standard", "imbalanced", "noisy", "ood")

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return squentropy_loss(logits, targets)

"""Sigmoid one-vs-all loss: binary cross-entropy per class, and its SigLIP-style learnable form."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ._precision import upcast


def sigmoid_ova_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean over samples of ``Σ_c BCE(σ(z_c), t_c)`` with ``t`` one-hot (or soft) targets."""
    z = upcast(logits)
    t = targets.to(z.dtype) if targets.is_floating_point() else F.one_hot(
        targets, z.shape[-1]).to(z.dtype)
    bce = F.binary_cross_entropy_with_logits(z, t, reduction="none")
    return bce.sum(-1).mean().to(logits.dtype)


class SigmoidOVA(nn.Module):
    """Sigmoid one-vs-all loss: ``L = -Σ_c [t_c log σ(z_c) + (1 − t_c) log(1 − σ(z_c))]``.

    Each class is an independent binary (one-vs-all) decision on its logit. Rifkin & Klautau,
    *In Defense of One-Vs-All Classification*, JMLR 5 (2004); used as the sigmoid cross-entropy
    objective for ImageNet by Beyer, Hénaff, Kolesnikov, Zhai, van den Oord, *Are we done with
    ImageNet?*, arXiv:2006.07159 (2020). Summed over classes, averaged over samples; soft targets
    are taken as per-class binary targets.
    """

    version = "1"
    paper = ("Rifkin & Klautau. In Defense of One-Vs-All Classification. JMLR 2004; Beyer et al. "
             "Are we done with ImageNet? arXiv:2006.07159")
    hparams: dict = {}
    search_space: dict = {}
    # Evaluated as a plain classification objective (ImageNet, Beyer et al.): standard only.
    suites = ("standard",)
    accepts_soft_targets = True

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return sigmoid_ova_loss(logits, targets)


class SigmoidOVALearnable(nn.Module):
    """Sigmoid one-vs-all loss on ``t·z + b`` with a learnable temperature ``t = exp(t')`` and bias.

    Zhai, Mustafa, Kolesnikov, Beyer. *Sigmoid Loss for Language Image Pre-Training.* ICCV 2023,
    arXiv:2303.15343, Algorithm 1: the pairwise sigmoid loss ``-Σ log σ(y_ij (t x_i·y_j + b))``
    with ``t' `` and ``b`` learned (initialised at ``t = 10``, ``b = −10``), summed over pairs and
    divided by the batch size. Here the class logits play the role of the image-text
    similarities: one positive (the target class) and ``C − 1`` negatives per sample. ``t'`` and
    ``b`` are ``nn.Parameter`` s of this module; the trainer optimizes them with the model.
    """

    version = "1"
    paper = ("Zhai, Mustafa, Kolesnikov, Beyer. Sigmoid Loss for Language Image Pre-Training. "
             "ICCV 2023, arXiv:2303.15343")
    hparams = {"temperature_init": 10.0, "bias_init": -10.0}
    search_space = {"temperature_init": {"low": 1.0, "high": 30.0, "log": True},
                    "bias_init": {"low": -15.0, "high": 0.0}}
    # SigLIP's loss used as a plain classification objective: standard only.
    suites = ("standard",)
    accepts_soft_targets = True
    fidelity = ("approximate: SigLIP's loss scores image-text pairs; here the pairs are (sample, "
                "class) logits with the paper's initialisation t = 10, b = -10")

    def __init__(self, temperature_init: float = 10.0, bias_init: float = -10.0):
        super().__init__()
        if temperature_init <= 0:
            raise ValueError(f"temperature_init must be > 0, got {temperature_init}")
        self.log_temperature = nn.Parameter(torch.tensor(math.log(temperature_init)))
        self.bias = nn.Parameter(torch.tensor(float(bias_init)))

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        z = upcast(logits)
        scaled = z * self.log_temperature.exp().to(z.dtype) + self.bias.to(z.dtype)
        return sigmoid_ova_loss(scaled, targets).to(logits.dtype)

"""Sigmoid one-vs-all loss: binary cross-entropy per class, and its SigLIP-style learnable form."""

from __future__ import annotations

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
    are taken as per-class binary targets: big_vision's ``sigmoid_xent``
    (github.com/google-research/big_vision, ``big_vision/utils.py`` at 0127fb6), the code of
    Beyer et al.'s sigmoid runs.
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
    """SigLIP's sigmoid loss on cosine scores: ``-Σ_c log σ(±(t cos θ_c + b))``, ``t`` and ``b``
    learned from ``t = 10``, ``b = −10``.

    Zhai, Mustafa, Kolesnikov, Beyer. *Sigmoid Loss for Language Image Pre-Training.* ICCV 2023,
    arXiv:2303.15343, Algorithm 1: the pairwise sigmoid loss ``-Σ log σ(y_ij (t x_i·y_j + b))``
    on L2-normalised image and text embeddings, ``t = exp(t')`` and ``b`` learned (initialised at
    ``t = 10``, ``b = −10``), summed over pairs and divided by the batch size; the authors' code is
    big_vision's ``loss_fn`` (github.com/google-research/big_vision,
    ``big_vision/trainers/proj/image_text/siglip.py`` at 0127fb6: ``logits * t + b``,
    ``log_sigmoid`` of ±logits, summed over each row, mean over rows; ``t``, ``b`` in
    ``models/proj/image_text/two_towers.py``). Here the samples play the images and the ``C``
    class weight vectors the texts, on a cosine head (``model_needs``: the dot products of the
    normalised features and weights, ``cos θ_c``); one positive (the target class) and ``C − 1``
    negatives per sample. The head's scale is ``temperature_init``, so its logits are
    ``z = t₀ cos θ`` and the board reads ``softmax(t₀ cos θ)``; the loss learns
    ``log(t/t₀)`` (``log_temperature``, from 0) and ``b``: ``t = t₀ e^{log_temperature}``, the
    paper's ``t' = log t₀ + log_temperature``, with the same gradient. A unit-scale head gives
    the same training and a near-uniform ``softmax(cos θ)``; the raw logits of a linear head
    (version 1) were measured against both (docs/plugins.md, "Entry fidelity: measured
    choices"). ``log_temperature`` and ``b`` are ``nn.Parameter`` s of this module; the trainer
    optimizes them with the model.
    """

    version = "2"
    paper = ("Zhai, Mustafa, Kolesnikov, Beyer. Sigmoid Loss for Language Image Pre-Training. "
             "ICCV 2023, arXiv:2303.15343")
    hparams = {"temperature_init": 10.0, "bias_init": -10.0}
    search_space = {"temperature_init": {"low": 1.0, "high": 30.0, "log": True},
                    "bias_init": {"low": -15.0, "high": 0.0}}
    #: SigLIP's scores are dot products of normalised embeddings, times t (from temperature_init)
    model_needs = {"head": "cosine", "head_scale": "temperature_init"}
    # SigLIP's loss used as a plain classification objective: standard only.
    suites = ("standard",)
    accepts_soft_targets = True
    fidelity = ("approximate: SigLIP scores each image against the batch's texts; here each "
                "sample against the class weight vectors of a cosine head (its normalised "
                "weights as the text embeddings), with the paper's t = 10, b = -10, both learned")

    def __init__(self, temperature_init: float = 10.0, bias_init: float = -10.0):
        super().__init__()
        if temperature_init <= 0:
            raise ValueError(f"temperature_init must be > 0, got {temperature_init}")
        #: ``log(t / temperature_init)``: the head already multiplies the cosines by
        #: ``temperature_init``
        self.log_temperature = nn.Parameter(torch.tensor(0.0))
        self.bias = nn.Parameter(torch.tensor(float(bias_init)))

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """``logits``: ``temperature_init · cos θ`` of the declared cosine head."""
        z = upcast(logits)
        scaled = z * self.log_temperature.exp().to(z.dtype) + self.bias.to(z.dtype)
        return sigmoid_ova_loss(scaled, targets).to(logits.dtype)

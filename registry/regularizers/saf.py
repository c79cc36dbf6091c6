"""Sharpness-aware training for free, SAF (Du et al. 2022)."""

from __future__ import annotations

from typing import Any

import torch

from ._common import first_call_in_step, kl_divergence, require_class_logits


class SAF:
    """SAF: trajectory loss ``λ τ² · KL(softmax(z_i^{(t−E)}/τ) ‖ softmax(z_i^{(t)}/τ))``, the KL
    between a sample's current logits and its own logits recorded ``E`` epochs earlier.

    Du, Zhou, Feng, Tan, Zhou. *Sharpness-Aware Training for Free.* NeurIPS 2022,
    arXiv:2205.14083, eq. (5)–(7). Penalising how fast the outputs move along the training
    trajectory stands in for SAM's sharpness term at almost no extra cost (no second pass; one
    ``num_train × (E + 1) × C`` logit table). As in the authors' code (github.com/AngusDujw/SAF,
    ``SAF_train.py``): logits are recorded per sample (via ``ctx.index``) in a ring buffer of
    ``E + 1`` epochs before the penalty is computed; the penalty is active for
    ``start_epoch < epoch < end_epoch``; defaults ``λ = 0.16`` (``--reinforce``), ``τ = 5``,
    ``E = 3`` (``--minus_epoch``), ``start_epoch = 5`` (``--kl_start_epoch``), end = never.
    Hooks: ``setup`` (table), ``penalty``.
    """

    version = "1"
    # Placed where its paper evaluates it: clean classification (CIFAR, ImageNet).
    suites = ("standard",)
    paper = ("Du, Zhou, Feng, Tan, Zhou. Sharpness-Aware Training for Free. NeurIPS 2022, "
             "arXiv:2205.14083")
    hparams = {"lam": 0.16, "temperature": 5.0, "epochs_ago": 3, "start_epoch": 5}
    search_space = {"lam": {"low": 0.01, "high": 1.0, "log": True},
                    "temperature": {"low": 1.0, "high": 10.0}}
    fidelity = "exact"

    def __init__(self, lam: float = 0.16, temperature: float = 5.0, epochs_ago: int = 3,
                 start_epoch: int = 5, end_epoch: int | None = None):
        if lam < 0 or temperature <= 0 or epochs_ago < 1 or start_epoch < epochs_ago - 1:
            raise ValueError("need lam >= 0, temperature > 0, epochs_ago >= 1 and "
                             "start_epoch >= epochs_ago - 1; got "
                             f"{lam}, {temperature}, {epochs_ago}, {start_epoch}")
        self.lam, self.temperature = lam, temperature
        self.epochs_ago, self.start_epoch, self.end_epoch = int(epochs_ago), start_epoch, end_epoch
        self.logits: torch.Tensor | None = None

    def setup(self, model: torch.nn.Module, ctx: Any) -> torch.nn.Module:
        self.logits = torch.zeros(ctx.num_train, self.epochs_ago + 1, ctx.num_classes,
                                  device=ctx.device)
        self._last_step = None
        return model

    def active(self, epoch: int) -> bool:
        return self.start_epoch < epoch and (self.end_epoch is None or epoch < self.end_epoch)

    def penalty(self, outputs: torch.Tensor, targets: Any, ctx: Any) -> torch.Tensor:
        require_class_logits(outputs, ctx, "SAF")
        slots = self.epochs_ago + 1
        if first_call_in_step(self, ctx):
            self.logits[ctx.index, ctx.epoch % slots] = outputs.detach().float()
        if not self.active(ctx.epoch):
            return outputs.new_zeros(())
        past = self.logits[ctx.index, (ctx.epoch - self.epochs_ago) % slots]
        kl = kl_divergence(past, outputs, self.temperature) * self.temperature ** 2
        return (self.lam * kl).to(outputs.dtype)

"""Early-learning regularization, ELR (Liu et al. 2020)."""

from __future__ import annotations

from typing import Any

import torch

from ._common import first_call_in_step, require_class_logits

#: the reference implementation clamps probabilities to [1e-4, 1 - 1e-4] before both uses
PROB_CLAMP = 1e-4


def elr_update(memory: torch.Tensor, probs: torch.Tensor, beta: float) -> torch.Tensor:
    """Temporal ensemble ``t ← β t + (1 − β) p / Σ p`` (rows of ``probs`` renormalised)."""
    probs = probs / probs.sum(-1, keepdim=True)
    return beta * memory + (1 - beta) * probs


def elr_penalty(probs: torch.Tensor, targets: torch.Tensor, lam: float) -> torch.Tensor:
    """``λ · mean_i log(1 − ⟨t_i, p_i⟩)`` (targets carry no gradient)."""
    return lam * torch.log(1 - (targets * probs).sum(-1)).mean()


class ELR:
    """ELR: penalty ``λ · mean_i log(1 − ⟨p_i, t_i⟩)`` with per-sample temporal-ensemble targets.

    Liu, Niles-Weed, Razavian, Fernandez-Granda. *Early-Learning Regularization Prevents
    Memorization of Noisy Labels.* NeurIPS 2020, arXiv:2007.00151, eq. (6). For each training
    sample ``i`` (found through ``ctx.index``) a target ``t_i`` (zeros at the start) is updated,
    without gradient, as ``t_i ← β t_i + (1 − β) p_i`` each time the sample is seen, where
    ``p_i = clamp(softmax(z_i), 1e-4, 1 − 1e-4)``; the penalty pulls ``p_i`` towards ``t_i``.
    Matches ``elr_loss`` in the authors' code (github.com/shengliu66/ELR, ``ELR/model/loss.py``);
    defaults β = 0.7, λ = 3 are its CIFAR-10 configuration (``config_cifar10.json``). The memory
    is written once per step (from the first pass when a two-pass ``step`` hook runs).
    Hooks: ``setup`` (allocates the ``num_train × C`` memory), ``penalty``.
    """

    version = "1"
    # Placed where its paper evaluates it: label noise only (CIFAR-10/100 synthetic noise,
    # Clothing1M, WebVision).
    suites = ("standard", "noisy")
    paper = ("Liu, Niles-Weed, Razavian, Fernandez-Granda. Early-Learning Regularization Prevents "
             "Memorization of Noisy Labels. NeurIPS 2020, arXiv:2007.00151")
    hparams = {"beta": 0.7, "lam": 3.0}
    search_space = {"beta": {"low": 0.5, "high": 0.99}, "lam": {"low": 0.1, "high": 10.0,
                                                                 "log": True}}
    fidelity = "exact"

    def __init__(self, beta: float = 0.7, lam: float = 3.0):
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"beta must be in [0, 1), got {beta}")
        if lam < 0:
            raise ValueError(f"lam must be >= 0, got {lam}")
        self.beta, self.lam = beta, lam
        self.memory: torch.Tensor | None = None

    def setup(self, model: torch.nn.Module, ctx: Any) -> torch.nn.Module:
        self.memory = torch.zeros(ctx.num_train, ctx.num_classes, device=ctx.device)
        self._last_step = None
        return model

    def penalty(self, outputs: torch.Tensor, targets: Any, ctx: Any) -> torch.Tensor:
        require_class_logits(outputs, ctx, "ELR")
        probs = outputs.float().softmax(-1).clamp(PROB_CLAMP, 1 - PROB_CLAMP)
        if first_call_in_step(self, ctx):
            self.memory[ctx.index] = elr_update(self.memory[ctx.index], probs.detach(), self.beta)
        return elr_penalty(probs, self.memory[ctx.index], self.lam).to(outputs.dtype)

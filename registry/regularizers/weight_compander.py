"""Weight compander (Cakaj, Mehnert, Yang 2023)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torch.nn.utils import parametrize

from ._common import weight_layers

#: keeps ``tan`` finite when an initial weight lies at or beyond the compander's bound ``a π/2``
_EDGE = math.pi / 2 * (1 - 1e-6)


def compand(v: torch.Tensor, a: float, b: float) -> torch.Tensor:
    """The paper's eq. (1), ``Ψ(v) = a · arctan(v / b)``: magnitude bounded by ``a π/2``, slope
    ``a / (b (1 + v²/b²))``, largest at 0 (small weights move faster than large ones)."""
    return a * torch.atan(v / b)


def decompand(w: torch.Tensor, a: float, b: float) -> torch.Tensor:
    """The paper's eq. (4), ``Ψ⁻¹(w) = b · tan(w / a)`` (weights beyond ``±a π/2`` map to the
    edge)."""
    return b * torch.tan((w / a).clamp(-_EDGE, _EDGE))


def compand_slope(v: torch.Tensor, a: float, b: float) -> torch.Tensor:
    """The paper's eq. (3) factor ``∂Ψ/∂v = a / (b (1 + v²/b²))``."""
    return a / (b * (1 + (v / b) ** 2))


#: Optimizers whose step is adaptive (invariant to a per-parameter rescaling of the gradient):
#: with these, the paper's modified step (§III-A3) replaces the plain one.
ADAPTIVE_OPTIMIZERS = (torch.optim.Adam, torch.optim.AdamW, torch.optim.Adamax, torch.optim.NAdam,
                       torch.optim.RAdam, torch.optim.Adagrad, torch.optim.RMSprop,
                       torch.optim.Adadelta)


class Compander(nn.Module):
    """The parametrization: the layer's ``weight`` becomes ``compand(original)``."""

    def __init__(self, a: float, b: float):
        super().__init__()
        self.a, self.b = a, b

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        return compand(v, self.a, self.b)

    def right_inverse(self, w: torch.Tensor) -> torch.Tensor:
        return decompand(w, self.a, self.b)


class WeightCompander:
    """Weight compander: every linear/conv weight is reparametrized as ``w = a · arctan(v / b)``
    and the optimizer trains ``v``; the bounded map restricts each weight's magnitude to
    ``a π/2``, and its slope, largest at zero, moves small weights faster than large ones.

    Cakaj, Mehnert, Yang. *Weight Compander: A Simple Weight Reparameterization for
    Regularization.* IJCNN 2023, arXiv:2306.16993, §III-A, eq. (1) and (4), read from the paper's
    PDF on the first author's site (github.com/rinorcakaj/rinorcakaj.github.io at d0c1591,
    ``files/WC_IJCNN_2023.pdf``); no code of the authors was found. Implemented with
    ``torch.nn.utils.parametrize`` in ``setup``; ``v`` is initialised by eq. (4),
    ``v = b tan(w / a)``, so the network starts from the same function as without the compander
    (§III-A1). Biases and normalisation parameters are left alone, and ``a``, ``b`` are shared by
    all weights, as in the paper. The paper has no single default: it grid-searches
    ``a, b ∈ {0.5, …, 1.0}`` per network and data set (Table I); the defaults a = 1.0, b = 0.6
    are its values for its smallest network, ResNet18 on CIFAR-10. With an adaptive optimizer (the
    MNIST-1D tasks' AdamW) the step is the paper's modified one (§III-A3, after Powerpropagation):
    the optimizer steps on ``∂L/∂Ψ`` (the gradient divided by ``∂Ψ/∂v``) and each weight's step is
    then rescaled by ``∂Ψ/∂v``; with SGD (the full-scale tasks) it is the plain step, as in the
    paper. Not implemented: the learnable ``a, b`` variant (§III-B) and weight decay on ``Ψ(v)``
    (§III-A2): the optimizer's weight decay acts on ``v`` (the standard MNIST-1D task has none).
    Version 1 was a ``β tanh(α v / β)`` stand-in, written before the paper's function was found;
    the choices are compared in docs/plugins.md ("Entry fidelity: measured choices"). Hooks:
    ``setup``, ``step``.
    """

    version = "2"
    # Placed where its paper evaluates it: clean classification (CIFAR, TinyImageNet).
    suites = ("standard",)
    paper = ("Cakaj, Mehnert, Yang. Weight Compander: A Simple Weight Reparameterization for "
             "Regularization. IJCNN 2023, arXiv:2306.16993")
    hparams = {"a": 1.0, "b": 0.6}
    search_space = {"a": {"low": 0.5, "high": 1.0}, "b": {"low": 0.5, "high": 1.0}}
    fidelity = ("approximate: the paper's Ψ(v) = a·arctan(v/b) with its ResNet18/CIFAR-10 values "
                "(a = 1.0, b = 0.6) and its modified adaptive step, from the paper's text (no "
                "authors' code found), but weight decay acts on v, not on Ψ(v), and the learned-"
                "a, b variant is absent")

    def __init__(self, a: float = 1.0, b: float = 0.6):
        if a <= 0 or b <= 0:
            raise ValueError(f"a and b must be > 0, got {a}, {b}")
        self.a, self.b = a, b
        self.raw_weights: list[torch.Tensor] = []

    def setup(self, model: nn.Module, ctx: Any) -> nn.Module:
        layers = weight_layers(model)
        if not layers:
            raise ValueError("weight compander found no linear or conv layer in the model")
        for m in layers:
            parametrize.register_parametrization(m, "weight", Compander(self.a, self.b))
        self.raw_weights = [m.parametrizations.weight.original for m in layers]
        return model

    def step(self, closure: Callable[[], torch.Tensor], optimizer: torch.optim.Optimizer,
             ctx: Any) -> torch.Tensor:
        """One training step; with an adaptive optimizer, the paper's modified step: the
        optimizer sees ``∂L/∂Ψ`` and each raw weight moves by ``∂Ψ/∂v`` times its step."""
        loss = closure()
        if not isinstance(optimizer, ADAPTIVE_OPTIMIZERS):
            optimizer.step()
            return loss
        trained = [v for v in self.raw_weights if v.grad is not None]
        with torch.no_grad():
            before = [v.clone() for v in trained]
            slopes = [compand_slope(v, self.a, self.b) for v in trained]
            for v, slope in zip(trained, slopes, strict=True):
                v.grad.div_(slope)
        optimizer.step()
        with torch.no_grad():
            for v, v0, slope in zip(trained, before, slopes, strict=True):
                v.copy_(v0 + slope * (v - v0))
        return loss

"""Sharpness-aware minimization, SAM (Foret et al. 2021)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch


def sam_perturbation(params: list[torch.Tensor], rho: float) -> list[torch.Tensor]:
    """``ε = ρ · g / ‖g‖₂`` with ``g`` the gradients of ``params`` (one global L2 norm)."""
    grads = [p.grad for p in params]
    norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))
    scale = rho / (norm + 1e-12)
    return [g * scale for g in grads]


class SAM:
    """SAM: minimise ``max_{‖ε‖₂ ≤ ρ} L(w + ε)`` with the first-order solution
    ``ε̂ = ρ ∇L(w) / ‖∇L(w)‖₂``; the update uses the gradient taken at ``w + ε̂``.

    Foret, Kleiner, Mobahi, Neyshabur. *Sharpness-Aware Minimization for Efficiently Improving
    Generalization.* ICLR 2021, arXiv:2010.01412, Algorithm 1; ρ = 0.05 (the paper's default).
    As in the widely used PyTorch port (github.com/davda54/sam, non-adaptive): pass 1 computes
    ``∇L(w)``, the parameters move by ``ε̂`` (norm over all trainable parameters, ``+1e-12``),
    pass 2 computes ``∇L(w + ε̂)``, the parameters move back and the base optimizer (the task's
    AdamW/SGD) steps. Costs a second forward and backward pass per step. Returns the first
    pass's loss. Hook: ``step`` (with ``closure`` = zero-grad, forward, loss + penalties,
    backward).
    """

    version = "1"
    # Placed where its paper evaluates it: clean classification and robustness to label noise (Sec.
    # 3.3).
    suites = ("standard", "noisy")
    paper = ("Foret, Kleiner, Mobahi, Neyshabur. Sharpness-Aware Minimization for Efficiently "
             "Improving Generalization. ICLR 2021, arXiv:2010.01412")
    hparams = {"rho": 0.05}
    search_space = {"rho": {"low": 0.01, "high": 0.5, "log": True}}
    fidelity = "exact"

    def __init__(self, rho: float = 0.05):
        if rho < 0:
            raise ValueError(f"rho must be >= 0, got {rho}")
        self.rho = rho

    def step(self, closure: Callable[[], torch.Tensor], optimizer: torch.optim.Optimizer,
             ctx: Any) -> torch.Tensor:
        loss = closure()
        params = [p for group in optimizer.param_groups for p in group["params"]
                  if p.grad is not None]
        with torch.no_grad():
            eps = sam_perturbation(params, self.rho)
            torch._foreach_add_(params, eps)
        closure()
        with torch.no_grad():
            torch._foreach_sub_(params, eps)
        optimizer.step()
        return loss

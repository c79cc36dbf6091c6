"""MixUp (Zhang et al. 2018)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ._common import seed_from


def mixup_batch(x: torch.Tensor, y: torch.Tensor, lam: float, perm: torch.Tensor):
    """``(λ x + (1 − λ) x[perm], [(λ, y), (1 − λ, y[perm])])``."""
    return lam * x + (1 - lam) * x[perm], [(lam, y), (1 - lam, y[perm])]


class MixUp:
    """MixUp: train on convex combinations ``λ x_i + (1 − λ) x_j`` with targets mixed alike,
    ``λ ~ Beta(α, α)`` once per batch, ``j`` a random permutation of the batch.

    Zhang, Cissé, Dauphin, Lopez-Paz. *mixup: Beyond Empirical Risk Minimization.* ICLR 2018,
    arXiv:1710.09412; analysed as *MixUp as Locally Linear Out-Of-Manifold Regularization*
    (Guo, Mao, Zhang, AAAI 2019, arXiv:1809.02499). As in the authors' CIFAR code
    (github.com/facebookresearch/mixup-cifar10, ``train.py``: one λ per batch, ``α = 1`` by
    default, ``λ = 1`` when ``α = 0``). The targets are returned as the mixture of hard targets
    ``[(λ, y), (1 − λ, y[perm])]``: a loss with ``accepts_soft_targets`` gets the soft targets
    ``λ onehot(y) + (1 − λ) onehot(y[perm])``, any other loss the paper code's mixed-loss form
    ``λ L(y) + (1 − λ) L(y[perm])``. λ is drawn with numpy from a seed taken from
    ``ctx.generator``, so runs are deterministic. Hook: ``transform_batch``.
    """

    version = "1"
    # Placed where its paper evaluates it: clean classification and memorisation of corrupted labels
    # (Sec. 3.4).
    suites = ("standard", "noisy")
    paper = ("Zhang, Cissé, Dauphin, Lopez-Paz. mixup: Beyond Empirical Risk Minimization. "
             "ICLR 2018, arXiv:1710.09412")
    hparams = {"alpha": 1.0}
    search_space = {"alpha": {"low": 0.1, "high": 2.0}}
    fidelity = "exact"

    def __init__(self, alpha: float = 1.0):
        if alpha < 0:
            raise ValueError(f"alpha must be >= 0, got {alpha}")
        self.alpha = alpha

    def sample_lambda(self, ctx: Any) -> float:
        rng = np.random.default_rng(seed_from(ctx.generator))
        return float(rng.beta(self.alpha, self.alpha))

    def transform_batch(self, x: torch.Tensor, y: torch.Tensor, ctx: Any):
        if self.alpha == 0:  # Beta(0, 0) is degenerate; the reference code uses λ = 1
            return x, y
        lam = self.sample_lambda(ctx)
        perm = torch.randperm(len(x), generator=ctx.generator).to(x.device)
        return mixup_batch(x, y, lam, perm)

"""Logit z-loss (PaLM; Wortsman et al. 2023)."""

from __future__ import annotations

from typing import Any

import torch


def z_loss(logits: torch.Tensor, weight: float = 1e-4) -> torch.Tensor:
    """``weight · mean_i (log Σ_c exp z_ic)²``, computed in float32."""
    return weight * logits.float().logsumexp(-1).pow(2).mean()


class ZLoss:
    """Logit z-loss: penalty ``w · (log Z)²`` with ``Z = Σ_c exp z_c``, averaged over the batch.

    Chowdhery et al. *PaLM: Scaling Language Modeling with Pathways.* JMLR 2023,
    arXiv:2204.02311, §5 ("z_loss = 10⁻⁴ · log² Z", which keeps the softmax normalizer near 1);
    studied as a stabilizer by Wortsman et al. *Small-scale proxies for large-scale Transformer
    training instabilities.* ICLR 2024, arXiv:2309.14322, §3.1.2. Default weight 1e-4 (both papers).
    Hook: ``penalty``.
    """

    version = "1"
    # Placed where its paper evaluates it: training stability of clean classification/LMs.
    suites = ("standard",)
    paper = ("Chowdhery et al. PaLM. JMLR 2023, arXiv:2204.02311; Wortsman et al. Small-scale "
             "proxies for large-scale Transformer training instabilities. ICLR 2024, "
             "arXiv:2309.14322")
    hparams = {"weight": 1e-4}
    search_space = {"weight": {"low": 1e-6, "high": 1e-1, "log": True}}
    fidelity = "exact"

    def __init__(self, weight: float = 1e-4):
        if weight < 0:
            raise ValueError(f"weight must be >= 0, got {weight}")
        self.weight = weight

    def penalty(self, outputs: torch.Tensor, targets: Any, ctx: Any) -> torch.Tensor:
        return z_loss(outputs, self.weight).to(outputs.dtype)

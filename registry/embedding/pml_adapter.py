"""Adapter from pytorch-metric-learning (PML) losses and miners to the embedding-loss protocol.

PML's losses are called as ``loss(embeddings, labels, indices_tuple)`` and its miners as
``miner(embeddings, labels) -> indices_tuple``. lossbench calls ``loss(embeddings, labels)``; the
adapter mines (when the entry has a miner) and then applies the PML loss. The PML loss and miner
are submodules, so their learnable parameters (ArcFace class weights, ProxyAnchor proxies) are
parameters of the entry module and the trainer optimizes them.
"""

from __future__ import annotations

import torch
from torch import nn

LOW_PRECISION = (torch.float16, torch.bfloat16)


def check_positive(**values: float) -> None:
    """Raise ``ValueError`` naming the first hyperparameter that is not > 0."""
    for name, value in values.items():
        if not value > 0:
            raise ValueError(f"{name} must be > 0, got {value}")


def check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    """Raise ``ValueError`` naming the bad value and the valid choices."""
    if value not in choices:
        raise ValueError(f"unknown {name} {value!r}; valid: {', '.join(choices)}")


class PMLEmbeddingLoss(nn.Module):
    """Base of the PML-backed entries: ``forward(embeddings, labels)`` → ``pml_loss(...)``."""

    objective = "embedding"
    suites = ("metric_learning",)

    def __init__(self, loss: nn.Module, miner: nn.Module | None = None):
        super().__init__()
        self.loss = loss
        self.miner = miner

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        # Half-precision embeddings are scored in float32 (some PML distances, e.g. torch.cdist,
        # have no bfloat16 kernel); the loss comes back in the input's dtype.
        work = embeddings.float() if embeddings.dtype in LOW_PRECISION else embeddings
        indices = self.miner(work, labels) if self.miner is not None else None
        return self.loss(work, labels, indices).to(embeddings.dtype)

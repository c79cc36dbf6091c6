"""Batched, no-grad access to a trained model: what a task's ``evaluate`` and a checkpoint rule
(:mod:`lossbench.checkpoint_rules`) read a model through (:class:`Evaluator`)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn


class Evaluator:
    """Batched, no-grad access to a trained model's outputs and penultimate features."""

    def __init__(self, model: nn.Module, batch_size: int = 4096):
        self.model = model
        self.batch_size = batch_size

    @torch.no_grad()
    def _batched(self, fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        self.model.eval()
        return torch.cat([fn(x[i:i + self.batch_size]).float()
                          for i in range(0, len(x), self.batch_size)])

    def outputs(self, x: torch.Tensor) -> torch.Tensor:
        """Model outputs: class logits, or embeddings for an embedding loss."""
        return self._batched(self.model, x)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate features (``model.features``), e.g. for retrieval with a classifier."""
        feats = getattr(self.model, "features", None)
        if feats is None:
            raise TypeError(f"{type(self.model).__name__} has no features() method")
        return self._batched(feats, x)

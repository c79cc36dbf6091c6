"""A template lossbench plugin: one loss, its card, and nothing imported from lossbench.

The whole protocol: the entry point names a class (or factory); ``factory(**hparams)`` returns a
callable ``loss(logits, targets) -> scalar tensor``. Optional class attributes form the entry's
card. Keyword-only ``forward`` arguments named ``epoch``, ``num_epochs``, ``index``, ``model``,
``inputs`` or ``class_counts`` are passed by the trainer only when named (see docs/plugins.md).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


class SquaredHinge(torch.nn.Module):
    """Squared multi-class hinge: ``max(0, m + max_{k != y} z_k - z_y)^2``.

    Crammer & Singer, On the Algorithmic Implementation of Multiclass Kernel-based Vector
    Machines, JMLR 2001 (the squared form of their multi-class hinge).
    """

    version = "1"  # bump when the behaviour changes: it is part of every run's spec hash
    paper = "Crammer & Singer, JMLR 2001"
    hparams = {"margin": 1.0}  # defaults; JSON-serialisable; every key an __init__ parameter
    search_space = {"margin": {"low": 0.1, "high": 2.0}}  # keys ⊆ hparams
    suites = ("standard", "imbalanced", "noisy", "ood")  # omit = every suite
    fidelity = "exact"  # or "approximate: <what differs from the paper>"

    def __init__(self, margin: float = 1.0):
        super().__init__()
        if margin < 0:
            raise ValueError(f"margin must be >= 0, got {margin}")
        self.margin = margin

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        true = logits.gather(1, targets[:, None])
        others = (logits + self.margin).scatter(1, targets[:, None], float("-inf"))
        return F.relu(others.max(1, keepdim=True).values - true).pow(2).mean()

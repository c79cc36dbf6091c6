"""Classification metrics on logits: accuracy, NLL, Brier score."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def top1(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of samples whose arg-max logit equals the label."""
    return (logits.argmax(-1) == labels).double().mean().item()


def nll(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """Mean negative log-likelihood ``-log softmax(z)_y`` (nats), computed in float64."""
    return F.cross_entropy(logits.double(), labels).item()


def brier(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """Brier score ``mean_i Σ_c (p_ic - 1[y_i = c])²`` (range 0..2)."""
    p = logits.double().softmax(-1)
    onehot = F.one_hot(labels, p.shape[-1]).double()
    return ((p - onehot) ** 2).sum(-1).mean().item()

"""Calibration metrics on logits."""

from __future__ import annotations

import torch


def ece(logits: torch.Tensor, labels: torch.Tensor, n_bins: int = 15) -> float:
    """Expected calibration error with ``n_bins`` equal-width confidence bins (L1 norm).

    ``ECE = Σ_b |B_b|/N · |acc(B_b) - conf(B_b)|`` with confidence = max softmax probability and
    bins ``(k/n, (k+1)/n]`` (Guo et al. 2017; the binning torchmetrics' ``CalibrationError`` uses).
    """
    probs = logits.double().softmax(-1)
    conf, pred = probs.max(-1)
    correct = (pred == labels).double()
    # bucketize with right=False puts conf == k/n into bin k-1, i.e. bins are (lo, hi].
    edges = torch.linspace(0, 1, n_bins + 1, dtype=torch.float64)
    bins = (torch.bucketize(conf, edges[1:-1], right=False)).clamp(0, n_bins - 1)
    n = len(conf)
    total = torch.zeros((), dtype=torch.float64)
    for b in range(n_bins):
        mask = bins == b
        if mask.any():
            total += mask.sum() / n * (correct[mask].mean() - conf[mask].mean()).abs()
    return total.item()

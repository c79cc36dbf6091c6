"""The metric set every classification run records, in one call."""

from __future__ import annotations

import torch

from . import calibration, classification, selective


def classification_summary(logits: torch.Tensor, labels: torch.Tensor,
                           prefix: str = "") -> dict[str, float]:
    """Top-1, NLL, Brier, ECE-15 (equal width), adaptive ECE-15 (equal mass), smooth ECE and the
    MSP selective risk (AURC) of ``logits`` against ``labels``, keys prefixed by ``prefix``."""
    values = {
        "top1": classification.top1(logits, labels),
        "nll": classification.nll(logits, labels),
        "brier": classification.brier(logits, labels),
        "ece": calibration.ece(logits, labels, n_bins=15),
        "adaptive_ece": calibration.adaptive_ece(logits, labels, n_bins=15),
        "smooth_ece": calibration.smooth_ece(logits, labels),
        "aurc": selective.aurc(logits, labels),
    }
    if not prefix:  # per-bin reliability (for the leaderboard's diagrams), main test set only
        values.update(calibration.reliability_metrics(logits, labels))
    return {f"{prefix}{k}": v for k, v in values.items()}

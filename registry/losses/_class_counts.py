"""Training-set class counts as the imbalance-aware losses receive them (build-time context)."""

from __future__ import annotations

from collections.abc import Sequence

import torch


def as_class_counts(class_counts: torch.Tensor | Sequence[float], num_classes: int | None = None
                    ) -> torch.Tensor:
    """Validate per-class training counts and return them as a 1-D float64 tensor.

    The harness passes ``torch.bincount(y_train)``; a list works too. Counts must be non-negative
    with at least one positive entry, and number ``num_classes`` when that is given.
    """
    counts = torch.as_tensor(class_counts).detach().to("cpu", torch.float64)
    if counts.ndim != 1 or counts.numel() == 0:
        raise ValueError(f"class_counts must be a non-empty 1-D sequence, got shape "
                         f"{tuple(counts.shape)}")
    if num_classes is not None and counts.numel() != num_classes:
        raise ValueError(f"class_counts has {counts.numel()} entries, expected {num_classes}")
    if (counts < 0).any() or not (counts > 0).any():
        raise ValueError(f"class_counts must be >= 0 with a positive entry, got {counts.tolist()}")
    return counts

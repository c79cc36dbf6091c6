"""Small numerically careful helpers shared by the built-in classification losses."""

from __future__ import annotations

import torch


def target_log_prob(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """``log softmax(z)_y`` per sample, computed in float32 (finite for extreme logits)."""
    return upcast(logits).log_softmax(-1).gather(-1, targets[:, None]).squeeze(-1)


def target_mask(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Boolean ``[N, C]`` mask that is true at each sample's target class."""
    mask = torch.zeros(logits.shape, dtype=torch.bool, device=logits.device)
    return mask.scatter_(-1, targets[:, None], True)


def upcast(logits: torch.Tensor) -> torch.Tensor:
    """Logits in at least float32 (bfloat16/float16 are upcast; float64 is kept)."""
    return logits if logits.dtype == torch.float64 else logits.float()

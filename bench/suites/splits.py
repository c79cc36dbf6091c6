"""Seeded splitting helpers shared by the suites (pure functions of their arguments)."""

from __future__ import annotations

import numpy as np
import torch


def rng(*keys: int | str) -> np.random.Generator:
    """A numpy generator seeded by a tuple of keys (e.g. ``(seed, "val-split")``), so independent
    random choices of one run never share a stream."""
    material = [k if isinstance(k, int) else int.from_bytes(k.encode(), "little") % (2**63)
                for k in keys]
    return np.random.default_rng(np.random.SeedSequence(material))


def stratified_holdout(y: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Split indices of ``y`` into (keep, holdout) with ``fraction`` of each class held out."""
    gen = rng(seed, "holdout")
    keep, hold = [], []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        gen.shuffle(idx)
        k = int(round(len(idx) * fraction))
        hold.append(idx[:k])
        keep.append(idx[k:])
    return np.sort(np.concatenate(keep)), np.sort(np.concatenate(hold))


def tensors(x: np.ndarray, y: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y, dtype=torch.long)

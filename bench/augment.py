"""Input augmentations a task's recipe names (``TrainConfig.augment``), applied by the trainer to
each training batch on the batch's own device.

An augmentation is a pure function ``(x, generator) -> x`` of a batch and a CPU
``torch.Generator`` (the run's, so a run stays a pure function of its spec): all random draws
come from the generator, and the pixels are moved with index gathers on ``x``'s device, so the
data stay resident (on the GPU for the full-scale tasks) with no DataLoader and no per-sample
Python loop.

``crop4+flip`` is the CIFAR augmentation of the papers behind the full-scale recipes (He et al.
2016, §4.2; Cao et al. 2019; Ma et al. 2020; OpenOOD v1.5): zero-pad 4 pixels on each side, take
a random 32×32 crop, flip it horizontally with probability 1/2.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

Augmentation = Callable[[torch.Tensor, torch.Generator], torch.Tensor]


def random_crop_flip(x: torch.Tensor, generator: torch.Generator, pad: int = 4) -> torch.Tensor:
    """Per-sample random ``H×W`` crop of the zero-padded batch ``x`` (N, C, H, W), each crop
    flipped left-right with probability 1/2. Draws, in this order: the N row offsets and N column
    offsets in ``[0, 2·pad]``, then N uniform numbers (flip where < 0.5)."""
    if x.dim() != 4:
        raise ValueError(f"crop+flip needs an image batch (N, C, H, W); got shape {tuple(x.shape)}")
    n, _, h, w = x.shape
    offsets = torch.randint(0, 2 * pad + 1, (2, n), generator=generator)
    flip = torch.rand(n, generator=generator) < 0.5
    rows = offsets[0, :, None] + torch.arange(h)
    cols = offsets[1, :, None] + torch.arange(w)
    cols = torch.where(flip[:, None], cols.flip(1), cols)
    padded = F.pad(x, (pad, pad, pad, pad))
    batch = torch.arange(n, device=x.device)[:, None, None]
    # advanced indices around a slice: the result is (N, H, W, C)
    out = padded[batch, :, rows.to(x.device)[:, :, None], cols.to(x.device)[:, None, :]]
    return out.permute(0, 3, 1, 2).contiguous()


def horizontal_flip(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Flip each image of (N, C, H, W) left-right with probability 1/2 (N uniform draws)."""
    if x.dim() != 4:
        raise ValueError(f"flip needs an image batch (N, C, H, W); got shape {tuple(x.shape)}")
    flip = (torch.rand(x.shape[0], generator=generator) < 0.5).to(x.device)
    return torch.where(flip[:, None, None, None], x.flip(3), x)


AUGMENTATIONS: dict[str, Augmentation] = {
    "crop4+flip": random_crop_flip,
    "flip": horizontal_flip,
}


def get_augmentation(name: str) -> Augmentation:
    """The augmentation a recipe names; ``ValueError`` naming the valid ones otherwise."""
    if name not in AUGMENTATIONS:
        raise ValueError(f"unknown augmentation {name!r}; valid: {', '.join(AUGMENTATIONS)} "
                         f"(or '' for none)")
    return AUGMENTATIONS[name]

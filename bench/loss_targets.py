"""The target conventions of the trainer: hard class indices, soft targets ``[N, C]``, or a
*mixture of hard targets* ``[(w_1, y_1), (w_2, y_2), ...]`` (MixUp's form), and how a loss is
applied to each (:func:`loss_on_targets`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F


class TargetError(TypeError):
    """A regularizer produced targets that the loss cannot take."""


def one_hot_mixture(mixture: Sequence[tuple[Any, torch.Tensor]], num_classes: int,
                    dtype: torch.dtype) -> torch.Tensor:
    """Soft targets ``Σ_i w_i · onehot(y_i)`` of a mixture of hard targets."""
    out = None
    for w, y in mixture:
        term = F.one_hot(y, num_classes).to(dtype) * (w if torch.is_tensor(w) else float(w))
        out = term if out is None else out + term
    return out


def loss_on_targets(loss_fn: Callable, outputs: torch.Tensor, targets: Any, *,
                    accepts_soft: bool, kwargs: dict[str, Any]) -> torch.Tensor:
    """Apply a loss to hard, soft, or mixed-hard targets.

    A mixture ``[(w_i, y_i)]`` becomes soft targets for a loss that declares
    ``accepts_soft_targets``; otherwise it is the mixed-loss form ``Σ_i w_i · L(outputs, y_i)``
    (MixUp's form for losses without soft-target support).
    """
    if isinstance(targets, (list, tuple)):
        if accepts_soft:
            soft = one_hot_mixture(targets, outputs.shape[-1], outputs.dtype)
            return loss_fn(outputs, soft, **kwargs)
        total = None
        for w, y in targets:
            term = loss_fn(outputs, y, **kwargs) * w
            total = term if total is None else total + term
        return total
    if targets.is_floating_point() and not accepts_soft:
        raise TargetError(
            "a regularizer produced soft targets of shape "
            f"{tuple(targets.shape)}, but the loss does not declare accepts_soft_targets = True"
        )
    return loss_fn(outputs, targets, **kwargs)

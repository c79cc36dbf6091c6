"""Whether a loss can train the model: a gradient of it must reach the model's outputs.

The trainer asks on its first step (:func:`check_first_step`), ``lossbench check`` in its
backward check (:func:`gradient_problem`); a loss that ignores its inputs, or is detached from
them, is stopped there with :class:`NoGradient` instead of training a model that never moves.
"""

from __future__ import annotations

import math

import torch


class NoGradient(RuntimeError):
    """The loss cannot train the model: on the first step no gradient of it reaches the model's
    outputs (it ignores them), or a non-zero loss has a zero gradient with respect to them."""


def gradient_problem(loss_value: float, grad: torch.Tensor | None, what: str) -> str | None:
    """Why a loss of ``loss_value`` whose gradient with respect to ``what`` is ``grad`` cannot
    train: no gradient at all, or a zero gradient of a non-zero loss (a zero loss may have a
    zero gradient: a metric-learning batch without a violated pair; a non-finite loss is left to
    :class:`Diverged`). None when it can. ``lossbench check``'s backward check and the
    trainer's first step both ask this."""
    if grad is None:
        return (f"no gradient of the loss reaches {what} (the loss does not depend on them; is "
                f"it computed from something else, or detached?)")
    if loss_value != 0 and math.isfinite(loss_value) and not bool((grad != 0).any()):
        return (f"the loss is {loss_value:.4g} but its gradient w.r.t. {what} is zero "
                f"everywhere (is part of it detached or constant?)")
    return None


def check_first_step(loss: torch.Tensor, outputs: torch.Tensor, what: str) -> None:
    """Raise :class:`NoGradient` when ``loss`` (the run's loss, before any regularizer's
    penalty) cannot train through ``outputs``. One extra backward pass through the loss alone,
    on the first step only; the step itself is unchanged."""
    if not outputs.requires_grad:
        return
    grad = None
    if loss.requires_grad:
        (grad,) = torch.autograd.grad(loss, outputs, retain_graph=True, allow_unused=True)
    problem = gradient_problem(float(loss.detach()), grad, what)
    if problem is not None:
        raise NoGradient(f"first training step: {problem}")

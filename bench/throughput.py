"""Throughput of a loss: its forward+backward time relative to cross-entropy's.

Absolute timings move with the machine and its load; a ratio taken in the same process, on the
same logits, with the two measurements interleaved, survives that. ``loss_cost_ratio = 2.0``
means the loss's forward+backward costs twice cross-entropy's on the same batch. The figure covers
only the objective, not the model: it tells a reader what an entry adds to a training step.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping
from typing import Any

import torch
import torch.nn.functional as F

from .signatures import context_kwargs
from .train import CALL_CONTEXT


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def forward_backward_seconds(fn: Callable[[torch.Tensor], torch.Tensor], logits: torch.Tensor
                             ) -> float:
    """Wall time of one ``fn(leaf).backward()`` on a fresh leaf copy of ``logits``."""
    leaf = logits.detach().clone().requires_grad_(True)
    _sync(leaf.device)
    start = time.perf_counter()
    fn(leaf).backward()
    _sync(leaf.device)
    return time.perf_counter() - start


def loss_cost_ratio(loss_fn: Callable, outputs: torch.Tensor, targets: torch.Tensor,
                    context: Mapping[str, Any] | None = None, *, num_classes: int | None = None,
                    repeats: int = 25, warmup: int = 3) -> float:
    """Median forward+backward time of ``loss_fn`` over cross-entropy's, interleaved.

    ``outputs`` are the model's outputs on one batch (logits, or embeddings for an embedding loss)
    and ``targets`` their class indices. The loss receives the call-time ``context`` it names
    (``index``, ``epoch``, ...), as in training. Cross-entropy runs on the same tensor when it has
    one column per class, else (embeddings) on logits of shape ``[N, num_classes]``.
    """
    target = loss_fn.forward if isinstance(loss_fn, torch.nn.Module) else loss_fn
    kwargs = context_kwargs(target, dict(context or {}), CALL_CONTEXT)
    classes = num_classes or outputs.shape[-1]
    if outputs.dim() == 2 and outputs.shape[-1] == classes:
        reference = outputs
    else:
        gen = torch.Generator(device="cpu").manual_seed(0)
        reference = torch.randn(len(outputs), classes, generator=gen).to(outputs.device)

    def run_loss(leaf: torch.Tensor) -> torch.Tensor:
        return loss_fn(leaf, targets, **kwargs)

    def run_ce(leaf: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(leaf, targets)

    for _ in range(warmup):
        forward_backward_seconds(run_loss, outputs)
        forward_backward_seconds(run_ce, reference)
    loss_times, ce_times = [], []
    for _ in range(repeats):
        loss_times.append(forward_backward_seconds(run_loss, outputs))
        ce_times.append(forward_backward_seconds(run_ce, reference))
    return statistics.median(loss_times) / statistics.median(ce_times)

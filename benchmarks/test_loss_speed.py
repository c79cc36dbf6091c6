"""pytest-benchmark micro-benchmarks: every registered loss's forward+backward on one batch.

Generated from the registry, so a new entry is benchmarked without touching this file; each loss
is timed beside cross-entropy on the same logits (``extra_info["vs_cross_entropy"]`` holds the
``loss_cost_ratio``, the same figure every run records). Run with ``nox -s bench``.
"""

from __future__ import annotations

import pytest
import torch

from lossbench.build import build
from lossbench.registry import LOSSES
from lossbench.throughput import forward_backward_seconds, loss_cost_ratio

BATCH, CLASSES, EMBEDDING = 128, 10, 64


def _built(name: str):
    card = LOSSES.card(name)
    counts = torch.full((CLASSES,), 100)
    context = {"num_classes": CLASSES, "embedding_size": EMBEDDING, "class_counts": counts,
               "num_train": 1000, "num_epochs": 10}
    loss = build(LOSSES.get(name), card.hparams, context)
    gen = torch.Generator().manual_seed(0)
    width = EMBEDDING if card.objective == "embedding" else CLASSES
    outputs = torch.randn(BATCH, width, generator=gen)
    targets = torch.randint(0, CLASSES, (BATCH,), generator=gen)
    call = {"index": torch.arange(BATCH), "epoch": 0, "num_epochs": 10,
            "model": torch.nn.Linear(width, width), "inputs": outputs, "class_counts": counts}
    return loss, outputs, targets, call


@pytest.mark.parametrize("name", LOSSES.names())
def test_forward_backward(benchmark, name):
    from lossbench.signatures import context_kwargs
    from lossbench.train import CALL_CONTEXT

    loss, outputs, targets, call = _built(name)
    target = loss.forward if isinstance(loss, torch.nn.Module) else loss
    kwargs = context_kwargs(target, call, CALL_CONTEXT)
    benchmark.extra_info["vs_cross_entropy"] = loss_cost_ratio(
        loss, outputs, targets, call, num_classes=CLASSES, repeats=10)
    benchmark(forward_backward_seconds, lambda z: loss(z, targets, **kwargs), outputs)

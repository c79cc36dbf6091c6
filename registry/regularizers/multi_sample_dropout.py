"""Multi-sample dropout (Inoue 2019)."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn


class MultiSampleDropoutHead(nn.Module):
    """``head`` applied to ``M`` dropout samples of its input (shared weights).

    In training mode it returns the mean of the ``M`` sample outputs and keeps the samples in
    ``last_samples`` until :class:`MultiSampleDropout`'s penalty consumes them; in eval mode it
    is ``head(x)`` (dropout off), so evaluation is unchanged.
    """

    def __init__(self, head: nn.Module, samples: int, p: float):
        super().__init__()
        self.head, self.samples, self.p = head, samples, p
        self.last_samples: torch.Tensor | None = None
        self.last_mean: torch.Tensor | None = None

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return self.head(features)
        stacked = features.unsqueeze(0).expand(self.samples, *features.shape)
        outs = self.head(F.dropout(stacked, self.p, training=True).flatten(0, 1))
        outs = outs.unflatten(0, (self.samples, len(features)))
        self.last_samples, self.last_mean = outs, outs.mean(0)
        return self.last_mean


class MultiSampleDropout:
    """Multi-sample dropout: ``M`` dropout samples of the penultimate features go through the
    shared head and the training loss is ``(1/M) Σ_m L(head(dropout_m(h)), y)``.

    Inoue. *Multi-Sample Dropout for Accelerated Training and Better Generalization.*
    arXiv:1905.09788, 2019: dropout, then the duplicated fully connected layer with shared
    weights, loss averaged over the samples; defaults M = 8 samples, dropout ratio 0.5 (the
    paper's main setting).

    How the averaged loss reaches the trainer without a special case: ``setup`` replaces
    ``model.head`` with :class:`MultiSampleDropoutHead`, whose training-mode output is the mean
    logit ``z̄`` (what other hooks and the running loss see), and ``penalty`` adds
    ``(1/M) Σ_m L(z_m, y) − L(z̄, y)`` using ``ctx.criterion`` (the run's loss under the trainer's
    target conventions). The total ``L(z̄, y) + penalty`` is therefore exactly the paper's
    averaged loss, in value and gradient, for any loss and any targets (mixtures, soft). Loss
    averaging is not the same as averaging logits: ``L(z̄)`` alone would be a different method.
    At evaluation the head is deterministic (dropout off), as in the paper. Needs a model with a
    ``head`` attribute (every lossbench :class:`Classifier`). Hooks: ``setup``, ``penalty``.
    """

    version = "1"
    # Placed where its paper evaluates it: clean classification accuracy and training speed.
    suites = ("standard",)
    paper = ("Inoue. Multi-Sample Dropout for Accelerated Training and Better Generalization. "
             "arXiv:1905.09788, 2019")
    hparams = {"samples": 8, "p": 0.5}
    search_space = {"samples": {"low": 2, "high": 16, "int": True}, "p": {"low": 0.1, "high": 0.7}}
    fidelity = "exact"

    def __init__(self, samples: int = 8, p: float = 0.5):
        if samples < 1 or not 0.0 <= p < 1.0:
            raise ValueError(f"need samples >= 1 and p in [0, 1); got {samples}, {p}")
        self.samples, self.p = int(samples), p
        self.head: MultiSampleDropoutHead | None = None

    def setup(self, model: nn.Module, ctx: Any) -> nn.Module:
        if not isinstance(getattr(model, "head", None), nn.Module):
            raise ValueError("multi-sample dropout needs a model with a `head` module "
                             f"(got {type(model).__name__})")
        self.head = MultiSampleDropoutHead(model.head, self.samples, self.p)
        model.head = self.head
        return model

    def penalty(self, outputs: torch.Tensor, targets: Any, ctx: Any) -> torch.Tensor:
        mean = self.head.last_mean
        # the trainer may hand over a float32 copy (mixed-precision forward): compare values then
        if mean is None or (mean is not outputs and not torch.equal(mean.to(outputs.dtype),
                                                                    outputs)):
            raise RuntimeError("multi-sample dropout: the outputs given to penalty() are not the "
                               "ones its head produced in this forward pass")
        samples = self.head.last_samples.to(outputs.dtype)
        # drop the graph-carrying stash: it must not outlive the step (the trainer deep-copies
        # the model for its best-epoch checkpoint, and non-leaf tensors cannot be deep-copied)
        self.head.last_samples = self.head.last_mean = None
        per_sample = torch.stack([ctx.criterion(z, targets) for z in samples]).mean()
        return per_sample - ctx.criterion(outputs, targets)

"""Progressive self-knowledge distillation, PS-KD (Kim et al. 2021)."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from ._common import first_call_in_step, require_class_logits


def pskd_alpha(alpha_T: float, epoch: int, num_epochs: int) -> float:
    """``α_t = α_T · (t + 1) / T`` for the 0-based epoch ``t`` (the authors' schedule)."""
    return alpha_T * (epoch + 1) / num_epochs


def pskd_targets(labels: torch.Tensor, previous: torch.Tensor, alpha: float) -> torch.Tensor:
    """Soft targets ``(1 − α) · onehot(y) + α · p_prev``."""
    onehot = F.one_hot(labels, previous.shape[-1]).to(previous.dtype)
    return (1 - alpha) * onehot + alpha * previous


class PSKD:
    """PS-KD: train on ``(1 − α_t) · onehot(y) + α_t · p_{t−1}(x)``, the model's own last-epoch
    prediction as a progressively stronger teacher, ``α_t = α_T · t / T``.

    Kim, Ji, Yoon, Hwang. *Self-Knowledge Distillation with Progressive Refinement of Targets.*
    ICCV 2021, arXiv:2006.12000, eq. (4)–(5). Exact transcription of the authors' code
    (github.com/lgcnsai/PS-KD-Pytorch, formerly lg-vision/PS-KD-Pytorch, at 9aa0828: ``main.py``'s
    ``train`` and ``loss/pskd_loss.py``'s ``Custom_CrossEntropy_PSKD``): a per-sample table of
    softmax predictions starts as the one-hot labels, is overwritten with ``softmax(z_i)``
    (detached, train mode) each time sample ``i`` (found through ``ctx.index``) is seen, and is
    read *before* that write, so a step reads the prediction from the previous epoch;
    ``α_t = α_T (t + 1) / T`` with 0-based ``t``; α_T = 0.8 (``--alpha_T``'s default); the loss is
    the batch mean of ``-Σ_c q_c log softmax(z)_c``, which is the harness's cross-entropy on soft
    targets. The paper and the code train with cross-entropy only; what a loss without soft
    targets gets (below) is this entry's extension, not part of the published method.

    Targets reach the loss through the trainer's target protocol (no special case):

    * losses that declare ``accepts_soft_targets`` get the soft targets above — exact;
    * other losses get the *mixture of hard targets* ``[(1 − α, y), (α, ĉ)]`` with one class
      ``ĉ_i ~ p_{t−1}(x_i)`` drawn per sample (from ``ctx.generator``), i.e. the trainer computes
      ``(1 − α) L(z, y) + α L(z, ĉ)``. For a loss that is a mean of per-sample terms ``ℓ(z_i, c)``
      this is an unbiased one-sample estimate of ``Σ_c q_ic ℓ(z_i, c)``, the soft-target form
      (for cross-entropy, exactly the PS-KD loss in expectation), without asking the loss to
      understand soft targets. A hard-target loss cannot take per-sample weights, which is why
      the teacher class is sampled rather than weighted.

    Hooks: ``setup`` (table), ``transform_batch`` (targets), ``penalty`` (records this step's
    predictions; contributes 0 to the loss).
    """

    version = "2"
    # Placed where its paper evaluates it: clean classification and its calibration.
    suites = ("standard",)
    paper = ("Kim, Ji, Yoon, Hwang. Self-Knowledge Distillation with Progressive Refinement of "
             "Targets. ICCV 2021, arXiv:2006.12000")
    hparams = {"alpha_T": 0.8}
    search_space = {"alpha_T": {"low": 0.1, "high": 0.9}}
    # Exact for the published method (cross-entropy, which accepts soft targets); version 2
    # changes only the card.
    fidelity = "exact"

    def __init__(self, alpha_T: float = 0.8):
        if not 0.0 <= alpha_T <= 1.0:
            raise ValueError(f"alpha_T must be in [0, 1], got {alpha_T}")
        self.alpha_T = alpha_T
        self.predictions: torch.Tensor | None = None

    def setup(self, model: torch.nn.Module, ctx: Any) -> torch.nn.Module:
        self.predictions = torch.zeros(ctx.num_train, ctx.num_classes, device=ctx.device)
        self._last_step = None
        return model

    def transform_batch(self, x: torch.Tensor, y: torch.Tensor, ctx: Any):
        idx = ctx.index
        if ctx.epoch == 0:  # the table starts as the one-hot labels (every sample is new)
            self.predictions[idx] = F.one_hot(y, ctx.num_classes).float()
        previous = self.predictions[idx]
        alpha = pskd_alpha(self.alpha_T, ctx.epoch, ctx.num_epochs)
        if ctx.accepts_soft_targets:
            return x, pskd_targets(y, previous, alpha)
        teacher = torch.multinomial(previous.cpu(), 1, generator=ctx.generator).squeeze(1)
        return x, [(1 - alpha, y), (alpha, teacher.to(y.device))]

    def penalty(self, outputs: torch.Tensor, targets: Any, ctx: Any) -> torch.Tensor:
        require_class_logits(outputs, ctx, "PS-KD")
        if first_call_in_step(self, ctx):
            self.predictions[ctx.index] = outputs.detach().float().softmax(-1)
        return outputs.new_zeros(())

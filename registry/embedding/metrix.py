"""Metrix: mixup for deep metric learning, as a regularizer (Venkataramanan et al. 2022)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .pml_adapter import check_choice, check_positive

LEVELS = ("embedding", "input")


def beta_sample(alpha: float, generator: torch.Generator) -> float:
    """One draw of ``Beta(α, α)`` whose randomness comes from a seeded torch generator."""
    seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator))
    return float(np.random.default_rng(seed).beta(alpha, alpha))


def other_class_partners(labels: torch.Tensor, generator: torch.Generator
                         ) -> tuple[torch.Tensor, torch.Tensor]:
    """For each sample, a uniformly drawn batch sample of another class.

    Returns ``(anchors, partners)``: index tensors over the samples that have such a partner
    (all of them unless the batch holds a single class).
    """
    n = labels.shape[0]
    scores = torch.rand(n, n, generator=generator).to(labels.device)
    other = labels[:, None] != labels[None, :]
    scores = scores.masked_fill(~other, -1.0)
    best, partners = scores.max(dim=1)
    anchors = torch.nonzero(best >= 0).squeeze(1)
    return anchors, partners[anchors]


def mixed_label_loss(loss_fn: Any, clean: torch.Tensor, labels: torch.Tensor,
                     mixed: torch.Tensor, labels_a: torch.Tensor, labels_b: torch.Tensor,
                     lam: float) -> torch.Tensor:
    """``λ·L([e; m], [y; y_a]) + (1 - λ)·L([e; m], [y; y_b])`` for mixed embeddings ``m``.

    For a loss that is a sum over (clean anchor, mixed) pairs of a positive term ``ℓ+`` and a
    negative term ``ℓ-`` this gives each pair ``w·ℓ+ + (1 - w)·ℓ-`` with the interpolated label
    ``w = λ·[y = y_a] + (1 - λ)·[y = y_b]``: Metrix's mixed-label loss.
    """
    embeddings = torch.cat([clean, mixed])
    loss_a = loss_fn(embeddings, torch.cat([labels, labels_a]))
    loss_b = loss_fn(embeddings, torch.cat([labels, labels_b]))
    return lam * loss_a + (1 - lam) * loss_b


def mixed_only_loss(loss_fn: Any, mixed: torch.Tensor, labels_a: torch.Tensor,
                    labels_b: torch.Tensor, lam: float) -> torch.Tensor:
    """``λ·L(m, y_a) + (1 - λ)·L(m, y_b)``: the mixed samples' loss alone (a per-sample loss)."""
    return lam * loss_fn(mixed, labels_a) + (1 - lam) * loss_fn(mixed, labels_b)


def is_embedding_loss(loss: Any) -> bool:
    """Whether the run's loss declares ``objective = "embedding"`` (``kind`` before harness 0.2)."""
    return getattr(loss, "objective", getattr(loss, "kind", "classification")) == "embedding"


class Metrix:
    """Metrix regularizer: add the metric loss of mixed examples with interpolated labels.

    Venkataramanan, Psomas, Kijak, Amsaleg, Karantzalos, Avrithis. *It Takes Two to Tango: Mixup
    for Deep Metric Learning.* ICLR 2022, arXiv:2106.04990. Each sample ``a`` of the batch is mixed
    with a random sample ``b`` of another class, ``λ ~ Beta(α, α)`` per batch:

    - ``level="embedding"``: ``m = λ f(x_a) + (1 - λ) f(x_b)`` (the paper's embedding mixup; no
      extra forward pass);
    - ``level="input"``: ``m = f(λ x_a + (1 - λ) x_b)`` (input mixup; one extra forward pass of
      ``ctx.model``).

    With an embedding loss (``objective = "embedding"``) the penalty is
    ``w · [λ·L([e; m], [y; y_a]) + (1 - λ)·L([e; m], [y; y_b])]`` with the run's own loss ``L``
    (``ctx.criterion``, else ``ctx.loss_fn``; so it composes with any embedding loss): the batch
    holds the clean–mixed pairs Metrix scores. A classification loss has no pairs; its penalty is
    the mixed samples' loss alone, ``w · [λ·L(m, y_a) + (1 - λ)·L(m, y_b)]`` (version 2: version
    1 used the clean + mixed batch there too, which adds ``w/2`` of the clean loss and halves the
    mixed one; measured, docs/plugins.md). The penalty is added to the clean loss ``L(e, y)`` by
    the trainer. Defaults α = 2 and w = 0.4, the authors' code
    (github.com/billpsomas/Metrix_ICLR22, ``mixup_data(..., alpha=2.0)``, ``loss_clean +
    0.4 * loss_mix``), which mixes an anchor with its negatives (``neg_pair_mixup``).
    """

    version = "2"
    objective = "embedding"
    suites = ("metric_learning",)
    paper = ("Venkataramanan, Psomas, Kijak, Amsaleg, Karantzalos, Avrithis. It Takes Two to "
             "Tango: Mixup for Deep Metric Learning. ICLR 2022, arXiv:2106.04990")
    hparams = {"alpha": 2.0, "weight": 0.4, "level": "embedding"}
    search_space = {"alpha": {"low": 0.1, "high": 4.0, "log": True},
                    "weight": {"low": 0.05, "high": 1.0, "log": True},
                    "level": {"choices": list(LEVELS)}}
    fidelity = (
        "approximate: the authors' code implements Metrix for the contrastive loss only; here the "
        "loss is applied to the clean+mixed batch with the mixed label as a "
        "λ-weighted pair of losses; this equals Metrix's interpolated-label loss on clean-mixed "
        "pairs for pair-additive losses (contrastive), but also counts clean-clean and mixed-mixed "
        "pairs, and for log-sum-exp losses (MS, SupCon, ProxyAnchor) weights whole loss terms "
        "instead of terms inside the log-sum-exp; with a classification loss (no pairs) the "
        "mixed samples' loss alone (measured against the clean+mixed batch, docs/plugins.md); "
        "no feature-level (intermediate layer) mixing"
    )

    def __init__(self, alpha: float = 2.0, weight: float = 0.4, level: str = "embedding"):
        check_positive(alpha=alpha, weight=weight)
        check_choice("level", level, LEVELS)
        self.alpha, self.weight, self.level = alpha, weight, level

    def penalty(self, outputs: torch.Tensor, y: Any, ctx: Any) -> torch.Tensor:
        if not torch.is_tensor(y) or y.is_floating_point():
            raise TypeError("Metrix needs hard labels (an integer tensor); another regularizer "
                            "replaced them with soft or mixed targets")
        anchors, partners = other_class_partners(y, ctx.generator)
        if anchors.numel() == 0:  # a single class in the batch: nothing to mix
            return outputs.sum() * 0.0
        lam = beta_sample(self.alpha, ctx.generator)
        if self.level == "input":
            x = ctx.inputs
            mixed = ctx.model(lam * x[anchors] + (1 - lam) * x[partners])
        else:
            mixed = lam * outputs[anchors] + (1 - lam) * outputs[partners]
        # ctx.criterion is the run's loss with the call context it asks for; fall back to loss_fn
        loss_fn = getattr(ctx, "criterion", None) or ctx.loss_fn
        if is_embedding_loss(ctx.loss_fn):
            loss = mixed_label_loss(loss_fn, outputs, y, mixed, y[anchors], y[partners], lam)
        else:
            loss = mixed_only_loss(loss_fn, mixed, y[anchors], y[partners], lam)
        return self.weight * loss

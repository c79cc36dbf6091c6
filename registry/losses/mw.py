"""MW (Mann-Whitney) loss: AUC-driven pairwise BCE over score differences (2025)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ._precision import upcast


def mw_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean over all (positive, negative) pairs of the batch of ``softplus(s_neg − s_pos)``.

    Positives are the ``N`` target entries ``z_{i, y_i}`` of the batch's ``[N, C]`` score matrix,
    negatives its ``N (C − 1)`` other entries; ``softplus(−(s⁺ − s⁻)) = BCE(σ(s⁺ − s⁻), 1)``, and
    ``σ(s⁺ − s⁻)`` averaged over pairs is the smooth Mann-Whitney U statistic (the AUC).
    """
    z = upcast(logits)
    is_pos = F.one_hot(targets, z.shape[-1]).bool()
    pos = z[is_pos]  # [N]
    neg = z[~is_pos]  # [N (C - 1)]
    return F.softplus(neg[None, :] - pos[:, None]).mean().to(logits.dtype)


class MannWhitney(nn.Module):
    """MW loss: ``L = mean_{(p, n)} −log σ((s_p − s_n)/τ)`` over positive-negative pairs of cosine
    scores, τ = 0.01.

    Sheikholeslami, Hosseini, Bechard, Daruru, Rajeswar. *Optimizing What Matters: AUC-Driven
    Learning for Robust Neural Retrieval.* arXiv:2510.00137 (2025): eq. 3,
    ``L = −(1/B) Σ_i Σ_{s⁻ ∈ S⁻} log σ(s⁺_i − s⁻)`` with the temperature of Lemma 2
    (``ℓ_BCE(z) = log(1 + e^{−z/τ})``) and τ = 0.01 (§5.1, the same for MW and the contrastive
    loss). The scores are cosine similarities of a dual encoder's query and passage embeddings,
    and ``S⁻`` holds every negative score of the batch, of every query (pooled over the batch's
    similarity matrix, not per query as in contrastive/NCE losses), so that minimizing the loss
    maximizes a smooth Mann-Whitney U statistic = AUC. For classification the samples are the
    queries and the ``C`` class weight vectors the passages: the entry declares a cosine head
    (``model_needs``) of scale ``1/τ = 100``, whose logits are ``z = cos/τ``; the
    ``(sample, true class)`` entries are the positives and every ``(sample, other class)`` entry
    of the batch a negative. Eq. 3 sums over the negatives and divides by ``B``; this entry
    averages over the ``B·|S⁻|`` pairs instead — the same objective times a constant for a fixed
    batch, which AdamW (the paper's and the embedded tasks' optimizer) does not feel, and which
    keeps an SGD recipe's learning rate meaningful. The raw logits of a linear head (τ = 1,
    version 1 of this entry) were measured against the cosine head (docs/plugins.md, "Entry
    fidelity: measured choices"). No code of the authors was found (searched: the paper's text,
    v1, which links none; public GitHub code for the title, ``MWLoss`` and Mann-Whitney retrieval
    losses; ServiceNow's repositories).
    """

    version = "2"
    paper = ("Sheikholeslami, Hosseini, Bechard, Daruru, Rajeswar. Optimizing What Matters: "
             "AUC-Driven Learning for Robust Neural Retrieval. arXiv:2510.00137, 2025")
    hparams: dict = {}
    search_space: dict = {}
    #: the paper's scores: cosine similarities over its temperature τ = 0.01
    model_needs = {"head": "cosine", "head_scale": 100.0}
    # A retrieval AUC loss, here on class logits; no noise/imbalance/OOD claim: standard only.
    suites = ("standard",)
    fidelity = ("approximate: a retrieval loss on classification: the samples are the queries "
                "and the class weight vectors of a cosine head (scale 1/τ = 100, the paper's "
                "τ = 0.01) the passages, one positive per sample and every other (sample, class) "
                "score of the batch a negative; the mean over pairs replaces eq. 3's sum over "
                "negatives / B (a constant factor); no authors' code found")

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """``logits``: ``cos/τ`` of the declared cosine head."""
        return mw_loss(logits, targets)

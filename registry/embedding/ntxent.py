"""NT-Xent / InfoNCE contrastive loss with the temperature as its studied hyperparameter."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .pml_adapter import check_positive


def ntxent_loss(embeddings: torch.Tensor, labels: torch.Tensor,
                temperature: float = 0.07) -> torch.Tensor:
    """Mean over ordered positive pairs ``(i, j)`` of ``-log(e^{s_ij/τ} / (e^{s_ij/τ} + Σ_{N_i}))``.

    Written as ``softplus(LSE_{k∈N_i}(s_ik/τ) - s_ij/τ)`` on the ``[N, N]`` similarity matrix, so
    it costs O(N²); PML's ``NTXentLoss`` gives the same value (tested) but materialises a
    positive-pairs × negative-pairs matrix, O(N⁴) for labelled batches (67x slower on the
    embedded task). A batch without positive or without negative pairs gives 0, as in PML.
    """
    normed = F.normalize(embeddings, dim=1)
    logits = normed @ normed.T / temperature
    same = labels[:, None] == labels[None, :]
    positive = same & ~torch.eye(len(labels), dtype=torch.bool, device=labels.device)
    if not positive.any() or same.all():
        return embeddings.sum() * 0.0
    # every anchor has a negative here: a label differs somewhere, so it differs from each row
    negative_lse = logits.masked_fill(same, float("-inf")).logsumexp(dim=1, keepdim=True)
    return F.softplus(negative_lse - logits)[positive].mean()


class NTXent(nn.Module):
    """NT-Xent (InfoNCE) loss over the batch's label-defined positive pairs.

    Wang, Liu. *Understanding the Behaviour of Contrastive Loss.* CVPR 2021, arXiv:2012.09740
    (the temperature τ sets how hard negatives are penalised: small τ → uniformity, large τ →
    tolerance to semantically similar samples); the loss is Chen et al.'s NT-Xent (SimCLR, ICML
    2020, arXiv:2002.05709) / van den Oord et al.'s InfoNCE. With cosine similarity ``s`` and the
    batch's positive pairs ``(i, j)`` (same label, ``i ≠ j``) and negatives ``N_i`` (other labels)::

        L = mean over positive pairs of -log( e^{s_ij/τ} / (e^{s_ij/τ} + Σ_{k∈N_i} e^{s_ik/τ}) )

    Each positive pair is its own term (other positives are not in the denominator): the
    supervised use of the instance-discrimination loss, whose positives are labels instead of
    augmented views (lossbench tasks give one view per sample). Equal to PML's ``NTXentLoss``
    (tested), computed in O(N²) by :func:`ntxent_loss`. Default τ = 0.07 (Wang & Liu's smallest,
    MoCo's value); search it on a log scale.
    """

    version = "2"
    objective = "embedding"
    suites = ("metric_learning",)
    paper = ("Wang, Liu. Understanding the Behaviour of Contrastive Loss. CVPR 2021, "
             "arXiv:2012.09740")
    hparams = {"temperature": 0.07}
    search_space = {"temperature": {"low": 0.01, "high": 1.0, "log": True}}
    fidelity = ("approximate: positives are same-label pairs in the batch, not two augmented "
                "views of one image (the tasks provide one view per sample); each pair against "
                "the anchor's negatives only, as PML's NTXentLoss (SimCLR's denominator over "
                "every other sample measured worse, docs/plugins.md)")

    def __init__(self, temperature: float = 0.07):
        super().__init__()
        check_positive(temperature=temperature)
        self.temperature = temperature

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return ntxent_loss(embeddings, labels, self.temperature)

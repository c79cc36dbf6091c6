"""Unified Negative Pair Generation (UNPG) on top of ArcFace or CosFace (Jung et al. 2022)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from pytorch_metric_learning import losses
from torch import nn

from .pml_adapter import check_positive


def box_and_whisker_filter(similarities: torch.Tensor, whisker: float) -> torch.Tensor:
    """The similarities inside ``[Q1 - w·IQR, Q3 + w·IQR]`` (UNPG's noisy-negative filter).

    The quartiles are the sorted values at indices ``⌊0.25·l⌋`` and ``⌊0.75·l⌋``, as in the
    authors' ``box_and_whisker_algorithm``. Returns the kept values in ascending order.
    """
    if similarities.numel() == 0:
        return similarities
    ordered = torch.sort(similarities).values
    n = ordered.numel()
    q1, q3 = ordered[int(0.25 * n)], ordered[int(0.75 * n)]
    iqr = q3 - q1
    keep = (ordered >= q1 - whisker * iqr) & (ordered <= q3 + whisker * iqr)
    return ordered[keep]


def negative_pair_similarities(embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cosine similarities of the batch's negative pairs ``(i, j)``, ``i < j``, ``y_i ≠ y_j``."""
    normed = F.normalize(embeddings, dim=1)
    sims = normed @ normed.T
    negative = (labels[:, None] != labels[None, :]).triu(diagonal=1)
    return sims[negative]


def unpg_cross_entropy(margin_cosines: torch.Tensor, negative_sims: torch.Tensor,
                       labels: torch.Tensor, scale: float) -> torch.Tensor:
    """``CE(s·[cos_margin | S_n'], y)``: every sample's logits get the shared filtered negatives.

    ``margin_cosines`` [N, C] are the cosines to the class weights with the margin already applied
    to the target class (CLPG); ``negative_sims`` [K] are the filtered sample-sample negative
    similarities (MLPG), appended as K extra non-target "classes" to each row.
    """
    extra = negative_sims.to(margin_cosines.dtype)[None, :].expand(margin_cosines.shape[0], -1)
    logits = torch.cat([margin_cosines, extra], dim=1)
    return F.cross_entropy(scale * logits, labels)


class UNPG(nn.Module):
    """ArcFace/CosFace whose softmax also sees the batch's (filtered) negative pairs.

    Jung et al. *Unified Negative Pair Generation toward Well-discriminative Feature Space for
    Face Recognition.* arXiv:2203.11593 (2022). Classification-loss pair generation
    (CLPG) gives the negatives ``cos θ_j`` to the other classes' weights; metric-loss pair
    generation (MLPG) adds the sample-sample negative similarities ``S_n`` of the batch, filtered
    by a box-and-whisker rule (``S_n' = S_n ∩ [Q1 - w·IQR, Q3 + w·IQR]``, w = 1.5)::

        L = -log( e^{s ψ(θ_y)} / (e^{s ψ(θ_y)} + Σ_{j≠y} e^{s cos θ_j} + Σ_{t∈S_n'} e^{s t}) )

    with ψ(θ) = cos(θ + m) (ArcFace) or cos θ - m (CosFace), as the authors' heads compute them
    (github.com/Jung-Jun-Uk/UNPG at a6f9c173, ``recognition/models/head.py``: ``ArcFace.forward``
    adds m to ``acos`` of every target cosine, with no fallback past θ > π - m, unlike PML's
    ``ArcFaceLoss``; ``CosFace.forward`` subtracts m). PML's ``ArcFaceLoss``/``CosFaceLoss`` hold
    the class weights (this module's ``nn.Parameter``, PML's normal init; the authors draw them
    Xavier-uniform — both are random directions once normalised) and give the cosines; the
    filtered negatives and the joint softmax follow ``recognition/models/build.py``
    (``box_and_whisker_algorithm``, ``HeadAndLoss.forward``) and ``head.py``'s ``UNPG.forward``.
    Defaults s = 64, m = 0.5, w = 1.5 for both heads (the authors' ``recognition/data/
    head.zoo.yaml``, which ``recognition/train.py`` hands to ``HeadAndLoss`` for either head).
    """

    version = "1"
    objective = "embedding"
    suites = ("metric_learning",)
    paper = ("Jung et al. Unified Negative Pair Generation toward Well-discriminative Feature "
             "Space for Face Recognition. arXiv:2203.11593, 2022")
    head_name = "arcface"
    fidelity = "exact"

    def __init__(self, num_classes: int, embedding_size: int, margin: float, scale: float,
                 whisker: float):
        super().__init__()
        check_positive(margin=margin, scale=scale)
        if whisker < 0:
            raise ValueError(f"whisker must be >= 0, got {whisker}")
        self.margin, self.scale, self.whisker = margin, scale, whisker
        if self.head_name == "arcface":
            self.head = losses.ArcFaceLoss(num_classes=num_classes, embedding_size=embedding_size,
                                           margin=math.degrees(margin), scale=scale)
        else:
            self.head = losses.CosFaceLoss(num_classes=num_classes, embedding_size=embedding_size,
                                           margin=margin, scale=scale)

    def margin_cosines(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """[N, C] cosines to the class weights with the head's margin on each target class."""
        head = self.head
        head.cast_types(embeddings.dtype, embeddings.device)
        cosine = head.get_cosine(embeddings)
        mask = head.get_target_mask(embeddings, labels)
        target = cosine[mask == 1]
        if self.head_name == "arcface":
            # the authors' ArcFace head: cos(θ + m) at every angle (the clamp only guards acos)
            modified = torch.cos(torch.acos(target.clamp(-1.0, 1.0)) + self.margin)
        else:
            modified = head.modify_cosine_of_target_classes(target)
        shift = modified - target
        return cosine + mask * shift.unsqueeze(1)

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        negatives = box_and_whisker_filter(negative_pair_similarities(embeddings, labels),
                                           self.whisker)
        return unpg_cross_entropy(self.margin_cosines(embeddings, labels), negatives, labels,
                                  self.scale)


class UNPGArcFace(UNPG):
    """UNPG on ArcFace (additive angular margin): see :class:`UNPG`.

    Version 2: the target logit is the authors' ``cos(θ + m)`` at every angle (version 1 took
    PML's ``cos θ - m·sin m`` past θ > π - m).
    """

    version = "2"
    head_name = "arcface"
    hparams = {"margin": 0.5, "scale": 64.0, "whisker": 1.5}
    search_space = {"margin": {"low": 0.1, "high": 0.8}, "scale": {"low": 8.0, "high": 64.0,
                                                                   "log": True},
                    "whisker": {"low": 0.0, "high": 3.0}}

    def __init__(self, num_classes: int, embedding_size: int, margin: float = 0.5,
                 scale: float = 64.0, whisker: float = 1.5):
        super().__init__(num_classes, embedding_size, margin, scale, whisker)


class UNPGCosFace(UNPG):
    """UNPG on CosFace (additive cosine margin): see :class:`UNPG`.

    Version 2: m = 0.5, the authors' zoo (version 1 took the CosFace paper's 0.35, which the
    authors' UNPG training does not use).
    """

    version = "2"
    head_name = "cosface"
    hparams = {"margin": 0.5, "scale": 64.0, "whisker": 1.5}
    search_space = {"margin": {"low": 0.05, "high": 0.6}, "scale": {"low": 8.0, "high": 64.0,
                                                                    "log": True},
                    "whisker": {"low": 0.0, "high": 3.0}}
    fidelity = "exact"

    def __init__(self, num_classes: int, embedding_size: int, margin: float = 0.5,
                 scale: float = 64.0, whisker: float = 1.5):
        super().__init__(num_classes, embedding_size, margin, scale, whisker)

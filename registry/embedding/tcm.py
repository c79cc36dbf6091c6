"""Threshold-Consistent Margin (TCM) on top of a base metric loss (Zhang et al. 2023)."""

from __future__ import annotations

import torch
from pytorch_metric_learning import losses
from torch import nn

from .multi_similarity import MultiSimilarity
from .pml_adapter import check_choice
from .proxy_anchor import ProxyAnchor
from .supcon import SupCon

BASE_LOSSES = ("multi_similarity", "proxy_anchor", "supcon")


class ThresholdConsistentMargin(nn.Module):
    """A base metric loss plus the TCM term: ``L = L_base + L_TCM``.

    Zhang et al. *Threshold-Consistent Margin Loss for Open-World Deep Metric Learning.*
    arXiv:2307.04047 (2023). With ``S+`` and ``S-``
    the cosine similarities of the batch's positive and negative pairs::

        L_TCM = λ+ Σ_{s∈S+} (m+ - s)·1[s ≤ m+] / Σ_{s∈S+} 1[s ≤ m+]
              + λ- Σ_{s∈S-} (s - m-)·1[s ≥ m-] / Σ_{s∈S-} 1[s ≥ m-]

    (a term with an empty selection is 0): only hard positives (below ``m+``) and hard negatives
    (above ``m-``) are penalised, which evens out the intra/inter-class structure across classes
    and so the best acceptance threshold (measured by OPIS). As in the paper, TCM is a
    regularizer added to a base loss; ``base`` picks it (``multi_similarity`` with its miner,
    ``proxy_anchor`` or ``supcon``, each with its own defaults). The TCM term is PML's
    ``ThresholdConsistentMarginLoss`` on all pairs of the batch. Defaults λ± = 1, m+ = 0.9,
    m- = 0.5 (PML's, after the paper).
    """

    version = "2"
    objective = "embedding"
    suites = ("metric_learning",)
    paper = ("Zhang et al. Threshold-Consistent Margin Loss for Open-World Deep Metric Learning. "
             "arXiv:2307.04047, 2023")
    hparams = {"base": "multi_similarity", "lambda_plus": 1.0, "lambda_minus": 1.0,
               "margin_plus": 0.9, "margin_minus": 0.5}
    search_space = {
        "base": {"choices": list(BASE_LOSSES)},
        "lambda_plus": {"low": 0.0, "high": 2.0},
        "lambda_minus": {"low": 0.0, "high": 2.0},
        "margin_plus": {"low": 0.5, "high": 1.0},
        "margin_minus": {"low": 0.0, "high": 0.7},
    }
    fidelity = ("approximate: no code of the authors was found; the TCM term is PML's "
                "ThresholdConsistentMarginLoss with the paper's defaults, added to a base loss "
                "with lossbench's defaults (multi_similarity; the paper's base losses and their "
                "settings are its own; proxy_anchor as the base measured, docs/plugins.md)")

    def __init__(self, num_classes: int, embedding_size: int, base: str = "multi_similarity",
                 lambda_plus: float = 1.0, lambda_minus: float = 1.0, margin_plus: float = 0.9,
                 margin_minus: float = 0.5):
        super().__init__()
        check_choice("base", base, BASE_LOSSES)
        if lambda_plus < 0 or lambda_minus < 0:
            raise ValueError(f"lambda_plus and lambda_minus must be >= 0, got {lambda_plus}, "
                             f"{lambda_minus}")
        if base == "proxy_anchor":
            self.base = ProxyAnchor(num_classes=num_classes, embedding_size=embedding_size)
        elif base == "supcon":
            self.base = SupCon()
        else:
            self.base = MultiSimilarity()
        self.tcm = losses.ThresholdConsistentMarginLoss(
            lambda_plus=lambda_plus, lambda_minus=lambda_minus, margin_plus=margin_plus,
            margin_minus=margin_minus)

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.base(embeddings, labels) + self.tcm(embeddings, labels)

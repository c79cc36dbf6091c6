"""Cross-entropy: the baseline every entry is compared against."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class CrossEntropy(nn.Module):
    """Softmax cross-entropy, ``L = -Σ_c t_c log softmax(z)_c`` (``t`` one-hot or soft).

    Reference: the maximum-likelihood objective of multinomial logistic regression; see e.g.
    Goodfellow, Bengio & Courville, *Deep Learning* (2016), §6.2.2.3. Implemented with
    ``torch.nn.functional.cross_entropy`` (which also takes soft targets).
    """

    version = "1"
    paper = "Goodfellow, Bengio, Courville. Deep Learning. MIT Press 2016, §6.2.2.3"
    hparams: dict = {}
    search_space: dict = {}
    # No ``suites``: the baseline every suite compares against (metric_learning included).
    accepts_soft_targets = True

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits, targets)

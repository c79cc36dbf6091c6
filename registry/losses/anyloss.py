"""AnyLoss (Han, Moniz & Chawla 2024): confusion-matrix metrics as differentiable losses."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ._probs import upcast

METRICS = ("f1", "balanced_accuracy")
#: Added to denominators, as in the authors' code (``s = 1e-5``).
DENOM_EPS = 1e-5


def amplified_sigmoid(p: torch.Tensor, amplify: float) -> torch.Tensor:
    """``A(p) = 1 / (1 + exp(−L (p − 1/2)))``: pushes probabilities towards 0 or 1."""
    return torch.sigmoid(amplify * (p - 0.5))


def soft_confusion(y_true: torch.Tensor, y_hat: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per-column soft confusion-matrix counts (TP, FP, FN, TN, positives, negatives) of ``[N, K]``
    0/1 labels and predictions in [0, 1]."""
    tp = (y_true * y_hat).sum(0)
    pos = y_true.sum(0)
    neg = y_true.shape[0] - pos
    pred_pos = y_hat.sum(0)
    return {"tp": tp, "fp": pred_pos - tp, "fn": pos - tp, "tn": neg - (pred_pos - tp),
            "pos": pos, "neg": neg}


def anyloss(logits: torch.Tensor, targets: torch.Tensor, metric: str = "f1",
            amplify: float = 73.0) -> torch.Tensor:
    """``1 − metric`` of the amplified-sigmoid confusion matrix, macro-averaged one-vs-rest.

    Each class ``c`` is a binary problem with prediction ``σ(z_c)`` (the network's per-class
    sigmoid output, as in the binary paper); the metric is computed over the batch and averaged
    over the classes for which it is defined in this batch (F1: the class occurs; balanced
    accuracy: it occurs and is not the only class).
    """
    z = upcast(logits)
    y_true = F.one_hot(targets, z.shape[-1]).to(z.dtype)
    y_hat = amplified_sigmoid(torch.sigmoid(z), amplify)
    cm = soft_confusion(y_true, y_hat)
    if metric == "f1":
        score = 2 * cm["tp"] / (cm["pos"] + y_hat.sum(0) + DENOM_EPS)
        defined = cm["pos"] > 0
    elif metric == "balanced_accuracy":
        weighted = cm["neg"] * cm["tp"] + cm["pos"] * cm["tn"]
        score = weighted / (2 * cm["pos"] * cm["neg"] + DENOM_EPS)
        defined = (cm["pos"] > 0) & (cm["neg"] > 0)
    else:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
    weights = defined.float()
    loss = ((1 - score) * weights).sum() / weights.sum().clamp_min(1.0)
    return loss.to(logits.dtype)


class AnyLoss(nn.Module):
    """AnyLoss: ``L = 1 − M(confusion matrix of A(σ(z)))``, A the amplified sigmoid.

    Han, Moniz, Chawla. *AnyLoss: Transforming Classification Metrics into Loss Functions.*
    arXiv:2405.14745 (2024). The binary method approximates each prediction by
    ``A(p) = 1/(1 + e^{−L(p − 0.5)})`` (L = 73 in the authors' experiments) and builds the
    confusion matrix from sums over the batch: ``TP = Σ y A``, ``FN = Σ y (1−A)``,
    ``FP = Σ (1−y) A``, ``TN = Σ (1−y)(1−A)``;
    F1 = 2TP/(2TP + FP + FN), balanced accuracy = (TP/(TP+FN) + TN/(TN+FP))/2, each denominator
    plus ``s = 1e-5``: ``Any_Fbeta`` (β = 1) and ``Any_BAccu`` of the authors' code
    (github.com/doheonhan/anyloss_extension, ``README.md`` and ``AnyLoss_Code.ipynb`` at 0074373).
    The paper and that code are binary (one sigmoid output; the CIFAR-10-LT notebook keeps two
    classes) and name the multi-class case as future work; this entry is multi-class by
    one-vs-rest over per-class sigmoids — each class's term is the authors' binary loss on
    ``σ(z_c)`` and ``[y = c]`` —, macro-averaged over the classes present in the batch.
    One-vs-rest on softmax probabilities instead was measured and not taken (docs/plugins.md,
    "Entry fidelity: measured choices").
    With a large L the slope of A vanishes once σ(z) leaves a narrow band around 0.5, so a model
    whose outputs all collapse to A ≈ 0 (F1 = 0) gets no gradient back.
    """

    version = "1"
    paper = (
        "Han, Moniz, Chawla. AnyLoss: Transforming Classification Metrics into Loss Functions. "
        "arXiv:2405.14745, 2024"
    )
    hparams = {"metric": "f1", "amplify": 73.0}
    search_space = {"amplify": {"low": 2.0, "high": 100.0}}
    # The paper targets imbalanced data (binary metrics such as F1): long-tail suite.
    suites = ("standard", "imbalanced")
    fidelity = (
        "approximate: the paper and the authors' code (doheonhan/anyloss_extension at 0074373, "
        "every notebook) are binary; multi-class by one-vs-rest over per-class sigmoid outputs, "
        "the authors' binary loss per class, macro-averaged over the classes present in each "
        "batch (chosen over softmax probabilities by a measured comparison, docs/plugins.md)"
    )

    def __init__(self, metric: str = "f1", amplify: float = 73.0):
        super().__init__()
        if metric not in METRICS:
            raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
        if amplify <= 0:
            raise ValueError(f"amplify (L) must be > 0, got {amplify}")
        self.metric, self.amplify = metric, amplify

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return anyloss(logits, targets, self.metric, self.amplify)


class AnyLossBalancedAccuracy(AnyLoss):
    """AnyLoss with balanced accuracy: ``L = 1 − (TPR + TNR)/2`` of the amplified-sigmoid
    confusion matrix (Han, Moniz, Chawla, arXiv:2405.14745); one-vs-rest, macro-averaged.
    """

    hparams = {"metric": "balanced_accuracy", "amplify": 73.0}

    def __init__(self, metric: str = "balanced_accuracy", amplify: float = 73.0):
        super().__init__(metric, amplify)

"""Classification metrics on logits: accuracy (overall, balanced, per shot group), macro-F1, NLL,
Brier score."""

from __future__ import annotations

import torch
import torch.nn.functional as F

#: Shot-group thresholds on a class's number of training samples: many-shot > 100, medium-shot
#: 20..100 (inclusive), few-shot < 20 — the groups of Kang et al. 2020 ("Decoupling Representation
#: and Classifier for Long-Tailed Recognition", ICLR 2020, arXiv:1910.09217; ``utils.shot_acc`` in
#: github.com/facebookresearch/classifier-balancing). OLTR's released code (Liu et al. 2019,
#: arXiv:1904.05160, github.com/zhmiao/OpenLongTailRecognition-OLTR ``utils.shot_acc``), which
#: introduced the split, uses many ≥ 100 and few ≤ 20 instead, so classes with exactly 100 or 20
#: training samples fall in different groups there.
MANY_SHOT_ABOVE = 100
FEW_SHOT_BELOW = 20


def top1(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of samples whose arg-max logit equals the label."""
    return (logits.argmax(-1) == labels).double().mean().item()


def per_class_accuracy(logits: torch.Tensor, labels: torch.Tensor,
                       num_classes: int | None = None) -> torch.Tensor:
    """Recall of each class ``c``: ``mean_{i: y_i = c} 1[argmax z_i = c]`` (NaN for classes
    absent from ``labels``)."""
    num_classes = num_classes or logits.shape[-1]
    correct = (logits.argmax(-1) == labels).double()
    hits = torch.zeros(num_classes, dtype=torch.float64).index_add_(0, labels.cpu(), correct.cpu())
    counts = torch.bincount(labels.cpu(), minlength=num_classes).double()
    return hits / counts  # 0/0 -> NaN for classes absent from ``labels``


def balanced_accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """Mean per-class recall over the classes present in ``labels`` (sklearn's
    ``balanced_accuracy_score``)."""
    acc = per_class_accuracy(logits, labels)
    return acc[~acc.isnan()].mean().item()


def macro_f1(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """Unweighted mean over classes of ``F1_c = 2 TP_c / (2 TP_c + FP_c + FN_c)``, over the classes
    that occur in the labels or the predictions (sklearn's ``f1_score(average="macro")``)."""
    pred = logits.argmax(-1).cpu()
    labels = labels.cpu()
    c = logits.shape[-1]
    tp = torch.bincount(labels[pred == labels], minlength=c).double()
    n_pred = torch.bincount(pred, minlength=c).double()
    n_true = torch.bincount(labels, minlength=c).double()
    present = (n_pred + n_true) > 0
    denom = n_pred + n_true  # = 2TP + FP + FN
    f1 = torch.where(denom > 0, 2 * tp / denom.clamp_min(1), torch.zeros_like(tp))
    return f1[present].mean().item()


def shot_accuracies(logits: torch.Tensor, labels: torch.Tensor,
                    train_counts: torch.Tensor) -> dict[str, float]:
    """Mean per-class test accuracy over the many-, medium- and few-shot classes.

    Groups by ``train_counts`` (training samples per class): many > 100, medium 20..100, few < 20
    (:data:`MANY_SHOT_ABOVE`, :data:`FEW_SHOT_BELOW`; Kang et al. 2020's thresholds, not OLTR's
    ≥ 100 / ≤ 20). A group with no class is left out.
    """
    acc = per_class_accuracy(logits, labels, len(train_counts))
    counts = train_counts.cpu()
    groups = {
        "many_shot": counts > MANY_SHOT_ABOVE,
        "medium_shot": (counts >= FEW_SHOT_BELOW) & (counts <= MANY_SHOT_ABOVE),
        "few_shot": counts < FEW_SHOT_BELOW,
    }
    out = {}
    for name, mask in groups.items():
        vals = acc[mask & ~acc.isnan()]
        if len(vals):
            out[name] = vals.mean().item()
    return out


def nll(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """Mean negative log-likelihood ``-log softmax(z)_y`` (nats), computed in float64."""
    return F.cross_entropy(logits.double(), labels).item()


def brier(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """Brier score ``mean_i Σ_c (p_ic - 1[y_i = c])²`` (range 0..2)."""
    p = logits.double().softmax(-1)
    onehot = F.one_hot(labels, p.shape[-1]).double()
    return ((p - onehot) ** 2).sum(-1).mean().item()

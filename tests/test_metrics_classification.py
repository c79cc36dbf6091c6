"""Classification metrics against scikit-learn on the same predictions."""

from __future__ import annotations

import pytest
import torch
from sklearn.metrics import balanced_accuracy_score, f1_score

from lossbench.metrics import METRICS, classification


def _random_case(seed: int, n: int = 200, c: int = 7):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, c, generator=g), torch.randint(0, c, (n,), generator=g)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_balanced_accuracy_matches_sklearn(seed):
    logits, y = _random_case(seed)
    expected = balanced_accuracy_score(y.numpy(), logits.argmax(-1).numpy())
    assert classification.balanced_accuracy(logits, y) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_macro_f1_matches_sklearn(seed):
    logits, y = _random_case(seed)
    expected = f1_score(y.numpy(), logits.argmax(-1).numpy(), average="macro")
    assert classification.macro_f1(logits, y) == pytest.approx(expected, abs=1e-6)


def test_macro_f1_skips_classes_neither_true_nor_predicted():
    # class 2 never occurs: sklearn averages over the labels present in y_true ∪ y_pred.
    logits = torch.tensor([[5.0, 0, 0], [0, 5.0, 0], [5.0, 0, 0], [0, 5.0, 0]])
    y = torch.tensor([0, 1, 1, 1])
    expected = f1_score(y.numpy(), logits.argmax(-1).numpy(), average="macro")
    assert classification.macro_f1(logits, y) == pytest.approx(expected, abs=1e-12)


def test_shot_accuracies_group_classes_by_training_count():
    # classes with 500 (many), 100 (medium: <= 100), 20 (medium: >= 20), 19 (few) training samples
    counts = torch.tensor([500, 100, 20, 19])
    y = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])
    pred = torch.tensor([0, 0, 1, 0, 2, 2, 0, 0])
    logits = torch.nn.functional.one_hot(pred, 4).float()
    out = classification.shot_accuracies(logits, y, counts)
    assert out == pytest.approx({"many_shot": 1.0, "medium_shot": (0.5 + 1.0) / 2, "few_shot": 0.0})


def test_shot_accuracies_leave_out_empty_groups():
    logits = torch.eye(2)
    out = classification.shot_accuracies(logits, torch.tensor([0, 1]), torch.tensor([300, 200]))
    assert set(out) == {"many_shot"}


def test_every_metric_the_suites_report_is_declared():
    for name in ("balanced_accuracy", "macro_f1", "many_shot", "medium_shot", "few_shot",
                 "adaptive_ece", "smooth_ece", "aurc", "top1_best_val", "noisy_fit",
                 "near_auroc_msp", "p_at_1", "map_at_r", "r_precision", "nmi", "ami", "opis",
                 "shift_top1", "shift_ece"):
        assert name in METRICS, name

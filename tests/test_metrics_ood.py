"""OOD detection metrics against scikit-learn on the same scores."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

from lossbench.metrics import ood


def _scores(seed: int, ties: bool = False):
    gen = np.random.default_rng(seed)
    sid, sood = gen.normal(1.0, 1.0, 300), gen.normal(0.0, 1.0, 200)
    if ties:  # coarse scores: many ties within and across the two sets
        sid, sood = np.round(sid), np.round(sood)
    return torch.tensor(sid), torch.tensor(sood)


def _labels_and_scores(sid, sood):
    return (np.r_[np.ones(len(sid)), np.zeros(len(sood))], np.r_[sid.numpy(), sood.numpy()])


@pytest.mark.parametrize("ties", [False, True])
def test_auroc_matches_sklearn(ties):
    sid, sood = _scores(0, ties)
    expected = roc_auc_score(*_labels_and_scores(sid, sood))
    assert ood.auroc(sid, sood) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("ties", [False, True])
def test_aupr_matches_sklearn_average_precision(ties):
    sid, sood = _scores(1, ties)
    expected = average_precision_score(*_labels_and_scores(sid, sood))
    assert ood.aupr(sid, sood) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("ties", [False, True])
def test_fpr_at_95_tpr_matches_the_roc_curve(ties):
    sid, sood = _scores(2, ties)
    fpr, tpr, _ = roc_curve(*_labels_and_scores(sid, sood), drop_intermediate=False)
    expected = fpr[np.argmax(tpr >= 0.95)]  # first (lowest-FPR) point reaching 95 % TPR
    assert ood.fpr_at_tpr(sid, sood, 0.95) == pytest.approx(expected, abs=1e-6)


def test_scores_follow_their_formulas():
    z = torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.5, 0.5]])
    assert torch.allclose(ood.msp(z), z.double().softmax(-1).max(-1).values)
    assert torch.allclose(ood.max_logit(z), torch.tensor([2.0, 0.5], dtype=torch.float64))
    assert torch.allclose(ood.energy(z), z.double().exp().sum(-1).log())


def test_detection_metrics_names_every_score_and_metric():
    logits_id = torch.tensor([[5.0, 0.0], [4.0, 0.0], [3.0, 0.0]])
    logits_ood = torch.tensor([[0.1, 0.0], [0.2, 0.0]])
    out = ood.detection_metrics(logits_id, logits_ood, prefix="near_")
    assert len(out) == 9
    assert out["near_auroc_msp"] == 1.0 and out["near_fpr95_energy"] == 0.0

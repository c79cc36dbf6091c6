"""Calibration and selective-risk metrics against torchmetrics, relplot and brute force."""

from __future__ import annotations

import numpy as np
import pytest
import relplot
import torch
from torchmetrics.functional.classification import multiclass_calibration_error

from lossbench.metrics import calibration, selective


def _case(seed: int, n: int = 500, c: int = 10, scale: float = 2.0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, c, generator=g) * scale, torch.randint(0, c, (n,), generator=g)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ece_matches_torchmetrics(seed):
    logits, y = _case(seed)
    expected = multiclass_calibration_error(logits.softmax(-1), y, num_classes=10, n_bins=15,
                                            norm="l1").item()
    assert calibration.ece(logits, y) == pytest.approx(expected, abs=1e-6)


def test_ece_uses_guo_bins_which_differ_from_torchmetrics_on_edges_and_at_one():
    # Confidences 1.0 (wrong), 0.9 (right) and exactly 0.5 (right, on the edge of 2 bins).
    # Guo et al.'s bins (0, 1/2], (1/2, 1]: {0.5} and {1.0, 0.9}.
    # torchmetrics' [0, 1/2), [1/2, 1) plus a bin for 1.0 alone: {0.9, 0.5} and {1.0}.
    logits = torch.tensor([[1.0, 0.0, 0.0], [0.9, 0.05, 0.05], [2.0, 1.0, 1.0]],
                          dtype=torch.float64).log()
    y = torch.tensor([1, 0, 0])
    conf, _ = calibration.confidence_and_correct(logits, y)
    assert conf[0].item() == 1.0 and conf[2].item() == 0.5
    guo = (abs(1 - 0.5) + 2 * abs(0.5 - 0.95)) / 3
    assert calibration.ece(logits, y, n_bins=2) == pytest.approx(guo, abs=1e-6)
    probs = logits.double().softmax(-1)
    tm = multiclass_calibration_error(probs, y, num_classes=3, n_bins=2, norm="l1").item()
    assert tm == pytest.approx((2 * abs(1 - 0.7) + abs(0 - 1.0)) / 3, abs=1e-6)


def _adaptive_ece_reference(logits: torch.Tensor, y: torch.Tensor, n_bins: int) -> float:
    p = logits.double().softmax(-1).numpy()
    conf, correct = p.max(1), (p.argmax(1) == y.numpy()).astype(float)
    order = np.argsort(conf, kind="stable")
    total = 0.0
    for chunk in np.array_split(order, n_bins):
        total += len(chunk) / len(conf) * abs(correct[chunk].mean() - conf[chunk].mean())
    return total


@pytest.mark.parametrize("seed", [0, 1])
def test_adaptive_ece_matches_equal_mass_reference(seed):
    logits, y = _case(seed, n=503)
    assert calibration.adaptive_ece(logits, y) == pytest.approx(
        _adaptive_ece_reference(logits, y, 15), abs=1e-6)


def test_adaptive_ece_by_hand():
    # confidences 0.9, 0.8 (bin 1: both correct) and 0.7, 0.6 (bin 2: one correct); 2 bins.
    probs = torch.tensor([[0.9, 0.1], [0.8, 0.2], [0.7, 0.3], [0.6, 0.4]])
    y = torch.tensor([0, 0, 0, 1])
    expected = 0.5 * abs(1.0 - 0.85) + 0.5 * abs(0.5 - 0.65)
    assert calibration.adaptive_ece(probs.log(), y, n_bins=2) == pytest.approx(expected)


@pytest.mark.parametrize("seed,n,scale", [(0, 40, 1.0), (1, 600, 3.0), (2, 3000, 0.5)])
def test_smooth_ece_matches_relplot(seed, n, scale):
    logits, y = _case(seed, n=n, scale=scale)
    conf, correct = calibration.confidence_and_correct(logits, y)
    expected = relplot.smECE(conf.numpy(), correct.numpy())
    assert calibration.smooth_ece(logits, y) == pytest.approx(expected, abs=1e-6)


def test_smooth_ece_is_small_for_calibrated_predictions():
    gen = np.random.default_rng(0)
    conf = gen.uniform(0.5, 1.0, 20000)
    correct = gen.uniform(size=conf.shape) < conf  # P(correct | conf) = conf
    logits = torch.tensor(np.stack([np.log(conf), np.log(1 - conf)], 1))
    y = torch.tensor(np.where(correct, 0, 1))
    assert calibration.smooth_ece(logits, y) < 0.01


def _aurc_reference(logits: torch.Tensor, y: torch.Tensor) -> float:
    p = logits.double().softmax(-1).numpy()
    conf, err = p.max(1), (p.argmax(1) != y.numpy()).astype(float)
    order = np.argsort(-conf, kind="stable")
    return float(np.mean([err[order[:k]].mean() for k in range(1, len(conf) + 1)]))


@pytest.mark.parametrize("seed", [0, 1])
def test_aurc_matches_brute_force(seed):
    logits, y = _case(seed, n=300)
    assert selective.aurc(logits, y) == pytest.approx(_aurc_reference(logits, y), abs=1e-6)


def test_aurc_is_zero_when_errors_are_least_confident():
    logits = torch.tensor([[4.0, 0.0], [3.0, 0.0], [0.1, 0.0]])
    y = torch.tensor([0, 0, 1])  # only the least confident prediction is wrong
    assert selective.aurc(logits, y) == pytest.approx((0 + 0 + 1 / 3) / 3)

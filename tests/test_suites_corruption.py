"""Corruptions: exact long-tail counts, realised noise rates, flips along the pair map, and
determinism in the run seed."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lossbench.suites import imbalanced, noisy
from lossbench.suites.corruption import (
    MNIST_PAIR_MAP,
    apply_transition,
    long_tail_counts,
    long_tail_indices,
    pair_transition,
    symmetric_transition,
)
from lossbench.suites.splits import rng


def test_long_tail_counts_follow_the_exponential_profile():
    counts = long_tail_counts(350, 10, 100)
    expected = [int(np.floor(350 * 100 ** (-c / 9) + 1e-9)) for c in range(10)]
    assert counts.tolist() == expected
    assert counts[0] == 350 and counts[-1] == 3


@pytest.mark.parametrize("rho", [10, 100])
def test_long_tail_task_has_exactly_the_requested_counts(rho):
    data = imbalanced.mnist1d_long_tail(float(rho), 0)
    assert data.class_counts.tolist() == long_tail_counts(imbalanced.N_MAX, 10, rho).tolist()


def test_long_tail_test_set_is_balanced():
    data = imbalanced.mnist1d_long_tail(100.0, 0)
    assert torch.bincount(data.y_test).tolist() == [imbalanced.TEST_PER_CLASS] * 10


def test_long_tail_indices_refuse_more_than_available():
    with pytest.raises(ValueError, match="class 1 has 2 samples"):
        long_tail_indices(np.array([0, 0, 0, 1, 1]), np.array([3, 3]), rng(0))


@pytest.mark.parametrize("noise,rate", [("sym20", 0.2), ("sym50", 0.5), ("sym80", 0.8)])
def test_realised_symmetric_noise_is_within_1_5_points_of_target(noise, rate):
    data = noisy.mnist1d_noisy(noise, 0)
    realised = (data.y_train != data.extra["y_train_clean"]).double().mean().item()
    assert abs(realised - rate) <= 0.015
    assert data.extra["noise_rate"] == pytest.approx(realised)


def test_symmetric_noise_spreads_flips_over_all_other_classes():
    y = np.repeat(np.arange(10), 1000)
    noisy_y = apply_transition(y, symmetric_transition(10, 0.5), rng(0, "t"))
    flipped_from_0 = noisy_y[(y == 0) & (noisy_y != 0)]
    assert set(np.unique(flipped_from_0)) == set(range(1, 10))


def test_asymmetric_flips_follow_the_pair_map():
    data = noisy.mnist1d_noisy("asym40", 0)
    clean, labels = data.extra["y_train_clean"], data.y_train
    flipped = clean != labels
    for src, dst in zip(clean[flipped].tolist(), labels[flipped].tolist(), strict=True):
        assert MNIST_PAIR_MAP[src] == dst
    for src in MNIST_PAIR_MAP:
        in_src = clean == src
        assert flipped[in_src].double().mean().item() == pytest.approx(0.4, abs=0.005)
    untouched = ~torch.isin(clean, torch.tensor(list(MNIST_PAIR_MAP)))
    assert not flipped[untouched].any()


def test_pair_transition_rows_are_distributions():
    t = pair_transition(10, 0.4, MNIST_PAIR_MAP)
    assert np.allclose(t.sum(1), 1) and t[5, 6] == 0.4 and t[6, 5] == 0.4 and t[0, 0] == 1


def test_validation_labels_are_noisy_too():
    data = noisy.mnist1d_noisy("sym50", 0)
    clean_val = imbalanced.mnist1d_pool()["y"][
        np.sort(np.r_[noisy.stratified_holdout(imbalanced.mnist1d_pool()["y"], 0.1, 0)[1]])]
    realised = (data.y_val.numpy() != clean_val).mean()
    assert abs(realised - 0.5) <= 0.015


def test_test_labels_stay_clean():
    data = noisy.mnist1d_noisy("sym80", 0)
    assert torch.equal(data.y_test, torch.as_tensor(imbalanced.mnist1d_pool()["y_test"]))


@pytest.mark.parametrize("make", [
    lambda s: noisy.mnist1d_noisy("sym50", s),
    lambda s: noisy.mnist1d_noisy("asym40", s),
    lambda s: imbalanced.mnist1d_long_tail(100.0, s),
])
def test_same_seed_same_data_different_seed_different_corruption(make):
    a, b, c = make(0), make(0), make(1)
    for name in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test"):
        assert torch.equal(getattr(a, name), getattr(b, name))
    assert not (torch.equal(a.x_train, c.x_train) and torch.equal(a.y_train, c.y_train))

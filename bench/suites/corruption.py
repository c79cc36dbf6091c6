"""Seeded training-set corruptions: long-tail subsampling and label noise (pure functions).

Every function takes the randomness it needs as a ``numpy.random.Generator`` (from
:func:`bench.suites.splits.rng`), so a task's corruption is a deterministic function of the run
seed and of nothing else.
"""

from __future__ import annotations

import numpy as np

#: Class-pair flips of the "asymmetric" noise on MNIST-like digits (Patrini et al. 2017, "Making
#: Deep Neural Networks Robust to Label Noise: a Loss Correction Approach", arXiv:1609.03683):
#: 2 → 7, 3 → 8, 5 ↔ 6, 7 → 1. Classes not listed keep their label.
MNIST_PAIR_MAP: dict[int, int] = {2: 7, 3: 8, 5: 6, 6: 5, 7: 1}
#: The same for CIFAR-10: truck → automobile, bird → airplane, deer → horse, cat ↔ dog.
CIFAR10_PAIR_MAP: dict[int, int] = {9: 1, 2: 0, 4: 7, 3: 5, 5: 3}


def long_tail_counts(n_max: int, num_classes: int, rho: float) -> np.ndarray:
    """Exponential profile ``n_c = floor(n_max · ρ^(-c/(C-1)))`` for ``c = 0..C-1`` (Cui et al.
    2019, "Class-Balanced Loss Based on Effective Number of Samples", arXiv:1901.05555; the
    CIFAR-LT construction of Cao et al. 2019). Class 0 is the head, class C-1 the tail with
    ``n_max / ρ`` samples."""
    if rho < 1:
        raise ValueError(f"imbalance ratio rho must be >= 1, got {rho}")
    c = np.arange(num_classes)
    return np.floor(n_max * rho ** (-c / (num_classes - 1)) + 1e-9).astype(np.int64)


def long_tail_indices(y: np.ndarray, counts: np.ndarray, gen: np.random.Generator) -> np.ndarray:
    """Sorted indices of a random subset of ``y`` with exactly ``counts[c]`` samples of class c."""
    keep = []
    for c, k in enumerate(counts):
        idx = np.flatnonzero(y == c)
        if k > len(idx):
            raise ValueError(f"class {c} has {len(idx)} samples, fewer than the {k} requested")
        keep.append(gen.choice(idx, size=int(k), replace=False))
    return np.sort(np.concatenate(keep))


def symmetric_transition(num_classes: int, rate: float) -> np.ndarray:
    """``T = (1-ε) I + ε/(C-1) (11ᵀ - I)``: a label is flipped with probability ε to one of the
    other classes uniformly (the "symmetric" noise of van Rooyen et al. 2015 and Patrini et al.
    2017; the realised noise rate is ε, not ε·(C-1)/C as with the replace-by-random-label form)."""
    if not 0 <= rate < 1:
        raise ValueError(f"noise rate must be in [0, 1), got {rate}")
    t = np.full((num_classes, num_classes), rate / (num_classes - 1))
    np.fill_diagonal(t, 1 - rate)
    return t


def pair_transition(num_classes: int, rate: float, pairs: dict[int, int]) -> np.ndarray:
    """Class-dependent ("asymmetric") noise: class ``s`` flips to ``pairs[s]`` with probability ε,
    every other class is clean."""
    if not 0 <= rate < 1:
        raise ValueError(f"noise rate must be in [0, 1), got {rate}")
    t = np.eye(num_classes)
    for src, dst in pairs.items():
        t[src, src] = 1 - rate
        t[src, dst] = rate
    return t


def apply_transition(y: np.ndarray, transition: np.ndarray,
                     gen: np.random.Generator) -> np.ndarray:
    """Noisy labels drawn from the rows of ``transition`` with the flip counts fixed.

    For each class c exactly ``round(n_c · (1 - T[c, c]))`` of its samples (chosen at random) are
    flipped, each to a class drawn from ``T[c, ≠c]`` renormalised. This is the usual per-sample
    sampling from ``T`` conditioned on the expected number of flips, so the realised noise rate
    matches the nominal one up to rounding instead of up to sampling error.
    """
    noisy = y.copy()
    num_classes = transition.shape[0]
    for c in range(num_classes):
        idx = np.flatnonzero(y == c)
        flip_prob = 1 - transition[c, c]
        k = int(round(len(idx) * flip_prob))
        if k == 0:
            continue
        chosen = gen.choice(idx, size=k, replace=False)
        off = transition[c].copy()
        off[c] = 0
        noisy[chosen] = gen.choice(num_classes, size=k, p=off / off.sum())
    return noisy


def noisy_extra(y_clean: np.ndarray, y_noisy: np.ndarray, transition: np.ndarray) -> dict:
    """The ``TaskData.extra`` of a noisy-label task, what the noisy suite's metrics need: the clean
    training labels, the realised noise rate and the transition matrix."""
    import torch

    return {"y_train_clean": torch.as_tensor(y_clean, dtype=torch.long),
            "noise_rate": float(np.mean(y_clean != y_noisy)),
            "transition": torch.as_tensor(transition, dtype=torch.float64)}

"""Calibration metrics on logits: ECE with equal-width and equal-mass bins, smooth ECE.

All three measure the confidence calibration of the top label: confidence = maximum softmax
probability, outcome = whether the arg-max class is correct.
"""

from __future__ import annotations

import math

import numpy as np
import torch


def confidence_and_correct(logits: torch.Tensor,
                           labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Maximum softmax probability and the 0/1 correctness of the arg-max, in float64."""
    probs = logits.double().softmax(-1)
    conf, pred = probs.max(-1)
    return conf, (pred == labels).double()


def _binned_gap(conf: torch.Tensor, correct: torch.Tensor, bins: torch.Tensor,
                n_bins: int) -> float:
    n = len(conf)
    total = torch.zeros((), dtype=torch.float64)
    for b in range(n_bins):
        mask = bins == b
        if mask.any():
            total += mask.sum() / n * (correct[mask].mean() - conf[mask].mean()).abs()
    return total.item()


def ece(logits: torch.Tensor, labels: torch.Tensor, n_bins: int = 15) -> float:
    """Expected calibration error with ``n_bins`` equal-width confidence bins (L1 norm).

    ``ECE = Σ_b |B_b|/N · |acc(B_b) - conf(B_b)|`` with confidence = max softmax probability and
    bins ``I_m = ((m−1)/M, m/M]``, M = ``n_bins`` (Guo, Pleiss, Sun, Weinberger, "On Calibration
    of Modern Neural Networks", ICML 2017, arXiv:1706.04599, §2): a confidence on an edge ``m/M``
    goes to the bin below it, and confidence 1.0 to the last bin.

    This is *not* torchmetrics' binning: its ``CalibrationError`` (``_binning_bucketize``) uses
    ``bucketize(..., right=True) - 1``, i.e. bins ``[lo, hi)``, plus one extra bin that holds
    confidence exactly 1.0 alone. The two agree whenever no confidence lies exactly on an edge
    ``m/M`` and none equals 1.0; they differ when one does (tests/test_metrics_calibration.py checks
    both cases), e.g. for saturated outputs with confidence 1.0 (torchmetrics takes the
    probabilities it is given, often float32, where that happens at far smaller logit gaps than in
    this float64 computation).
    """
    conf, correct = confidence_and_correct(logits, labels)
    # bucketize with right=False puts conf == k/n into bin k-1, i.e. bins are (lo, hi].
    edges = torch.linspace(0, 1, n_bins + 1, dtype=torch.float64, device=conf.device)
    bins = (torch.bucketize(conf, edges[1:-1], right=False)).clamp(0, n_bins - 1)
    return _binned_gap(conf, correct, bins, n_bins)


def adaptive_ece(logits: torch.Tensor, labels: torch.Tensor, n_bins: int = 15) -> float:
    """ECE with ``n_bins`` equal-mass bins (Nixon et al. 2019, "Measuring Calibration in Deep
    Learning", arXiv:1904.01685, "adaptive calibration error" for the top label).

    Samples sorted by confidence are cut into ``n_bins`` contiguous groups whose sizes differ by at
    most one (``numpy.array_split``); ``ECE = Σ_b |B_b|/N · |acc(B_b) - conf(B_b)|``.
    """
    conf, correct = confidence_and_correct(logits, labels)
    order = torch.argsort(conf, stable=True)
    bins = torch.empty(len(conf), dtype=torch.long, device=conf.device)
    for b, chunk in enumerate(np.array_split(np.arange(len(conf)), n_bins)):
        bins[order[torch.as_tensor(chunk, dtype=torch.long, device=conf.device)]] = b
    return _binned_gap(conf, correct, bins, n_bins)


def _to_grid(x: np.ndarray, weights: np.ndarray, points: int) -> np.ndarray:
    """Linear binning: each weight split between the two nearest of ``points`` grid nodes on
    [0, 1]."""
    pos = x * (points - 1)
    left = pos.astype(int).clip(0, points - 2)
    frac = pos - left
    grid = np.zeros(points)
    np.add.at(grid, left, (1 - frac) * weights)
    np.add.at(grid, left + 1, frac * weights)
    return grid


def _reflected_gaussian_smooth(x: np.ndarray, weights: np.ndarray, sigma: float,
                               at: np.ndarray) -> np.ndarray:
    """``Σ_i w_i K_σ(t - x_i)`` at the points ``at`` for the Gaussian kernel reflected at 0 and 1,
    by convolving a linear binning of the weights on a grid of spacing ≤ σ/10 (the discretisation
    of Błasiok & Nakkiran's reference code), then interpolating linearly."""
    points = max(2000, round(20 / sigma)) // 2 + 1
    grid = _to_grid(x, weights, points)
    t = np.linspace(0, 1, points)
    kernel = np.exp(-((t - 0.5) ** 2) / (2 * sigma**2)) / (np.sqrt(2 * np.pi) * sigma)
    mirrored = np.concatenate([grid[::-1][:-1], grid, grid[::-1][1:]])
    smoothed = np.convolve(mirrored, kernel, "valid")[points // 2: points // 2 + points]
    idx = (at * (points - 1)).astype(int).clip(0, points - 2)
    frac = at * (points - 1) - idx
    return smoothed[idx] * (1 - frac) + smoothed[idx + 1] * frac


def smooth_ece_at(conf: np.ndarray, correct: np.ndarray, sigma: float) -> float:
    """smECE at bandwidth σ: kernel-smoothed residual ``r̂(t) = Σ K(t-f_i)(f_i-y_i) / Σ K(t-f_i)``,
    integrated against the smoothed density, ``∫|r̂| δ̂ / ∫ δ̂`` (on max(200, 10/σ) points)."""
    at = np.linspace(0, 1, max(round(10 / sigma), 200))
    residual = _reflected_gaussian_smooth(conf, conf - correct, sigma, at)
    density = _reflected_gaussian_smooth(conf, np.ones_like(conf), sigma, at) + 1e-4
    return float(np.sum(np.abs(residual / density) * density) / np.sum(density))


def smooth_ece(logits: torch.Tensor, labels: torch.Tensor, tol: float = 1e-3,
               steps: int = 10) -> float:
    """Smooth ECE (Błasiok & Nakkiran 2023, "Smooth ECE: Principled Reliability Diagrams via Kernel
    Smoothing", arXiv:2309.12236) of the top-label confidence.

    The residuals ``conf - correct`` are smoothed with a Gaussian kernel reflected at the ends of
    [0, 1]; the bandwidth is the fixed point ``σ* = smECE_σ*``, found by bisection over
    ``steps`` halvings of [0, 1] (σ below ``tol`` counts as the fixed point). Same algorithm and
    discretisation as the authors' ``relplot.smECE``, which the tests compare against; computed
    here so that every run need not import relplot (and with it matplotlib and scikit-learn).
    """
    conf, correct = confidence_and_correct(logits, labels)
    f, y = conf.cpu().numpy(), correct.cpu().numpy()

    def below_fixed_point(sigma: float) -> bool:
        return sigma < tol or sigma < smooth_ece_at(f, y, sigma)

    hi = 1.0
    if not below_fixed_point(hi):
        lo = 0.0
        for _ in range(steps):
            mid = (hi + lo) / 2
            if below_fixed_point(mid):
                lo = mid
            else:
                hi = mid
    return smooth_ece_at(f, y, hi)


RELIABILITY_BINS = 15


def reliability_metrics(logits: torch.Tensor, labels: torch.Tensor,
                        n_bins: int = RELIABILITY_BINS) -> dict[str, float]:
    """Per-bin reliability of top-label confidence, as run metrics.

    For bins ``(k/n, (k+1)/n]`` (the binning of :func:`lossbench.metrics.calibration.ece`):
    ``reliability/bin_kk/fraction`` (share of samples), ``…/confidence`` (mean max-softmax
    probability) and ``…/accuracy`` (share correct); empty bins get fraction 0 and NaN means.
    ``Σ_k fraction_k · |accuracy_k − confidence_k|`` is ECE-``n``.
    """
    conf, correct = confidence_and_correct(logits, labels)
    edges = torch.linspace(0, 1, n_bins + 1, dtype=torch.float64, device=conf.device)
    bins = torch.bucketize(conf, edges[1:-1], right=False).clamp(0, n_bins - 1)
    out = {}
    for k in range(n_bins):
        mask = bins == k
        count = int(mask.sum())
        prefix = f"reliability/bin_{k:02d}/"
        out[prefix + "fraction"] = count / len(conf)
        out[prefix + "confidence"] = conf[mask].mean().item() if count else math.nan
        out[prefix + "accuracy"] = correct[mask].mean().item() if count else math.nan
    return out

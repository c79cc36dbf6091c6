"""Temperature scaling: calibration after one scalar rescaling of the logits.

Guo, Pleiss, Sun & Weinberger, "On Calibration of Modern Neural Networks" (ICML 2017,
arXiv:1706.04599, §4.2): divide the logits by a single scalar ``T > 0`` chosen to minimise the
negative log-likelihood on a held-out validation split, then read the calibration metrics of
``softmax(z / T)`` on the test split. Dividing by ``T`` never changes the arg-max, so accuracy is
unchanged; the metrics show how much of a loss's miscalibration one scalar removes (Mukhoti et
al. 2020 report ECE before and after it). Losses whose logits are not meant as probabilities
(LDAM-DRW, spherical z-loss, LogitNorm) are compared fairly only after it.
"""

from __future__ import annotations

import math

import torch

from . import calibration, classification

#: The bracket of ``log T`` the fit searches: ``T ∈ [e^-5, e^5] ≈ [0.0067, 148]``.
LOG_T_BRACKET = (-5.0, 5.0)
#: Bisection halvings of the bracket: ``10 / 2^50 ≈ 9e-15`` in ``log T`` (float64 resolution).
BISECTION_STEPS = 50
#: The temperature-scaled metrics, each the metric of the same name without ``_ts``.
SCALED_METRICS = ("ece_ts", "adaptive_ece_ts", "nll_ts", "brier_ts")


def _nll_slope(z: torch.Tensor, y: torch.Tensor, beta: float) -> float:
    """``d/dβ mean_i −log softmax(β z_i)_{y_i} = mean_i Σ_c p_ic (z_ic − z_iy)`` with
    ``p_i = softmax(β z_i)``; written as a sum of ``p_c · (z_c − z_y)`` so that its sign is exact
    when the labelled logit is the largest of every row (every term ≤ 0)."""
    p = (beta * z).softmax(-1)
    return (p * (z - z.gather(1, y[:, None]))).sum(-1).mean().item()


def fit_temperature(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """The scalar ``T > 0`` minimising the mean NLL of ``softmax(logits / T)`` against ``labels``
    (Guo et al. 2017's temperature scaling; fit it on a validation split).

    Computed in float64 on the CPU. With ``β = 1/T`` the NLL ``mean_i [logsumexp(β z_i) − β
    z_iy]`` is convex in β (a log-sum-exp of a linear function minus a linear one), so its slope
    in β is non-decreasing and changes sign at most once: the minimiser is found by bisecting the
    sign of the exact slope over ``log T ∈`` :data:`LOG_T_BRACKET` (:data:`BISECTION_STEPS`
    halvings; deterministic, no step size, no starting point).

    Degenerate inputs: where the minimiser lies outside the bracket the fit returns the bracket's
    end. That happens when every sample's labelled logit is the strict maximum of its row (an
    all-correct split): the NLL then falls monotonically as ``T → 0`` and the fit returns
    ``e^-5``; likewise ``e^5`` where the NLL falls monotonically as ``T → ∞``. When every row is
    constant the softmax is uniform at every ``T`` and the fit returns 1.0.

    Raises :class:`ValueError` on mismatched or empty inputs and on non-finite logits.
    """
    z = logits.detach().to("cpu", torch.float64)
    y = labels.detach().to("cpu", torch.long)
    if z.ndim != 2 or y.ndim != 1 or len(z) != len(y) or len(y) == 0:
        raise ValueError(f"fit_temperature needs logits (N, C) and labels (N,) with N > 0; got "
                         f"logits {tuple(z.shape)} and labels {tuple(y.shape)}")
    bad = int((~torch.isfinite(z)).sum())
    if bad:
        raise ValueError(f"fit_temperature needs finite logits; got {bad} non-finite values")
    if bool((z.amax(-1) == z.amin(-1)).all()):
        return 1.0
    lo, hi = LOG_T_BRACKET
    # slope in β > 0: a smaller β (a larger T) lowers the NLL, the minimiser lies at larger log T
    if _nll_slope(z, y, math.exp(-lo)) <= 0:
        return math.exp(lo)
    if _nll_slope(z, y, math.exp(-hi)) >= 0:
        return math.exp(hi)
    for _ in range(BISECTION_STEPS):
        mid = (lo + hi) / 2
        if _nll_slope(z, y, math.exp(-mid)) > 0:
            lo = mid
        else:
            hi = mid
    return math.exp((lo + hi) / 2)


def scaled_calibration(logits: torch.Tensor, labels: torch.Tensor, temperature: float,
                       prefix: str = "") -> dict[str, float]:
    """ECE-15, adaptive ECE-15, NLL and Brier score of ``logits / temperature`` (float64), with
    the functions the raw metrics use (:mod:`bench.metrics.calibration`,
    :mod:`bench.metrics.classification`); keys :data:`SCALED_METRICS` prefixed by ``prefix``.
    A NaN temperature gives NaN metrics."""
    if math.isnan(temperature):
        return {f"{prefix}{name}": math.nan for name in SCALED_METRICS}
    scaled = logits.detach().double() / temperature
    values = {
        "ece_ts": calibration.ece(scaled, labels, n_bins=15),
        "adaptive_ece_ts": calibration.adaptive_ece(scaled, labels, n_bins=15),
        "nll_ts": classification.nll(scaled, labels),
        "brier_ts": classification.brier(scaled, labels),
    }
    return {f"{prefix}{name}": values[name] for name in SCALED_METRICS}


def temperature_scaled_metrics(val_logits: torch.Tensor, val_labels: torch.Tensor,
                               test_logits: torch.Tensor,
                               test_labels: torch.Tensor) -> dict[str, float]:
    """``temperature`` (:func:`fit_temperature` on the validation logits and labels) and the
    test split's ``ece_ts``, ``adaptive_ece_ts``, ``nll_ts``, ``brier_ts`` at that temperature
    (:func:`scaled_calibration`).

    Validation logits with a non-finite value (a run whose outputs overflowed) give NaN for all
    five rather than failing the run's other metrics."""
    if not bool(torch.isfinite(val_logits).all()):
        temperature = math.nan
    else:
        temperature = fit_temperature(val_logits, val_labels)
    return {"temperature": temperature,
            **scaled_calibration(test_logits, test_labels, temperature)}

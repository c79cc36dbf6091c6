"""Label-distributionally robust losses LDR-KL and adaptive ALDR-KL (Zhu, Ying & Yang 2023)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ._probs import target_mask, upcast

_PAPER = (
    "Zhu, Ying, Yang. Label Distributionally Robust Losses for Multi-class Classification: "
    "Consistency, Robustness and Adaptivity. ICML 2023, arXiv:2112.14869"
)
#: Floor of the normaliser ``mean_k |u_k|`` (all-zero scores give 0/0 otherwise; the authors' code
#: has no floor and returns NaN there).
NORM_FLOOR = 1e-12


def ldr_scores(logits: torch.Tensor, normalize: bool = True, softplus: bool = True) -> torch.Tensor:
    """Scores the LDR losses compare, in float32: ``u / mean_k |u_k|`` with ``u = softplus(z)``
    (``softplus=True``) or ``u = z``, as in the authors' code (the L1 norm over ``C``); the raw
    logits with ``normalize=False``."""
    z = upcast(logits)
    if not normalize:
        return z
    u = F.softplus(z) if softplus else z
    return u / u.abs().mean(-1, keepdim=True).clamp_min(NORM_FLOOR)


def margin_gaps(scores: torch.Tensor, targets: torch.Tensor, margin: float) -> torch.Tensor:
    """``δ·[k≠y] + s_k − s_y`` for every class ``k`` (0 at ``k = y``)."""
    s_y = scores.gather(-1, targets[:, None])
    gaps = scores - s_y + margin
    return gaps.masked_fill(target_mask(scores, targets), 0.0)


def ldr_kl_per_sample(scores: torch.Tensor, targets: torch.Tensor, margin: float,
                      lam: torch.Tensor | float) -> torch.Tensor:
    """``λ log((1/C) Σ_k exp(gap_k / λ))`` per sample (λ a scalar or an ``[N]`` tensor)."""
    lam_t = torch.as_tensor(lam, dtype=scores.dtype, device=scores.device)
    if lam_t.ndim == 1:
        lam_t = lam_t[:, None]
    gaps = margin_gaps(scores, targets, margin) / lam_t
    return lam_t.squeeze(-1) * (gaps.logsumexp(-1) - math.log(scores.shape[-1]))


def ldr_kl_loss(logits: torch.Tensor, targets: torch.Tensor, lam: float = 10.0,
                margin: float = 0.1, normalize: bool = True) -> torch.Tensor:
    """Mean LDR-KL loss: ``max_{p∈Δ} Σ_k p_k gap_k − λ KL(p ‖ 1/C) = λ log mean_k exp(gap_k/λ)``."""
    scores = ldr_scores(logits, normalize)
    return ldr_kl_per_sample(scores, targets, margin, lam).mean().to(logits.dtype)


class LDRKL(nn.Module):
    """LDR-KL: ``L = λ log((1/C) Σ_k exp((δ·[k≠y] + s_k − s_y)/λ))``.

    Zhu, Ying, Yang. *Label Distributionally Robust Losses for Multi-class Classification:
    Consistency, Robustness and Adaptivity.* ICML 2023, arXiv:2112.14869. The closed form of the
    worst case over label distributions p with a KL(p ‖ uniform) penalty of weight λ; the
    ``1/C`` inside the log (the KL's log C) is a constant shift that the issue's ``log Σ`` form
    omits. λ → 0 gives the Crammer–Singer hinge ``max_k gap_k``; λ → ∞ the average ``mean_k gap_k``;
    δ = 0, λ = 1 on raw logits is cross-entropy − log C.

    Exact transcription of ``LDRLoss_V1`` in the authors' code (github.com/Optimization-AI/
    ICML2023_LDR at 732fc85, ``loss.py``): the scores are ``s = softplus(z) / mean_k softplus(z_k)``
    (``normalize=True``; ``normalize=False`` compares the raw logits, outside the code).
    Defaults are the settings the code's README commands run (``experiment.py``): δ = 0.1
    (``--margin``'s default) and λ = 10 (the one value left in its ``parameter_set`` for LDR; the
    commented grid ``[0.1, 1.0, 10]`` is the paper's tuning range). ``LDRLoss_V1``'s own keyword
    defaults (δ = 2, λ = 1) are not used by any of the code's commands.
    """

    version = "2"
    paper = _PAPER
    hparams = {"lam": 10.0, "margin": 0.1, "normalize": True}
    search_space = {
        "lam": {"low": 0.1, "high": 10.0, "log": True},
        "margin": {"low": 0.0, "high": 2.0},
    }
    # Evaluated under six label-noise settings and clean data: label noise.
    suites = ("standard", "noisy")
    fidelity = "exact"

    def __init__(self, lam: float = 10.0, margin: float = 0.1, normalize: bool = True):
        super().__init__()
        if lam <= 0:
            raise ValueError(f"lam (λ) must be > 0, got {lam}")
        if margin < 0:
            raise ValueError(f"margin (δ) must be >= 0, got {margin}")
        self.lam, self.margin, self.normalize = lam, margin, bool(normalize)

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return ldr_kl_loss(logits, targets, self.lam, self.margin, self.normalize)


def adaptive_lambda(scores: torch.Tensor, lam_prev: torch.Tensor, lam0: float,
                    alpha: float) -> torch.Tensor:
    """ALDR-KL's per-instance temperature ``λ_i = λ₀ (1 − KL(p_i ‖ 1/C) / (α log C))`` with
    ``p_i = softmax(s_i / λ_i^prev)`` (smoothed by 1e-5 as in the reference code); no gradient."""
    with torch.no_grad():
        num_classes = scores.shape[-1]
        p = (scores / lam_prev[:, None]).softmax(-1) + 1e-5
        p = p / p.sum(-1, keepdim=True)
        kl = (p * (p * num_classes).log()).sum(-1)
        return lam0 * (1 - kl / (alpha * math.log(num_classes)))


class ALDRKL(nn.Module):
    """Adaptive LDR-KL (ALDR-KL): LDR-KL with an instance-level temperature ``λ_i`` adapted to how
    uncertain the label of sample ``i`` looks.

    Zhu, Ying, Yang, ICML 2023, arXiv:2112.14869, §5 (ALDR-KL, Algorithm 1). Exact transcription of
    ``ALDRLoss_V1`` in the authors' code (github.com/Optimization-AI/ICML2023_LDR at 732fc85,
    ``loss.py``): the scores are ``s = u / mean_k |u_k|`` (the L1 norm over ``C``) with ``u = z``,
    or ``u = softplus(z)`` with ``softplus=True`` (the code's CIFAR-100 setting); each visit of
    sample ``i`` sets ``λ_i = λ₀ (1 − KL(p_i ‖ 1/C)/(α log C))`` with ``p_i = softmax(s_i /
    λ_i^prev)`` (smoothed by 1e-5), stores it (a buffer of ``num_train`` temperatures indexed by
    ``index``, all starting at λ₀), and returns ``λ_i log mean_k exp(gap_k/λ_i) − (α log C / 2λ₀)
    (λ_i − λ₀)²``. λ_i carries no gradient, so the last term only shifts the value. Without
    ``index``/``num_train`` (e.g. a unit test) every sample starts from ``λ_i^prev = λ₀``.
    Defaults are the settings of the code's README commands (``experiment.py``,
    ``run_demo_ALDR.sh``): λ₀ = 10 (the one value left in its ``parameter_set``), α = 2, δ = 0.1,
    no softplus (every data set but CIFAR-100). α > 1 keeps ``λ_i ≥ λ₀(1 − 1/α) > 0`` (the
    class's keyword default α = 1, used by none of the commands, lets λ_i reach 0).
    """

    version = "2"
    paper = _PAPER
    hparams = {"lam0": 10.0, "alpha": 2.0, "margin": 0.1, "softplus": False}
    search_space = {
        "lam0": {"low": 0.1, "high": 10.0, "log": True},
        "alpha": {"low": 1.1, "high": 10.0, "log": True},
        "margin": {"low": 0.0, "high": 2.0},
    }
    # Its adaptive temperature targets per-instance label noise: label noise.
    suites = ("standard", "noisy")
    fidelity = "exact"

    def __init__(self, lam0: float = 10.0, alpha: float = 2.0, margin: float = 0.1,
                 softplus: bool = False, num_train: int | None = None):
        super().__init__()
        if lam0 <= 0:
            raise ValueError(f"lam0 (λ₀) must be > 0, got {lam0}")
        if alpha <= 1:
            raise ValueError(f"alpha must be > 1 (keeps every λ_i > 0), got {alpha}")
        if margin < 0:
            raise ValueError(f"margin (δ) must be >= 0, got {margin}")
        self.lam0, self.alpha, self.margin, self.softplus = lam0, alpha, margin, bool(softplus)
        size = int(num_train) if num_train else 0
        self.register_buffer("lambdas", torch.full((size,), float(lam0)), persistent=False)

    def forward(self, logits: torch.Tensor, targets: torch.Tensor,
                index: torch.Tensor | None = None) -> torch.Tensor:
        scores = ldr_scores(logits, softplus=self.softplus)
        memory = index is not None and self.lambdas.numel() > 0
        if memory:
            if self.lambdas.device != scores.device:
                self.lambdas = self.lambdas.to(scores.device)
            lam_prev = self.lambdas[index]
        else:
            lam_prev = torch.full((scores.shape[0],), self.lam0, device=scores.device)
        lam = adaptive_lambda(scores, lam_prev, self.lam0, self.alpha)
        if memory:
            self.lambdas[index] = lam.to(self.lambdas.dtype)
        log_c = math.log(scores.shape[-1])
        penalty = 0.5 * self.alpha * log_c / self.lam0 * (lam - self.lam0).square()
        per_sample = ldr_kl_per_sample(scores, targets, self.margin, lam) - penalty
        return per_sample.mean().to(logits.dtype)

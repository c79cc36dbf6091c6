"""Comp-sum losses (Mao, Mohri & Zhong 2023): GCE, MAE and the sum-exponential loss.

The comp-sum family composes a function Φ^τ with the sum of exponentiated logit differences
``u = Σ_{y'≠y} exp(z_{y'} − z_y) = 1/p_y − 1``:

    Φ^τ(u) = u                                  τ = 0   (sum-exponential)
             log(1 + u)                         τ = 1   (cross-entropy / logistic)
             ((1 + u)^(1−τ) − 1) / (1 − τ)      τ ∈ (0,1) ∪ (1,2)
             1 − 1/(1 + u)                      τ = 2   (mean absolute error)

With ``1 + u = 1/p_y`` the τ ∈ (1, 2) members are ``(1 − p_y^q)/q`` for ``q = τ − 1``: the
generalized cross-entropy of Zhang & Sabuncu (2018); τ = 2 is ``1 − p_y``. Each function below
computes its member from ``log_softmax`` in float32, so that it stays finite for extreme logits.
"""

from __future__ import annotations

import torch
from torch import nn

from ._probs import target_log_prob, target_mask, upcast

_PAPER = (
    "Mao, Mohri, Zhong. Cross-Entropy Loss Functions: Theoretical Analysis and Applications. "
    "ICML 2023, arXiv:2304.07288"
)
#: Above this log-margin the sum-exponential loss continues linearly (value and slope of exp
#: match at the cap), so that loss and gradient stay finite in float32 (exp(30) ≈ 1e13).
SUM_EXP_LOG_CAP = 30.0


def gce_loss(logits: torch.Tensor, targets: torch.Tensor, q: float = 0.7) -> torch.Tensor:
    """Mean of ``(1 − p_y^q)/q`` (comp-sum τ = 1 + q); q → 0 gives CE, q = 1 gives MAE."""
    p_q = (q * target_log_prob(logits, targets)).exp()
    return ((1 - p_q) / q).mean().to(logits.dtype)


def mae_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean of ``1 − p_y`` (comp-sum τ = 2)."""
    return (1 - target_log_prob(logits, targets).exp()).mean().to(logits.dtype)


def sum_exp_loss(logits: torch.Tensor, targets: torch.Tensor,
                 log_cap: float = SUM_EXP_LOG_CAP) -> torch.Tensor:
    """Mean of ``Σ_{y'≠y} exp(z_{y'} − z_y)`` (comp-sum τ = 0).

    Computed as ``exp(s)`` with ``s = logsumexp_{y'≠y}(z_{y'} − z_y)``; for ``s > log_cap`` the
    exponential is continued by its tangent, ``exp(cap)·(1 + s − cap)``.
    """
    z = upcast(logits)
    is_target = target_mask(z, targets)
    z_y = z.gather(-1, targets[:, None]).squeeze(-1)
    s = z.masked_fill(is_target, float("-inf")).logsumexp(-1) - z_y
    capped = s.clamp_max(log_cap)
    value = capped.exp() * (1 + (s - capped))
    return value.mean().to(logits.dtype)


class GCE(nn.Module):
    """Generalized cross-entropy, ``L = (1 − p_y^q)/q`` — the comp-sum member τ = 1 + q.

    Zhang & Sabuncu. *Generalized Cross Entropy Loss for Training Deep Neural Networks with Noisy
    Labels.* NeurIPS 2018, arXiv:1805.07836 (q = 0.7, their default); analysed as a comp-sum loss by
    Mao, Mohri & Zhong, ICML 2023, arXiv:2304.07288. The untruncated form (no L_trunc threshold).
    """

    version = "1"
    paper = "Zhang, Sabuncu. Generalized Cross Entropy Loss. NeurIPS 2018, arXiv:1805.07836; " \
        + _PAPER
    hparams = {"q": 0.7}
    search_space = {"q": {"low": 0.05, "high": 1.0}}
    # Zhang & Sabuncu evaluate GCE under synthetic label noise (and clean, 0 %).
    suites = ("standard", "noisy")

    def __init__(self, q: float = 0.7):
        super().__init__()
        if not 0.0 < q <= 1.0:
            raise ValueError(f"q must be in (0, 1], got {q}")
        self.q = q

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return gce_loss(logits, targets, self.q)


class MAE(nn.Module):
    """Mean absolute error of the softmax, comp-sum normalisation: ``L = 1 − p_y`` (τ = 2).

    Mao, Mohri & Zhong, ICML 2023, arXiv:2304.07288 (Φ²(u) = 1 − 1/(1 + u)). Ghosh, Kumar & Sastry
    (AAAI 2017) write MAE as ``‖e_y − p‖₁ = 2(1 − p_y)``: the same loss up to a factor 2.
    """

    version = "1"
    paper = _PAPER
    hparams: dict = {}
    search_space: dict = {}
    # MAE is the noise-robust member of the comp-sum family (Ghosh et al. 2017): label noise.
    suites = ("standard", "noisy")

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return mae_loss(logits, targets)


class SumExp(nn.Module):
    """Sum-exponential loss, ``L = Σ_{y'≠y} exp(z_{y'} − z_y)`` (comp-sum τ = 0).

    Mao, Mohri & Zhong, ICML 2023, arXiv:2304.07288 (the multi-class exponential loss of
    AdaBoost.MR-style boosting). Exact up to a log-margin of 30; beyond it the exponential is
    continued linearly so that float32 values and gradients stay finite (see the card's fidelity).
    No code of the authors was found (searched: the paper's pages, public GitHub code citing
    arXiv:2304.07288 or implementing comp-sum losses). The continuation never acted on
    ``standard/mnist1d`` or ``noisy/mnist1d-sym50``, seeds 0-4: the plain exponential gave
    bit-identical metrics (docs/plugins.md, "Entry fidelity: measured choices").
    """

    version = "2"
    paper = _PAPER
    hparams: dict = {}
    search_space: dict = {}
    # Comp-sum τ = 0, the non-robust end of the GCE/MAE family, compared with them: label noise.
    suites = ("standard", "noisy")
    fidelity = (
        "approximate: exact while logsumexp_{y'≠y}(z_y' − z_y) ≤ 30; beyond that exp is continued "
        "by its tangent so that loss and gradients stay finite in float32 (no authors' code "
        "found; on standard/mnist1d and noisy/mnist1d-sym50 the plain exp gives identical runs: "
        "docs/plugins.md)"
    )

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return sum_exp_loss(logits, targets)

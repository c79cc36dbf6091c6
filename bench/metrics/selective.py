"""Selective classification: the risk-coverage trade-off of abstaining on low-confidence inputs."""

from __future__ import annotations

import torch


def aurc(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """Area under the risk-coverage curve with the maximum softmax probability as confidence
    (Geifman, Uziel & El-Yaniv 2019, "Bias-Reduced Uncertainty Estimation for Deep Neural
    Classifiers", arXiv:1805.08206).

    Samples are accepted in order of decreasing confidence; after accepting the first ``k`` the
    selective risk is the error rate among them. ``AURC = (1/N) Σ_{k=1..N} risk(k)`` (lower is
    better; the mean selective risk over all coverages k/N). Ties in confidence are broken by
    sample order (stable sort).
    """
    probs = logits.double().softmax(-1)
    conf, pred = probs.max(-1)
    errors = (pred != labels).double()
    order = torch.argsort(-conf, stable=True)
    cum_err = torch.cumsum(errors[order], 0)
    k = torch.arange(1, len(conf) + 1, dtype=torch.float64, device=conf.device)
    return (cum_err / k).mean().item()

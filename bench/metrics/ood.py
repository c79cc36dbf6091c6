"""Out-of-distribution detection: scores from logits and threshold-free detection metrics.

Convention: a *score* is higher for inputs the model believes in-distribution (ID), and the metrics
treat ID as the positive class (the convention of Hendrycks & Gimpel 2017 and OpenOOD v1.5 for AUROC
and FPR@95TPR; AUPR-In). Ties count one half in AUROC, as in the Mann-Whitney statistic.

Which OpenOOD: FPR@95TPR with ID as positive (the OOD share accepted at 95 % ID recall) matches
OpenOOD up to its ``v1.5`` tag (2023-06-26). OpenOOD's main branch switched to OOD as positive on
2023-08-10 (commit 873e8c2, "fix ood eval (ood as pos)", ``openood/evaluators/metrics.py``): its
FPR@95 is now the ID share accepted as OOD at 95 % OOD recall, a different number, and the AP it
calls AUPR-In has OOD as positive (our AUPR-In, ID positive, is its AUPR-Out). AUROC is the same
under either convention.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy.stats import rankdata


def msp(logits: torch.Tensor) -> torch.Tensor:
    """Maximum softmax probability ``max_c softmax(z)_c`` (Hendrycks & Gimpel 2017,
    arXiv:1610.02136)."""
    return logits.double().softmax(-1).max(-1).values


def max_logit(logits: torch.Tensor) -> torch.Tensor:
    """Maximum logit ``max_c z_c`` (Hendrycks et al. 2022, "Scaling Out-of-Distribution Detection
    for Real-World Settings", arXiv:1911.11132)."""
    return logits.double().max(-1).values


def energy(logits: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """Negative free energy ``T · logsumexp(z / T)`` (Liu et al. 2020, "Energy-based
    Out-of-distribution Detection", arXiv:2010.03759), with T = 1 as in the paper."""
    return temperature * torch.logsumexp(logits.double() / temperature, -1)


SCORES = {"msp": msp, "max_logit": max_logit, "energy": energy}


def _np(x: torch.Tensor | np.ndarray) -> np.ndarray:
    return x.detach().cpu().double().numpy() if torch.is_tensor(x) else np.asarray(x, float)


def auroc(score_id: torch.Tensor, score_ood: torch.Tensor) -> float:
    """Area under the ROC curve of separating ID (positive) from OOD by the score:
    ``P(s_id > s_ood) + ½ P(s_id = s_ood)`` (Mann-Whitney U / (n_id · n_ood))."""
    sid, sood = _np(score_id), _np(score_ood)
    ranks = rankdata(np.concatenate([sid, sood]))  # average ranks for ties
    n, m = len(sid), len(sood)
    return float((ranks[:n].sum() - n * (n + 1) / 2) / (n * m))


def aupr(score_pos: torch.Tensor, score_neg: torch.Tensor) -> float:
    """Average precision with ``score_pos`` as positives: ``Σ_k (R_k - R_{k-1}) P_k`` over the
    distinct thresholds in decreasing order (the step-wise AP of sklearn's
    ``average_precision_score``). AUPR-In: ``aupr(s_id, s_ood)``; AUPR-Out:
    ``aupr(-s_ood, -s_id)``."""
    sp, sn = _np(score_pos), _np(score_neg)
    scores = np.concatenate([sp, sn])
    is_pos = np.concatenate([np.ones(len(sp)), np.zeros(len(sn))])
    order = np.argsort(-scores, kind="stable")
    scores, is_pos = scores[order], is_pos[order]
    last_of_group = np.r_[np.flatnonzero(np.diff(scores) != 0), len(scores) - 1]
    tp = np.cumsum(is_pos)[last_of_group]
    fp = (last_of_group + 1) - tp
    precision = tp / (tp + fp)
    recall = tp / len(sp)
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def fpr_at_tpr(score_id: torch.Tensor, score_ood: torch.Tensor, tpr: float = 0.95) -> float:
    """False-positive rate at ``tpr`` true-positive rate: the fraction of OOD samples scoring at
    least τ, where τ is the highest threshold that still accepts ``tpr`` of the ID samples
    (τ = the ⌈tpr · n_id⌉-th largest ID score)."""
    sid, sood = np.sort(_np(score_id))[::-1], _np(score_ood)
    k = max(1, math.ceil(tpr * len(sid) - 1e-9))
    tau = sid[k - 1]
    return float(np.mean(sood >= tau))


def detection_metrics(logits_id: torch.Tensor, logits_ood: torch.Tensor,
                      prefix: str = "") -> dict[str, float]:
    """AUROC, AUPR-In and FPR@95TPR of every score in :data:`SCORES`, named
    ``{prefix}{metric}_{score}`` (e.g. ``near_auroc_msp``)."""
    out = {}
    for name, fn in SCORES.items():
        sid, sood = fn(logits_id), fn(logits_ood)
        out[f"{prefix}auroc_{name}"] = auroc(sid, sood)
        out[f"{prefix}aupr_{name}"] = aupr(sid, sood)
        out[f"{prefix}fpr95_{name}"] = fpr_at_tpr(sid, sood, 0.95)
    return out

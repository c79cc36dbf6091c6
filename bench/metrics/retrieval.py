"""Retrieval and clustering metrics on embeddings (deep metric learning).

Embeddings are L2-normalised first, so nearest neighbours under the Euclidean distance are the
neighbours under cosine similarity (the protocol of Musgrave et al. 2020, "A Metric Learning
Reality Check", arXiv:2003.08505). Every sample queries all the others (leave-one-out).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

#: PML's ``AccuracyCalculator`` names of the metrics :func:`retrieval_metrics` reports, and ours.
PML_METRICS = {
    "precision_at_1": "p_at_1",
    "mean_average_precision_at_r": "map_at_r",
    "r_precision": "r_precision",
}


def retrieval_metrics(embeddings: torch.Tensor, labels: torch.Tensor,
                      chunk: int = 1024) -> dict[str, float]:
    """Precision@1, MAP@R and R-precision by exact leave-one-out k-NN in torch (the definitions
    of ``pytorch_metric_learning``'s ``AccuracyCalculator`` with ``k = "max_bin_count"``, which
    the tests compare against).

    For a query with R other samples of its class and its nearest neighbours ``n_1..n_R`` (by
    cosine similarity of the normalised embeddings, itself excluded): P@1 = ``1[y(n_1) = y]``,
    R-precision = ``(1/R) Σ_{i≤R} 1[y(n_i) = y]``, MAP@R = ``(1/R) Σ_{i≤R} P(i) · 1[y(n_i) =
    y]`` with ``P(i)`` the precision of the first i; each averaged over the queries that have
    R ≥ 1 (a query alone in its class has nothing to retrieve; 0 when every query is alone).
    Similarities are float64 and taken ``chunk`` queries at a time, so memory stays
    ``chunk × N``.
    """
    emb = F.normalize(embeddings.detach().double().cpu(), dim=-1)
    y = labels.detach().cpu().long()
    n = len(y)
    _, inverse, counts = torch.unique(y, return_inverse=True, return_counts=True)
    r = counts[inverse] - 1  # same-class samples other than the query itself
    k = int(r.max()) if n else 0
    if k == 0:
        return dict.fromkeys(PML_METRICS.values(), 0.0)
    p1, rp, mapr = (torch.zeros(n, dtype=torch.float64) for _ in range(3))
    ranks = torch.arange(1, k + 1, dtype=torch.float64)
    for start in range(0, n, chunk):
        rows = torch.arange(start, min(start + chunk, n))
        sim = emb[rows] @ emb.T
        sim[torch.arange(len(rows)), rows] = -math.inf  # leave the query out
        neighbours = sim.topk(k, dim=1).indices
        hit = (y[neighbours] == y[rows, None]).double()  # [queries, k]
        within = ranks[None, :] <= r[rows, None]  # only the first R neighbours count
        hit_r = hit * within
        rr = r[rows].clamp_min(1).double()
        p1[rows] = hit[:, 0]
        rp[rows] = hit_r.sum(1) / rr
        mapr[rows] = (hit_r.cumsum(1) / ranks * hit_r).sum(1) / rr
    queries = r > 0
    return {"p_at_1": float(p1[queries].mean()), "map_at_r": float(mapr[queries].mean()),
            "r_precision": float(rp[queries].mean())}


def cluster_metrics(embeddings: torch.Tensor, labels: torch.Tensor,
                    seed: int = 0) -> dict[str, float]:
    """NMI and AMI between the labels and k-means clusters (k = number of classes) of the
    normalised embeddings (scikit-learn ``KMeans``, 10 seeded restarts, one OpenMP thread)."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_mutual_info_score, normalized_mutual_info_score
    from threadpoolctl import threadpool_limits

    emb = F.normalize(embeddings.detach().double().cpu(), dim=-1).numpy()
    y = labels.cpu().numpy()
    k = len(np.unique(y))
    # one OpenMP thread: the clusters then do not depend on the scoring machine's core count
    # (scikit-learn sums the threads' partial centres), and on these sizes one thread is about
    # twice as fast as two, in half the CPU time
    with threadpool_limits(limits=1, user_api="openmp"):
        clusters = KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(emb)
    return {"nmi": float(normalized_mutual_info_score(y, clusters)),
            "ami": float(adjusted_mutual_info_score(y, clusters))}


def opis(embeddings: torch.Tensor, labels: torch.Tensor,
         far_range: tuple[float, float] = (1e-3, 1e-1), num_thresholds: int = 100) -> float:
    """Operating-Point-Inconsistency Score (Zhang et al. 2024, "Threshold-Consistent Margin Loss for
    Open-World Deep Metric Learning", ICLR, arXiv:2307.04047): the variance across classes of the
    utility of a shared similarity threshold, over a calibration range of thresholds.

    Pairs are accepted when their cosine similarity is ``>= d``. For class ``i``, ``TAR_i(d)``
    is the accepted fraction of its positive pairs (both samples in ``i``) and ``FAR_i(d)`` the
    accepted fraction of its negative pairs (exactly one sample in ``i``); ``TAR(d)``, ``FAR(d)``
    are the same over all pairs. The utility is the harmonic mean of the true-accept and
    true-reject rates, ``U = 2·TAR·(1-FAR) / (TAR + 1 - FAR)``, and

        OPIS = (1/T) Σ_i (1/(d_max - d_min)) ∫_{d_min}^{d_max} (U_i(d) - U(d))² dd,

    the integral taken as the mean over ``num_thresholds`` equally spaced thresholds between the
    thresholds where the overall FAR equals ``far_range[1]`` and ``far_range[0]`` (the
    calibration range). Lower is more threshold-consistent. Classes with fewer than two samples
    have no positive pair and are skipped.

    Fidelity: approximate. The paper's definition of OPIS (class-wise variance of a utility over
    a FAR-defined calibration range) is followed; its choice of utility and range could not be
    checked against the authors' code, so the utility (harmonic mean of TAR and TRR) and the
    default range are this implementation's.
    """
    emb = F.normalize(embeddings.detach().double().cpu(), dim=-1)
    y = labels.cpu()
    sim = emb @ emb.T
    n = len(y)
    upper = torch.ones(n, n, dtype=torch.bool).triu_(diagonal=1)
    positive = upper & (y[:, None] == y[None, :])  # each pair once: row index < column index
    negative = upper ^ positive
    neg_all = sim[negative]
    if not positive.any() or len(neg_all) == 0:
        raise ValueError("OPIS needs at least one positive and one negative pair")
    lo_far, hi_far = far_range
    # both ends from one sort (the same float32 ranks and interpolation as two calls)
    ends = torch.quantile(neg_all.float(), torch.tensor([1 - hi_far, 1 - lo_far]))
    d_min, d_max = float(ends[0]), float(ends[1])
    grid = torch.linspace(d_min, d_max, num_thresholds, dtype=torch.float64)
    # level[a, b] = how many grid thresholds pair (a, b) clears (sim >= d_k for k < level).
    level = torch.bucketize(sim, grid, right=True)

    def accepted(levels: torch.Tensor) -> torch.Tensor:
        """Fraction of ``levels`` at or above each threshold: 1 - CDF."""
        hist = torch.bincount(levels, minlength=num_thresholds + 1).double()
        at_least = hist.flip(0).cumsum(0).flip(0)[1:]  # count with level >= k + 1
        return at_least / len(levels)

    def utility(pos: torch.Tensor, neg: torch.Tensor) -> torch.Tensor:
        tar, trr = accepted(pos), 1 - accepted(neg)
        denom = tar + trr
        return torch.where(denom > 0, 2 * tar * trr / denom.clamp_min(1e-300),
                           torch.zeros_like(denom))

    overall = utility(level[positive], level[negative])
    gaps = []
    for c in torch.unique(y):
        in_c = y == c
        rows = level[in_c]
        pos_c = rows[:, in_c][torch.triu(torch.ones(int(in_c.sum()), int(in_c.sum()),
                                                    dtype=torch.bool), diagonal=1)]
        neg_c = rows[:, ~in_c].reshape(-1)
        if len(pos_c) == 0 or len(neg_c) == 0:
            continue
        gaps.append(((utility(pos_c, neg_c) - overall) ** 2).mean())
    return torch.stack(gaps).mean().item()

"""Retrieval metrics against a brute-force reference; OPIS against a pair-by-pair loop."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_mutual_info_score, normalized_mutual_info_score

from lossbench.metrics import retrieval


def _embeddings(seed: int, n_per_class: int = 12, classes: int = 4, dim: int = 8):
    gen = torch.Generator().manual_seed(seed)
    centers = torch.randn(classes, dim, generator=gen)
    y = torch.arange(classes).repeat_interleave(n_per_class)
    return centers[y] + 0.9 * torch.randn(len(y), dim, generator=gen), y


def _reference_retrieval(emb: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
    e = torch.nn.functional.normalize(emb.double(), dim=-1).numpy()
    labels = y.numpy()
    dist = ((e[:, None] - e[None]) ** 2).sum(-1)
    p1, mapr, rprec = [], [], []
    for q in range(len(e)):
        others = np.array([i for i in np.argsort(dist[q], kind="stable") if i != q])
        hits = labels[others] == labels[q]
        r = int((labels == labels[q]).sum()) - 1
        p1.append(float(hits[0]))
        rprec.append(hits[:r].mean())
        prec_at_i = np.cumsum(hits[:r]) / np.arange(1, r + 1)
        mapr.append((prec_at_i * hits[:r]).sum() / r)
    return {"p_at_1": np.mean(p1), "map_at_r": np.mean(mapr), "r_precision": np.mean(rprec)}


@pytest.mark.parametrize("seed", [0, 1])
def test_retrieval_metrics_match_brute_force(seed):
    emb, y = _embeddings(seed)
    got = retrieval.retrieval_metrics(emb, y)
    expected = _reference_retrieval(emb, y)
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, abs=1e-6), key


def _pml_reference(emb: torch.Tensor, y: torch.Tensor, knn_func=None) -> dict[str, float]:
    """pytorch-metric-learning's AccuracyCalculator, the protocol of Musgrave et al. 2020."""
    from pytorch_metric_learning.distances import LpDistance
    from pytorch_metric_learning.utils.accuracy_calculator import AccuracyCalculator
    from pytorch_metric_learning.utils.inference import CustomKNN

    calc = AccuracyCalculator(include=tuple(retrieval.PML_METRICS), k="max_bin_count",
                              device=torch.device("cpu"),
                              knn_func=knn_func or CustomKNN(LpDistance()))
    res = calc.get_accuracy(torch.nn.functional.normalize(emb.double(), dim=-1), y)
    return {short: res[name] for name, short in retrieval.PML_METRICS.items()}


def _uneven(seed: int):
    """Classes of 1 (a lone query: nothing to retrieve), 2, 5 and 30 samples."""
    gen = torch.Generator().manual_seed(seed)
    y = torch.tensor([0] + [1] * 2 + [2] * 5 + [3] * 30)
    return torch.randn(4, 6, generator=gen)[y] + torch.randn(len(y), 6, generator=gen), y


@pytest.mark.parametrize("data", [_embeddings(0), _embeddings(3, 40, 7, 16), _uneven(4)])
def test_retrieval_metrics_match_pytorch_metric_learnings_accuracy_calculator(data):
    emb, y = data
    got = retrieval.retrieval_metrics(emb, y, chunk=16)  # several chunks of queries
    for key, value in _pml_reference(emb, y).items():
        assert got[key] == pytest.approx(value, abs=1e-9), key


def test_retrieval_metrics_match_the_calculator_with_its_default_faiss_knn():
    pytest.importorskip("faiss", reason="faiss-cpu is not installed (PML's default k-NN)")
    from pytorch_metric_learning.utils.inference import FaissKNN

    emb, y = _embeddings(5, 20, 5, 8)
    got = retrieval.retrieval_metrics(emb.float(), y)
    for key, value in _pml_reference(emb.float(), y, FaissKNN()).items():
        assert got[key] == pytest.approx(value, abs=1e-9), key


def test_retrieval_metrics_are_zero_when_every_query_is_alone_in_its_class():
    emb, _ = _embeddings(0, 1, 4)
    assert retrieval.retrieval_metrics(emb, torch.arange(4)) == {
        "p_at_1": 0.0, "map_at_r": 0.0, "r_precision": 0.0}


def test_cluster_metrics_are_sklearn_nmi_ami_of_seeded_kmeans():
    emb, y = _embeddings(2)
    e = torch.nn.functional.normalize(emb.double(), dim=-1).numpy()
    clusters = KMeans(n_clusters=4, n_init=10, random_state=0).fit_predict(e)
    got = retrieval.cluster_metrics(emb, y, seed=0)
    assert got["nmi"] == pytest.approx(normalized_mutual_info_score(y.numpy(), clusters), abs=1e-6)
    assert got["ami"] == pytest.approx(adjusted_mutual_info_score(y.numpy(), clusters), abs=1e-6)


def test_cluster_metrics_run_kmeans_on_one_openmp_thread_whatever_the_caller_allows(monkeypatch):
    from sklearn import cluster
    from threadpoolctl import threadpool_info, threadpool_limits

    seen = []
    fit_predict = cluster.KMeans.fit_predict

    def spy(self, x, *args, **kwargs):
        seen.extend(p["num_threads"] for p in threadpool_info() if p["user_api"] == "openmp")
        return fit_predict(self, x, *args, **kwargs)

    monkeypatch.setattr(cluster.KMeans, "fit_predict", spy)
    emb, y = _embeddings(5)
    with threadpool_limits(limits=4, user_api="openmp"):
        retrieval.cluster_metrics(emb, y, seed=0)
    assert seen and set(seen) == {1}


def _opis_reference(emb, y, far_range=(1e-3, 1e-1), k=100):
    e = torch.nn.functional.normalize(emb.double(), dim=-1).numpy()
    labels = y.numpy()
    pairs = list(itertools.combinations(range(len(e)), 2))
    sim = {p: float(e[p[0]] @ e[p[1]]) for p in pairs}
    neg = np.array([s for (a, b), s in sim.items() if labels[a] != labels[b]])
    grid = np.linspace(np.quantile(neg.astype(np.float32), 1 - far_range[1]),
                       np.quantile(neg.astype(np.float32), 1 - far_range[0]), k)

    def util(pos_s, neg_s):
        out = []
        for d in grid:
            tar = np.mean(np.asarray(pos_s) >= d)
            trr = 1 - np.mean(np.asarray(neg_s) >= d)
            out.append(0.0 if tar + trr == 0 else 2 * tar * trr / (tar + trr))
        return np.array(out)

    pos_all = [s for (a, b), s in sim.items() if labels[a] == labels[b]]
    overall = util(pos_all, neg)
    gaps = []
    for c in np.unique(labels):
        pos_c = [s for (a, b), s in sim.items() if labels[a] == c and labels[b] == c]
        neg_c = [s for (a, b), s in sim.items() if (labels[a] == c) != (labels[b] == c)]
        gaps.append(np.mean((util(pos_c, neg_c) - overall) ** 2))
    return float(np.mean(gaps))


@pytest.mark.parametrize("seed", [0, 3])
def test_opis_matches_pairwise_reference(seed):
    emb, y = _embeddings(seed, n_per_class=8, classes=3)
    expected = _opis_reference(emb, y)
    assert retrieval.opis(emb, y) == pytest.approx(expected, abs=1e-6)


def test_opis_grows_when_one_class_is_much_tighter():
    emb, y = _embeddings(4, n_per_class=20)
    tight = emb.clone()
    tight[y == 0] = tight[y == 0].mean(0) + 0.05 * (tight[y == 0] - tight[y == 0].mean(0))
    assert retrieval.opis(tight, y) > retrieval.opis(emb, y)

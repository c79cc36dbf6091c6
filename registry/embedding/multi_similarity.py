"""Multi-Similarity loss with its miner (Wang et al. 2019), from pytorch-metric-learning."""

from __future__ import annotations

from pytorch_metric_learning import losses, miners

from .pml_adapter import PMLEmbeddingLoss, check_positive


class MultiSimilarity(PMLEmbeddingLoss):
    """Multi-Similarity loss on the pairs chosen by the Multi-Similarity miner.

    Wang, Han, Huang, Dong, Scott. *Multi-Similarity Loss with General Pair Weighting for Deep
    Metric Learning.* CVPR 2019, arXiv:1904.06627. With cosine similarities ``S_ij``, anchor ``i``,
    mined positives ``P_i`` and negatives ``N_i``::

        L = 1/m Σ_i [ 1/α log(1 + Σ_{k∈P_i} e^{-α (S_ik - λ)})
                    + 1/β log(1 + Σ_{k∈N_i} e^{β (S_ik - λ)}) ]

    Mining keeps a negative if ``S_ik + ε > min_{P_i} S`` and a positive if
    ``S_ik - ε < max_{N_i} S``. PML's ``MultiSimilarityLoss`` + ``MultiSimilarityMiner``.

    Defaults α = 2, β = 50, λ (``base``) = 0.5, ε = 0.1 are pytorch-metric-learning's defaults
    (``MultiSimilarityLoss(alpha=2, beta=50, base=0.5)``, ``MultiSimilarityMiner(epsilon=0.1)``).
    The authors' code (github.com/MalongTech/research-ms-loss) agrees on α, λ and ε but not on β:
    ``ret_benchmark/config/defaults.py`` sets ``SCALE_POS`` (α) = 2.0 and ``SCALE_NEG`` (β) = 40.0,
    and ``losses/multi_similarity_loss.py`` hard-codes ``thresh`` (λ) = 0.5 and ``margin``
    (ε) = 0.1. So β = 50 is PML's value, not the authors' config (β = 40).
    """

    version = "1"
    paper = ("Wang, Han, Huang, Dong, Scott. Multi-Similarity Loss with General Pair Weighting for "
             "Deep Metric Learning. CVPR 2019, arXiv:1904.06627")
    hparams = {"alpha": 2.0, "beta": 50.0, "base": 0.5, "miner_epsilon": 0.1}
    search_space = {
        "alpha": {"low": 0.5, "high": 10.0, "log": True},
        "beta": {"low": 10.0, "high": 100.0, "log": True},
        "base": {"low": 0.0, "high": 1.0},
        "miner_epsilon": {"low": 0.0, "high": 0.5},
    }
    fidelity = "exact"

    def __init__(self, alpha: float = 2.0, beta: float = 50.0, base: float = 0.5,
                 miner_epsilon: float = 0.1):
        check_positive(alpha=alpha, beta=beta)
        if miner_epsilon < 0:
            raise ValueError(f"miner_epsilon must be >= 0, got {miner_epsilon}")
        super().__init__(losses.MultiSimilarityLoss(alpha=alpha, beta=beta, base=base),
                         miners.MultiSimilarityMiner(epsilon=miner_epsilon))

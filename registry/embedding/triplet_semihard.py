"""Triplet margin loss on semi-hard triplets (Schroff et al. 2015), from pytorch-metric-learning."""

from __future__ import annotations

from pytorch_metric_learning import losses, miners

from .pml_adapter import PMLEmbeddingLoss, check_positive


class TripletSemiHard(PMLEmbeddingLoss):
    """Triplet margin loss on the batch's semi-hard triplets (baseline).

    Schroff, Kalenichenko, Philbin. *FaceNet: A Unified Embedding for Face Recognition and
    Clustering.* CVPR 2015, arXiv:1503.03832. With Euclidean distances ``d`` between
    L2-normalized embeddings and the triplets ``(a, p, n)`` for which
    ``d(a, p) < d(a, n) < d(a, p) + m`` (semi-hard)::

        L = mean over those triplets of max(0, d(a, p) - d(a, n) + m)

    PML's ``TripletMarginMiner(type_of_triplets="semihard")`` + ``TripletMarginLoss`` (which
    averages over the triplets with a non-zero loss). FaceNet's margin is 0.2 (on squared
    distances); PML uses plain distances — the margin is the searched hyperparameter.
    """

    version = "2"
    paper = ("Schroff, Kalenichenko, Philbin. FaceNet: A Unified Embedding for Face Recognition "
             "and Clustering. CVPR 2015, arXiv:1503.03832")
    hparams = {"margin": 0.2}
    search_space = {"margin": {"low": 0.01, "high": 1.0, "log": True}}
    fidelity = ("approximate: PML's semi-hard miner and TripletMarginLoss (plain L2 distance on "
                "normalized embeddings, Musgrave et al. 2020's implementation, which the catalog's "
                "findings run), not FaceNet's squared distance with TensorFlow's semi-hard choice "
                "(measured: FaceNet's form MAP@R +0.047 ± 0.030; docs/plugins.md)")

    def __init__(self, margin: float = 0.2):
        check_positive(margin=margin)
        super().__init__(losses.TripletMarginLoss(margin=margin),
                         miners.TripletMarginMiner(margin=margin, type_of_triplets="semihard"))

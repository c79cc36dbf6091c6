"""Supervised contrastive loss (Khosla et al. 2020), from pytorch-metric-learning."""

from __future__ import annotations

from pytorch_metric_learning import losses

from .pml_adapter import PMLEmbeddingLoss, check_positive


class SupCon(PMLEmbeddingLoss):
    """Supervised contrastive loss (the ``L_out`` form).

    Khosla, Teterwak, Wang, Sarna, Tian, Isola, Maschinot, Liu, Krishnan. *Supervised
    Contrastive Learning.* NeurIPS 2020, arXiv:2004.11362, eq. 2. With cosine similarity ``s``,
    ``P(i)`` the other samples of ``i``'s label and ``A(i)`` all samples but ``i``::

        L = mean over anchors with |P(i)| > 0 of
            -1/|P(i)| Σ_{p∈P(i)} log( e^{s_ip/τ} / Σ_{a∈A(i)} e^{s_ia/τ} )

    PML's ``SupConLoss``. Default τ = 0.1 (the paper's). Applied to one view per sample.
    """

    version = "1"
    paper = ("Khosla et al. Supervised Contrastive Learning. NeurIPS 2020, arXiv:2004.11362")
    hparams = {"temperature": 0.1}
    search_space = {"temperature": {"low": 0.01, "high": 1.0, "log": True}}
    fidelity = "exact"

    def __init__(self, temperature: float = 0.1):
        check_positive(temperature=temperature)
        super().__init__(losses.SupConLoss(temperature=temperature))

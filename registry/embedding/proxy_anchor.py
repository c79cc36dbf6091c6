"""Proxy Anchor loss (Kim et al. 2020), from pytorch-metric-learning."""

from __future__ import annotations

from pytorch_metric_learning import losses

from .pml_adapter import PMLEmbeddingLoss, check_positive


class ProxyAnchor(PMLEmbeddingLoss):
    """Proxy Anchor loss: one learnable proxy per training class (baseline).

    Kim, Kim, Cho, Kwak. *Proxy Anchor Loss for Deep Metric Learning.* CVPR 2020,
    arXiv:2003.13911. With cosine similarity ``s(x, p)``, proxies ``P`` (``P+`` those with a
    positive in the batch), ``X_p^+`` the batch samples of proxy ``p``'s class and ``X_p^-`` the
    rest::

        L = 1/|P+| Σ_{p∈P+} log(1 + Σ_{x∈X_p^+} e^{-α (s(x,p) - δ)})
          + 1/|P|  Σ_{p∈P}  log(1 + Σ_{x∈X_p^-} e^{ α (s(x,p) + δ)})

    PML's ``ProxyAnchorLoss``; its proxies are an ``nn.Parameter`` of this module
    (``loss.proxies``), so they are trained. Defaults α = 32, δ = 0.1 (the paper's). The proxies
    learn at 100× the model's learning rate, as in the authors' code
    (github.com/tjddus9597/Proxy-Anchor-CVPR2020 ``code/train.py``:
    ``param_groups.append({'params': criterion.parameters(), 'lr': float(args.lr) * 100})``),
    declared in ``model_needs`` so the harness gives them their own optimizer group (the
    schedule scales it like the model's).
    """

    version = "3"
    paper = ("Kim, Kim, Cho, Kwak. Proxy Anchor Loss for Deep Metric Learning. CVPR 2020, "
             "arXiv:2003.13911")
    hparams = {"margin": 0.1, "alpha": 32.0}
    search_space = {"margin": {"low": 0.0, "high": 0.5}, "alpha": {"low": 4.0, "high": 64.0,
                                                                   "log": True}}
    #: the authors' proxy learning rate: 100x the model's
    model_needs = {"lr_multipliers": {"loss.proxies": 100.0}}
    fidelity = ("approximate: no warm-up; the authors' first epoch trains only the embedding "
                "layer and the proxies, their ImageNet-pretrained backbone frozen (train.py "
                "--warm 1), while here the backbone starts from scratch and every parameter "
                "trains from the first step (the warm-up measured: no resolved difference, "
                "docs/plugins.md)")

    def __init__(self, num_classes: int, embedding_size: int, margin: float = 0.1,
                 alpha: float = 32.0):
        check_positive(alpha=alpha, num_classes=num_classes, embedding_size=embedding_size)
        super().__init__(losses.ProxyAnchorLoss(num_classes=num_classes,
                                                embedding_size=embedding_size,
                                                margin=margin, alpha=alpha))

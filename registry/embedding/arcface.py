"""ArcFace additive angular margin loss (Deng et al. 2019), from pytorch-metric-learning."""

from __future__ import annotations

import math

from pytorch_metric_learning import losses

from .pml_adapter import PMLEmbeddingLoss, check_positive


class ArcFace(PMLEmbeddingLoss):
    """ArcFace: softmax over scaled cosines to learnable class weights, angular target margin.

    Deng, Guo, Xue, Zafeiriou. *ArcFace: Additive Angular Margin Loss for Deep Face Recognition.*
    CVPR 2019, arXiv:1801.07698. With ``θ_j`` the angle between the embedding and class weight
    ``W_j``::

        L = -log( e^{s cos(θ_y + m)} / (e^{s cos(θ_y + m)} + Σ_{j≠y} e^{s cos θ_j}) )

    PML's ``ArcFaceLoss`` (margin given to it in degrees; past ``θ_y > π - m`` it uses
    ``cos θ_y - m sin m`` to stay monotonic). The class weights ``W`` are an ``nn.Parameter`` of
    this module. Defaults s = 64, m = 0.5 rad (the paper's).
    """

    version = "1"
    paper = ("Deng, Guo, Xue, Zafeiriou. ArcFace: Additive Angular Margin Loss for Deep Face "
             "Recognition. CVPR 2019, arXiv:1801.07698")
    hparams = {"margin": 0.5, "scale": 64.0}
    search_space = {"margin": {"low": 0.1, "high": 0.8}, "scale": {"low": 8.0, "high": 64.0,
                                                                   "log": True}}
    fidelity = "exact"

    def __init__(self, num_classes: int, embedding_size: int, margin: float = 0.5,
                 scale: float = 64.0):
        check_positive(margin=margin, scale=scale)
        super().__init__(losses.ArcFaceLoss(num_classes=num_classes, embedding_size=embedding_size,
                                            margin=math.degrees(margin), scale=scale))

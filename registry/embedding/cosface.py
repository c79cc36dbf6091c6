"""CosFace large-margin cosine loss (Wang et al. 2018), from pytorch-metric-learning."""

from __future__ import annotations

from pytorch_metric_learning import losses

from .pml_adapter import PMLEmbeddingLoss, check_positive


class CosFace(PMLEmbeddingLoss):
    """CosFace: softmax over scaled cosines to learnable class weights, cosine margin on the target.

    Wang, Wang, Zhou, Ji, Gong, Zhou, Li, Liu. *CosFace: Large Margin Cosine Loss for Deep Face
    Recognition.* CVPR 2018, arXiv:1801.09414. With ``θ_j`` the angle between the embedding and
    class weight ``W_j``::

        L = -log( e^{s (cos θ_y - m)} / (e^{s (cos θ_y - m)} + Σ_{j≠y} e^{s cos θ_j}) )

    PML's ``CosFaceLoss``; the class weights are an ``nn.Parameter`` of this module. Defaults
    s = 64, m = 0.35 (the paper's).
    """

    version = "1"
    paper = ("Wang et al. CosFace: Large Margin Cosine Loss for Deep Face Recognition. CVPR 2018, "
             "arXiv:1801.09414")
    hparams = {"margin": 0.35, "scale": 64.0}
    search_space = {"margin": {"low": 0.05, "high": 0.6}, "scale": {"low": 8.0, "high": 64.0,
                                                                    "log": True}}
    fidelity = "exact"

    def __init__(self, num_classes: int, embedding_size: int, margin: float = 0.35,
                 scale: float = 64.0):
        check_positive(margin=margin, scale=scale)
        super().__init__(losses.CosFaceLoss(num_classes=num_classes, embedding_size=embedding_size,
                                            margin=margin, scale=scale))

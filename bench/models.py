"""Models: small embedded nets for the CPU tasks, and timm backbones for full-scale tasks.

Every model the harness builds is a :class:`Classifier`: a ``backbone`` that maps inputs to
features and a ``head`` that maps features to outputs (class logits, or an embedding for
metric-learning losses). Regularizers that rewrite the head (multi-sample dropout) or the weights
(weight compander, spectral) rely on that split; ``features(x)`` is what retrieval metrics read for
classification losses.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from .errors import import_extra, unknown_value


class Classifier(nn.Module):
    """``head(backbone(x))``, with ``features`` exposed for retrieval and feature-level hooks."""

    def __init__(self, backbone: nn.Module, head: nn.Module, feature_dim: int):
        super().__init__()
        self.backbone = backbone
        self.head = head
        self.feature_dim = feature_dim

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x))


class CosineHead(nn.Module):
    """A normalised (cosine) classification head: ``s · normalize(x) @ normalize(W)ᵀ``, each
    logit ``s cos θ_c`` in ``[-s, s]``.

    LDAM-DRW's ``NormedLinear`` (Cao et al. 2019, github.com/kaidic/LDAM-DRW
    ``models/resnet_cifar.py``: no bias, weights drawn uniform(-1, 1) and each class vector
    renormed to unit length, ``F.normalize(x, dim=1).mm(F.normalize(W, dim=0))``), with the
    weight stored as ``[out, in]`` like ``nn.Linear``'s, times the scale ``s`` that the authors'
    loss applies (``LDAMLoss``: ``F.cross_entropy(self.s * output, ...)``): the model's own
    logits are then the ones its loss trains, so its probabilities are ``softmax(s cos θ)``.
    """

    def __init__(self, in_features: int, out_features: int, scale: float = 1.0):
        super().__init__()
        if not scale > 0:
            raise ValueError(f"the cosine head's scale must be > 0, got {scale}")
        self.scale = float(scale)
        weight = torch.empty(out_features, in_features).uniform_(-1, 1)
        self.weight = nn.Parameter(weight.renorm(2, 0, 1e-5).mul(1e5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale * F.normalize(x, dim=1) @ F.normalize(self.weight, dim=1).T

    def extra_repr(self) -> str:
        out, inp = self.weight.shape
        return f"in_features={inp}, out_features={out}, scale={self.scale}"


#: The classification heads an entry may ask for (its ``model_needs``' ``head``).
HEADS: dict[str, Callable[[int, int, float], nn.Module]] = {
    "linear": lambda dim, out, scale: nn.Linear(dim, out),
    "cosine": CosineHead,
}


def cnn1d_backbone(in_length: int, channels: int = 32) -> tuple[nn.Module, int]:
    """The MNIST-1D CNN of Greydanus & Kobak (2024, arXiv:2011.14439, ``ConvBase``), widened to
    ``channels``: three stride-2 convolutions with ReLU, flattened."""
    net = nn.Sequential(
        nn.Unflatten(1, (1, in_length)),
        nn.Conv1d(1, channels, 5, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv1d(channels, channels, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv1d(channels, channels, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.Flatten(),
    )
    with torch.no_grad():
        dim = net(torch.zeros(1, in_length)).shape[1]
    return net, dim


def mlp_backbone(in_features: int, hidden: int = 256, depth: int = 2) -> tuple[nn.Module, int]:
    """A ReLU MLP (``depth`` hidden layers of width ``hidden``) for tabular-like inputs."""
    layers: list[nn.Module] = [nn.Flatten()]
    width = in_features
    for _ in range(depth):
        layers += [nn.Linear(width, hidden), nn.ReLU()]
        width = hidden
    return nn.Sequential(*layers), width


def timm_backbone(name: str, in_shape: tuple[int, ...], pretrained: bool = False,
                  **kwargs) -> tuple[nn.Module, int]:
    """A timm model by name with its classifier removed (``num_classes=0``).

    ``resnet18_cifar`` is timm's ResNet-18 with the CIFAR stem (3×3 stride-1 conv, no max-pool),
    the standard backbone of the CIFAR-LT / noisy-label literature.
    """
    timm = import_extra("timm", "fullscale", f"the timm backbone {name!r}")
    if name == "resnet18_cifar":
        model = timm.create_model("resnet18", pretrained=pretrained, num_classes=0, **kwargs)
        model.conv1 = nn.Conv2d(in_shape[0], 64, kernel_size=3, stride=1, padding=1, bias=False)
        model.maxpool = nn.Identity()
    else:
        model = timm.create_model(name, pretrained=pretrained, num_classes=0,
                                  in_chans=in_shape[0], **kwargs)
    return model, int(model.num_features)


BACKBONES: dict[str, Callable[..., tuple[nn.Module, int]]] = {
    "cnn1d": lambda in_shape, **kw: cnn1d_backbone(in_shape[-1], **kw),
    "mlp": lambda in_shape, **kw: mlp_backbone(int(torch.tensor(in_shape).prod()), **kw),
}


def build_model(arch: str, in_shape: tuple[int, ...], out_dim: int, *, head: str = "linear",
                head_scale: float = 1.0, **kwargs) -> Classifier:
    """Build ``arch`` (an embedded name, or ``timm:<model name>``) with an ``out_dim`` head:
    ``nn.Linear``, or the :class:`CosineHead` of scale ``head_scale`` that an entry's
    ``model_needs`` asks for. ``kwargs`` go to the backbone."""
    if head not in HEADS:
        raise unknown_value("head", head, HEADS)
    if arch.startswith("timm:"):
        backbone, dim = timm_backbone(arch.split(":", 1)[1], in_shape, **kwargs)
    elif arch in BACKBONES:
        backbone, dim = BACKBONES[arch](in_shape, **kwargs)
    else:
        raise unknown_value("model", arch, [*BACKBONES, "timm:<name>"])
    return Classifier(backbone, HEADS[head](dim, out_dim, head_scale), dim)

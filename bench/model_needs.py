"""Entry-declared model needs: what a loss's method needs from the model and the optimizer.

Some methods are defined together with a change to the model or to how it is optimized: LDAM-DRW
(Cao et al. 2019) applies its margin to the cosine logits of a normalised last layer, Proxy-Anchor
(Kim et al. 2020) trains its proxies at 100× the model's learning rate. A loss declares such needs
as a class attribute of its entry-point target, e.g.::

    model_needs = {"head": "cosine", "head_scale": "scale"}      # LDAM-DRW
    model_needs = {"lr_multipliers": {"loss.proxies": 100.0}}    # Proxy-Anchor

and the harness honours them for that entry only:

``head``            ``"linear"`` (the default: ``nn.Linear``) or ``"cosine"``: the classification
                    head outputs ``s · normalize(x) @ normalize(W)ᵀ`` (LDAM-DRW's ``NormedLinear``,
                    github.com/kaidic/LDAM-DRW ``models/resnet_cifar.py``, times ``s``).
``head_scale``      ``s`` of a cosine head: a positive number, or the name of one of the entry's
                    hyperparameters whose value it takes (so ``--hparam scale=16`` moves the
                    head's scale with the loss's). Default 1.
``lr_multipliers``  ``{name: m}``: the loss module's parameters named ``name`` (a dotted name
                    of ``loss.named_parameters()``, or of a submodule: every parameter under it)
                    form an optimizer group with learning rate ``m × lr`` (the schedule scales
                    each group alike).

The declaration is stored among the entry's hyperparameters under :data:`HPARAM`, so the run
spec — and so its hash — records it, the board shows it with the other defaults, and
``--hparam model_needs='{"head": "linear"}'`` runs an ablation. The factory never receives it.
This module is torch-free: it validates and resolves declarations; :mod:`lossbench.models`
builds the head and :mod:`lossbench.train` the optimizer groups.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: The hyperparameter under which an entry's declared needs are recorded (in its card's
#: ``hparams`` and so in every run spec of it); never passed to the entry's factory.
HPARAM = "model_needs"
HEADS = ("linear", "cosine")
KEYS = ("head", "head_scale", "lr_multipliers")


@dataclass(frozen=True)
class ModelNeeds:
    """Resolved needs of one run: the head to build and the loss's learning-rate groups."""

    head: str = "linear"
    #: ``s`` of a cosine head (1.0 for a linear head, where it is unused)
    head_scale: float = 1.0
    lr_multipliers: Mapping[str, float] = field(default_factory=dict)


def _positive_number(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value) and value > 0)


def needs_problems(needs: Any, hparams: Mapping[str, Any]) -> list[str]:
    """Everything wrong with a ``model_needs`` declaration ([] for a valid one); ``hparams``:
    the entry's other hyperparameters (a ``head_scale`` may name one of them)."""
    if not isinstance(needs, Mapping):
        return [f"model_needs must be a dict like {{'head': 'cosine'}}, got "
                f"{type(needs).__name__} {needs!r}"]
    problems = []
    unknown = sorted(str(k) for k in needs if k not in KEYS)
    if unknown:
        problems.append(f"model_needs has unknown key(s) {', '.join(map(repr, unknown))}; "
                        f"valid: {', '.join(KEYS)}")
    head = needs.get("head", "linear")
    if head not in HEADS:
        problems.append(f"model_needs head must be one of {', '.join(HEADS)}, got {head!r}")
    if "head_scale" in needs:
        scale = needs["head_scale"]
        if head != "cosine":
            problems.append(f"model_needs head_scale {scale!r} needs head 'cosine' (a linear "
                            f"head has no scale), got head {head!r}")
        elif isinstance(scale, str):
            if scale not in hparams or scale == HPARAM:
                others = sorted(k for k in hparams if k != HPARAM)
                problems.append(f"model_needs head_scale {scale!r} names no hyperparameter of "
                                f"the entry; valid: a positive number or one of "
                                f"{', '.join(others) or '(none)'}")
            elif not _positive_number(hparams[scale]):
                problems.append(f"model_needs head_scale takes the hyperparameter {scale!r}, "
                                f"whose value {hparams[scale]!r} is not a positive number")
        elif not _positive_number(scale):
            problems.append(f"model_needs head_scale must be a positive number or the name of "
                            f"a hyperparameter, got {scale!r}")
    multipliers = needs.get("lr_multipliers", {})
    if not isinstance(multipliers, Mapping):
        problems.append(f"model_needs lr_multipliers must be a dict {{parameter name: positive "
                        f"number}}, got {multipliers!r}")
    else:
        for name, value in multipliers.items():
            if not isinstance(name, str) or not name:
                problems.append(f"model_needs lr_multipliers keys must be parameter names, got "
                                f"{name!r}")
            elif not _positive_number(value):
                problems.append(f"model_needs lr_multipliers[{name!r}] must be a positive "
                                f"number, got {value!r}")
    return problems


def resolve(hparams: Mapping[str, Any]) -> ModelNeeds:
    """The needs a run's resolved hyperparameters record (plain ``ModelNeeds()`` without any);
    ``ValueError`` naming every problem of an invalid declaration (e.g. a bad override)."""
    needs = hparams.get(HPARAM)
    if needs is None:
        return ModelNeeds()
    problems = needs_problems(needs, hparams)
    if problems:
        raise ValueError("; ".join(problems))
    scale = needs.get("head_scale", 1.0)
    if isinstance(scale, str):
        scale = hparams[scale]
    return ModelNeeds(head=needs.get("head", "linear"), head_scale=float(scale),
                      lr_multipliers={k: float(v) for k, v in
                                      needs.get("lr_multipliers", {}).items()})


def factory_hparams(hparams: Mapping[str, Any]) -> dict[str, Any]:
    """``hparams`` less the recorded needs: what the entry's factory is called with."""
    return {k: v for k, v in hparams.items() if k != HPARAM}

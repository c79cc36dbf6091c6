"""Small pieces shared by the built-in regularizers.

They read only attributes of the trainer's context object (``ctx``), so the built-ins follow the
same plugin contract as a third-party regularizer: nothing here imports lossbench.
"""

from __future__ import annotations

from typing import Any

import torch


def first_call_in_step(owner: Any, ctx: Any) -> bool:
    """True the first time ``owner`` asks during the current training step.

    A two-pass ``step`` hook (SAM) runs the closure, and so every ``penalty`` hook, twice per
    step; per-sample memories (ELR, PS-KD, SAF) must be written once, from the unperturbed pass.
    """
    if getattr(owner, "_last_step", None) == ctx.step:
        return False
    owner._last_step = ctx.step
    return True


def kl_divergence(target_logits: torch.Tensor, logits: torch.Tensor,
                  temperature: float = 1.0) -> torch.Tensor:
    """Batch mean of ``KL(softmax(t/τ) ‖ softmax(z/τ))``, summed over classes, in float32."""
    log_q = (logits.float() / temperature).log_softmax(-1)
    log_p = (target_logits.float() / temperature).log_softmax(-1)
    return (log_p.exp() * (log_p - log_q)).sum(-1).mean()


def seed_from(generator: torch.Generator) -> int:
    """A 62-bit seed drawn from the run's seeded generator (for numpy-side sampling)."""
    return int(torch.randint(0, 2**62, (1,), generator=generator).item())


def weight_layers(model: torch.nn.Module) -> list[torch.nn.Module]:
    """Modules with a weight matrix or kernel (``weight.dim() >= 2``): linear and conv layers."""
    return [m for m in model.modules()
            if isinstance(getattr(m, "weight", None), torch.Tensor) and m.weight.dim() >= 2]


def require_class_logits(outputs: torch.Tensor, ctx: Any, who: str) -> None:
    """Raise a clear error when the model's outputs are not ``[N, num_classes]`` class logits
    (e.g. an embedding loss's embeddings), which a per-class memory cannot hold."""
    if outputs.dim() != 2 or outputs.shape[1] != ctx.num_classes:
        raise ValueError(f"{who} needs class logits of shape [N, {ctx.num_classes}]; the model "
                         f"produced {tuple(outputs.shape)} (an embedding loss?)")

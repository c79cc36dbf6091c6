"""The checks of a loss: forward (a finite 0-dim tensor), backward (finite, non-zero gradients
w.r.t. the inputs and finite gradients of the loss's own parameters), extreme logits (±1e4),
float64 and bfloat16 inputs, the output's device, soft targets when declared, the epoch
context, determinism under a fixed seed, and picklability. An embedding loss (card
``objective = "embedding"``) takes ``(embeddings, labels)`` instead of ``(logits, labels)``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch import nn

from ..gradient_check import gradient_problem
from ..signatures import context_kwargs
from ..train import CALL_CONTEXT
from .common import CLASS_COUNTS, IN_FEATURES, NUM_EPOCHS, C, Checks, D, N, expect_scalar
from .results import CheckFailed, CheckSkipped

EXTREME = 1e4


# -- losses ----------------------------------------------------------------------------------------
class LossChecks(Checks):
    """The checks of a loss (see the module docstring), in the order they run."""

    @property
    def embedding(self) -> bool:
        return self.card is not None and self.card.objective == "embedding"

    def inputs(self, device: str = "cpu", dtype: torch.dtype = torch.float32, scale: float = 1.0,
               seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        """Random logits ``[N, C]`` (or embeddings ``[N, D]``) and labels, every class present
        at least twice (metric-learning losses need positive pairs)."""
        gen = torch.Generator().manual_seed(seed)
        width = D if self.embedding else C
        x = torch.randn(N, width, generator=gen) * scale
        y = torch.arange(N) % C
        y = y[torch.randperm(N, generator=gen)]
        return x.to(device, dtype).requires_grad_(), y.to(device)

    def call(self, fn: Any, x: torch.Tensor, y: torch.Tensor, epoch: int = 0) -> torch.Tensor:
        """Call the loss with the call-time context its signature names, as the trainer does."""
        target = fn.forward if isinstance(fn, nn.Module) else fn
        from ..models import Classifier

        model = Classifier(nn.Identity(), nn.Linear(IN_FEATURES, x.shape[-1]), IN_FEATURES)
        ctx = {"index": torch.arange(len(y), device=y.device), "epoch": epoch,
               "num_epochs": NUM_EPOCHS, "model": model.to(x.device),
               "inputs": torch.randn(len(y), IN_FEATURES, device=x.device),
               "class_counts": torch.tensor(CLASS_COUNTS, device=x.device)}
        return fn(x, y, **context_kwargs(target, ctx, CALL_CONTEXT))

    def forward_backward(self, fn: Any, x: torch.Tensor, y: torch.Tensor, what: str,
                         epoch: int = 0) -> torch.Tensor:
        """Run the loss and its backward pass; fail unless both are finite and well-formed."""
        loss = self.call(fn, x, y, epoch)
        expect_scalar(loss, what)
        if not bool(torch.isfinite(loss.detach()).all()):
            raise CheckFailed(f"{what}: the loss is not finite ({loss.item()})")
        if not loss.requires_grad:
            raise CheckFailed(f"{what}: the loss does not depend on the inputs (no grad_fn); "
                              f"compute it with differentiable torch operations")
        loss.backward()
        if x.grad is None:
            raise CheckFailed(f"{what}: no gradient reached the inputs")
        if not bool(torch.isfinite(x.grad).all()):
            raise CheckFailed(f"{what}: non-finite gradient w.r.t. the inputs")
        return loss

    def check_forward(self) -> str:
        x, y = self.inputs()
        loss = self.call(self.obj, x, y)
        expect_scalar(loss, "forward")
        if not bool(torch.isfinite(loss.detach()).all()):
            raise CheckFailed(f"the loss is not finite: {loss.item()}")
        what = "embeddings" if self.embedding else "logits"
        return f"scalar {loss.item():.4g} on {N}x{x.shape[1]} random {what}"

    def check_backward(self) -> str:
        x, y = self.inputs()
        loss = self.forward_backward(self.obj, x, y, "backward")
        problem = gradient_problem(loss.item(), x.grad, "the inputs")
        if problem is not None:
            raise CheckFailed(problem)
        params = [p for p in self.obj.parameters()] if isinstance(self.obj, nn.Module) else []
        bad = [n for n, p in (self.obj.named_parameters() if params else [])
               if p.grad is not None and not bool(torch.isfinite(p.grad).all())]
        if bad:
            raise CheckFailed(f"non-finite gradient for the loss's parameter(s) {bad}")
        extra = f"; {len(params)} loss parameter(s) trained with the model" if params else ""
        return f"finite, non-zero gradient w.r.t. the inputs{extra}"

    def check_extreme(self) -> str:
        if self.embedding:
            raise CheckSkipped("classification losses only")
        x, y = self.inputs(scale=EXTREME)
        self.forward_backward(self.build(), x, y, f"logits of magnitude ~{EXTREME:g}")
        return f"finite loss and gradient on logits of magnitude ~{EXTREME:g}"

    def check_dtype(self, dtype: torch.dtype) -> str:
        x, y = self.inputs(dtype=dtype)
        loss = self.forward_backward(self.build(), x, y, str(dtype).replace("torch.", ""))
        if not loss.is_floating_point():
            raise CheckFailed(f"the loss has dtype {loss.dtype}, expected a floating dtype")
        if dtype == torch.float64 and loss.dtype != torch.float64:
            raise CheckFailed(f"float64 inputs gave a {loss.dtype} loss (precision silently lost)")
        if x.grad.dtype != dtype:
            raise CheckFailed(f"the gradient has dtype {x.grad.dtype}, expected {dtype}")
        return f"{str(dtype).replace('torch.', '')} in, {str(loss.dtype).replace('torch.', '')} out"

    def check_device(self, device: str) -> str:
        self.skip_unless_requested(device)
        fn = self.build(device)
        x, y = self.inputs(device=device)
        loss = self.forward_backward(fn, x, y, device)
        if loss.device != x.device:
            raise CheckFailed(f"inputs on {x.device} gave a loss on {loss.device}; build tensors "
                              f"on the input's device (or register them as buffers)")
        return f"loss and gradient on {loss.device}"

    def check_soft_targets(self) -> str:
        assert self.card is not None
        if not self.card.accepts_soft_targets:
            raise CheckSkipped("the entry does not declare accepts_soft_targets = True")
        x, y = self.inputs()
        hard = self.call(self.obj, x, y)
        onehot = torch.nn.functional.one_hot(y, C).float()
        as_soft = self.call(self.obj, x, onehot)
        if not torch.allclose(hard.float(), as_soft.float(), rtol=1e-4, atol=1e-5):
            raise CheckFailed(f"one-hot soft targets give {as_soft.item():.6g} but the same class "
                              f"indices give {hard.item():.6g}")
        gen = torch.Generator().manual_seed(1)
        soft = torch.rand(N, C, generator=gen).softmax(-1)
        x2, _ = self.inputs(seed=2)
        self.forward_backward(self.build(), x2, soft, "soft targets")
        return "soft [N, C] targets work, and one-hot ones match class indices"

    def check_late_epoch(self) -> str:
        target = self.obj.forward if isinstance(self.obj, nn.Module) else self.obj
        if "epoch" not in context_kwargs(target, {"epoch": 0}, ("epoch",)):
            raise CheckSkipped("the loss does not take the epoch")
        x, y = self.inputs()
        self.forward_backward(self.build(), x, y, "last epoch", epoch=NUM_EPOCHS - 1)
        return f"finite at epoch {NUM_EPOCHS - 1} of {NUM_EPOCHS}"

    def check_determinism(self) -> str:
        values = []
        for _ in range(2):
            torch.manual_seed(0)
            fn = self.build()
            x, y = self.inputs()
            torch.manual_seed(1)
            loss = self.call(fn, x, y)
            loss.backward()
            values.append((loss.detach(), x.grad))
        (l1, g1), (l2, g2) = values
        if not (torch.equal(l1, l2) and torch.equal(g1, g2)):
            raise CheckFailed(f"two runs under the same seed differ: {l1.item()!r} vs "
                              f"{l2.item()!r}; draw randomness from torch's seeded generator")
        return "identical loss and gradient under the same seed"

    def compare_clone(self, clone: Any) -> None:
        x, y = self.inputs()
        torch.manual_seed(0)
        a = self.call(self.obj, x, y)
        torch.manual_seed(0)
        b = self.call(clone, x, y)
        if not torch.allclose(a.detach(), b.detach()):
            raise CheckFailed(f"the unpickled copy computes {b.item()!r}, the original "
                              f"{a.item()!r}")

    def specific(self) -> Iterator[tuple[str, Callable[[], str | None]]]:
        yield "forward", self.check_forward
        yield "backward", self.check_backward
        yield "extreme_logits", self.check_extreme
        yield "float64", lambda: self.check_dtype(torch.float64)
        yield "bfloat16", lambda: self.check_dtype(torch.bfloat16)
        yield "device:cpu", lambda: self.check_device("cpu")
        yield "device:cuda", lambda: self.check_device("cuda")
        yield "soft_targets", self.check_soft_targets
        yield "epoch_context", self.check_late_epoch
        yield "determinism", self.check_determinism
        yield "pickle", self.check_pickle

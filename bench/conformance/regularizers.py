"""The checks of a regularizer: its hooks' signatures (at least one of
:data:`lossbench.train.HOOKS`), a short training run through the real trainer on the CPU (and
CUDA when present) with every ``penalty`` and ``transform_batch`` result inspected, determinism
under a fixed seed, and picklability."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from typing import Any

import torch

from ..checkpoint_rules import scorer
from ..train import HOOKS, TrainConfig, train
from .common import IN_FEATURES, C, Checks, N, expect_scalar
from .results import CheckFailed


# -- regularizers ----------------------------------------------------------------------------------
class RegularizerChecks(Checks):
    """The checks of a regularizer (see the module docstring), in the order they run."""

    def hooks(self) -> list[str]:
        return [h for h in HOOKS if callable(getattr(self.obj, h, None))]

    def check_hooks(self) -> str:
        present = self.hooks()
        if not present:
            raise CheckFailed(f"a regularizer must define at least one hook among "
                              f"{', '.join(HOOKS)}; none found on {type(self.obj).__name__}")
        for hook in present:
            arity = len(HOOKS[hook])
            try:
                inspect.signature(getattr(self.obj, hook)).bind(*range(arity))
            except TypeError as exc:
                raise CheckFailed(f"{hook}() must accept {arity} positional argument(s) "
                                  f"({', '.join(HOOKS[hook])}): {exc}") from None
            except ValueError:
                continue  # no introspectable signature (builtin): the training run tests it
        return ", ".join(present)

    def data(self, device: str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
        gen = torch.Generator().manual_seed(0)
        x = torch.randn(4 * N, IN_FEATURES, generator=gen)
        y = torch.arange(4 * N) % C
        return x.to(device), y.to(device)

    def train_once(self, device: str = "cpu") -> tuple[list[float], list[str]]:
        """Two short epochs through the real trainer with cross-entropy and this regularizer.

        Returns the epoch losses and the problems found in what ``penalty`` and
        ``transform_batch`` returned (they are wrapped to inspect every call).
        """
        from ..models import build_model

        torch.manual_seed(0)
        reg = self.build(device)
        problems = probe_hooks(reg)
        model = build_model("mlp", (IN_FEATURES,), C, hidden=16, depth=1).to(device)
        x, y = self.data(device)
        cfg = TrainConfig(epochs=2, batch_size=N, lr=1e-2, schedule="constant")
        result = train(model, torch.nn.CrossEntropyLoss(), x, y, cfg, num_classes=C, seed=0,
                       regularizers=[reg], select=scorer("val_top1", x, y),
                       accepts_soft_targets=True,
                       class_counts=torch.bincount(y, minlength=C))
        return result.history["train_loss"], problems

    def check_train(self, device: str) -> str:
        self.skip_unless_requested(device)
        losses, problems = self.train_once(device)
        if problems:
            raise CheckFailed(problems[0])
        if device == "cpu":
            self.cpu_curve = losses
        return (f"2 epochs with cross-entropy through the trainer on {device} ("
                f"{', '.join(self.hooks())} called): train loss {losses[0]:.4g} -> "
                f"{losses[-1]:.4g}")

    def check_determinism(self) -> str:
        first = getattr(self, "cpu_curve", None) or self.train_once()[0]
        second = self.train_once()[0]
        if first != second:
            raise CheckFailed(f"two training runs under the same seed differ: {first} vs "
                              f"{second}; draw randomness from ctx.generator")
        return "identical training curves under the same seed"

    def specific(self) -> Iterator[tuple[str, Callable[[], str | None]]]:
        yield "hooks", self.check_hooks
        yield "train:cpu", lambda: self.check_train("cpu")
        yield "train:cuda", lambda: self.check_train("cuda")
        yield "determinism", self.check_determinism
        yield "pickle", self.check_pickle


def probe_hooks(reg: Any) -> list[str]:
    """Wrap ``reg``'s ``penalty`` and ``transform_batch`` (on the instance) so that every value
    they return is checked; problems are appended to the returned list."""
    problems: list[str] = []
    penalty = getattr(reg, "penalty", None)
    transform = getattr(reg, "transform_batch", None)

    def checked_penalty(outputs: torch.Tensor, y: Any, ctx: Any) -> torch.Tensor:
        value = penalty(outputs, y, ctx)
        try:
            expect_scalar(value, "penalty")
            if not bool(torch.isfinite(value.detach())):
                problems.append(f"penalty returned a non-finite value ({value.item()})")
        except CheckFailed as exc:
            problems.append(str(exc))
        return value

    def checked_transform(x: torch.Tensor, y: Any, ctx: Any) -> Any:
        out = transform(x, y, ctx)
        if not (isinstance(out, tuple) and len(out) == 2):
            problems.append(f"transform_batch must return (x, y), got {type(out).__name__}")
            return out
        if not torch.is_tensor(out[0]) or len(out[0]) != len(x):
            problems.append("transform_batch must return inputs with the batch's length "
                            f"{len(x)}, got {getattr(out[0], 'shape', type(out[0]).__name__)}")
        return out

    if callable(penalty):
        object.__setattr__(reg, "penalty", checked_penalty)
    if callable(transform):
        object.__setattr__(reg, "transform_batch", checked_transform)
    return problems

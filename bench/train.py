"""The training loop and its hook events (MosaicML Composer's algorithm-events idea).

A regularizer is any object with a subset of these duck-typed hooks; the trainer calls each hook on
each regularizer that has it, in the order the regularizers were given, and has no special case for
any of them:

==================  ==========================================================================
``setup``           ``setup(model, ctx) -> model`` once, before the optimizer is built; may wrap
                    or reparametrize the model (multi-sample dropout, weight compander).
``transform_batch`` ``transform_batch(x, y, ctx) -> (x, y)`` each step (MixUp). ``y`` may come
                    back as class indices, soft targets ``[N, C]``, or a *mixture of hard
                    targets* ``[(w_1, y_1), (w_2, y_2), ...]`` (see :mod:`lossbench.loss_targets`).
``penalty``         ``penalty(outputs, y, ctx) -> scalar`` added to the loss (z-loss, VAT, ...).
``step``            ``step(closure, optimizer, ctx)`` replaces ``closure(); optimizer.step()``
                    (SAM-style two-pass steps); at most one regularizer may define it.
``on_epoch_end``    ``on_epoch_end(ctx)`` after each epoch (ELR/PS-KD bookkeeping).
==================  ==========================================================================

The loss is called as ``loss(outputs, targets, **context)`` where ``context`` holds only the
keyword-only names its signature asks for among ``index``, ``epoch``, ``num_epochs``, ``model``,
``inputs`` and ``class_counts``.

The loop is lean on purpose: data stays resident on the device as tensors, batches are index
gathers, and nothing synchronises with the host inside an epoch (the running loss is checked for
non-finite values once per epoch).
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from .augment import get_augmentation
from .gradient_check import check_first_step
from .loss_targets import loss_on_targets
from .signatures import context_kwargs

#: Keyword context a loss receives when (and only when) its signature names it.
CALL_CONTEXT = ("index", "epoch", "num_epochs", "model", "inputs", "class_counts")
#: The regularizer hooks and their positional arguments, in the order the trainer calls them: the
#: one declaration of the protocol (the table above explains each; ``lossbench check`` checks
#: a regularizer's hooks against it).
HOOKS: dict[str, tuple[str, ...]] = {
    "setup": ("model", "ctx"),
    "transform_batch": ("x", "y", "ctx"),
    "penalty": ("outputs", "y", "ctx"),
    "step": ("closure", "optimizer", "ctx"),
    "on_epoch_end": ("ctx",),
}


class Diverged(RuntimeError):
    """The training loss became non-finite; ``epoch`` is the (0-based) epoch it happened in."""

    def __init__(self, epoch: int, value: float):
        super().__init__(f"non-finite training loss ({value}) in epoch {epoch}")
        self.epoch = epoch


@dataclass(frozen=True)
class TrainConfig:
    """A task's training recipe. Stated in the task config and shown with the results."""

    epochs: int = 150
    batch_size: int = 100
    optimizer: str = "adamw"  # adamw | sgd
    lr: float = 1e-2
    weight_decay: float = 0.0
    momentum: float = 0.9
    schedule: str = "onecycle"  # onecycle | cosine | constant
    eval_every: int = 1  # validation score every k epochs, for the task's model selection
    augment: str = ""  # a name in lossbench.augment.AUGMENTATIONS, applied to each train batch
    #: 0: each epoch visits the training set in a uniform random order. m > 0: in groups of m
    #: samples of one class (:func:`epoch_order`), the class-balanced batches of the metric-
    #: learning literature; a batch of b holds b/m classes when b is a multiple of m.
    samples_per_class: int = 0

    def __post_init__(self) -> None:
        if self.optimizer not in ("adamw", "sgd"):
            raise ValueError(f"unknown optimizer {self.optimizer!r}; valid: adamw, sgd")
        if self.schedule not in ("onecycle", "cosine", "constant"):
            raise ValueError(
                f"unknown schedule {self.schedule!r}; valid: onecycle, cosine, constant"
            )
        if self.augment:
            get_augmentation(self.augment)  # ValueError naming the valid ones
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError(f"epochs and batch_size must be >= 1, got {self.epochs}, "
                             f"{self.batch_size}")
        if self.samples_per_class < 0:
            raise ValueError(f"samples_per_class must be >= 0 (0: uniform random order), got "
                             f"{self.samples_per_class}")


@dataclass
class TrainContext:
    """What hooks and context-aware losses see. Plugins read attributes; none import lossbench."""

    model: nn.Module
    num_epochs: int
    num_train: int
    num_classes: int
    class_counts: torch.Tensor
    device: torch.device
    generator: torch.Generator
    loss_fn: Any = None
    optimizer: torch.optim.Optimizer | None = None
    epoch: int = 0
    step: int = 0
    steps_per_epoch: int = 0
    index: torch.Tensor | None = None
    inputs: torch.Tensor | None = None
    targets: Any = None
    state: dict[str, Any] = field(default_factory=dict)
    #: whether the loss takes soft ``[N, C]`` targets (its card's ``accepts_soft_targets``)
    accepts_soft_targets: bool = False
    #: ``criterion(outputs, targets) -> scalar``: the run's loss with the trainer's target
    #: conventions (mixtures, soft targets, call context), for hooks that re-apply it
    criterion: Callable[[torch.Tensor, Any], torch.Tensor] | None = None


@dataclass
class TrainResult:
    """The trained model (last epoch), the selected (best validation score) checkpoint and the
    curves."""

    model: nn.Module
    best_state: dict[str, torch.Tensor] | None
    best_epoch: int
    history: dict[str, list[float]]
    train_seconds: float
    samples_seen: int

    @property
    def samples_per_second(self) -> float:
        return self.samples_seen / self.train_seconds if self.train_seconds > 0 else math.nan


def parameter_groups(model: nn.Module, extras: Sequence[Any], cfg: TrainConfig,
                     lr_multipliers: Mapping[str, float] | None = None) -> list[dict[str, Any]]:
    """The optimizer's parameter groups: every trainable parameter of ``model`` and of the
    ``extras`` that are modules (the loss first: its proxies, class weights or learnable
    temperatures; then the regularizers), each once, at ``cfg.lr``; and for each ``name: m`` of
    ``lr_multipliers`` (an entry's ``model_needs``) a group at ``m × cfg.lr`` of the loss's
    parameters named ``name`` or under the submodule ``name`` (``lr_multiplier`` records m).
    ``ValueError`` when a name matches no parameter of the loss, naming its parameters."""
    multipliers = dict(lr_multipliers or {})
    special: dict[int, str] = {}
    chosen: dict[str, list[nn.Parameter]] = {name: [] for name in multipliers}
    loss = extras[0] if extras and isinstance(extras[0], nn.Module) else None
    if multipliers:
        named = dict(loss.named_parameters()) if loss is not None else {}
        for name in multipliers:
            for pname, p in named.items():
                if (pname == name or pname.startswith(name + ".")) and p.requires_grad:
                    chosen[name].append(p)
                    special.setdefault(id(p), name)
            if not chosen[name]:
                raise ValueError(f"lr_multipliers names {name!r}, which is no trainable "
                                 f"parameter of the loss; its parameters: "
                                 f"{', '.join(named) or '(none)'}")
    params = list(model.parameters())
    for extra in extras:
        if isinstance(extra, nn.Module):
            params += [p for p in extra.parameters() if p.requires_grad]
    # A regularizer may wrap the model in a module that also owns the original parameters.
    base = [p for p in {id(p): p for p in params if p.requires_grad}.values()
            if id(p) not in special]
    groups: list[dict[str, Any]] = [{"params": base, "lr": cfg.lr, "lr_multiplier": 1.0}]
    for name, m in multipliers.items():
        mine = [p for p in chosen[name] if special[id(p)] == name]
        if mine:
            groups.append({"params": mine, "lr": m * cfg.lr, "lr_multiplier": m})
    return groups


def _optimizer(groups: list[dict[str, Any]], cfg: TrainConfig) -> torch.optim.Optimizer:
    # The fused kernels update every parameter in one call (the per-parameter Python loop of the
    # default CPU implementation dominated the step of the tiny embedded models).
    params = [p for g in groups for p in g["params"]]
    fused = bool(params) and all(p.device.type in ("cpu", "cuda") and p.is_floating_point()
                                 for p in params)
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum,
                               weight_decay=cfg.weight_decay, nesterov=cfg.momentum > 0,
                               fused=fused or None)
    return torch.optim.AdamW(groups, lr=cfg.lr, weight_decay=cfg.weight_decay,
                             fused=fused or None)


def build_optimizer(model: nn.Module, extras: Sequence[Any], cfg: TrainConfig,
                    lr_multipliers: Mapping[str, float] | None = None) -> torch.optim.Optimizer:
    """``cfg``'s optimizer over :func:`parameter_groups` (what :func:`train` steps)."""
    return _optimizer(parameter_groups(model, extras, cfg, lr_multipliers), cfg)


def _scheduler(opt: torch.optim.Optimizer, cfg: TrainConfig, total_steps: int):
    if cfg.schedule == "onecycle":
        # one peak per group, so a group's learning rate stays its multiple of the model's
        max_lr = [cfg.lr * g.get("lr_multiplier", 1.0) for g in opt.param_groups]
        return torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=max_lr, total_steps=total_steps)
    if cfg.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total_steps)
    return None


def _with_hook(regularizers: Sequence[Any], hook: str) -> list[Any]:
    return [r for r in regularizers if callable(getattr(r, hook, None))]


def epoch_order(y: torch.Tensor, samples_per_class: int,
                generator: torch.Generator) -> torch.Tensor:
    """The order in which one epoch visits the training samples: ``len(y)`` indices into ``y``.

    ``samples_per_class`` 0: ``torch.randperm(len(y))``. m > 0: a class-balanced order (the
    ``class_random`` sampler of Roth et al. 2020, "Revisiting Training Strategies and
    Generalization Performance in Deep Metric Learning"; pytorch-metric-learning's
    ``MPerClassSampler``): each class's indices are shuffled and padded to a multiple of m by
    repeating its own first ones, cut into groups of m, the groups of all classes shuffled
    together, and the sequence cut to ``len(y)``. Consecutive batches of a multiple of m then
    hold whole groups. Draws from ``generator``, in this order: one permutation per class in
    ascending label order, then the permutation of the groups.
    """
    n = len(y)
    if samples_per_class <= 0:
        return torch.randperm(n, generator=generator)
    m = samples_per_class
    groups = []
    for c in torch.unique(y):  # sorted
        members = torch.nonzero(y == c).flatten()
        members = members[torch.randperm(len(members), generator=generator)]
        pad = (-len(members)) % m
        members = torch.cat([members, members.repeat(m)[:pad]])
        groups.append(members.view(-1, m))
    stacked = torch.cat(groups)
    return stacked[torch.randperm(len(stacked), generator=generator)].flatten()[:n]

def train(
    model: nn.Module,
    loss_fn: Callable,
    x_train: torch.Tensor,
    y_train: torch.Tensor,
    cfg: TrainConfig,
    *,
    num_classes: int,
    seed: int,
    regularizers: Sequence[Any] = (),
    select: Callable[[nn.Module], float] | None = None,
    accepts_soft_targets: bool = False,
    class_counts: torch.Tensor | None = None,
    on_epoch: Callable[[int, dict[str, float]], None] | None = None,
    autocast: torch.dtype | None = None,
    lr_multipliers: Mapping[str, float] | None = None,
    objective: str = "classification",
) -> TrainResult:
    """Train ``model`` with ``loss_fn`` (+ regularizer hooks) on resident tensors.

    Deterministic for a given ``seed`` on CPU: the batch order and every regularizer's randomness
    (through ``ctx.generator``) derive from it. Raises :class:`Diverged` on a non-finite loss.
    ``autocast`` (e.g. ``torch.bfloat16``) runs the model's forward under ``torch.autocast``; the
    loss and penalties always see float32 outputs.

    ``select`` scores the model on validation data (higher is better; see
    :mod:`lossbench.checkpoint_rules`) every ``cfg.eval_every`` epochs and after the last; the state
    of the best-scoring epoch is returned as ``best_state``. Without it only the last epoch is kept.
    ``lr_multipliers``: the loss's parameter groups with their own learning rate (its entry's
    ``model_needs``; see :func:`parameter_groups`).

    On the first step the loss (without the regularizers' penalties) must reach the model's
    outputs (``objective``: class logits, or embeddings) with a gradient:
    :class:`~lossbench.gradient_check.NoGradient` otherwise
    (:func:`~lossbench.gradient_check.check_first_step`).
    """
    device = x_train.device
    n = len(x_train)
    if class_counts is None:
        class_counts = torch.bincount(y_train, minlength=num_classes)
    gen = torch.Generator(device="cpu").manual_seed(seed)
    ctx = TrainContext(model=model, num_epochs=cfg.epochs, num_train=n, num_classes=num_classes,
                       class_counts=class_counts, device=device, generator=gen, loss_fn=loss_fn,
                       accepts_soft_targets=accepts_soft_targets)

    for reg in _with_hook(regularizers, "setup"):
        model = reg.setup(model, ctx) or model
        ctx.model = model
    stepper = _with_hook(regularizers, "step")
    if len(stepper) > 1:
        raise ValueError("at most one regularizer may define step(); got "
                         + ", ".join(type(r).__name__ for r in stepper))
    transforms = _with_hook(regularizers, "transform_batch")
    penalties = _with_hook(regularizers, "penalty")
    epoch_end = _with_hook(regularizers, "on_epoch_end")

    opt = build_optimizer(model, (loss_fn, *regularizers), cfg, lr_multipliers)
    ctx.optimizer = opt
    steps_per_epoch = math.ceil(n / cfg.batch_size)
    ctx.steps_per_epoch = steps_per_epoch
    sched = _scheduler(opt, cfg, cfg.epochs * steps_per_epoch)

    loss_target = loss_fn.forward if isinstance(loss_fn, nn.Module) else loss_fn
    call_names = tuple(context_kwargs(loss_target, dict.fromkeys(CALL_CONTEXT), CALL_CONTEXT))

    def criterion(outputs: torch.Tensor, targets: Any) -> torch.Tensor:
        kwargs = {k: getattr(ctx, k) for k in call_names}
        return loss_on_targets(loss_fn, outputs, targets, accepts_soft=accepts_soft_targets,
                               kwargs=kwargs)

    ctx.criterion = criterion

    history: dict[str, list[float]] = {"train_loss": [], "val_score": []}
    best_score, best_epoch, best_state = -math.inf, -1, None
    model.train()
    if isinstance(loss_fn, nn.Module):
        loss_fn.train()

    first_step_checked: list[bool] = []
    what_outputs = "embeddings" if objective == "embedding" else "logits"

    def closure() -> torch.Tensor:
        opt.zero_grad(set_to_none=True)
        x, y = ctx.inputs, ctx.targets
        if autocast is None:
            outputs = model(x)
        else:
            with torch.autocast(device.type, dtype=autocast):
                outputs = model(x)
            outputs = outputs.float()
        loss = criterion(outputs, y)
        if ctx.step == 0 and not first_step_checked:
            first_step_checked.append(True)
            check_first_step(loss, outputs, f"the model's outputs ({what_outputs})")
        for reg in penalties:
            loss = loss + reg.penalty(outputs, y, ctx)
        loss.backward()
        return loss

    augment = get_augmentation(cfg.augment) if cfg.augment else None
    labels_cpu = y_train.cpu() if cfg.samples_per_class else y_train
    start = time.perf_counter()
    for epoch in range(cfg.epochs):
        ctx.epoch = epoch
        perm = epoch_order(labels_cpu, cfg.samples_per_class, gen).to(device)
        running = torch.zeros((), device=device)
        for i in range(steps_per_epoch):
            idx = perm[i * cfg.batch_size:(i + 1) * cfg.batch_size]
            x, y = x_train[idx], y_train[idx]
            if augment is not None:
                x = augment(x, gen)
            ctx.index = idx
            for reg in transforms:
                x, y = reg.transform_batch(x, y, ctx)
            ctx.inputs, ctx.targets = x, y
            if stepper:
                loss = stepper[0].step(closure, opt, ctx)
                loss = closure_result(loss)
            else:
                loss = closure()
                opt.step()
            if sched is not None:
                sched.step()
            running += loss.detach()
            ctx.step += 1
        mean_loss = running.item() / steps_per_epoch
        if not math.isfinite(mean_loss):
            raise Diverged(epoch, mean_loss)
        history["train_loss"].append(mean_loss)
        for reg in epoch_end:
            reg.on_epoch_end(ctx)
        if select is not None and ((epoch + 1) % cfg.eval_every == 0 or epoch + 1 == cfg.epochs):
            score = select(model)
            history["val_score"].append(score)
            if score > best_score:
                best_score, best_epoch = score, epoch
                best_state = copy.deepcopy(model.state_dict())
        if on_epoch is not None:
            on_epoch(epoch, {k: v[-1] for k, v in history.items() if v})
    seconds = time.perf_counter() - start
    model.eval()
    return TrainResult(model=model, best_state=best_state, best_epoch=best_epoch, history=history,
                       train_seconds=seconds, samples_seen=cfg.epochs * n)


def closure_result(value: Any) -> torch.Tensor:
    """A ``step`` hook returns the loss of its first pass (a tensor); accept a float too."""
    if torch.is_tensor(value):
        return value
    if value is None:
        raise TypeError("a regularizer's step() must return the loss that closure() returned")
    return torch.tensor(float(value))

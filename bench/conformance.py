"""Plugin conformance checks: what ``lossbench check NAME | module:attr`` runs before publishing.

Like AlgoPerf's submission checker or scikit-learn's ``check_estimator``: the entry is loaded,
built from its defaults (with the build-time context the harness passes), and exercised on tiny
random inputs on the CPU (and on CUDA when present). Every check yields a :class:`CheckResult`
(pass, fail or skip, with the reason); a check that raises becomes a failure naming the exception,
so one broken check never hides the others.

Losses (``kind="loss"``): card metadata, search space, build, forward (a finite 0-dim tensor),
backward (finite, non-zero gradients w.r.t. the logits and finite gradients of the loss's own
parameters), extreme logits (±1e4), float64 and bfloat16 inputs, the output's device, soft
targets when declared, determinism under a fixed seed, and picklability (runs go to child
processes). Embedding losses (card ``objective = "embedding"``) take ``(embeddings, labels)``.
Regularizers (``kind="regularizer"``): card, build, hook signatures (at least one of
:data:`lossbench.train.HOOKS`), a short training run through the real trainer, determinism and
picklability.
"""

from __future__ import annotations

import inspect
import json
import pickle
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from .build import build
from .cards import FIDELITY_HINT, OBJECTIVES, Card, search_space_problem
from .errors import EntryLoadError, unknown_value
from .model_needs import factory_hparams
from .registry import LOSSES, REGULARIZERS, Entry, card_from_target
from .selection import scorer
from .signatures import context_kwargs
from .targets import is_target
from .train import CALL_CONTEXT, HOOKS, TrainConfig, gradient_problem, train

KINDS = ("loss", "regularizer")
PASS, FAIL, SKIP = "pass", "fail", "skip"

# The tiny problem every check uses: N samples, C classes (long-tailed counts), D-dim embeddings.
N, C, D, IN_FEATURES = 12, 5, 16, 8
CLASS_COUNTS = (40, 20, 10, 5, 2)
NUM_EPOCHS = 10
EXTREME = 1e4


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check: ``status`` is pass, fail or skip; ``detail`` says why."""

    name: str
    status: str
    detail: str = ""

    @property
    def failed(self) -> bool:
        return self.status == FAIL

    def line(self) -> str:
        return f"  {self.status.upper():<4}  {self.name:<16} {self.detail}".rstrip()


@dataclass
class CheckReport:
    """All checks run on one entry. ``ok`` is true when no check failed."""

    entry: str
    kind: str
    target: str = ""
    origin: str = ""
    results: list[CheckResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(r.failed for r in self.results)

    @property
    def failures(self) -> list[CheckResult]:
        return [r for r in self.results if r.failed]

    def result(self, name: str) -> CheckResult:
        """The result of the check called ``name`` (KeyError if it was not run)."""
        for r in self.results:
            if r.name == name:
                return r
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {"entry": self.entry, "kind": self.kind, "target": self.target,
                "origin": self.origin,
                "results": [[r.name, r.status, r.detail] for r in self.results]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CheckReport:
        return cls(d["entry"], d["kind"], d.get("target", ""), d.get("origin", ""),
                   [CheckResult(*map(str, r)) for r in d.get("results", [])])

    def render(self) -> str:
        head = f"lossbench check {self.entry} ({self.kind}"
        head += f", {self.origin}" if self.origin else ""
        head += f", {self.target})" if self.target else ")"
        counts = {s: sum(r.status == s for r in self.results) for s in (PASS, FAIL, SKIP)}
        tail = (f"{counts[PASS]} passed, {counts[FAIL]} failed, {counts[SKIP]} skipped: "
                + ("OK" if self.ok else "FAILED"))
        lines = [head, *(r.line() for r in self.results), tail]
        if self.failures:
            lines.append(self.fix_first())
        return "\n".join(lines)

    def fix_first(self) -> str:
        """The summary line: the first failed check (in check order, so the cause comes before
        the failures it may explain) and how many others failed."""
        first, *rest = self.failures
        more = f"; then the {len(rest)} other failure(s) above" if rest else ""
        return f"fix first: {first.name}: {first.detail}{more}"

    __str__ = render


class CheckFailed(Exception):
    """Raised inside a check to fail it with a message (any other exception fails it too)."""


class _Skip(Exception):
    """Raised inside a check to skip it with a reason."""


# -- loading ---------------------------------------------------------------------------------------
def resolve(entry: str, kind: str | None) -> tuple[Entry, str]:
    """The :class:`Entry` for a registered name or a ``module:attr`` target, and its kind.

    ``kind=None`` finds a registered name among losses, then regularizers (a ``module:attr``
    target defaults to a loss). An unknown name is a :class:`UsageError`.
    """
    if kind is not None and kind not in KINDS:
        raise unknown_value("kind", kind, KINDS)
    registries = {"loss": LOSSES, "regularizer": REGULARIZERS}
    for k in ([kind] if kind else KINDS):
        if entry in registries[k]:
            return registries[k].get(entry), k
    if is_target(entry):
        k = kind or "loss"
        return registries[k].target(entry), k
    raise unknown_value(kind or "entry (loss or regularizer)", entry,
                        registries[kind].names() if kind else LOSSES.names() + REGULARIZERS.names())


def check_entry(entry: str, kind: str | None = None, *, devices: list[str] | None = None
                ) -> CheckReport:
    """Run the conformance checks on ``entry`` (a registered name or ``module:attr``).

    ``devices`` defaults to ``["cpu"]`` plus ``"cuda"`` when a CUDA device is available.
    Raises :class:`UsageError` only for an unknown name or kind; everything wrong with the entry
    itself is a failed check in the returned :class:`CheckReport`.
    """
    resolved, kind = resolve(entry, kind)
    report = CheckReport(entry, kind, resolved.target, resolved.origin)
    if devices is None:
        devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    checker = _LossChecks if kind == "loss" else _RegularizerChecks
    for result in checker(resolved, devices).run():
        report.results.append(result)
    return report


#: Seconds ``lossbench check`` may take before it is killed and reported as a failed check.
CHECK_TIMEOUT = 600.0


def check_isolated(entry: str, kind: str | None = None, timeout: float | None = None
                   ) -> CheckReport:
    """:func:`check_entry` in a child process (:mod:`lossbench.sandbox`), killed after
    ``timeout`` seconds: the entry's code never runs in this process, and a crash
    (``os._exit``, a segfault) or a hang becomes a failed ``load`` check naming the reason.
    Entries registered in this process only (``Registry.register``) are checked in-process,
    since a child cannot see them."""
    from .errors import UsageError
    from .sandbox import run_check

    timeout = CHECK_TIMEOUT if timeout is None else timeout
    resolved, resolved_kind = resolve(entry, kind)
    if not resolved.from_entry_point and ":" not in entry:
        return check_entry(entry, kind)
    answer = run_check(entry, kind, timeout)
    if "usage_error" in answer:
        raise UsageError(answer["usage_error"])
    if "error" in answer:
        return CheckReport(entry, resolved_kind, resolved.target, resolved.origin,
                           [CheckResult("load", FAIL, answer["error"])])
    return CheckReport.from_dict(answer)


def _run(name: str, fn: Callable[[], str | None]) -> CheckResult:
    try:
        detail = fn()
    except _Skip as exc:
        return CheckResult(name, SKIP, str(exc))
    except CheckFailed as exc:
        return CheckResult(name, FAIL, str(exc))
    except Exception as exc:  # noqa: BLE001 - an entry may raise anything; that is a failure
        return CheckResult(name, FAIL, f"raised {type(exc).__name__}: {exc}")
    return CheckResult(name, PASS, detail or "")


# -- shared checks ---------------------------------------------------------------------------------
class _Checks:
    """Checks common to losses and regularizers; subclasses add theirs in ``specific``."""

    def __init__(self, entry: Entry, devices: list[str]):
        self.entry = entry
        self.devices = devices
        self.target: Any = None
        self.card: Card | None = None
        self.obj: Any = None

    def context(self, device: str = "cpu") -> dict[str, Any]:
        """Build-time context, as the runner passes it (only the names a factory asks for)."""
        return {"num_classes": C, "embedding_size": D,
                "class_counts": torch.tensor(CLASS_COUNTS, device=device),
                "num_train": sum(CLASS_COUNTS), "num_epochs": NUM_EPOCHS}

    def build(self, device: str = "cpu") -> Any:
        assert self.card is not None
        obj = build(self.entry, dict(self.card.hparams), self.context(device))
        return obj.to(device) if isinstance(obj, nn.Module) else obj

    def check_load(self) -> str:
        self.target = self.entry.load()
        return f"imported {self.entry.target}"

    def check_card(self) -> str:
        obj = self.target
        try:  # the one card validation the sweep and `lossbench list` use too
            self.card = card_from_target(obj, self.entry.name, self.entry.group,
                                         self.entry.origin, self.entry.target)
        except EntryLoadError as exc:
            # the functional checks still run, built without hyperparameters
            declared = getattr(obj, "objective", getattr(obj, "kind", "classification"))
            self.card = Card(self.entry.name, self.entry.group, "0", self.entry.origin,
                             self.entry.target, objective=declared if declared in OBJECTIVES
                             else "classification")
            raise CheckFailed(f"{exc} (the other checks ran without hyperparameters)") from None
        missing = [a for a in ("version", "paper") if not str(getattr(obj, a, "") or "").strip()]
        if missing:
            where = (f"the module:attr target {self.entry.target}"
                     if is_target(self.entry.name) else "the entry-point target")
            raise CheckFailed(f"missing card attribute(s) {', '.join(missing)} on {where} (e.g. "
                              f"version = \"1\", paper = \"Authors. Title. Venue\")")
        card = self.card
        if card.fidelity != "exact" and not card.fidelity.startswith("approximate:"):
            raise CheckFailed(f"{FIDELITY_HINT}, got {card.fidelity!r}")
        if card.objective not in OBJECTIVES:
            raise CheckFailed(f"objective must be one of {', '.join(OBJECTIVES)}, got "
                              f"{card.objective!r}")
        bad_suites = [s for s in card.suites if not isinstance(s, str) or not s]
        if bad_suites:
            raise CheckFailed(f"suites must be suite names (strings), got {bad_suites!r}")
        accepted = _factory_names(obj)
        unaccepted = sorted(set(factory_hparams(card.hparams)) - accepted)  # needs: harness's
        if unaccepted and "*" not in accepted:
            raise CheckFailed(f"hparams {unaccepted} are not parameters of the factory "
                              f"{getattr(obj, '__name__', obj)!r}")
        json.dumps(dict(card.hparams))
        return (f"version {card.version}, {len(card.hparams)} hparam(s), fidelity "
                f"{card.fidelity.split(':')[0]}, suites {', '.join(card.suites) or 'all'}")

    def check_search_space(self) -> str:
        assert self.card is not None
        space, hparams = dict(self.card.search_space), dict(self.card.hparams)
        if not space:
            return "no search space (nothing to tune)"
        extra = sorted(set(space) - set(hparams))
        if extra:
            raise CheckFailed(f"search_space names {extra}, which are not in hparams "
                              f"{sorted(hparams)}")
        for name, spec in space.items():
            problem = search_space_problem(spec, hparams[name])
            if problem:
                raise CheckFailed(f"search_space[{name!r}]: {problem}")
        return f"{len(space)} hparam(s): {', '.join(sorted(space))}"

    def check_build(self) -> str:
        self.obj = self.build()
        return f"built {type(self.obj).__name__} from defaults {dict(self.card.hparams)}"

    def check_pickle(self) -> str:
        clone = pickle.loads(pickle.dumps(self.obj))
        self.compare_clone(clone)
        return "the built entry survives pickle.dumps/loads (child processes can run it)"

    def compare_clone(self, clone: Any) -> None:
        """Subclasses compare a pickled copy with the original where they can."""

    def common(self) -> Iterator[tuple[str, Callable[[], str | None]]]:
        yield "load", self.check_load
        yield "card", self.check_card
        yield "search_space", self.check_search_space
        yield "build", self.check_build

    def specific(self) -> Iterator[tuple[str, Callable[[], str | None]]]:
        raise NotImplementedError

    def run(self) -> Iterator[CheckResult]:
        blocked = ""
        for name, fn in [*self.common(), *self.specific()]:
            if blocked:
                yield CheckResult(name, SKIP, f"not run: {blocked} failed")
                continue
            result = _run(name, fn)
            # a bad card does not block: the entry is still built (card defaults, or none)
            if result.failed and name in ("load", "build", "hooks"):
                blocked = name
            yield result


def _factory_names(obj: Any) -> set[str]:
    try:
        params = inspect.signature(obj).parameters.values()
    except (TypeError, ValueError):
        return set()
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return {p.name for p in params} | {"*"}
    return {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


# -- losses ----------------------------------------------------------------------------------------
class _LossChecks(_Checks):
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
        from .models import Classifier

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
            raise _Skip("classification losses only")
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
        if device not in self.devices:
            raise _Skip("no CUDA device here" if device == "cuda" and not torch.cuda.is_available()
                        else f"{device} not requested")
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
            raise _Skip("the entry does not declare accepts_soft_targets = True")
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
            raise _Skip("the loss does not take the epoch")
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


def expect_scalar(loss: Any, what: str) -> None:
    """Fail unless ``loss`` is a 0-dim floating tensor."""
    if not torch.is_tensor(loss):
        raise CheckFailed(f"{what}: the loss must be a torch.Tensor, got {type(loss).__name__}")
    if loss.ndim != 0:
        raise CheckFailed(f"{what}: the loss must be a scalar (0-dim) tensor, got shape "
                          f"{tuple(loss.shape)}; reduce it (e.g. .mean()) over the batch")
    if not loss.is_floating_point():
        raise CheckFailed(f"{what}: the loss has dtype {loss.dtype}, expected a floating dtype")


# -- regularizers ----------------------------------------------------------------------------------
class _RegularizerChecks(_Checks):
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
        from .models import build_model

        torch.manual_seed(0)
        reg = self.build(device)
        problems = _probe_hooks(reg)
        model = build_model("mlp", (IN_FEATURES,), C, hidden=16, depth=1).to(device)
        x, y = self.data(device)
        cfg = TrainConfig(epochs=2, batch_size=N, lr=1e-2, schedule="constant")
        result = train(model, torch.nn.CrossEntropyLoss(), x, y, cfg, num_classes=C, seed=0,
                       regularizers=[reg], select=scorer("val_top1", x, y),
                       accepts_soft_targets=True,
                       class_counts=torch.bincount(y, minlength=C))
        return result.history["train_loss"], problems

    def check_train(self, device: str) -> str:
        if device not in self.devices:
            raise _Skip("no CUDA device here" if device == "cuda" and not torch.cuda.is_available()
                        else f"{device} not requested")
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


def _probe_hooks(reg: Any) -> list[str]:
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


__all__ = ["CheckReport", "CheckResult", "check_entry", "resolve", "search_space_problem"]

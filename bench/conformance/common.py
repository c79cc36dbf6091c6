"""What the loss and regularizer checks share: the tiny problem every check uses, the base class
:class:`Checks` (load, card, search space, build, pickle, and the running of the checks in
order), and :func:`expect_scalar`."""

from __future__ import annotations

import inspect
import pickle
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch import nn

from ..build import build
from ..card_reading import card_from_target
from ..cards import OBJECTIVES, Card
from ..errors import EntryLoadError
from ..model_needs import factory_hparams
from ..registry import REGISTRIES, Entry
from ..signatures import accepted_names, build_context
from ..targets import is_target
from .results import FAIL, PASS, SKIP, CheckFailed, CheckResult, CheckSkipped

# The tiny problem every check uses: N samples, C classes (long-tailed counts), D-dim embeddings.
N, C, D, IN_FEATURES = 12, 5, 16, 8
CLASS_COUNTS = (40, 20, 10, 5, 2)
NUM_EPOCHS = 10


def run_one(name: str, fn: Callable[[], str | None]) -> CheckResult:
    try:
        detail = fn()
    except CheckSkipped as exc:
        return CheckResult(name, SKIP, str(exc))
    except CheckFailed as exc:
        return CheckResult(name, FAIL, str(exc))
    except Exception as exc:  # noqa: BLE001 - an entry may raise anything; that is a failure
        return CheckResult(name, FAIL, f"raised {type(exc).__name__}: {exc}")
    return CheckResult(name, PASS, detail or "")


# -- shared checks ---------------------------------------------------------------------------------
class Checks:
    """Checks common to losses and regularizers; subclasses add theirs in ``specific``."""

    def __init__(self, entry: Entry, devices: list[str]):
        self.entry = entry
        self.devices = devices
        self.target: Any = None
        self.card: Card | None = None
        self.obj: Any = None

    def context(self, device: str = "cpu") -> dict[str, Any]:
        """Build-time context, as the runner passes it: a value for each key of
        :data:`~lossbench.signatures.BUILD_CONTEXT` (:func:`~lossbench.signatures.build_context`;
        only the names a factory asks for reach it)."""
        return build_context(num_classes=C, embedding_size=D,
                             class_counts=torch.tensor(CLASS_COUNTS, device=device),
                             num_train=sum(CLASS_COUNTS), num_epochs=NUM_EPOCHS)

    def skip_unless_requested(self, device: str) -> None:
        """Skip the running check unless ``device`` is one of the requested devices."""
        if device not in self.devices:
            raise CheckSkipped("no CUDA device here"
                               if device == "cuda" and not torch.cuda.is_available()
                               else f"{device} not requested")

    def build(self, device: str = "cpu") -> Any:
        assert self.card is not None
        obj = build(self.entry, dict(self.card.hparams), self.context(device))
        return obj.to(device) if isinstance(obj, nn.Module) else obj

    def check_load(self) -> str:
        self.target = self.entry.load()
        return f"imported {self.entry.target}"

    def check_card(self) -> str:
        obj = self.target
        try:  # the one card validation (card_reading.card_problems) the sweep and `list` use
            self.card = card_from_target(obj, self.entry.name, self.entry.kind,
                                         self.entry.origin, self.entry.target,
                                         registries=REGISTRIES)
        except EntryLoadError as exc:
            # the functional checks still run, built without hyperparameters
            declared = getattr(obj, "objective", getattr(obj, "kind", "classification"))
            self.card = Card(self.entry.name, self.entry.kind, "0", self.entry.origin,
                             self.entry.target, objective=declared if declared in OBJECTIVES
                             else "classification")
            raise CheckFailed(f"{exc} (the other checks ran without hyperparameters)") from None
        missing = [a for a in ("version", "paper") if not str(getattr(obj, a, "") or "").strip()]
        if missing:
            where = (f"the module:attr target {self.entry.target}"
                     if is_target(self.entry.name) else "the entry-point target")
            raise CheckFailed(f"missing card attribute(s) {', '.join(missing)} on {where} (e.g. "
                              f"version = \"1\", paper = \"Authors. Title. Venue\")")
        card = self.card  # card_from_target validated it (card_reading.card_problems)
        unaccepted = sorted(set(factory_hparams(card.hparams)) - accepted_names(obj))  # needs:
        if unaccepted and not takes_any_keyword(obj):  # the harness's, never the factory's
            raise CheckFailed(f"hparams {unaccepted} are not parameters of the factory "
                              f"{getattr(obj, '__name__', obj)!r}")
        return (f"version {card.version}, {len(card.hparams)} hparam(s), fidelity "
                f"{card.fidelity.split(':')[0]}, suites {', '.join(card.suites) or 'all'}")

    def check_search_space(self) -> str:
        """What tuning may search; its format was checked with the card (``search_space`` of an
        invalid card fails the ``card`` check, and then none is searched here)."""
        assert self.card is not None
        space = dict(self.card.search_space)
        if not space:
            return "no search space (nothing to tune)"
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
            result = run_one(name, fn)
            # a bad card does not block: the entry is still built (card defaults, or none)
            if result.failed and name in ("load", "build", "hooks"):
                blocked = name
            yield result


def takes_any_keyword(obj: Any) -> bool:
    """Whether ``obj``'s signature takes ``**kwargs``: then every hyperparameter is accepted,
    though :func:`lossbench.signatures.accepted_names` (the names it spells out) lists none."""
    try:
        params = inspect.signature(obj).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.kind is p.VAR_KEYWORD for p in params)


def expect_scalar(loss: Any, what: str) -> None:
    """Fail unless ``loss`` is a 0-dim floating tensor."""
    if not torch.is_tensor(loss):
        raise CheckFailed(f"{what}: the loss must be a torch.Tensor, got {type(loss).__name__}")
    if loss.ndim != 0:
        raise CheckFailed(f"{what}: the loss must be a scalar (0-dim) tensor, got shape "
                          f"{tuple(loss.shape)}; reduce it (e.g. .mean()) over the batch")
    if not loss.is_floating_point():
        raise CheckFailed(f"{what}: the loss has dtype {loss.dtype}, expected a floating dtype")

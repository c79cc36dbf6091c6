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

One module per concern: :mod:`.results` (what a check yields), :mod:`.common` (the tiny
problem, the checks both kinds share), :mod:`.losses`, :mod:`.regularizers`, and :mod:`.child`
(``python -m lossbench.conformance.child``: the checks in a child process, for
:func:`check_isolated`).
"""

from __future__ import annotations

import sys

import torch

from ..errors import UsageError, unknown_value
from ..registry import LOSSES, REGULARIZERS, Entry
from ..sandbox import run_children
from ..targets import is_target
from .losses import LossChecks
from .regularizers import RegularizerChecks
from .results import FAIL, CheckReport, CheckResult

KINDS = ("loss", "regularizer")
#: The child module that runs :func:`check_entry` for :func:`check_isolated`.
CHECK_CHILD = "lossbench.conformance.child"


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
    checker = LossChecks if kind == "loss" else RegularizerChecks
    for result in checker(resolved, devices).run():
        report.results.append(result)
    return report


#: Seconds ``lossbench check`` may take before it is killed and reported as a failed check.
CHECK_TIMEOUT = 600.0


def check_isolated(entry: str, kind: str | None = None, timeout: float | None = None
                   ) -> CheckReport:
    """:func:`check_entry` in a child process (:mod:`.child`, started by
    :func:`lossbench.sandbox.run_children`), killed after
    ``timeout`` seconds: the entry's code never runs in this process, and a crash
    (``os._exit``, a segfault) or a hang becomes a failed ``load`` check naming the reason.
    Entries registered in this process only (``Registry.register``) are checked in-process,
    since a child cannot see them."""
    timeout = CHECK_TIMEOUT if timeout is None else timeout
    resolved, resolved_kind = resolve(entry, kind)
    if not resolved.from_entry_point and ":" not in entry:
        return check_entry(entry, kind)
    outcome = run_children([{"entry": entry, "kind": kind, "sys_path": list(sys.path)}],
                           timeout, what="checking the entry", module=CHECK_CHILD)[0]
    answer = {"error": outcome.error} if outcome.error else outcome.value
    if "usage_error" in answer:
        raise UsageError(answer["usage_error"])
    if "error" in answer:
        return CheckReport(entry, resolved_kind, resolved.target, resolved.origin,
                           [CheckResult("load", FAIL, answer["error"])])
    return CheckReport.from_dict(answer)


__all__ = ["CheckReport", "CheckResult", "check_entry", "check_isolated", "resolve"]

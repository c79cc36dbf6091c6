"""Checkpoint rules (model selection): which checkpoint of a run a task's test metrics are
computed on.

A task names its rule (``Task.model_selection``); the trainer scores the model on the task's
validation split every ``TrainConfig.eval_every`` epochs with that rule and keeps the checkpoint
of the best score (ties keep the earlier epoch). The test split is never seen by a rule, so a
checkpoint is never chosen by the numbers it is reported with (DomainBed's lesson: model
selection is part of the protocol, not of the algorithm).

Rules (:data:`SELECTIONS`):

* ``last_epoch`` — no selection: the final epoch's model. What the long-tail, OOD and control
  tasks report, as their papers do after a schedule that ends at learning rate zero.
* ``val_top1`` — validation top-1 accuracy (the default); needs class logits, so a run of an
  embedding loss (``objective = "embedding"``) falls back to ``last_epoch``.
* ``val_map_at_r`` — MAP@R among the validation samples (each queries all others), on the
  embeddings for an embedding loss and on the penultimate features (``model.features``) for a
  classification loss: the selection protocol of Musgrave et al. 2020, *A Metric Learning Reality
  Check* (ECCV), Section 4.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from .errors import unknown_value
from .evaluator import Evaluator

#: ``score(model) -> float``, higher is better; the model is scored in eval mode, without grad.
Scorer = Callable[[nn.Module], float]


@dataclass(frozen=True)
class ModelSelection:
    """A named checkpoint-selection rule (see the module docstring)."""

    name: str
    description: str
    #: ``make(x_val, y_val, loss_kind) -> Scorer | None``; None: keep the last epoch
    make: Callable[[torch.Tensor, torch.Tensor, str], Scorer | None]


def _scored(fn: Callable[[nn.Module], float]) -> Scorer:
    """Run ``fn`` in eval mode without grad and restore the model's training mode."""

    @torch.no_grad()
    def score(model: nn.Module) -> float:
        was_training = model.training
        model.eval()
        try:
            return float(fn(model))
        finally:
            model.train(was_training)

    return score


def _last_epoch(x_val: torch.Tensor, y_val: torch.Tensor, loss_kind: str) -> Scorer | None:
    return None


def _val_top1(x_val: torch.Tensor, y_val: torch.Tensor, loss_kind: str) -> Scorer | None:
    if loss_kind == "embedding":
        return None

    def top1(model: nn.Module) -> float:
        pred = Evaluator(model).outputs(x_val).argmax(-1)
        return (pred == y_val).double().mean().item()  # scorer(): never an empty split

    return _scored(top1)


def _val_map_at_r(x_val: torch.Tensor, y_val: torch.Tensor, loss_kind: str) -> Scorer | None:
    from .metrics.retrieval import retrieval_metrics

    def map_at_r(model: nn.Module) -> float:
        ev = Evaluator(model)
        embeddings = ev.outputs(x_val) if loss_kind == "embedding" else ev.features(x_val)
        return retrieval_metrics(embeddings, y_val)["map_at_r"]

    return _scored(map_at_r)


SELECTIONS: dict[str, ModelSelection] = {s.name: s for s in (
    ModelSelection("last_epoch", "the final epoch (no selection)", _last_epoch),
    ModelSelection("val_top1", "best validation top-1 accuracy (embedding losses: last epoch)",
                   _val_top1),
    ModelSelection("val_map_at_r", "best validation MAP@R (embeddings, or penultimate features "
                   "for a classification loss)", _val_map_at_r),
)}

DEFAULT_SELECTION = "val_top1"


def get_selection(name: str) -> ModelSelection:
    """The rule called ``name``; an unknown name raises a :class:`UsageError` listing the valid
    ones."""
    if name not in SELECTIONS:
        raise unknown_value("model selection", name, SELECTIONS)
    return SELECTIONS[name]


def scorer(name: str, x_val: torch.Tensor | None, y_val: torch.Tensor | None,
           loss_kind: str = "classification") -> Scorer | None:
    """The trainer's per-epoch validation score under rule ``name``; None when the rule keeps the
    last epoch (``last_epoch``, an embedding loss under ``val_top1``, or no validation split)."""
    rule = get_selection(name)
    if x_val is None or y_val is None or len(y_val) == 0:
        return None
    return rule.make(x_val, y_val, loss_kind)

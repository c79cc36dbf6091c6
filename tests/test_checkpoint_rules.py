"""Model selection rules: what each scores on the validation split, and the task option."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch import nn

from lossbench.checkpoint_rules import SELECTIONS, get_selection, scorer
from lossbench.errors import UsageError
from lossbench.suites.base import Task
from lossbench.suites.metric_learning import MNIST1D_RETRIEVAL
from lossbench.suites.noisy import SUITE as NOISY
from lossbench.suites.standard import MNIST1D


class Fixed(nn.Module):
    """Returns fixed outputs for inputs 0..n-1, and fixed penultimate features."""

    def __init__(self, outputs: torch.Tensor, features: torch.Tensor | None = None):
        super().__init__()
        self.out, self.feat = outputs, features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out[x.long()]

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.feat[x.long()]


X = torch.arange(4)
Y = torch.tensor([0, 0, 1, 1])


def test_val_top1_is_the_validation_accuracy():
    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0], [0.0, 3.0], [0.0, 1.0]])  # 3 of 4 right
    assert scorer("val_top1", X, Y)(Fixed(logits)) == pytest.approx(0.75)


def test_val_top1_keeps_the_last_epoch_for_an_embedding_loss():
    assert scorer("val_top1", X, Y, loss_kind="embedding") is None


def test_last_epoch_scores_nothing():
    assert scorer("last_epoch", X, Y) is None


def test_no_validation_split_means_no_selection():
    assert scorer("val_top1", None, None) is None


def test_val_map_at_r_scores_embeddings_by_hand():
    # R = 1 other sample per class, so AP@R is 1 when the nearest neighbour (cosine) has the
    # query's class and 0 otherwise.
    emb = torch.tensor([[1.0, 0.1], [1.0, 0.0], [1.0, 0.2], [0.0, 1.0]])
    y = torch.tensor([0, 0, 1, 1])
    # cos(0,1) = .9950 < cos(0,2) = .9952: 0 retrieves 2 (wrong); 1 retrieves 0 (right);
    # 2 retrieves 0 (wrong); 3 retrieves 2 (right): MAP@R = 2/4
    assert scorer("val_map_at_r", X, y, loss_kind="embedding")(Fixed(emb)) == pytest.approx(0.5)


def test_val_map_at_r_uses_the_features_of_a_classification_loss():
    feats = torch.tensor([[1.0, 0.0], [1.0, 0.1], [0.0, 1.0], [0.1, 1.0]])  # perfectly grouped
    logits = torch.zeros(4, 2)
    assert scorer("val_map_at_r", X, Y)(Fixed(logits, feats)) == pytest.approx(1.0)


def test_scoring_restores_the_training_mode():
    model = Fixed(torch.zeros(4, 2))
    model.train()
    scorer("val_top1", X, Y)(model)
    assert model.training


def test_an_unknown_rule_names_the_valid_ones():
    with pytest.raises(UsageError, match="val_top1"):
        get_selection("val_acc")


def test_a_task_with_an_unknown_rule_is_refused():
    with pytest.raises(UsageError, match="unknown model selection 'best'"):
        dataclasses.replace(MNIST1D, model_selection="best")


def test_every_rule_has_a_description():
    assert all(rule.description for rule in SELECTIONS.values())


def test_the_default_rule_is_validation_top1():
    assert Task.__dataclass_fields__["model_selection"].default == "val_top1"


def test_retrieval_selects_on_validation_map_at_r():
    assert MNIST1D_RETRIEVAL.model_selection == "val_map_at_r"


def test_noisy_tasks_select_on_validation_top1():
    assert {t.model_selection for t in NOISY.tasks.values()} == {"val_top1"}

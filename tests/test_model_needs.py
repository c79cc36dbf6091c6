"""Entry-declared model needs: the cosine head, the loss's learning-rate groups, their
validation, and how they enter the run spec (only the declaring entries' spec keys change)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lossbench.build import build, resolve_hparams
from lossbench.card_reading import card_from_target
from lossbench.errors import EntryLoadError, UsageError
from lossbench.hparam_values import typed_hparam
from lossbench.model_needs import ModelNeeds, needs_problems, resolve
from lossbench.models import Classifier, CosineHead, build_model
from lossbench.registry import LOSSES, REGISTRIES
from lossbench.spec import RunSpec
from lossbench.train import TrainConfig, build_optimizer, train


# -- the cosine head -------------------------------------------------------------------------------
def test_cosine_head_is_the_cosine_between_features_and_class_weights():
    torch.manual_seed(0)
    head, x = CosineHead(4, 3), torch.randn(5, 4)
    expected = F.normalize(x, dim=1) @ F.normalize(head.weight, dim=1).T
    by_hand = torch.tensor([[F.cosine_similarity(xi, w, dim=0).item() for w in head.weight]
                            for xi in x])
    out = head(x)
    assert torch.allclose(out, expected) and torch.allclose(out, by_hand, atol=1e-6)
    assert out.abs().max() <= 1.0


def test_cosine_head_scale_multiplies_the_cosines():
    torch.manual_seed(0)
    head, x = CosineHead(4, 3, scale=30.0), torch.randn(5, 4)
    cosines = F.normalize(x, dim=1) @ F.normalize(head.weight, dim=1).T
    assert torch.allclose(head(x), 30.0 * cosines)
    assert head(x).abs().max() <= 30.0


def test_cosine_head_starts_with_unit_class_vectors_like_the_authors_normed_linear():
    torch.manual_seed(0)
    norms = CosineHead(16, 10).weight.norm(dim=1)
    assert torch.allclose(norms, torch.ones(10), atol=1e-5)


def test_cosine_head_refuses_a_non_positive_scale():
    with pytest.raises(ValueError, match="-1.0"):
        CosineHead(4, 3, scale=-1.0)


def test_build_model_gives_the_plain_linear_head_by_default():
    model = build_model("mlp", (6,), 3, hidden=8, depth=1)
    assert type(model.head) is nn.Linear


def test_build_model_gives_a_scaled_cosine_head_when_asked():
    model = build_model("mlp", (6,), 3, head="cosine", head_scale=30.0, hidden=8, depth=1)
    assert isinstance(model.head, CosineHead) and model.head.scale == 30.0


def test_build_model_refuses_an_unknown_head_naming_the_valid_ones():
    with pytest.raises(UsageError, match=r"'spherical'.*\n.*cosine, linear"):
        build_model("mlp", (6,), 3, head="spherical", hidden=8, depth=1)


# -- what entries declare --------------------------------------------------------------------------
def test_an_entry_without_needs_gets_the_plain_head_and_one_learning_rate():
    assert resolve(LOSSES.card("cross_entropy").hparams) == ModelNeeds()
    assert "model_needs" not in LOSSES.card("cross_entropy").hparams


def test_ldam_drw_asks_for_a_cosine_head_scaled_by_its_own_scale():
    card = LOSSES.card("ldam_drw")
    assert resolve(card.hparams) == ModelNeeds(head="cosine", head_scale=30.0)
    assert resolve(resolve_hparams(card, {"scale": 16.0})).head_scale == 16.0


def test_proxy_anchor_asks_for_its_proxies_at_100_times_the_learning_rate():
    needs = resolve(LOSSES.card("proxy_anchor").hparams)
    assert needs.head == "linear" and needs.lr_multipliers == {"loss.proxies": 100.0}


def test_needs_can_be_overridden_for_an_ablation():
    card = LOSSES.card("ldam_drw")
    value = typed_hparam(card, "model_needs", '{"head": "linear"}')
    assert resolve(resolve_hparams(card, {"model_needs": value})).head == "linear"


def test_the_factory_never_receives_the_needs():
    card = LOSSES.card("ldam_drw")
    loss = build(LOSSES.get("ldam_drw"), card.hparams, {"class_counts": torch.tensor([5, 1])})
    assert loss.scale == 30.0


@pytest.mark.parametrize("needs, named", [
    ({"head": "spherical"}, "'spherical'"),
    ({"head": "spherical"}, "linear, cosine"),
    ({"lr_multipliers": {"proxies": 0.0}}, "lr_multipliers['proxies'] must be a positive number"),
    ({"lr_multipliers": {"proxies": -3}}, "got -3"),
    ({"head": "cosine", "head_scale": "temperature"}, "'temperature' names no hyperparameter"),
    ({"head": "linear", "head_scale": 30.0}, "needs head 'cosine'"),
    ({"optimizer": "sgd"}, "unknown key(s) 'optimizer'; valid: head, head_scale, lr_multipliers"),
])
def test_a_bad_declaration_is_refused_naming_the_value(needs, named):
    problems = "; ".join(needs_problems(needs, {"scale": 30.0}))
    assert named in problems
    with pytest.raises(ValueError, match="model_needs"):
        resolve({"scale": 30.0, "model_needs": needs})


def test_a_card_with_a_bad_declaration_fails_that_entry_only():
    class BadNeeds(nn.Module):
        """A loss asking for a head that does not exist."""

        model_needs = {"head": "spherical"}

    with pytest.raises(EntryLoadError, match="invalid card: model_needs head must be one of "
                                             "linear, cosine, got 'spherical'"):
        card_from_target(BadNeeds, "bad", "loss", "local", "tests:BadNeeds",
                         registries=REGISTRIES)


def test_only_a_loss_may_declare_needs():
    class Reg:
        """A regularizer."""

        model_needs = {"head": "cosine"}

    with pytest.raises(EntryLoadError, match="model_needs is for losses only"):
        card_from_target(Reg, "reg", "regularizer", "local", "tests:Reg", registries=REGISTRIES)


# -- the learning-rate groups ----------------------------------------------------------------------
def _proxy_anchor(num_classes: int = 3, embedding_size: int = 4) -> nn.Module:
    torch.manual_seed(0)
    return build(LOSSES.get("proxy_anchor"), LOSSES.card("proxy_anchor").hparams,
                 {"num_classes": num_classes, "embedding_size": embedding_size})


def test_proxy_anchor_proxies_get_their_own_group_at_100_times_the_learning_rate():
    loss, model = _proxy_anchor(), build_model("mlp", (6,), 4, hidden=8, depth=1)
    cfg = TrainConfig(epochs=1, lr=1e-3)
    opt = build_optimizer(model, (loss,), cfg, resolve(LOSSES.card("proxy_anchor").hparams)
                          .lr_multipliers)
    base, proxies = opt.param_groups
    assert proxies["params"] == [loss.loss.proxies] and proxies["lr"] == pytest.approx(0.1)
    assert base["lr"] == 1e-3 and {id(p) for p in base["params"]} == {
        id(p) for p in model.parameters()}


def test_without_multipliers_every_parameter_shares_one_group():
    loss, model = _proxy_anchor(), build_model("mlp", (6,), 4, hidden=8, depth=1)
    opt = build_optimizer(model, (loss,), TrainConfig(epochs=1, lr=1e-3))
    assert len(opt.param_groups) == 1
    assert len(opt.param_groups[0]["params"]) == len(list(model.parameters())) + 1


def test_a_multiplier_naming_no_parameter_is_refused_naming_the_parameters():
    loss, model = _proxy_anchor(), build_model("mlp", (6,), 4, hidden=8, depth=1)
    with pytest.raises(ValueError, match="'centers'.*its parameters: loss.proxies"):
        build_optimizer(model, (loss,), TrainConfig(epochs=1), {"centers": 10.0})


class _LearningRates:
    """A regularizer hook that records each group's learning rate after every epoch."""

    def __init__(self) -> None:
        self.seen: list[list[float]] = []

    def on_epoch_end(self, ctx) -> None:
        self.seen.append([g["lr"] for g in ctx.optimizer.param_groups])


@pytest.mark.parametrize("schedule", ["onecycle", "cosine", "constant"])
def test_the_schedule_keeps_the_proxies_at_100_times_the_models_rate(schedule):
    torch.manual_seed(0)
    loss = _proxy_anchor(num_classes=3, embedding_size=4)
    model = Classifier(nn.Identity(), nn.Linear(6, 4), 6)
    x, y = torch.randn(30, 6), torch.arange(30) % 3
    rates = _LearningRates()
    cfg = TrainConfig(epochs=3, batch_size=10, lr=1e-3, schedule=schedule)
    train(model, loss, x, y, cfg, num_classes=3, seed=0, regularizers=[rates],
          lr_multipliers={"loss.proxies": 100.0})
    assert len(rates.seen) == 3
    for base, proxies in rates.seen:
        assert proxies == pytest.approx(100.0 * base)


# -- the spec and its hash -------------------------------------------------------------------------
#: Spec keys at 70c9ab4 (harness 0.2.2, before model needs existed) of seed 0 of
#: standard/mnist1d v2 with each entry's card defaults; cross_entropy's is the key of its
#: committed record (results/48572b09bad5a81e.parquet).
KEYS_AT_70C9AB4 = {"cross_entropy": "48572b09bad5a81e", "focal": "6ff5521acedf0dc6",
                   "ldam_drw": "6e5143040a387069", "proxy_anchor": "a60268989c2cb998"}


def _default_spec(name: str) -> RunSpec:
    card = LOSSES.card(name)
    return RunSpec(loss=name, loss_version=card.version, suite="standard", task="mnist1d",
                   task_version="2", seed=0, loss_hparams=resolve_hparams(card, None),
                   harness_version="0.2.2")


@pytest.mark.parametrize("name", ["cross_entropy", "focal"])
def test_the_spec_key_of_an_entry_without_needs_is_unchanged(name):
    assert _default_spec(name).key == KEYS_AT_70C9AB4[name]


@pytest.mark.parametrize("name", ["ldam_drw", "proxy_anchor"])
def test_the_spec_of_a_declaring_entry_records_its_needs(name):
    spec = _default_spec(name)
    assert spec.loss_hparams["model_needs"] == LOSSES.get(name).load().model_needs
    assert spec.key != KEYS_AT_70C9AB4[name]


# -- a run -----------------------------------------------------------------------------------------
def test_a_run_of_ldam_drw_trains_its_cosine_head(monkeypatch):
    import lossbench.models as models
    from lossbench.registry import SUITES
    from lossbench.runner import execute

    heads = []
    real = models.build_model

    def spy(*args, **kwargs):
        model = real(*args, **kwargs)
        heads.append(model.head)
        return model

    monkeypatch.setattr(models, "build_model", spy)
    task = SUITES.load("standard").task("mnist1d")
    record = execute(RunSpec("ldam_drw", LOSSES.card("ldam_drw").version, "standard", "mnist1d",
                             task.version, 0, options={"epochs": 1}))
    assert record.status == "ok", record.error
    assert [type(h) for h in heads] == [CosineHead] and heads[0].scale == 30.0


def test_a_bad_override_of_the_needs_is_refused_when_planning():
    card = LOSSES.card("ldam_drw")
    with pytest.raises(UsageError, match="'ldam_drw': model_needs head must be one of linear, "
                                         "cosine, got 'spherical'"):
        resolve_hparams(card, {"model_needs": {"head": "spherical"}})

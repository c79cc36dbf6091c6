"""The trainer honours every hook kind of every built-in regularizer, with any loss, and feeds
stateful regularizers (ELR, PS-KD) the right sample indices after shuffling."""

from __future__ import annotations

import copy
import dataclasses

import pytest
import torch
import torch.nn.functional as F

from lossbench.build import build
from lossbench.checkpoint_rules import scorer
from lossbench.models import build_model
from lossbench.registry import LOSSES, REGULARIZERS
from lossbench.train import HOOKS, TrainConfig, train
from lossbench_registry.regularizers.elr import ELR
from lossbench_registry.regularizers.mixup import MixUp
from lossbench_registry.regularizers.ps_kd import PSKD, pskd_alpha

from .test_regularizers import BUILTIN

CFG = TrainConfig(epochs=2, batch_size=8, lr=1e-2)
FROZEN = TrainConfig(epochs=2, batch_size=8, lr=0.0, schedule="constant")
#: SAF's trajectory term starts after `start_epoch`; a 2-epoch run needs it at once
FAST_HPARAMS = {"saf": {"start_epoch": 0, "epochs_ago": 1}}


def tiny_problem(n=40, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 5, generator=g)
    y = (x[:, 0] + x[:, 1] > 0).long()
    return x, y


class HookSpy:
    """Wraps a regularizer, exposes exactly the hooks it has and counts their calls."""

    def __init__(self, inner):
        self.inner = inner
        self.calls: dict[str, int] = {}

    def __getattr__(self, name):
        target = getattr(self.inner, name)  # AttributeError for a hook the inner lacks
        if name not in HOOKS:
            return target

        def hook(*args, **kwargs):
            self.calls[name] = self.calls.get(name, 0) + 1
            return target(*args, **kwargs)

        return hook


def fit(loss_name, regularizers=(), cfg=CFG, seed=0, loss_fn=None, soft=None, **kw):
    x, y = tiny_problem()
    torch.manual_seed(seed)
    model = build_model("mlp", (5,), 2, hidden=16, depth=1)
    context = {"num_classes": 2, "num_train": len(x), "num_epochs": cfg.epochs}
    if loss_fn is None:
        loss_fn = build(LOSSES.get(loss_name), {}, context)
        soft = LOSSES.card(loss_name).accepts_soft_targets
    return train(model, loss_fn, x, y, cfg, num_classes=2, seed=seed, regularizers=regularizers,
                 select=scorer("val_top1", x, y), accepts_soft_targets=soft, **kw)


def built(name):
    card = REGULARIZERS.card(name)
    return REGULARIZERS.load(name)(**{**card.hparams, **FAST_HPARAMS.get(name, {})})


@pytest.mark.parametrize("loss_name", ["cross_entropy", "focal"])
@pytest.mark.parametrize("reg_name", BUILTIN)
def test_every_hook_of_every_regularizer_is_called_with_any_loss(reg_name, loss_name):
    spy = HookSpy(built(reg_name))
    result = fit(loss_name, [spy])
    hooks = {h for h in HOOKS if callable(getattr(spy.inner, h, None))}
    assert hooks and set(spy.calls) == hooks
    steps = CFG.epochs * 5  # 40 samples / batch 8
    for hook in hooks & {"transform_batch", "step"}:
        assert spy.calls[hook] == steps
    if "penalty" in hooks:  # a two-pass step runs the closure, hence the penalty, twice
        assert spy.calls["penalty"] >= steps
    assert all(torch.isfinite(torch.tensor(result.history["train_loss"])))
    copy.deepcopy(result.model)  # the runner deep-copies it for the best-validation checkpoint


@pytest.fixture(scope="module")
def plain_focal():
    return fit("focal").model


@pytest.mark.parametrize("reg_name", BUILTIN)
def test_every_regularizer_changes_what_is_learned(reg_name, plain_focal):
    x, _ = tiny_problem()
    plain = plain_focal
    regularized = fit("focal", [built(reg_name)]).model
    with torch.no_grad():  # compare functions: setup may wrap or reparametrize the parameters
        assert not torch.allclose(plain(x), regularized(x))


def test_mixup_with_alpha_zero_trains_exactly_like_no_mixup():
    a = fit("cross_entropy").model
    b = fit("cross_entropy", [MixUp(alpha=0.0)]).model
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(p, q)


def test_elr_memory_rows_follow_sample_indices_after_shuffling():
    # frozen model: each sample's prediction is fixed, so after one epoch row i of the memory
    # must hold 0.3 · p(x_i) — only if the trainer's ctx.index matched the shuffled batch
    elr = ELR(beta=0.7, lam=3.0)
    result = fit("cross_entropy", [elr], cfg=dataclasses.replace(FROZEN, epochs=1))
    x, _ = tiny_problem()
    with torch.no_grad():
        p = result.model(x).softmax(-1).clamp(1e-4, 1 - 1e-4)
    assert torch.allclose(elr.memory, 0.3 * p / p.sum(-1, keepdim=True), atol=1e-6)


def test_pskd_targets_use_each_samples_own_previous_prediction_after_shuffling():
    seen = []

    def soft_ce(logits, targets, *, index, epoch):
        seen.append((epoch, index.clone(), targets.detach().clone()))
        return F.cross_entropy(logits, targets)

    pskd = PSKD(alpha_T=0.8)
    result = fit(None, [pskd], cfg=FROZEN, loss_fn=soft_ce, soft=True)
    x, y = tiny_problem()
    with torch.no_grad():
        p = result.model(x).softmax(-1)
    assert torch.allclose(pskd.predictions, p, atol=1e-6)
    alpha = pskd_alpha(0.8, 1, FROZEN.epochs)
    second_epoch = [(i, t) for e, i, t in seen if e == 1]
    assert sorted(torch.cat([i for i, _ in second_epoch]).tolist()) == list(range(len(x)))
    for idx, targets in second_epoch:
        want = (1 - alpha) * F.one_hot(y[idx], 2).float() + alpha * p[idx]
        assert torch.allclose(targets, want, atol=1e-6)



def test_multi_sample_dropout_works_under_a_mixed_precision_forward():
    # the trainer hands penalties a float32 copy of bfloat16 outputs
    result = fit("cross_entropy", [built("multi_sample_dropout")], autocast=torch.bfloat16)
    assert all(torch.isfinite(torch.tensor(result.history["train_loss"])))

"""The built-in regularizers, each against a reference computed independently of its code:
hand-computed values on tiny tensors, torch.linalg, or an exact float64 derivative."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lossbench.loss_targets import loss_on_targets
from lossbench.registry import REGULARIZERS
from lossbench_registry.regularizers.elr import ELR
from lossbench_registry.regularizers.mixup import MixUp, mixup_batch
from lossbench_registry.regularizers.multi_sample_dropout import MultiSampleDropout
from lossbench_registry.regularizers.ps_kd import PSKD, pskd_alpha
from lossbench_registry.regularizers.saf import SAF
from lossbench_registry.regularizers.sam import SAM
from lossbench_registry.regularizers.spectral import Spectral
from lossbench_registry.regularizers.vat import VAT, virtual_adversarial_direction
from lossbench_registry.regularizers.wasserstein_init import WassersteinInit
from lossbench_registry.regularizers.weight_compander import WeightCompander, compand
from lossbench_registry.regularizers.z_loss import ZLoss

BUILTIN = ["z_loss", "elr", "ps_kd", "mixup", "vat", "spectral", "wasserstein_init",
           "multi_sample_dropout", "weight_compander", "sam", "saf"]


def make_ctx(num_train=4, num_classes=2, **kw):
    """The attributes of the trainer's context that the regularizers read."""
    base = dict(num_train=num_train, num_classes=num_classes, device=torch.device("cpu"),
                generator=torch.Generator().manual_seed(0), step=0, epoch=0, num_epochs=10,
                index=None, inputs=None, model=None, accepts_soft_targets=True, criterion=None)
    base.update(kw)
    return SimpleNamespace(**base)


class Head(nn.Module):
    """A minimal model with the ``head`` attribute lossbench's Classifier has."""

    def __init__(self, d=3, c=2):
        super().__init__()
        self.head = nn.Linear(d, c)

    def forward(self, x):
        return self.head(x)


# -- cards ----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", BUILTIN)
def test_card_names_paper_defaults_and_fidelity(name):
    card = REGULARIZERS.card(name)
    assert card.paper and "arXiv" in card.paper
    assert card.fidelity == "exact" or card.fidelity.startswith("approximate: ")
    assert set(card.search_space) <= set(card.hparams)
    REGULARIZERS.load(name)(**card.hparams)  # the defaults build


# -- z-loss ----------------------------------------------------------------------------------
def test_z_loss_is_1e4_times_mean_squared_log_partition():
    logits = torch.tensor([[0.0, math.log(3.0)], [1.0, 1.0]])
    # log Z = log(1 + 3) and log(2e)
    want = 1e-4 * (math.log(4.0) ** 2 + (1 + math.log(2.0)) ** 2) / 2
    assert ZLoss().penalty(logits, None, make_ctx()).item() == pytest.approx(want, rel=1e-6)


# -- ELR -------------------------------------------------------------------------------------
def test_elr_memory_and_penalty_over_two_steps():
    elr = ELR(beta=0.7, lam=3.0)
    ctx = make_ctx(num_train=4)
    elr.setup(None, ctx)
    # step 0: samples 0 and 2 predict (0.5, 0.5): t = 0.3 · p = (0.15, 0.15), <t, p> = 0.15
    ctx.index = torch.tensor([0, 2])
    pen = elr.penalty(torch.zeros(2, 2), None, ctx)
    assert pen.item() == pytest.approx(3 * math.log(0.85), rel=1e-5)
    # step 1: samples 2 and 3 predict (0.75, 0.25)
    ctx.step, ctx.index = 1, torch.tensor([2, 3])
    pen = elr.penalty(torch.tensor([[math.log(3.0), 0.0]] * 2), None, ctx)
    t2 = [0.7 * 0.15 + 0.3 * 0.75, 0.7 * 0.15 + 0.3 * 0.25]  # (0.33, 0.18)
    t3 = [0.3 * 0.75, 0.3 * 0.25]
    dot2, dot3 = t2[0] * .75 + t2[1] * .25, t3[0] * .75 + t3[1] * .25
    want = 3 * (math.log(1 - dot2) + math.log(1 - dot3)) / 2
    assert pen.item() == pytest.approx(want, rel=1e-5)
    assert torch.allclose(elr.memory, torch.tensor([[.15, .15], [0, 0], t2, t3]), atol=1e-6)


def test_elr_writes_its_memory_once_per_step_under_a_two_pass_step():
    elr = ELR()
    ctx = make_ctx(index=torch.tensor([1]))
    elr.setup(None, ctx)
    elr.penalty(torch.zeros(1, 2), None, ctx)
    elr.penalty(torch.tensor([[5.0, -5.0]]), None, ctx)  # SAM's second pass, same step
    assert torch.allclose(elr.memory[1], torch.tensor([0.15, 0.15]))


def test_elr_penalty_gradient_pulls_prediction_towards_the_memory():
    elr = ELR()
    ctx = make_ctx(num_train=1, index=torch.tensor([0]))
    elr.setup(None, ctx)
    elr.memory[0] = torch.tensor([0.9, 0.1])
    ctx.step = 5
    logits = torch.zeros(1, 2, requires_grad=True)
    elr.penalty(logits, None, ctx).backward()
    assert logits.grad[0, 0] < 0 < logits.grad[0, 1]  # descent raises class 0


# -- PS-KD -----------------------------------------------------------------------------------
def test_pskd_alpha_grows_linearly_to_alpha_T():
    assert pskd_alpha(0.8, 0, 4) == pytest.approx(0.2)
    assert pskd_alpha(0.8, 3, 4) == pytest.approx(0.8)


def test_pskd_soft_targets_mix_label_with_last_epoch_prediction():
    pskd = PSKD(alpha_T=0.8)
    ctx = make_ctx(num_train=3, num_classes=2, num_epochs=4, index=torch.tensor([2, 0]))
    pskd.setup(None, ctx)
    y = torch.tensor([1, 0])
    _, t0 = pskd.transform_batch(None, y, ctx)
    assert torch.equal(t0, F.one_hot(y, 2).float())  # table starts as the labels
    pskd.penalty(torch.tensor([[0.0, math.log(3.0)], [0.0, 0.0]]), t0, ctx)  # p = .25/.75, .5/.5
    ctx.epoch, ctx.step = 1, 1  # α_1 = 0.8 · 2/4 = 0.4
    _, t1 = pskd.transform_batch(None, y, ctx)
    want = torch.tensor([[0.4 * 0.25, 0.6 + 0.4 * 0.75], [0.6 + 0.4 * 0.5, 0.4 * 0.5]])
    assert torch.allclose(t1, want)


def test_pskd_gives_hard_target_losses_a_sampled_teacher_class():
    pskd = PSKD(alpha_T=0.8)
    ctx = make_ctx(num_train=2, num_classes=3, num_epochs=4, index=torch.tensor([0, 1]),
                   accepts_soft_targets=False)
    pskd.setup(None, ctx)
    y = torch.tensor([0, 1])
    pskd.transform_batch(None, y, ctx)
    pskd.penalty(torch.tensor([[0.0, 0.0, 60.0], [60.0, 0.0, 0.0]]), y, ctx)  # certain: 2 and 0
    ctx.epoch, ctx.step = 1, 1
    _, mixture = pskd.transform_batch(None, y, ctx)
    (w_label, labels), (w_teacher, teacher) = mixture
    assert (w_label, w_teacher) == pytest.approx((0.6, 0.4))
    assert torch.equal(labels, y) and torch.equal(teacher, torch.tensor([2, 0]))


# -- MixUp -----------------------------------------------------------------------------------
def test_mixup_with_lambda_one_equals_no_mixup():
    x, y = torch.randn(4, 3), torch.tensor([0, 1, 1, 0])
    logits = torch.randn(4, 2)
    xm, mixture = mixup_batch(x, y, 1.0, torch.tensor([3, 2, 1, 0]))
    assert torch.equal(xm, x)
    for soft in (True, False):
        got = loss_on_targets(F.cross_entropy, logits, mixture, accepts_soft=soft, kwargs={})
        assert torch.allclose(got, F.cross_entropy(logits, y))


def test_mixup_mixes_inputs_and_targets_with_the_same_lambda():
    x, y = torch.tensor([[1.0], [3.0]]), torch.tensor([0, 1])
    xm, [(wa, ya), (wb, yb)] = mixup_batch(x, y, 0.25, torch.tensor([1, 0]))
    assert torch.allclose(xm, torch.tensor([[0.25 * 1 + 0.75 * 3], [0.25 * 3 + 0.75 * 1]]))
    assert (wa, wb) == (0.25, 0.75) and torch.equal(yb, torch.tensor([1, 0]))


def test_mixup_lambda_follows_beta_alpha_alpha():
    mix, ctx = MixUp(alpha=0.5), make_ctx()
    lams = torch.tensor([mix.sample_lambda(ctx) for _ in range(4000)])
    assert lams.mean().item() == pytest.approx(0.5, abs=0.02)
    assert lams.var().item() == pytest.approx(0.25 / 2.0, abs=0.01)  # Beta(a,a): 1/(4(2a+1))


# -- VAT -------------------------------------------------------------------------------------
def test_vat_direction_is_the_dominant_hessian_direction():
    # 2-class linear model: the KL Hessian in x is W^T A W of rank one, along w_0 - w_1.
    torch.manual_seed(0)
    model = nn.Linear(4, 2, bias=False)
    x = torch.randn(3, 4)
    d = torch.randn(3, 4)
    r = virtual_adversarial_direction(model, x, model(x), d, xi=1e-2)
    w = model.weight.detach()
    axis = F.normalize(w[0] - w[1], dim=0)
    assert torch.allclose((r @ axis).abs(), torch.ones(3), atol=1e-4)


def test_vat_direction_matches_exact_hessian_vector_product_on_a_cnn():
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 3))
    x, d = torch.randn(4, 6), torch.randn(4, 6)
    got = virtual_adversarial_direction(model, x, model(x), d, xi=1e-2)
    m64, x64 = model.double(), x.double()
    p = m64(x64).detach().log_softmax(-1)
    r = torch.zeros_like(x64, requires_grad=True)
    kl = (p.exp() * (p - m64(x64 + r).log_softmax(-1))).sum(-1).mean()
    (g,) = torch.autograd.grad(kl, r, create_graph=True)
    (hd,) = torch.autograd.grad((g * F.normalize(d.double(), dim=1)).sum(), r)
    cos = F.cosine_similarity(got.double(), hd, dim=1)
    assert (cos > 0.99).all()


def test_vat_penalty_is_alpha_kl_at_epsilon_along_the_direction():
    torch.manual_seed(0)
    model = nn.Linear(4, 2, bias=False)
    x = torch.randn(3, 4)
    pen = VAT(epsilon=0.5, xi=1e-2, alpha=2.0).penalty(model(x), None,
                                                       make_ctx(model=model, inputs=x))
    # r_adv = ±ε · axis (rank-one Hessian); the sign per sample follows the random start
    d = torch.randn(x.shape, generator=torch.Generator().manual_seed(0))
    w = model.weight.detach()
    axis = F.normalize(w[0] - w[1], dim=0)
    sign = torch.sign(virtual_adversarial_direction(model, x, model(x), d, 1e-2) @ axis)
    with torch.no_grad():
        p, q = model(x).softmax(-1), model(x + 0.5 * sign[:, None] * axis).softmax(-1)
    want = 2.0 * (p * (p / q).log()).sum(-1).mean()
    assert pen.item() == pytest.approx(want.item(), rel=1e-4)


# -- spectral --------------------------------------------------------------------------------
def test_spectral_penalty_uses_the_top_singular_value_from_svdvals():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    reg = Spectral(lam=0.1, k=2.0, power_iterations=200)
    reg.setup(model, make_ctx())
    want = 0.0
    for layer in (model[0], model[2]):
        aug = torch.cat([layer.weight, layer.bias[:, None]], dim=1).detach()
        want += (torch.linalg.svdvals(aug)[0] ** 2 - 1) ** 2
    got = reg.penalty(torch.zeros(1), None, None)
    assert got.item() == pytest.approx(0.1 * want.item(), rel=1e-4)


def test_spectral_penalty_is_zero_for_orthogonal_layers():
    layer = nn.Linear(3, 3, bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.linalg.qr(torch.randn(3, 3))[0])
    reg = Spectral(power_iterations=50)
    reg.setup(nn.Sequential(layer), make_ctx())
    assert reg.penalty(torch.zeros(1), None, None).item() == pytest.approx(0.0, abs=1e-8)


def test_spectral_power_iteration_converges_across_steps_from_one_iteration_each():
    torch.manual_seed(0)
    layer = nn.Linear(5, 4, bias=False)
    reg = Spectral(power_iterations=1)
    reg.setup(nn.Sequential(layer), make_ctx())
    for _ in range(100):
        sigma = reg.sigmas()[0]
    assert sigma.item() == pytest.approx(torch.linalg.svdvals(layer.weight)[0].item(), rel=1e-4)


# -- Wasserstein to init ---------------------------------------------------------------------
def test_wasserstein_penalty_compares_sorted_values_with_sorted_initial_values():
    p = nn.Parameter(torch.tensor([3.0, 1.0, 2.0]))
    holder = nn.Module()
    holder.p = p
    reg = WassersteinInit(lam=0.5)
    reg.setup(holder, make_ctx())
    with torch.no_grad():
        p.copy_(torch.tensor([0.0, 5.0, 2.0]))  # sorted (0, 2, 5) vs (1, 2, 3): 1 + 0 + 4
    assert reg.penalty(torch.zeros(1), None, None).item() == pytest.approx(0.5 * 5)
    with torch.no_grad():
        p.copy_(torch.tensor([2.0, 3.0, 1.0]))  # a permutation of the initial values
    assert reg.penalty(torch.zeros(1), None, None).item() == 0.0


# -- multi-sample dropout --------------------------------------------------------------------
def test_multi_sample_dropout_loss_is_the_mean_of_the_sample_losses(monkeypatch):
    torch.manual_seed(0)
    model, M, p = Head(3, 2), 4, 0.5
    h, y = torch.randn(5, 3), torch.tensor([0, 1, 1, 0, 1])
    masks = (torch.rand(M, 5, 3) >= p).float()  # fixed dropout masks, one per sample
    monkeypatch.setattr(F, "dropout", lambda x, p, training: x * masks / (1 - p))
    reg = MultiSampleDropout(samples=M, p=p)
    reg.setup(model, make_ctx())
    out = model(h)
    total = F.cross_entropy(out, y) + reg.penalty(out, y, make_ctx(criterion=F.cross_entropy))
    heads = model.head.head
    sample_losses = [F.cross_entropy(heads(h * masks[m] / (1 - p)), y) for m in range(M)]
    assert total.item() == pytest.approx(torch.stack(sample_losses).mean().item(), rel=1e-5)
    assert torch.allclose(out, torch.stack([heads(h * masks[m] / (1 - p)) for m in range(M)])
                          .mean(0))  # what other hooks see: the mean logit


def test_multi_sample_dropout_head_is_deterministic_in_eval_mode():
    model = Head(3, 2)
    plain = model.head
    MultiSampleDropout().setup(model, make_ctx())
    model.eval()
    h = torch.randn(4, 3)
    assert torch.equal(model(h), plain(h))


# -- weight compander ------------------------------------------------------------------------
def test_compander_is_the_papers_a_arctan_v_over_b_by_hand():
    v = torch.tensor([0.0, 0.5, -3.0, 100.0])
    got = compand(v, a=1.0, b=0.6)  # eq. (1), Table I's ResNet18/CIFAR-10 values
    want = torch.tensor([0.0, math.atan(0.5 / 0.6), -math.atan(3.0 / 0.6), math.atan(100 / 0.6)])
    assert torch.allclose(got, want)
    assert got.abs().max() < math.pi / 2  # bounded by a π/2


def test_weight_compander_starts_from_eq_4_and_keeps_the_initial_function():
    torch.manual_seed(0)
    model = Head(3, 2)
    x = torch.randn(4, 3)
    before, w0 = model(x).detach(), model.head.weight.detach().clone()
    WeightCompander(a=1.0, b=0.6).setup(model, make_ctx())
    raw = model.head.parametrizations.weight.original
    assert torch.allclose(raw, 0.6 * torch.tan(w0 / 1.0))  # v = b tan(w / a)
    assert torch.allclose(model(x), before, atol=1e-6)
    model(x).sum().backward()
    assert raw.grad is not None  # the optimizer trains the raw weights


def compander_step(optimizer_class, lr=0.1):
    """One weight-compander step on a 3→2 linear head; returns v before, v after, ∂L/∂Ψ."""
    torch.manual_seed(0)
    model, x = Head(3, 2), torch.randn(4, 3)
    wc = WeightCompander(a=1.0, b=0.6)
    wc.setup(model, make_ctx())
    v = model.head.parametrizations.weight.original
    opt = optimizer_class(model.parameters(), lr=lr)

    def closure():
        opt.zero_grad()
        loss = model(x).square().mean()
        loss.backward()
        return loss

    v0 = v.detach().clone()
    w = (1.0 * torch.atan(v0 / 0.6)).requires_grad_(True)  # Ψ(v), as a plain tensor
    (grad_w,) = torch.autograd.grad((x @ w.T + model.head.bias).square().mean(), w)
    wc.step(closure, opt, make_ctx())
    return v0, v.detach(), grad_w


def test_weight_compander_adam_step_is_adams_step_on_dl_dpsi_rescaled_by_dpsi_dv():
    v0, v1, grad_w = compander_step(torch.optim.Adam)
    slope = 1.0 / (0.6 * (1 + (v0 / 0.6) ** 2))  # eq. (3)
    adam_first_step = 0.1 * grad_w / (grad_w.abs() + 1e-8)  # m̂ / (√v̂ + ε) at step 1
    assert torch.allclose(v1, v0 - slope * adam_first_step, atol=1e-6)


def test_weight_compander_sgd_step_is_the_plain_step_on_v():
    v0, v1, grad_w = compander_step(torch.optim.SGD)
    slope = 1.0 / (0.6 * (1 + (v0 / 0.6) ** 2))
    assert torch.allclose(v1, v0 - 0.1 * slope * grad_w, atol=1e-6)  # ∂L/∂v = ∂L/∂Ψ · ∂Ψ/∂v


# -- SAM -------------------------------------------------------------------------------------
def test_sam_perturbation_norm_equals_rho_and_update_uses_the_perturbed_gradient():
    torch.manual_seed(0)
    model = nn.Linear(3, 2)
    x, y = torch.randn(6, 3), torch.tensor([0, 1, 0, 1, 1, 0])
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    w0 = [p.detach().clone() for p in model.parameters()]
    seen = []

    def closure():
        opt.zero_grad()
        seen.append([p.detach().clone() for p in model.parameters()])
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        return loss

    loss = SAM(rho=0.05).step(closure, opt, make_ctx())
    # reference: ε = ρ g/‖g‖ from an independent gradient, then w − lr ∇L(w + ε)
    ref = nn.Linear(3, 2)
    with torch.no_grad():
        for q, w in zip(ref.parameters(), w0, strict=True):
            q.copy_(w)
    g = torch.autograd.grad(F.cross_entropy(ref(x), y), list(ref.parameters()))
    norm = torch.sqrt(sum((gi ** 2).sum() for gi in g))
    eps = [0.05 * gi / norm for gi in g]
    shift = torch.sqrt(sum(((a - b) ** 2).sum() for a, b in zip(seen[1], seen[0], strict=True)))
    assert shift.item() == pytest.approx(0.05, rel=1e-5)
    with torch.no_grad():
        for q, e in zip(ref.parameters(), eps, strict=True):
            q.add_(e)
    g_adv = torch.autograd.grad(F.cross_entropy(ref(x), y), list(ref.parameters()))
    for p, w, ga in zip(model.parameters(), w0, g_adv, strict=True):
        assert torch.allclose(p, w - 0.1 * ga, atol=1e-6)
    assert loss.item() == pytest.approx(F.cross_entropy(nn.functional.linear(
        x, w0[0], w0[1]), y).item())  # the first pass's loss


# -- SAF -------------------------------------------------------------------------------------
def test_saf_penalty_is_kl_to_the_logits_recorded_epochs_ago():
    saf = SAF(lam=0.5, temperature=2.0, epochs_ago=2, start_epoch=1)
    ctx = make_ctx(num_train=2, num_classes=2, index=torch.tensor([1]))
    saf.setup(None, ctx)
    history = [torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 0.0]]),
               torch.tensor([[0.0, 2.0]])]
    pens = []
    for epoch, logits in enumerate(history):
        ctx.epoch, ctx.step = epoch, epoch
        pens.append(saf.penalty(logits, None, ctx).item())
    assert pens[:2] == [0.0, 0.0]  # inactive until epoch > start_epoch
    p = torch.tensor([1.0, 0.0]).div(2).softmax(-1)  # epoch 0's logits / τ
    q = torch.tensor([0.0, 2.0]).div(2).softmax(-1)
    want = 0.5 * 4 * (p * (p / q).log()).sum()
    assert pens[2] == pytest.approx(want.item(), rel=1e-5)


@pytest.mark.parametrize("reg", [ELR(), PSKD(), SAF()], ids=["elr", "ps_kd", "saf"])
def test_per_sample_memories_refuse_outputs_that_are_not_class_logits(reg):
    ctx = make_ctx(num_train=4, num_classes=2, index=torch.tensor([0, 1]))
    reg.setup(None, ctx)
    with pytest.raises(ValueError, match=r"class logits of shape \[N, 2\]"):
        reg.penalty(torch.zeros(2, 8), None, ctx)  # an 8-dim embedding

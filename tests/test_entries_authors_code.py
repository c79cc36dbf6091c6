"""Reference tests: entries labelled ``exact`` against their authors' code.

Each test transcribes the named function of the authors' code (repository, commit and file in
the entry's docstring) by hand — plain ``math`` on a 2×3 tensor, or a few torch lines written
from the code, not from the entry — and compares it with the entry built from its card's
defaults, so that both the formula and the default hyperparameters are checked.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from lossbench.registry import LOSSES, REGULARIZERS
from lossbench.train import loss_on_targets

#: rows (1, 2, 3) with target 2 and (0.5, -1, 0) with target 0
ROWS = [[1.0, 2.0, 3.0], [0.5, -1.0, 0.0]]
TARGETS = [2, 0]


def example() -> tuple[torch.Tensor, torch.Tensor]:
    return torch.tensor(ROWS), torch.tensor(TARGETS)


def default_loss(name: str):
    """The loss as the board runs it: built from its card's default hyperparameters."""
    return LOSSES.load(name)(**LOSSES.card(name).hparams)


def softmax(row: list[float]) -> list[float]:
    exps = [math.exp(v) for v in row]
    return [e / sum(exps) for e in exps]


def mean(values: list[float]) -> float:
    return sum(values) / len(values)


# -- LDR-KL: LDRLoss_V1, Optimization-AI/ICML2023_LDR@732fc85 loss.py ---------------------------

def ldr_loss_v1(row: list[float], y: int, threshold: float, lam: float) -> float:
    """``LDRLoss_V1.forward`` for one sample: softplus, divide by the mean, margin gaps, λ·log mean
    exp(gap/λ)."""
    sp = [math.log1p(math.exp(v)) for v in row]
    s = [v / mean(sp) for v in sp]
    gaps = [(threshold * (k != y) + s[k] - s[y]) / lam for k in range(len(row))]
    return lam * math.log(mean([math.exp(g) for g in gaps]))


def test_ldr_kl_defaults_are_the_authors_run_settings_and_formula_is_ldr_loss_v1():
    # experiment.py: --margin 0.1, parameter_set [10] for LDR
    want = mean([ldr_loss_v1(r, y, threshold=0.1, lam=10.0) for r, y in zip(ROWS, TARGETS,
                                                                            strict=True)])
    assert default_loss("ldr_kl")(*example()).item() == pytest.approx(want, rel=1e-5)


# -- ALDR-KL: ALDRLoss_V1, same repository ------------------------------------------------------

def aldr_loss_v1(rows: list[list[float]], targets: list[int], lam_prev: list[float],
                 lam0: float, alpha: float, threshold: float) -> tuple[float, list[float]]:
    """``ALDRLoss_V1.forward`` (softplus=False): returns the loss and the stored λ's."""
    losses, lams = [], []
    for row, y, lp in zip(rows, targets, lam_prev, strict=True):
        c = len(row)
        s = [v / (sum(abs(u) for u in row) / c) for v in row]
        p = [q + 1e-5 for q in softmax([v / lp for v in s])]
        p = [q / sum(p) for q in p]
        kl = sum(q * math.log(c * q) for q in p)
        lam = lam0 - lam0 * kl / (alpha * math.log(c))
        extra = -0.5 * alpha * math.log(c) / lam0 * (lam - lam0) ** 2
        gaps = [(threshold * (k != y) + s[k] - s[y]) / lam for k in range(c)]
        losses.append(lam * math.log(mean([math.exp(g) for g in gaps])) + extra)
        lams.append(lam)
    return mean(losses), lams


def test_aldr_kl_defaults_and_first_visit_match_aldr_loss_v1():
    # experiment.py: --margin 0.1, parameter_set [10], --alpha 2; softplus only for CIFAR-100
    loss = LOSSES.load("aldr_kl")(**LOSSES.card("aldr_kl").hparams, num_train=5)
    want, lams = aldr_loss_v1(ROWS, TARGETS, [10.0, 10.0], lam0=10.0, alpha=2.0, threshold=0.1)
    got = loss(*example(), index=torch.tensor([3, 1]))
    assert got.item() == pytest.approx(want, rel=1e-5)
    assert loss.lambdas[[3, 1]].tolist() == pytest.approx(lams, rel=1e-5)


def test_aldr_kl_second_visit_starts_from_the_stored_lambda():
    loss = LOSSES.load("aldr_kl")(**LOSSES.card("aldr_kl").hparams, num_train=2)
    index = torch.tensor([0, 1])
    loss(*example(), index=index)
    _, first = aldr_loss_v1(ROWS, TARGETS, [10.0, 10.0], lam0=10.0, alpha=2.0, threshold=0.1)
    want, _ = aldr_loss_v1(ROWS, TARGETS, first, lam0=10.0, alpha=2.0, threshold=0.1)
    assert loss(*example(), index=index).item() == pytest.approx(want, rel=1e-5)


# -- ASL: ASLSingleLabel, Alibaba-MIIL/ASL@8c9e0bd src/loss_functions/losses.py -----------------

def test_asymmetric_defaults_and_formula_are_asl_single_label():
    gamma_pos, gamma_neg, eps = 0.0, 4.0, 0.1  # ASLSingleLabel's keyword defaults
    terms = []
    for row, y in zip(ROWS, TARGETS, strict=True):
        p = softmax(row)
        c = len(row)
        total = 0.0
        for k in range(c):
            xs_pos = p[k] * (k == y)
            xs_neg = (1 - p[k]) * (k != y)
            weight = (1 - xs_pos - xs_neg) ** (gamma_pos * (k == y) + gamma_neg * (k != y))
            target = (k == y) * (1 - eps) + eps / c
            total += -target * math.log(p[k]) * weight
        terms.append(total)
    assert default_loss("asymmetric")(*example()).item() == pytest.approx(mean(terms), rel=1e-5)


# -- SCE: SCELoss, HanxunH/SCELoss-Reproduce@c81fb33 loss.py -----------------------------------

def sce_loss(rows: list[list[float]], targets: list[int], alpha: float, beta: float) -> float:
    """``SCELoss.forward``: α·CE + β·mean(-Σ clamp(p, 1e-7, 1) log clamp(onehot, 1e-4, 1))."""
    ce, rce = [], []
    for row, y in zip(rows, targets, strict=True):
        p = softmax(row)
        ce.append(-math.log(p[y]))
        rce.append(-sum(min(max(q, 1e-7), 1.0) * math.log(1.0 if k == y else 1e-4)
                        for k, q in enumerate(p)))
    return alpha * mean(ce) + beta * mean(rce)


def test_sce_defaults_and_formula_are_the_official_codes():
    # α = 0.1, β = 1.0: the CIFAR-10 setting of both codes; A = ln 1e-4 from the label clamp
    want = sce_loss(ROWS, TARGETS, alpha=0.1, beta=1.0)
    assert default_loss("sce")(*example()).item() == pytest.approx(want, rel=1e-5)


def test_sce_clamps_tiny_probabilities_at_1e_7_in_the_reverse_term():
    rows = [[30.0, 0.0, 0.0]]  # p_1 = p_2 ≈ 9e-14: the clamp at 1e-7 sets their RCE terms
    want = sce_loss(rows, [0], alpha=0.1, beta=1.0)
    got = default_loss("sce")(torch.tensor(rows), torch.tensor([0])).item()
    assert got == pytest.approx(want, rel=1e-4)
    assert got == pytest.approx(0.1 * 2 * math.exp(-30) - 2 * 1e-7 * math.log(1e-4), rel=1e-3)


# -- VAT: virtual_adversarial_loss, takerum/vat_tf@c5125d2 vat.py --------------------------------

def vat_tf_loss(model: nn.Module, x: torch.Tensor, d: torch.Tensor, xi: float,
                epsilon: float) -> torch.Tensor:
    """``virtual_adversarial_loss`` with one power iteration, transcribed line by line."""
    def normalized(v: torch.Tensor) -> torch.Tensor:  # get_normalized_vector
        v = v / (1e-12 + v.abs().amax(1, keepdim=True))
        return v / torch.sqrt(1e-6 + (v ** 2).sum(1, keepdim=True))

    def kl_with_logit(q_logit: torch.Tensor, p_logit: torch.Tensor) -> torch.Tensor:
        q = q_logit.softmax(1)
        return ((q * q_logit.log_softmax(1)).sum(1).mean()
                - (q * p_logit.log_softmax(1)).sum(1).mean())

    logit = model(x).detach()
    d = (xi * normalized(d)).requires_grad_(True)
    (grad,) = torch.autograd.grad(kl_with_logit(logit, model(x + d)), d)
    r_vadv = epsilon * normalized(grad)
    with torch.no_grad():
        return kl_with_logit(logit, model(x + r_vadv))


def vat_ctx(model: nn.Module, x: torch.Tensor) -> SimpleNamespace:
    return SimpleNamespace(model=model, inputs=x, generator=torch.Generator().manual_seed(0))


def test_vat_defaults_and_penalty_are_vat_tf_virtual_adversarial_loss():
    # steep model (weights ~1e3) on small inputs: at ξ = 1e-6 the logits still move by ~1e-3,
    # which float32 resolves, so the finite difference does not depend on rounding order
    torch.manual_seed(0)
    model = nn.Linear(4, 3)
    with torch.no_grad():
        model.weight.mul_(1e3)
    x = torch.randn(3, 4) * 1e-3
    card = REGULARIZERS.card("vat")
    vat = REGULARIZERS.load("vat")(**card.hparams)
    got = vat.penalty(model(x), None, vat_ctx(model, x))
    d = torch.randn(x.shape, generator=torch.Generator().manual_seed(0))
    want = vat_tf_loss(model, x, d, xi=1e-6, epsilon=2.0)  # the paper's ξ; its supervised MNIST ε
    assert got.item() == pytest.approx(want.item(), rel=1e-4)


def test_vat_perturbed_passes_leave_batch_norm_statistics_alone():
    # vat_tf runs them with update_batch_stats=False
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4), nn.Linear(4, 2)).train()
    x = torch.randn(8, 4)
    outputs = model(x)
    before = [t.clone() for t in model[1].buffers()]
    REGULARIZERS.load("vat")().penalty(outputs, None, vat_ctx(model, x))
    assert all(torch.equal(a, b) for a, b in zip(before, model[1].buffers(), strict=True))


# -- PS-KD: lgcnsai/PS-KD-Pytorch@9aa0828 main.py train(), loss/pskd_loss.py ---------------------

def test_ps_kd_with_cross_entropy_is_custom_cross_entropy_pskd_on_the_codes_soft_targets():
    pskd = REGULARIZERS.load("ps_kd")(**REGULARIZERS.card("ps_kd").hparams)
    ctx = SimpleNamespace(num_train=2, num_classes=3, device=torch.device("cpu"), step=0,
                          epoch=0, num_epochs=4, index=torch.tensor([0, 1]),
                          accepts_soft_targets=True, generator=torch.Generator().manual_seed(0))
    pskd.setup(None, ctx)
    logits, y = example()
    pskd.transform_batch(None, y, ctx)
    pskd.penalty(logits, None, ctx)  # epoch 0 ends: the table holds softmax(logits)
    ctx.epoch, ctx.step = 1, 1
    _, soft = pskd.transform_batch(None, y, ctx)
    ce = LOSSES.load("cross_entropy")()
    got = loss_on_targets(ce, logits, soft, accepts_soft=True, kwargs={})
    alpha_t = 0.8 * (1 + 1) / 4  # args.alpha_T * ((epoch + 1) / args.end_epoch)
    terms = []
    for row, t in zip(ROWS, TARGETS, strict=True):
        p = softmax(row)
        q = [(1 - alpha_t) * (k == t) + alpha_t * p[k] for k in range(3)]
        terms.append(-sum(qk * math.log(pk) for qk, pk in zip(q, p, strict=True)))
    assert got.item() == pytest.approx(mean(terms), rel=1e-5)

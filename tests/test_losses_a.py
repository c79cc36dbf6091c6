"""Reference tests for the classification losses of issue 5, part A.

Each loss is checked against something that does not share its code: a value computed by hand
(``math``) on a 2×3 tensor, a known reduction (GCE → CE as q → 0, Poly-1 with ε = 0 is CE, LDR-KL's
limits), or a library (torch's cross-entropy, scikit-learn's metrics). Then every entry gets finite
gradients on extreme float32 logits and a bfloat16 forward pass.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from sklearn.metrics import balanced_accuracy_score, f1_score

from lossbench.build import build
from lossbench.registry import LOSSES
from lossbench_registry.losses.anyloss import AnyLoss, AnyLossBalancedAccuracy
from lossbench_registry.losses.comp_sum import GCE, MAE, SUM_EXP_LOG_CAP, SumExp
from lossbench_registry.losses.dual_focal import DualFocal
from lossbench_registry.losses.ensloss import EnsLoss, calibrated_derivatives
from lossbench_registry.losses.focal import focal_loss
from lossbench_registry.losses.focal_flsd53 import FocalFLSD53
from lossbench_registry.losses.ldr_kl import ALDRKL, LDRKL
from lossbench_registry.losses.poly1 import Poly1
from lossbench_registry.losses.reg_focal import REGFocal
from lossbench_registry.losses.spherical_z_loss import SphericalZLoss
from lossbench_registry.losses.squentropy import Squentropy

ENTRIES = ("gce", "mae", "sum_exp", "focal_flsd53", "reg_focal", "dual_focal", "poly1",
           "spherical_z_loss", "squentropy", "anyloss_f1", "anyloss_bacc", "ldr_kl", "aldr_kl",
           "ensloss")

#: The 2×3 example used by the hand computations: rows (1, 2, 3) with target 2, (0.5, -1, 0) → 0.
ROWS = [[1.0, 2.0, 3.0], [0.5, -1.0, 0.0]]
TARGETS = [2, 0]


def example() -> tuple[torch.Tensor, torch.Tensor]:
    return torch.tensor(ROWS), torch.tensor(TARGETS)


def softmax_row(row: list[float]) -> list[float]:
    exps = [math.exp(v) for v in row]
    return [e / sum(exps) for e in exps]


def target_probs() -> list[float]:
    return [softmax_row(row)[y] for row, y in zip(ROWS, TARGETS, strict=True)]


def mean(values: list[float]) -> float:
    return sum(values) / len(values)


def close(loss: torch.Tensor, expected: float, rel: float = 1e-5) -> bool:
    return loss.item() == pytest.approx(expected, rel=rel, abs=1e-6)


# -- comp-sum family ---------------------------------------------------------------------------

def test_gce_matches_hand_value():
    expected = mean([(1 - p ** 0.7) / 0.7 for p in target_probs()])
    assert close(GCE(q=0.7)(*example()), expected)


def test_gce_tends_to_cross_entropy_as_q_goes_to_zero():
    logits, y = example()
    assert GCE(q=1e-4)(logits, y).item() == pytest.approx(F.cross_entropy(logits, y).item(),
                                                         rel=1e-3)


def test_gce_with_q_one_is_mae():
    logits, y = example()
    assert torch.allclose(GCE(q=1.0)(logits, y), MAE()(logits, y))


def test_mae_is_one_minus_target_probability():
    assert close(MAE()(*example()), mean([1 - p for p in target_probs()]))


def test_mae_is_half_the_l1_distance_to_the_one_hot_target():
    logits, y = example()
    l1 = (F.one_hot(y, 3).float() - logits.softmax(-1)).abs().sum(-1).mean()
    assert torch.allclose(MAE()(logits, y), l1 / 2)


def test_sum_exp_matches_hand_value_and_one_over_p_minus_one():
    hand = mean([sum(math.exp(v - row[y]) for k, v in enumerate(row) if k != y)
                 for row, y in zip(ROWS, TARGETS, strict=True)])
    loss = SumExp()(*example())
    assert close(loss, hand)
    assert close(loss, mean([1 / p - 1 for p in target_probs()]))


def test_sum_exp_continues_linearly_beyond_its_cap():
    margin = SUM_EXP_LOG_CAP + 10.0
    logits = torch.tensor([[0.0, margin]], requires_grad=True)
    loss = SumExp()(logits, torch.tensor([0]))
    loss.backward()
    assert close(loss, math.exp(SUM_EXP_LOG_CAP) * 11.0, rel=1e-5)
    assert logits.grad[0, 1].item() == pytest.approx(math.exp(SUM_EXP_LOG_CAP), rel=1e-5)


# -- focal variants ----------------------------------------------------------------------------

def logits_with_target_prob(p: float) -> torch.Tensor:
    """Three logits (a, 0, 0) whose softmax gives class 0 the probability ``p``."""
    return torch.tensor([[math.log(2 * p / (1 - p)), 0.0, 0.0]])


@pytest.mark.parametrize(("p", "gamma"), [(0.19, 5.0), (0.21, 3.0), (0.9, 3.0)])
def test_flsd53_uses_gamma_5_below_p_02_and_3_above(p, gamma):
    loss = FocalFLSD53()(logits_with_target_prob(p), torch.tensor([0]))
    assert close(loss, -((1 - p) ** gamma) * math.log(p))


def test_flsd53_equals_focal_gamma_3_when_every_target_probability_is_at_least_02():
    logits, y = example()  # p_y ≈ 0.665 and 0.506
    assert torch.allclose(FocalFLSD53()(logits, y), focal_loss(logits, y, gamma=3.0))


def test_focal_keeps_float64_inputs_in_float64():
    # Hand value in Python floats (float64). A float32 computation is off by ~1e-8 relative on the
    # 2×3 example, and rounds the saturated row (20, 0, 0) to exactly 0 (p_y = 1 in float32); in
    # float64 that row keeps ~7 digits (1 - exp(log p_y) cancels ~8 of them).
    gamma = 2.0
    expected = mean([-((1 - p) ** gamma) * math.log(p) for p in target_probs()])
    logits, y = example()
    loss = focal_loss(logits.double(), y, gamma)
    assert loss.dtype == torch.float64
    assert loss.item() == pytest.approx(expected, rel=1e-12, abs=0)
    tail = 2 * math.exp(-20.0)  # 1 - p_y = tail / (1 + tail), -log p_y = log1p(tail)
    saturated = (tail / (1 + tail)) ** gamma * math.log1p(tail)
    loss = focal_loss(torch.tensor([[20.0, 0.0, 0.0]], dtype=torch.float64), torch.tensor([0]))
    assert loss.item() == pytest.approx(saturated, rel=1e-6, abs=0)


@pytest.mark.parametrize("gamma", [0.0, 2.0, 5.0])
def test_focal_float32_is_unchanged_by_the_float64_fix(gamma):
    # The float32 path must stay bit-identical to the former `logits.float()` computation.
    logits = torch.randn(32, 10, generator=torch.Generator().manual_seed(0)) * 5
    y = torch.arange(32) % 10
    logp = logits.float().log_softmax(-1).gather(-1, y[:, None]).squeeze(-1)
    weight = (1 - logp.exp()).clamp_min(0) ** gamma if gamma != 0 else torch.ones_like(logp)
    loss = focal_loss(logits, y, gamma)
    assert loss.dtype == torch.float32 and torch.equal(loss, (-weight * logp).mean())


def test_dual_focal_matches_hand_value():
    # row 1: the target is the top class, so p_j is the second largest probability;
    # row 2: the target is ranked second, so p_j is the smallest probability
    logits = torch.tensor([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]])
    y = torch.tensor([2, 1])
    gamma = 2.0
    expected = []
    for row, t in zip(logits.tolist(), y.tolist(), strict=True):
        p = softmax_row(row)
        p_j = max([q for q in p if q < p[t]], default=0.0)
        expected.append(-((1 - p[t] + p_j) ** gamma) * math.log(p[t]))
    assert close(DualFocal(gamma=gamma)(logits, y), mean(expected))


def test_dual_focal_is_focal_when_the_target_has_the_lowest_probability():
    logits = torch.tensor([[3.0, 2.0, 1.0]])
    y = torch.tensor([2])  # no probability below p_y, so p_j = 0
    assert torch.allclose(DualFocal(gamma=3.0)(logits, y), focal_loss(logits, y, gamma=3.0))


def test_dual_focal_with_gamma_zero_is_cross_entropy():
    logits, y = example()
    assert torch.allclose(DualFocal(gamma=0.0)(logits, y), F.cross_entropy(logits, y))


def test_reg_focal_matches_hand_sigmoid_focal_value():
    alpha, gamma = 0.25, 2.0
    terms = []
    for row, y in zip(ROWS, TARGETS, strict=True):
        for c, z in enumerate(row):
            t = 1.0 if c == y else 0.0
            p = 1 / (1 + math.exp(-z))
            p_t = p if t else 1 - p
            terms.append(-alpha * (1 - p_t) ** gamma * math.log(p_t))
    assert close(REGFocal(alpha, gamma)(*example()), mean(terms))


class AuthorsREGFocalTerm:
    """Transcription of github.com/kaopanboonyuen/REG ``src/model.py`` (commit 755c8efd),
    ``REGLoss.__init__`` defaults and ``REGLoss.focal_loss``: the reference for ``reg_focal``."""

    def __init__(self, alpha: float = 0.25, gamma: float = 2.0):
        self.alpha = alpha
        self.gamma = gamma

    def focal_loss(self, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        bce_loss = F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
        pt = torch.exp(-bce_loss)
        focal = self.alpha * (1 - pt) ** self.gamma * bce_loss
        return focal.mean()


def test_reg_focal_defaults_and_value_match_the_authors_code():
    torch.manual_seed(0)
    logits, y = 3 * torch.randn(6, 4), torch.tensor([0, 1, 2, 3, 1, 0])
    reference = AuthorsREGFocalTerm()  # the authors' defaults
    want = reference.focal_loss(logits, F.one_hot(y, 4).float())
    entry = LOSSES.get("reg_focal")
    got = build(entry, entry.card().hparams)(logits, y)  # the card's defaults
    assert torch.allclose(got, want, rtol=1e-6)


def test_reg_focal_with_gamma_zero_is_scaled_binary_cross_entropy():
    logits, y = example()
    bce = F.binary_cross_entropy_with_logits(logits, F.one_hot(y, 3).float())
    assert torch.allclose(REGFocal(alpha=0.5, gamma=0.0)(logits, y), 0.5 * bce)


# -- Poly-1, squentropy, Z-loss ----------------------------------------------------------------

def test_poly1_with_epsilon_zero_is_cross_entropy():
    logits, y = example()
    assert torch.allclose(Poly1(epsilon=0.0)(logits, y), F.cross_entropy(logits, y))


def test_poly1_matches_hand_value():
    expected = mean([-math.log(p) + 1.0 * (1 - p) for p in target_probs()])
    assert close(Poly1(epsilon=1.0)(*example()), expected)


def test_poly1_soft_targets_match_label_smoothed_cross_entropy_plus_poly_term():
    logits, y = example()
    soft = F.one_hot(y, 3).float() * 0.9 + 0.1 / 3
    p_t = (soft * logits.softmax(-1)).sum(-1)
    expected = F.cross_entropy(logits, y, label_smoothing=0.1) + (1 - p_t).mean()
    assert torch.allclose(Poly1(epsilon=1.0)(logits, soft), expected)


def test_squentropy_matches_hand_value():
    terms = []
    for row, y in zip(ROWS, TARGETS, strict=True):
        squares = sum(v * v for k, v in enumerate(row) if k != y) / (len(row) - 1)
        terms.append(-math.log(softmax_row(row)[y]) + squares)
    assert close(Squentropy()(*example()), mean(terms))


def test_spherical_z_loss_matches_hand_value():
    a, b = 1.0, 3.0
    terms = []
    for row, y in zip(ROWS, TARGETS, strict=True):
        mu = mean(row)
        sigma = math.sqrt(mean([(v - mu) ** 2 for v in row]))
        z_y = (row[y] - mu) / sigma
        terms.append(math.log1p(math.exp(a * (b - z_y))) / a)
    assert close(SphericalZLoss(a, b)(*example()), mean(terms))


def test_spherical_z_loss_is_shift_and_scale_invariant():
    logits, y = example()
    loss = SphericalZLoss(a=2.0, b=1.0)
    assert torch.allclose(loss(logits, y), loss(7.0 * logits - 3.0, y), atol=1e-6)


# -- AnyLoss -----------------------------------------------------------------------------------

def separated_batch() -> tuple[torch.Tensor, torch.Tensor]:
    """Six samples, three classes, logits far from 0 so that A(σ(z)) is numerically 0 or 1."""
    targets = torch.tensor([0, 0, 1, 1, 2, 2])
    predicted = torch.tensor([0, 1, 1, 1, 2, 0])
    logits = torch.where(F.one_hot(predicted, 3).bool(), 8.0, -8.0)
    return logits, targets


def test_anyloss_f1_with_a_hard_amplifier_is_one_minus_sklearn_macro_f1():
    logits, y = separated_batch()
    hard = (logits > 0).int().numpy()
    per_class = [f1_score((y == c).int().numpy(), hard[:, c]) for c in range(3)]
    loss = AnyLoss(metric="f1", amplify=1e4)(logits, y)
    assert loss.item() == pytest.approx(1 - mean(per_class), abs=1e-4)


def test_anyloss_balanced_accuracy_with_a_hard_amplifier_matches_sklearn_one_vs_rest():
    logits, y = separated_batch()
    hard = (logits > 0).int().numpy()
    per_class = [balanced_accuracy_score((y == c).int().numpy(), hard[:, c]) for c in range(3)]
    loss = AnyLossBalancedAccuracy(amplify=1e4)(logits, y)
    assert loss.item() == pytest.approx(1 - mean(per_class), abs=1e-4)


def test_anyloss_f1_matches_hand_soft_confusion_matrix():
    logits, y = example()
    amplify = 73.0
    scores = []
    for c in range(3):
        tp = pos = pred = 0.0
        for row, t in zip(ROWS, TARGETS, strict=True):
            a = 1 / (1 + math.exp(-amplify * (1 / (1 + math.exp(-row[c])) - 0.5)))
            tp += a * (t == c)
            pos += t == c
            pred += a
        if pos:
            scores.append(1 - 2 * tp / (pos + pred + 1e-5))
    assert close(AnyLoss("f1", amplify)(logits, y), mean(scores), rel=1e-4)


def authors_any_fbeta(y_true: torch.Tensor, y_pred: torch.Tensor, L: float) -> torch.Tensor:
    """``Any_Fbeta`` of the authors' code (github.com/doheonhan/anyloss_extension, README.md and
    AnyLoss_Code.ipynb at 0074373), transcribed from TensorFlow: one binary problem."""
    s, b, batch = 1e-5, 1, len(y_true)
    y_pred = 1 / (1 + torch.exp(-L * (y_pred - 0.5)))
    N = batch  # noqa: N806 (the authors' names)
    y1 = torch.sum(y_true)
    TP = torch.sum(y_true * y_pred)  # noqa: N806
    assert N - y1 >= 0
    F_beta = ((1 + b**2) * TP) / ((b**2) * y1 + torch.sum(y_pred) + s)  # noqa: N806
    return 1 - F_beta


def authors_any_baccu(y_true: torch.Tensor, y_pred: torch.Tensor, L: float) -> torch.Tensor:
    """``Any_BAccu`` of the same code, transcribed: one binary problem."""
    s, N = 1e-5, len(y_true)  # noqa: N806
    y_pred = 1 / (1 + torch.exp(-L * (y_pred - 0.5)))
    y1 = torch.sum(y_true)
    y0 = N - y1
    TN = N - torch.sum(y_true) - torch.sum(y_pred) + torch.sum(y_true * y_pred)  # noqa: N806
    TP = torch.sum(y_true * y_pred)  # noqa: N806
    baccu = (y0 * TP + y1 * TN) / (2 * y1 * y0 + s)
    return 1 - baccu


@pytest.mark.parametrize(("cls", "authors"), [(AnyLoss, authors_any_fbeta),
                                              (AnyLossBalancedAccuracy, authors_any_baccu)])
def test_anyloss_is_the_authors_binary_loss_averaged_one_vs_rest(cls, authors):
    torch.manual_seed(0)
    logits = torch.randn(8, 3) * 0.3  # σ(z) near 1/2, where A(p) is not saturated
    y = torch.tensor([0, 1, 2, 0, 1, 2, 0, 0])
    per_class = [authors((y == c).float(), torch.sigmoid(logits[:, c]), 73.0) for c in range(3)]
    assert torch.allclose(cls(amplify=73.0)(logits, y), torch.stack(per_class).mean(), rtol=1e-5)


# -- LDR-KL ------------------------------------------------------------------------------------

def test_ldr_kl_with_no_margin_unit_lambda_on_logits_is_cross_entropy_minus_log_c():
    logits, y = example()
    loss = LDRKL(lam=1.0, margin=0.0, normalize=False)(logits, y)
    assert torch.allclose(loss, F.cross_entropy(logits, y) - math.log(3))


def test_ldr_kl_tends_to_crammer_singer_hinge_as_lambda_goes_to_zero():
    hinge = mean([max(1.0 * (k != y) + v - row[y] for k, v in enumerate(row))
                  for row, y in zip(ROWS, TARGETS, strict=True)])
    loss = LDRKL(lam=1e-3, margin=1.0, normalize=False)(*example())
    assert loss.item() == pytest.approx(hinge, abs=1e-3 * math.log(3) + 1e-5)


def test_ldr_kl_tends_to_mean_gap_as_lambda_grows():
    average = mean([mean([1.0 * (k != y) + v - row[y] for k, v in enumerate(row)])
                    for row, y in zip(ROWS, TARGETS, strict=True)])
    loss = LDRKL(lam=1e4, margin=1.0, normalize=False)(*example())
    assert loss.item() == pytest.approx(average, abs=1e-3)


def test_ldr_kl_matches_hand_value_on_softplus_normalised_scores():
    lam, margin = 0.5, 1.0
    terms = []
    for row, y in zip(ROWS, TARGETS, strict=True):
        sp = [math.log1p(math.exp(v)) for v in row]
        s = [v / mean(sp) for v in sp]
        gaps = [(margin * (k != y) + s[k] - s[y]) / lam for k in range(3)]
        terms.append(lam * math.log(mean([math.exp(g) for g in gaps])))
    assert close(LDRKL(lam=lam, margin=margin)(*example()), mean(terms))


def test_aldr_kl_keeps_lambda_at_lambda0_for_uniform_scores():
    logits = torch.zeros(2, 3)
    y = torch.tensor([0, 1])
    loss = ALDRKL(lam0=1.0, alpha=2.0, margin=1.0, num_train=4)
    value = loss(logits, y, index=torch.tensor([1, 3]))
    assert torch.allclose(loss.lambdas, torch.ones(4), atol=1e-4)  # KL(uniform ‖ uniform) = 0
    assert torch.allclose(value, LDRKL(lam=1.0, margin=1.0)(logits, y), atol=1e-4)


def test_aldr_kl_lowers_lambda_of_confident_samples_within_its_bounds():
    # the scores are scale-free (z / mean |z|): the second row is nearly uniform
    logits = torch.tensor([[6.0, -3.0, -3.0], [1.0, 0.9, 0.9]])
    loss = ALDRKL(lam0=1.0, alpha=2.0, num_train=2)
    loss(logits, torch.tensor([0, 0]), index=torch.tensor([0, 1]))
    confident, unsure = loss.lambdas.tolist()
    assert 0.5 <= confident < unsure <= 1.0


# -- EnsLoss -----------------------------------------------------------------------------------

def implied_derivatives(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``N · ∂L/∂s`` for the one-vs-rest margins ``s = ±z``: the sampled loss-derivatives."""
    logits = logits.clone().requires_grad_(True)
    EnsLoss()(logits, y).backward()
    signs = 2 * F.one_hot(y, logits.shape[-1]).float() - 1
    return logits.grad * signs * logits.shape[0]


def test_ensloss_assigns_sorted_clipped_draws_to_sorted_margins():
    torch.manual_seed(0)
    logits = torch.randn(6, 3) * 2
    y = torch.tensor([0, 1, 2, 0, 1, 2])
    torch.manual_seed(1)
    draws = torch.randn(6, 3)
    torch.manual_seed(1)
    derivs = implied_derivatives(logits, y)
    margins = (2 * F.one_hot(y, 3).float() - 1) * logits
    for c in range(3):
        column = sorted(max(-math.exp(e), -1.0) for e in draws[:, c].tolist())
        ranks = sorted(range(6), key=lambda i: margins[i, c].item())
        for g, i in zip(column, ranks, strict=True):
            s = margins[i, c].item()
            expected = (g / s if s > 1 else g) - 1e-6
            assert derivs[i, c].item() == pytest.approx(expected, rel=1e-5, abs=1e-7)


def authors_ensloss(output: torch.Tensor, target: torch.Tensor, lam: float = 0.0
                    ) -> torch.Tensor:
    """``ensLoss.forward`` of the authors' code (github.com/statmlben/ensLoss, losses.py at
    fd37682), transcribed without its ``.to("cuda")``: one binary problem, labels in {0, 1}."""
    def bc_inv(z):
        if lam == 0.0:
            return torch.exp(z)
        diff = 1.0 + lam * z
        return (torch.where(diff > 0.0, diff, 0.0)) ** (1.0 / lam)

    target = 2.0 * target - 1.0
    batch_size_tmp = len(target)
    s_batch = output.flatten() * target.flatten()
    g_batch = torch.zeros(batch_size_tmp)
    rd_grad = torch.randn((batch_size_tmp,))
    rd_grad = -bc_inv(rd_grad)
    rd_grad, _ = torch.sort(rd_grad)
    rd_grad = torch.maximum(rd_grad, torch.tensor(-1.0))  # the code's np.maximum(rd_grad, -1.0)
    _, ind_tmp = torch.sort(s_batch)
    g_batch[ind_tmp] = rd_grad
    s_batch_no_grad = s_batch.detach()
    pos_ind = s_batch_no_grad > 1.0
    if len(s_batch_no_grad[pos_ind]) > 0:
        g_batch[pos_ind] *= 1 / s_batch_no_grad[pos_ind]
    g_batch = g_batch.detach() - 1e-6
    return (g_batch * s_batch).mean()


@pytest.mark.parametrize("lam", [0.0, 0.5])
def test_ensloss_per_class_step_is_the_authors_binary_ensloss(lam):
    torch.manual_seed(2)
    output = (torch.randn(10) * 2).requires_grad_()
    target = torch.tensor([0, 1, 1, 0, 1, 0, 0, 1, 1, 0]).float()
    torch.manual_seed(7)
    expected = authors_ensloss(output, target, lam)
    (expected_grad,) = torch.autograd.grad(expected, output)
    ours_output = output.detach().clone().requires_grad_()
    margins = ((2 * target - 1) * ours_output)[:, None]  # one column: one binary problem
    torch.manual_seed(7)
    ours = (calibrated_derivatives(margins.detach(), lam) * margins).mean()
    ours.backward()
    assert torch.allclose(ours, expected, rtol=1e-6)
    assert torch.allclose(ours_output.grad, expected_grad, rtol=1e-6)


def test_ensloss_derivatives_are_negative_and_non_decreasing_in_the_margin():
    torch.manual_seed(3)
    logits = torch.randn(32, 4)
    y = torch.randint(0, 4, (32,))
    derivs = implied_derivatives(logits, y)
    margins = (2 * F.one_hot(y, 4).float() - 1) * logits
    assert (derivs < 0).all() and (derivs >= -1 - 1e-6).all()
    for c in range(4):
        order = margins[:, c].argsort()
        d = derivs[order, c]
        within_unit = margins[order, c] <= 1  # beyond s = 1 the tail is divided by s
        assert (d[within_unit].diff() >= -1e-7).all()


def test_ensloss_is_deterministic_under_a_fixed_seed():
    logits, y = example()
    torch.manual_seed(5)
    first = implied_derivatives(logits, y)
    torch.manual_seed(5)
    assert torch.equal(first, implied_derivatives(logits, y))


# -- every entry -------------------------------------------------------------------------------

def build_default(name: str):
    entry = LOSSES.get(name)
    return build(entry, entry.card().hparams, {"num_classes": 3, "num_train": 4})


@pytest.mark.parametrize("name", ENTRIES)
def test_gradients_are_finite_on_extreme_float32_logits(name):
    torch.manual_seed(0)
    logits = torch.tensor([[1e4, -1e4, 0.0], [-1e4, 1e4, 3.0], [-1e4, -1e4, -1e4],
                           [1e4, 1e4, -1e4]], requires_grad=True)
    loss = build_default(name)(logits, torch.tensor([0, 0, 2, 1]))
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(logits.grad).all()


@pytest.mark.parametrize("name", ENTRIES)
def test_bfloat16_forward_is_finite_and_keeps_the_dtype(name):
    torch.manual_seed(0)
    logits, y = example()
    loss = build_default(name)(logits.bfloat16(), y)
    assert loss.dtype == torch.bfloat16 and torch.isfinite(loss)
    if name != "ensloss":  # its value is a random surrogate, only its gradient is meaningful
        reference = build_default(name)(logits, y)
        assert loss.float().item() == pytest.approx(reference.item(), rel=0.05, abs=0.02)


@pytest.mark.parametrize(("cls", "kwargs"), [
    (GCE, {"q": 0.0}), (FocalFLSD53, {"threshold": 1.5}), (DualFocal, {"gamma": -1.0}),
    (Poly1, {"epsilon": -2.0}), (SphericalZLoss, {"a": 0.0}), (REGFocal, {"alpha": 0.0}),
    (AnyLoss, {"metric": "auc"}), (LDRKL, {"lam": 0.0}), (ALDRKL, {"alpha": 1.0}),
    (EnsLoss, {"lam": -0.5}),
])
def test_bad_hyperparameters_raise_a_clear_error(cls, kwargs):
    name = next(iter(kwargs))
    with pytest.raises(ValueError, match=name):
        cls(**kwargs)

"""Reference tests for the classification losses of part B (issue 5).

Each loss is checked against a value computed independently (plain Python on a 2×3 tensor), a
known reduction to cross-entropy, or timm's implementation; then all of them against extreme
logits and bfloat16.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from timm.loss import AsymmetricLossSingleLabel

from lossbench.build import build
from lossbench.registry import LOSSES
from lossbench_registry.losses.asymmetric import AsymmetricSingleLabel
from lossbench_registry.losses.balanced_softmax import BalancedSoftmax
from lossbench_registry.losses.class_balanced import ClassBalanced, effective_number_weights
from lossbench_registry.losses.confidence_penalty import ConfidencePenalty
from lossbench_registry.losses.ldam import LDAMDRW, ldam_margins
from lossbench_registry.losses.logit_adjustment import LogitAdjustment
from lossbench_registry.losses.logitnorm import LogitNorm
from lossbench_registry.losses.mw import MannWhitney
from lossbench_registry.losses.self_adjusting_dice import SelfAdjustingDice
from lossbench_registry.losses.sigmoid_ova import SigmoidOVA, SigmoidOVALearnable
from lossbench_registry.losses.stablemax import StableMaxCE
from lossbench_registry.losses.symmetric_ce import SymmetricCE

PART_B = ["self_adjusting_dice", "asymmetric", "sigmoid_ova", "sigmoid_ova_learnable",
          "stablemax", "mw", "logit_adjustment", "balanced_softmax", "ldam_drw",
          "class_balanced", "sce", "logitnorm", "confidence_penalty"]

# The 2×3 example every hand computation uses.
Z = [[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]]
Y = [1, 0]
LOGITS = torch.tensor(Z)
TARGETS = torch.tensor(Y)
UNIFORM = [5, 5, 5]
SKEWED = [8, 4, 1]


def softmax_rows(rows, shift=None):
    """Plain-Python softmax of each row (plus an optional per-class shift)."""
    out = []
    for row in rows:
        row = [v + (shift[c] if shift else 0.0) for c, v in enumerate(row)]
        exps = [math.exp(v) for v in row]
        out.append([e / sum(exps) for e in exps])
    return out


def ce_by_hand(rows, targets, shift=None):
    probs = softmax_rows(rows, shift)
    return sum(-math.log(p[y]) for p, y in zip(probs, targets, strict=True)) / len(rows)


def close(value: torch.Tensor, expected: float, tol: float = 1e-5) -> bool:
    return abs(value.item() - expected) <= tol * max(1.0, abs(expected))


# -- self-adjusting Dice ---------------------------------------------------------------------------
def shannonai_dice_loss(logits: torch.Tensor, target: torch.Tensor, alpha: float,
                        smooth: float) -> torch.Tensor:
    """The authors' multi-class DiceLoss, transcribed (github.com/ShannonAI/dice_loss_for_NLP,
    loss/dice_loss.py at d1ff9e5): with_logits=True, square_denominator=True, ohem_ratio=0,
    index_label_position=True, reduction="mean", no mask."""
    logits_size = logits.shape[-1]
    flat_target = F.one_hot(target, num_classes=logits_size).float()
    flat_input = torch.nn.Softmax(dim=1)(logits)
    loss = None
    for label_idx in range(logits_size):
        flat_input_idx = flat_input[:, label_idx].view(-1, 1)
        flat_target_idx = flat_target[:, label_idx].view(-1, 1)
        # _compute_dice_loss
        flat_input_idx = ((1 - flat_input_idx) ** alpha) * flat_input_idx
        interection = torch.sum(flat_input_idx * flat_target_idx, -1)
        loss_idx = 1 - ((2 * interection + smooth)
                        / (torch.sum(torch.square(flat_input_idx), -1)
                           + torch.sum(torch.square(flat_target_idx), -1) + smooth))
        loss = loss_idx if loss is None else loss + loss_idx
    return loss.mean()


@pytest.mark.parametrize("alpha,gamma", [(0.01, 1.0), (1.0, 1.0), (0.5, 0.1), (0.0, 2.0)])
def test_dice_matches_the_authors_multi_class_dice_loss(alpha, gamma):
    torch.manual_seed(0)
    logits = torch.randn(6, 4) * 2
    targets = torch.randint(0, 4, (6,))
    expected = shannonai_dice_loss(logits, targets, alpha, gamma)
    assert torch.allclose(SelfAdjustingDice(alpha, gamma)(logits, targets), expected, rtol=1e-6)


def test_dice_defaults_are_the_authors_classification_settings():
    # scripts/textcl_tnews/bert_dice.sh: DICE_ALPHA=0.01, DICE_SMOOTH=1, --dice_square
    assert SelfAdjustingDice.hparams == {"alpha": 0.01, "gamma": 1.0}
    expected = shannonai_dice_loss(LOGITS, TARGETS, 0.01, 1.0)
    assert torch.allclose(SelfAdjustingDice()(LOGITS, TARGETS), expected, rtol=1e-6)


def test_dice_sums_one_dsc_per_sample_and_class_by_hand():
    alpha, gamma = 1.0, 1.0
    expected = 0.0
    for probs, y in zip(softmax_rows(Z), Y, strict=True):
        for c, p in enumerate(probs):
            q, t = (1 - p) ** alpha * p, float(c == y)
            expected += 1 - (2 * q * t + gamma) / (q * q + t * t + gamma)
    assert close(SelfAdjustingDice(alpha, gamma)(LOGITS, TARGETS), expected / 2)


def test_dice_without_self_adjustment_falls_as_the_gold_logit_grows():
    values = [SelfAdjustingDice(alpha=0.0)(torch.tensor([[d, 0.0, 0.0]]), torch.tensor([0]))
              for d in (0.0, 2.0, 8.0)]
    assert values[0] > values[1] > values[2]


def test_dice_gradient_is_finite_at_a_saturated_softmax():
    logits = torch.tensor([[60.0, 0.0, 0.0]], requires_grad=True)
    SelfAdjustingDice()(logits, torch.tensor([0])).backward()
    assert torch.isfinite(logits.grad).all()


# -- asymmetric loss -------------------------------------------------------------------------------
@pytest.mark.parametrize("gamma_pos,gamma_neg,eps", [(0.0, 4.0, 0.1), (1.0, 4.0, 0.1),
                                                     (0.5, 2.0, 0.0)])
def test_asymmetric_matches_timm(gamma_pos, gamma_neg, eps):
    torch.manual_seed(0)
    logits = torch.randn(16, 7) * 3
    targets = torch.randint(0, 7, (16,))
    ours = AsymmetricSingleLabel(gamma_pos, gamma_neg, eps)(logits, targets)
    timm = AsymmetricLossSingleLabel(gamma_pos=gamma_pos, gamma_neg=gamma_neg, eps=eps)(
        logits, targets)
    assert torch.allclose(ours, timm, rtol=1e-5, atol=1e-6)


def test_asymmetric_gradient_matches_timm():
    torch.manual_seed(1)
    a = (torch.randn(8, 5) * 2).requires_grad_()
    b = a.detach().clone().requires_grad_()
    targets = torch.randint(0, 5, (8,))
    AsymmetricSingleLabel()(a, targets).backward()
    AsymmetricLossSingleLabel(gamma_pos=0, gamma_neg=4, eps=0.1)(b, targets).backward()
    assert torch.allclose(a.grad, b.grad, rtol=1e-4, atol=1e-6)


def test_asymmetric_without_focusing_is_label_smoothing():
    ours = AsymmetricSingleLabel(0.0, 0.0, 0.1)(LOGITS, TARGETS)
    assert torch.allclose(ours, F.cross_entropy(LOGITS, TARGETS, label_smoothing=0.1))


# -- sigmoid one-vs-all ----------------------------------------------------------------------------
def test_sigmoid_ova_is_the_sum_of_binary_cross_entropies_by_hand():
    expected = 0.0
    for row, y in zip(Z, Y, strict=True):
        for c, v in enumerate(row):
            sig = 1 / (1 + math.exp(-v))
            expected += -math.log(sig) if c == y else -math.log(1 - sig)
    assert close(SigmoidOVA()(LOGITS, TARGETS), expected / 2)


def test_sigmoid_ova_soft_one_hot_equals_class_indices():
    soft = F.one_hot(TARGETS, 3).float()
    assert torch.allclose(SigmoidOVA()(LOGITS, soft), SigmoidOVA()(LOGITS, TARGETS))


def big_vision_sigmoid_xent(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """``sigmoid_xent`` of big_vision (github.com/google-research/big_vision,
    ``big_vision/utils.py`` at 0127fb6), the ImageNet objective of Beyer et al., in torch."""
    log_p = F.logsigmoid(logits)
    log_not_p = F.logsigmoid(-logits)
    nll = -torch.sum(labels * log_p + (1.0 - labels) * log_not_p, dim=-1)
    return torch.mean(nll)


def big_vision_siglip_loss(scores: torch.Tensor, positives: torch.Tensor, t: float, b: float
                           ) -> torch.Tensor:
    """SigLIP's ``loss_fn`` (big_vision ``trainers/proj/image_text/siglip.py`` at 0127fb6) in
    torch, with the (sample, class) scores for ``zimg @ ztxt.T`` and the targets' one-hot matrix
    for its ``eye``."""
    logits = scores * t + b
    m1_diag1 = -torch.ones_like(logits) + 2 * positives
    loglik = F.logsigmoid(m1_diag1 * logits)
    nll = -torch.sum(loglik, dim=-1)
    return torch.mean(nll)


@pytest.mark.parametrize("soft", [False, True])
def test_sigmoid_ova_matches_big_vision_sigmoid_xent(soft):
    torch.manual_seed(0)
    logits = torch.randn(5, 4) * 3
    targets = torch.randint(0, 4, (5,))
    labels = F.one_hot(targets, 4).float()
    if soft:
        labels = 0.9 * labels + 0.1 / 4
    ours = SigmoidOVA()(logits, labels if soft else targets)
    assert torch.allclose(ours, big_vision_sigmoid_xent(logits, labels), rtol=1e-6)


# SigmoidOVALearnable's input is t₀·cos θ, the logits of the cosine head of scale
# temperature_init = t₀ it declares; the tanh of random numbers plays the cosines below.
def test_learnable_sigmoid_declares_a_cosine_head_scaled_by_the_initial_temperature():
    assert SigmoidOVALearnable.model_needs == {"head": "cosine",
                                               "head_scale": "temperature_init"}


def test_learnable_sigmoid_matches_big_vision_siglip_loss_at_its_init():
    torch.manual_seed(1)
    cosines = torch.randn(5, 4).tanh()
    targets = torch.randint(0, 4, (5,))
    expected = big_vision_siglip_loss(cosines, F.one_hot(targets, 4).float(), t=10.0, b=-10.0)
    assert torch.allclose(SigmoidOVALearnable()(10 * cosines, targets), expected, rtol=1e-6)


def test_learnable_sigmoid_temperature_is_the_heads_scale_times_the_learned_factor():
    torch.manual_seed(2)
    cosines = torch.randn(5, 4).tanh()
    targets = torch.randint(0, 4, (5,))
    loss = SigmoidOVALearnable(temperature_init=10.0, bias_init=-10.0)
    with torch.no_grad():
        loss.log_temperature.fill_(math.log(2.0))  # t = 10 · 2
        loss.bias.fill_(-3.0)
    expected = big_vision_siglip_loss(cosines, F.one_hot(targets, 4).float(), t=20.0, b=-3.0)
    assert torch.allclose(loss(10 * cosines, targets), expected, rtol=1e-6)


def test_learnable_sigmoid_starts_at_siglip_init_and_learns_temperature_and_bias():
    loss = SigmoidOVALearnable()
    assert {n for n, _ in loss.named_parameters()} == {"log_temperature", "bias"}
    expected = SigmoidOVA()(10 * LOGITS - 10, TARGETS)
    value = loss(10 * LOGITS, TARGETS)
    assert torch.allclose(value, expected)
    value.backward()
    assert loss.log_temperature.grad is not None and loss.bias.grad is not None
    assert loss.bias.grad.item() != 0


# -- StableMax -------------------------------------------------------------------------------------
def stablemax_s(x: float) -> float:
    return x + 1 if x >= 0 else 1 / (1 - x)


def test_stablemax_matches_the_definition_by_hand():
    expected = 0.0
    for row, y in zip(Z, Y, strict=True):
        s = [stablemax_s(v) for v in row]
        expected += -math.log(s[y] / sum(s))
    assert close(StableMaxCE()(LOGITS, TARGETS), expected / 2)


def test_stablemax_grows_linearly_not_exponentially():
    # s(99) / (s(99) + s(0)) = 100 / 101 (softmax would give ~1 - e^-99)
    loss = StableMaxCE()(torch.tensor([[99.0, 0.0]]), torch.tensor([0]))
    assert close(loss, -math.log(100 / 101))


# -- MW loss ---------------------------------------------------------------------------------------
def test_mw_averages_pairwise_bce_over_all_positive_negative_pairs():
    positives = [row[y] for row, y in zip(Z, Y, strict=True)]
    negatives = [v for row, y in zip(Z, Y, strict=True) for c, v in enumerate(row) if c != y]
    pairs = [(p, n) for p in positives for n in negatives]
    expected = sum(-math.log(1 / (1 + math.exp(-(p - n)))) for p, n in pairs) / len(pairs)
    assert close(MannWhitney()(LOGITS, TARGETS), expected)


def test_mw_is_eq3_of_the_paper_divided_by_the_number_of_negatives():
    # arXiv:2510.00137 eq. 3: L = -(1/B) Σ_i Σ_{s- in S-} log σ(s+_i - s-), S- every negative
    # score of the batch (here every non-target logit of every row)
    positives = [row[y] for row, y in zip(Z, Y, strict=True)]
    negatives = [v for row, y in zip(Z, Y, strict=True) for c, v in enumerate(row) if c != y]
    eq3 = sum(-math.log(1 / (1 + math.exp(-(p - n)))) for p in positives for n in negatives)
    eq3 /= len(positives)
    assert close(MannWhitney()(LOGITS, TARGETS), eq3 / len(negatives))


def test_mw_declares_a_cosine_head_at_the_papers_temperature():
    # §5.1: "a temperature of 0.01" on the cosine scores: logits cos/τ with 1/τ = 100
    assert MannWhitney.model_needs == {"head": "cosine", "head_scale": 1 / 0.01}


def test_mw_is_small_when_every_positive_outranks_every_negative():
    logits = torch.tensor([[20.0, -20.0], [-20.0, 20.0]])
    assert MannWhitney()(logits, torch.tensor([0, 1])).item() < 1e-8


# -- logit adjustment, balanced softmax ------------------------------------------------------------
def test_logit_adjustment_with_uniform_counts_is_cross_entropy():
    loss = LogitAdjustment(class_counts=UNIFORM)(LOGITS, TARGETS)
    assert torch.allclose(loss, F.cross_entropy(LOGITS, TARGETS))


def test_logit_adjustment_adds_tau_log_prior_by_hand():
    tau = 0.5
    shift = [tau * math.log(n / sum(SKEWED)) for n in SKEWED]
    loss = LogitAdjustment(class_counts=torch.tensor(SKEWED), tau=tau)(LOGITS, TARGETS)
    assert close(loss, ce_by_hand(Z, Y, shift))


def test_balanced_softmax_with_uniform_counts_is_cross_entropy():
    loss = BalancedSoftmax(class_counts=UNIFORM)(LOGITS, TARGETS)
    assert torch.allclose(loss, F.cross_entropy(LOGITS, TARGETS))


def test_balanced_softmax_matches_its_definition_by_hand():
    expected = 0.0
    for row, y in zip(Z, Y, strict=True):
        weighted = [n * math.exp(v) for n, v in zip(SKEWED, row, strict=True)]
        expected += -math.log(weighted[y] / sum(weighted))
    assert close(BalancedSoftmax(class_counts=SKEWED)(LOGITS, TARGETS), expected / 2)


def test_balanced_softmax_equals_logit_adjustment_with_tau_one():
    bs = BalancedSoftmax(class_counts=SKEWED)(LOGITS, TARGETS)
    la = LogitAdjustment(class_counts=SKEWED, tau=1.0)(LOGITS, TARGETS)
    assert torch.allclose(bs, la)


def test_class_counts_are_validated():
    with pytest.raises(ValueError, match="class_counts"):
        LogitAdjustment(class_counts=[0, 0, 0])
    with pytest.raises(ValueError, match="1-D"):
        BalancedSoftmax(class_counts=[[1, 2]])


# -- LDAM-DRW --------------------------------------------------------------------------------------
# The entry's input is s·cos θ, the logits of the cosine head it declares (model_needs); LOGITS
# play the cosines below.
def test_ldam_with_zero_margins_is_cross_entropy_of_the_scaled_cosines():
    loss = LDAMDRW(class_counts=SKEWED, max_margin=0.0, scale=30.0)(30 * LOGITS, TARGETS)
    assert torch.allclose(loss, F.cross_entropy(30 * LOGITS, TARGETS))


def test_ldam_declares_the_authors_cosine_head_scaled_by_its_scale():
    assert LDAMDRW.model_needs == {"head": "cosine", "head_scale": "scale"}


def test_ldam_margins_follow_inverse_fourth_root_with_max_half():
    margins = ldam_margins(SKEWED, 0.5)
    expected = [0.5 * (n ** -0.25) / (1 ** -0.25) for n in SKEWED]  # rarest class: n = 1
    assert torch.allclose(margins, torch.tensor(expected))


def test_ldam_subtracts_the_target_margin_before_scaling_by_hand():
    s, margins = 2.0, ldam_margins(SKEWED, 0.5).tolist()
    expected = 0.0
    for row, y in zip(Z, Y, strict=True):
        shifted = [s * (v - (margins[y] if c == y else 0.0)) for c, v in enumerate(row)]
        expected += -math.log(math.exp(shifted[y]) / sum(math.exp(v) for v in shifted))
    loss = LDAMDRW(class_counts=SKEWED, scale=s)(s * LOGITS, TARGETS)
    assert close(loss, expected / 2)


def test_ldam_defers_reweighting_to_the_last_fifth_of_training():
    loss = LDAMDRW(class_counts=SKEWED)
    assert not loss.reweighting(epoch=79, num_epochs=100)
    assert loss.reweighting(epoch=80, num_epochs=100)
    assert loss.reweighting(epoch=2, num_epochs=3) and not loss.reweighting(1, 3)
    plain = loss(30 * LOGITS, TARGETS, epoch=0, num_epochs=100)
    weights = effective_number_weights(SKEWED, 0.9999)
    shifted = LOGITS.scatter_add(-1, TARGETS[:, None], -loss.margins[TARGETS][:, None])
    expected = F.cross_entropy(30 * shifted, TARGETS, weight=weights)
    late = loss(30 * LOGITS, TARGETS, epoch=90, num_epochs=100)
    assert torch.allclose(late, expected) and not torch.allclose(late, plain)


# -- class-balanced --------------------------------------------------------------------------------
def test_effective_number_weights_by_hand():
    beta = 0.9
    raw = [(1 - beta) / (1 - beta ** n) for n in SKEWED]
    expected = [w / sum(raw) * 3 for w in raw]
    assert torch.allclose(effective_number_weights(SKEWED, beta), torch.tensor(expected))


def test_class_balanced_weights_each_sample_by_its_class_by_hand():
    beta = 0.9
    weights = effective_number_weights(SKEWED, beta).tolist()
    expected = sum(w * -math.log(p[y]) for p, y, w in
                   zip(softmax_rows(Z), Y, [weights[y] for y in Y], strict=True)) / 2
    assert close(ClassBalanced(class_counts=SKEWED, beta=beta)(LOGITS, TARGETS), expected)


def test_class_balanced_with_beta_zero_is_cross_entropy():
    loss = ClassBalanced(class_counts=SKEWED, beta=0.0)(LOGITS, TARGETS)
    assert torch.allclose(loss, F.cross_entropy(LOGITS, TARGETS))


# -- SCE -------------------------------------------------------------------------------------------
def test_sce_reverse_term_is_minus_a_times_one_minus_p_y():
    p_y = [p[y] for p, y in zip(softmax_rows(Z), Y, strict=True)]
    expected = sum(4 * (1 - v) for v in p_y) / 2
    assert close(SymmetricCE(alpha=0.0, beta=1.0, log_zero=-4.0)(LOGITS, TARGETS), expected)


def test_sce_cross_entropy_term_alone_is_cross_entropy():
    loss = SymmetricCE(alpha=1.0, beta=0.0)(LOGITS, TARGETS)
    assert torch.allclose(loss, F.cross_entropy(LOGITS, TARGETS))


def test_sce_defaults_combine_both_terms_by_hand():
    p_y = [p[y] for p, y in zip(softmax_rows(Z), Y, strict=True)]
    a = math.log(1e-4)  # the official codes' label clamp
    expected = 0.1 * ce_by_hand(Z, Y) + 1.0 * sum(-a * (1 - v) for v in p_y) / 2
    assert close(SymmetricCE()(LOGITS, TARGETS), expected)


def test_sce_defaults_are_the_official_codes_loss():
    """HanxunH/SCELoss-Reproduce loss.py (the PyTorch code the authors' README points to), inline:
    RCE against the one-hot labels clamped at 1e-4 and the softmax clamped at 1e-7."""
    p = F.softmax(LOGITS, dim=1).clamp(min=1e-7, max=1.0)
    labels = F.one_hot(TARGETS, LOGITS.shape[1]).float().clamp(min=1e-4, max=1.0)
    rce = -(p * torch.log(labels)).sum(dim=1)
    theirs = 0.1 * F.cross_entropy(LOGITS, TARGETS) + 1.0 * rce.mean()
    assert torch.allclose(SymmetricCE()(LOGITS, TARGETS), theirs)


def test_sce_card_is_exact_with_the_codes_a_and_keeps_the_papers_a_as_an_option():
    card = LOSSES.card("sce")
    assert card.fidelity == "exact"
    assert card.hparams["log_zero"] == pytest.approx(math.log(1e-4))
    assert LOSSES.load("sce")(log_zero=-4.0).log_zero == -4.0


# -- LogitNorm -------------------------------------------------------------------------------------
def test_logitnorm_is_cross_entropy_on_normalised_logits_by_hand():
    tau = 0.5
    rows = [[v / (math.sqrt(sum(u * u for u in row)) + 1e-7) / tau for v in row] for row in Z]
    assert close(LogitNorm(tau=tau)(LOGITS, TARGETS), ce_by_hand(rows, Y))


def test_logitnorm_ignores_the_logit_scale():
    loss = LogitNorm()
    assert torch.allclose(loss(LOGITS, TARGETS), loss(7 * LOGITS, TARGETS), rtol=1e-5)


# -- confidence penalty ----------------------------------------------------------------------------
def test_confidence_penalty_subtracts_beta_entropy_by_hand():
    beta = 0.3
    entropy = sum(-sum(v * math.log(v) for v in p) for p in softmax_rows(Z)) / 2
    expected = ce_by_hand(Z, Y) - beta * entropy
    assert close(ConfidencePenalty(beta=beta)(LOGITS, TARGETS), expected)


def test_confidence_penalty_with_beta_zero_is_cross_entropy():
    assert torch.allclose(ConfidencePenalty(beta=0.0)(LOGITS, TARGETS),
                          F.cross_entropy(LOGITS, TARGETS))


# -- all of part B: extreme logits, bfloat16, the registry -----------------------------------------
def build_default(name: str):
    entry = LOSSES.get(name)
    context = {"num_classes": 3, "class_counts": torch.tensor(SKEWED), "num_epochs": 10}
    return build(entry, entry.card().hparams, context)


@pytest.mark.parametrize("name", PART_B)
def test_gradients_are_finite_on_extreme_float32_logits(name):
    logits = (torch.tensor([[1e4, -1e4, 0.0], [-1e4, 1e4, 5e3]])).requires_grad_()
    loss = build_default(name)(logits, torch.tensor([1, 0]))
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(logits.grad).all()


@pytest.mark.parametrize("name", PART_B)
def test_bfloat16_logits_give_a_close_finite_loss(name):
    fn = build_default(name)
    bf16 = fn(LOGITS.bfloat16().requires_grad_(), TARGETS)
    assert bf16.dtype == torch.bfloat16 and torch.isfinite(bf16)
    assert torch.allclose(bf16.float(), fn(LOGITS, TARGETS), rtol=0.05, atol=0.02)


@pytest.mark.parametrize("name", PART_B)
def test_card_is_complete(name):
    card = LOSSES.card(name)
    assert card.paper and card.version
    assert card.fidelity == "exact" or card.fidelity.startswith("approximate: ")

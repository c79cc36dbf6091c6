"""The training loop: determinism, the loss call protocol and divergence detection."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lossbench.checkpoint_rules import scorer
from lossbench.gradient_check import NoGradient
from lossbench.loss_targets import TargetError, loss_on_targets
from lossbench.train import Diverged, TrainConfig, epoch_order, train

CFG = TrainConfig(epochs=3, batch_size=8, lr=1e-2)


def tiny_problem(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(40, 5, generator=g)
    y = (x[:, 0] > 0).long()
    return x, y


def fit(loss_fn, seed=0, **kw):
    x, y = tiny_problem()
    torch.manual_seed(seed)
    model = nn.Linear(5, 2)
    kw.setdefault("select", scorer("val_top1", x, y))
    return train(model, loss_fn, x, y, CFG, num_classes=2, seed=seed, **kw)


def test_same_seed_gives_identical_weights():
    a, b = fit(F.cross_entropy), fit(F.cross_entropy)
    assert torch.equal(a.model.weight, b.model.weight)


def test_different_seed_gives_different_weights():
    a, b = fit(F.cross_entropy, seed=0), fit(F.cross_entropy, seed=1)
    assert not torch.equal(a.model.weight, b.model.weight)


def test_loss_receives_only_the_context_it_names():
    seen = []

    def loss(logits, targets, *, epoch, index):
        seen.append((epoch, index.clone()))
        return F.cross_entropy(logits, targets)

    fit(loss)
    epochs = [e for e, _ in seen]
    assert epochs == sorted(epochs) and set(epochs) == {0, 1, 2}
    first_epoch = torch.cat([i for e, i in seen if e == 0])
    assert sorted(first_epoch.tolist()) == list(range(40))  # every sample once per epoch


def test_non_finite_loss_raises_diverged_with_the_epoch():
    def nan_after_first_epoch(logits, targets, *, epoch):
        loss = F.cross_entropy(logits, targets)
        return loss * float("nan") if epoch == 1 else loss

    with pytest.raises(Diverged) as err:
        fit(nan_after_first_epoch)
    assert err.value.epoch == 1


def test_mixture_of_hard_targets_is_the_weighted_sum_of_losses():
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.5, 0.0]])
    ya, yb = torch.tensor([0, 1]), torch.tensor([2, 0])
    got = loss_on_targets(F.cross_entropy, logits, [(0.7, ya), (0.3, yb)], accepts_soft=False,
                          kwargs={})
    want = 0.7 * F.cross_entropy(logits, ya) + 0.3 * F.cross_entropy(logits, yb)
    assert torch.allclose(got, want)


def test_mixture_becomes_soft_targets_for_a_soft_target_loss():
    logits = torch.tensor([[2.0, 0.0, -1.0]])
    got = loss_on_targets(F.cross_entropy, logits, [(0.7, torch.tensor([0])),
                                                    (0.3, torch.tensor([2]))],
                          accepts_soft=True, kwargs={})
    want = -(0.7 * logits.log_softmax(-1)[0, 0] + 0.3 * logits.log_softmax(-1)[0, 2])
    assert torch.allclose(got, want)


def test_soft_targets_for_a_hard_target_loss_is_a_clear_error():
    with pytest.raises(TargetError, match="does not declare accepts_soft_targets"):
        loss_on_targets(F.cross_entropy, torch.zeros(1, 3), torch.full((1, 3), 1 / 3),
                        accepts_soft=False, kwargs={})


def test_loss_module_parameters_are_trained():
    class Tempered(nn.Module):
        def __init__(self):
            super().__init__()
            self.t = nn.Parameter(torch.tensor(1.0))

        def forward(self, logits, targets):
            return F.cross_entropy(logits * self.t, targets)

    loss = Tempered()
    fit(loss)
    assert loss.t.item() != 1.0


class Detached(nn.Module):
    """(w - 3)^2 of its own parameter: trains nothing through the logits."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(()))

    def forward(self, logits, targets):
        return (self.w - 3) ** 2


def test_a_loss_that_ignores_the_logits_stops_at_the_first_step():
    with pytest.raises(NoGradient, match=r"no gradient of the loss reaches the model's outputs "
                                         r"\(logits\)"):
        fit(Detached())


def test_a_non_zero_loss_with_a_zero_gradient_stops_at_the_first_step():
    with pytest.raises(NoGradient, match="the loss is 1 but its gradient w.r.t. the model's "
                                         "outputs .logits. is zero everywhere"):
        fit(lambda logits, targets: logits.sum() * 0 + 1)


def test_a_loss_without_a_graph_stops_at_the_first_step():
    with pytest.raises(NoGradient, match="no gradient of the loss reaches"):
        fit(lambda logits, targets: torch.tensor(2.0))


def test_a_zero_loss_with_a_zero_gradient_trains_on():
    """A metric-learning batch with no violated pair has loss 0 and no gradient: not an error."""
    calls = []

    def zero_then_ce(logits, targets):
        calls.append(1)
        return logits.sum() * 0 if len(calls) == 1 else F.cross_entropy(logits, targets)

    fit(zero_then_ce)


def test_a_nan_loss_is_left_to_the_divergence_check():
    with pytest.raises(Diverged):
        fit(lambda logits, targets: F.cross_entropy(logits, targets) * float("nan"))


def test_the_check_looks_at_the_loss_not_at_a_regularizers_penalty():
    class LogitPenalty:
        def penalty(self, outputs, y, ctx):
            return outputs.pow(2).mean()

    with pytest.raises(NoGradient):
        fit(Detached(), regularizers=[LogitPenalty()])
    fit(F.cross_entropy, regularizers=[LogitPenalty()])


def test_an_embedding_loss_is_checked_on_the_embeddings():
    with pytest.raises(NoGradient, match=r"outputs \(embeddings\)"):
        fit(Detached(), objective="embedding")


def test_the_first_step_check_changes_no_weight(monkeypatch):
    """Its extra backward pass leaves training bit-identical to training without it."""
    from lossbench import train as train_module

    checked = fit(F.cross_entropy, seed=3).model
    monkeypatch.setattr(train_module, "check_first_step", lambda *args: None)
    unchecked = fit(F.cross_entropy, seed=3).model
    assert torch.equal(checked.weight, unchecked.weight)
    assert torch.equal(checked.bias, unchecked.bias)


def test_best_validation_checkpoint_is_kept():
    result = fit(F.cross_entropy)
    assert 0 <= result.best_epoch < CFG.epochs
    assert set(result.best_state) == {"weight", "bias"}
    assert len(result.history["val_score"]) == CFG.epochs


def test_the_checkpoint_of_the_highest_validation_score_is_kept():
    scores = iter([0.2, 0.9, 0.9])  # the later tie does not replace epoch 1

    def select(model):
        return next(scores, 0.0)

    result = fit(F.cross_entropy, select=select)
    assert result.best_epoch == 1
    assert result.history["val_score"] == [0.2, 0.9, 0.9]


def test_without_a_scorer_only_the_last_epoch_is_kept():
    x, y = tiny_problem()
    result = train(nn.Linear(5, 2), F.cross_entropy, x, y, CFG, num_classes=2, seed=0)
    assert result.best_state is None and result.best_epoch == -1
    assert result.history["val_score"] == []


def test_cpu_device_provenance_names_the_cpu_capability():
    from lossbench.provenance import device_name

    name = device_name(torch.device("cpu"))
    assert name.startswith("cpu:") and torch.backends.cpu.get_cpu_capability() in name
    assert name.endswith(f"x{torch.get_num_threads()}")


def test_source_revision_marks_uncommitted_code_as_dirty(tmp_path):
    import subprocess

    from lossbench.provenance import source_revision

    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    code = tmp_path / "pkg"
    code.mkdir()
    (code / "mod.py").write_text("x = 1\n")
    git("init", "-q")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "c")
    sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=tmp_path, capture_output=True,
                         text=True, check=True).stdout.strip()
    assert source_revision([code]) == sha
    (tmp_path / "results.txt").write_text("outside the code folders: still clean\n")
    assert source_revision([code]) == sha
    (code / "mod.py").write_text("x = 2\n")
    assert source_revision([code]) == f"{sha}-dirty"


def test_source_revision_is_empty_outside_a_git_checkout(tmp_path):
    from lossbench.provenance import source_revision

    assert source_revision([tmp_path]) == ""


def test_epoch_order_without_samples_per_class_is_a_plain_permutation():
    y = torch.tensor([0, 1, 0, 1, 2])
    order = epoch_order(y, 0, torch.Generator().manual_seed(3))
    assert torch.equal(order, torch.randperm(5, generator=torch.Generator().manual_seed(3)))


def test_epoch_order_with_samples_per_class_comes_in_groups_of_one_class():
    y = torch.tensor([0] * 6 + [1] * 4 + [2] * 2)
    order = epoch_order(y, 2, torch.Generator().manual_seed(0))
    assert len(order) == len(y)
    assert all(len(set(y[pair].tolist())) == 1 for pair in order.view(-1, 2))
    assert sorted(order.tolist()) == list(range(12))  # sizes divisible by m: every sample once


def test_epoch_order_pads_a_class_with_its_own_samples():
    y = torch.tensor([0, 0, 0, 1, 1, 1, 1, 1])  # 3 and 5 samples, m = 2: one repeat each
    order = epoch_order(y, 2, torch.Generator().manual_seed(1))
    groups = order.view(-1, 2)
    assert all(y[g[0]] == y[g[1]] for g in groups)
    assert len(order) == len(y)


def test_epoch_order_is_a_function_of_the_generator():
    y = torch.arange(30) % 5
    a = epoch_order(y, 3, torch.Generator().manual_seed(7))
    b = epoch_order(y, 3, torch.Generator().manual_seed(7))
    c = epoch_order(y, 3, torch.Generator().manual_seed(8))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_batches_of_a_class_balanced_recipe_hold_m_samples_per_class():
    x, y = tiny_problem()
    seen = []

    def loss(outputs, targets):
        seen.append(torch.bincount(targets, minlength=2).tolist())
        return F.cross_entropy(outputs, targets)

    cfg = TrainConfig(epochs=1, batch_size=8, lr=1e-2, samples_per_class=4)
    train(nn.Linear(5, 2), loss, x, y, cfg, num_classes=2, seed=0)
    assert all(c % 4 == 0 for counts in seen for c in counts)


def test_negative_samples_per_class_is_refused_with_the_value():
    with pytest.raises(ValueError, match="samples_per_class must be >= 0.*-1"):
        TrainConfig(samples_per_class=-1)

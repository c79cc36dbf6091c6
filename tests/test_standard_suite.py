"""The standard suite's embedded task: deterministic data and the published accuracy regime."""

from __future__ import annotations

import torch

from lossbench.plan import plan
from lossbench.runner import execute
from lossbench.suites.standard import SUITE, mnist1d_data


def test_splits_are_disjoint_sized_and_stratified():
    d = mnist1d_data(0)
    assert (len(d.x_train) + len(d.x_val), len(d.x_test)) == (4000, 1000)
    assert abs(len(d.x_val) - 400) <= 5 and d.x_train.shape[1:] == (40,) and d.num_classes == 10
    per_class = torch.bincount(torch.cat([d.y_train, d.y_val]), minlength=10)
    held_out = torch.bincount(d.y_val, minlength=10)
    assert held_out.tolist() == [round(0.1 * n) for n in per_class.tolist()]


def test_same_seed_same_split_different_seed_different_split():
    a, b, c = mnist1d_data(0), mnist1d_data(0), mnist1d_data(1)
    assert torch.equal(a.x_val, b.x_val)
    assert not torch.equal(a.x_val, c.x_val)
    assert torch.equal(a.x_test, c.x_test)  # the test set is fixed


def test_task_is_versioned_and_states_its_recipe():
    task = SUITE.task("mnist1d")
    assert task.version == "3"
    assert (task.train.epochs, task.train.batch_size, task.train.weight_decay) == (40, 256, 0.0)
    assert task.embedded
    assert "40 epochs" in task.description and "no weight decay" in task.description


def test_cross_entropy_reaches_the_published_regime():
    """The default recipe must train CE to >= 85 % test accuracy (the authors report 94 % for a
    CNN). One full run of the default recipe."""
    (spec,) = plan(suites=["standard"], losses=["cross_entropy"], seeds=[0]).specs
    record = execute(spec)
    assert record.status == "ok", record.error
    assert record.metrics["top1"] >= 0.85
    assert record.metrics["train_seconds"] > 0 and record.metrics["samples_per_second"] > 0


def test_the_default_sweep_follows_embedded_unless_a_task_says_otherwise():
    from lossbench.suites.standard import DIGITS, MNIST1D

    assert MNIST1D.in_default_sweep
    assert DIGITS.embedded and not DIGITS.in_default_sweep
    assert [t.name for t in SUITE.default_tasks()] == ["mnist1d"]

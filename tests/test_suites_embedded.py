"""The four benchmark suites: registered through entry points, versioned, and every embedded task
runs end to end (one epoch) with its headline metrics."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lossbench.evaluator import Evaluator
from lossbench.metrics import METRICS
from lossbench.models import build_model
from lossbench.registry import LOSSES, SUITES
from lossbench.runner import execute
from lossbench.spec import RunSpec
from lossbench.suites.base import EvalInput
from lossbench.suites.metric_learning import (
    chance_precision_at_1,
    embeddings_for,
    mnist1d_retrieval,
)

SUITE_NAMES = ("imbalanced", "noisy", "ood", "metric_learning")
#: One embedded task per suite runs by default; the others are marked slow.
DEFAULT_RUN = {"mnist1d-lt100", "mnist1d-sym50", "mnist1d-ood", "mnist1d-retrieval"}
EMBEDDED = [pytest.param(s, t.name, marks=() if t.name in DEFAULT_RUN else (pytest.mark.slow,),
                         id=f"{s}/{t.name}")
            for s in SUITE_NAMES for t in SUITES.load(s).default_tasks()]


@pytest.mark.parametrize("name", SUITE_NAMES)
def test_suite_is_registered_through_the_entry_point_group(name):
    entry = SUITES.entries(name)[0]
    assert entry.origin.startswith("lossbench")
    suite = SUITES.load(name)
    assert suite.name == name and suite.version
    assert suite.default_tasks(), "every suite has an embedded default"
    assert all(t.version for t in suite.tasks.values())
    assert any(not t.embedded for t in suite.tasks.values()), "and full-scale configs"


@pytest.mark.parametrize("name", SUITE_NAMES)
def test_headline_metrics_are_declared(name):
    suite = SUITES.load(name)
    for metric in (*suite.headline, *(m for t in suite.tasks.values() for m in t.headline)):
        assert metric in METRICS, metric


@pytest.mark.parametrize("suite,task", EMBEDDED)
def test_embedded_task_runs_and_reports_its_headline(suite, task):
    t = SUITES.load(suite).task(task)
    record = execute(RunSpec("cross_entropy", "1", suite, task, t.version, 0,
                             options={"epochs": 1}))
    assert record.status == "ok", record.error
    for metric in t.headline:
        assert metric in record.metrics, metric
    if suite != "metric_learning":
        for metric in ("top1", "nll", "brier", "ece", "adaptive_ece", "smooth_ece", "aurc"):
            assert metric in record.metrics


def test_imbalanced_entries_receive_long_tailed_class_counts():
    from lossbench.suites.imbalanced import mnist1d_long_tail

    counts = mnist1d_long_tail(100.0, 0).class_counts
    assert counts.tolist() == [1000, 599, 359, 215, 129, 77, 46, 27, 16, 10]  # ⌊1000·100^(-c/9)⌋
    assert counts[0] / counts[-1] == 100


def test_far_ood_sets_share_the_id_per_sample_amplitude():
    from lossbench.suites.ood import FAR_SETS, mnist1d_ood

    data = mnist1d_ood(0)
    id_std = data.x_train.std(dim=1)
    for name in FAR_SETS:
        far_std = data.extra[f"x_far_{name}"].std(dim=1)
        # rescaled like random ID rows: the same spread of per-sample std, to sampling error
        assert abs(far_std.mean() - id_std.mean()) < 0.05
        assert abs(far_std.std() - id_std.std()) < 0.05


def test_ood_metrics_report_the_mean_over_the_far_sets():
    from lossbench.suites.ood import FAR_SETS, mnist1d_ood, ood_metrics

    data = mnist1d_ood(0)
    torch.manual_seed(0)
    model = build_model("cnn1d", data.in_shape, data.num_classes, channels=8)
    out = ood_metrics(EvalInput(data, {"last": Evaluator(model)}))
    for metric in ("auroc_msp", "fpr95_energy", "aupr_max_logit"):
        expected = sum(out[f"far_{name}_{metric}"] for name in FAR_SETS) / len(FAR_SETS)
        assert out[f"far_{metric}"] == pytest.approx(expected, abs=1e-12)


def test_retrieval_uses_outputs_for_embedding_losses_and_features_otherwise():
    data = mnist1d_retrieval(0)
    model = build_model("cnn1d", data.in_shape, 16, channels=8)
    x = data.x_test[:5]
    for kind, expected in (("embedding", model(x)), ("classification", model.features(x))):
        ev = EvalInput(data, {"last": Evaluator(model)}, kind)
        assert torch.allclose(embeddings_for(ev, x), expected, atol=1e-6)


def test_retrieval_splits_whole_classes_into_train_validation_and_retrieval():
    from lossbench.data import mnist1d_arrays
    from lossbench.suites.metric_learning import TEST_CLASSES, TRAIN_CLASSES, VAL_CLASSES

    assert (len(TRAIN_CLASSES), len(VAL_CLASSES), len(TEST_CLASSES)) == (40, 10, 50)
    assert not (set(TRAIN_CLASSES) | set(VAL_CLASSES)) & set(TEST_CLASSES)
    assert not set(TRAIN_CLASSES) & set(VAL_CLASSES)
    data = mnist1d_retrieval(0)
    assert (len(data.y_train), len(data.y_val), len(data.y_test)) == (2400, 600, 3000)
    assert torch.bincount(data.y_test).tolist() == [60] * 50
    assert data.num_classes == 40 and set(data.y_val.tolist()) == set(range(10))
    raw = mnist1d_arrays(template_set="digit-pairs", num_samples=6000, train_split=1.0,
                         template_len=24)
    unseen = torch.as_tensor(raw["x"][np.isin(raw["y"], TEST_CLASSES)])
    assert torch.equal(data.x_test, unseen)


def test_the_split_does_not_depend_on_the_seed():
    a, b = mnist1d_retrieval(0), mnist1d_retrieval(1)
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.x_test, b.x_test)


def test_digit_pair_templates_put_two_digits_side_by_side():
    from mnist1d.data import get_templates

    from lossbench.data import digit_pair_templates

    pairs, digits = digit_pair_templates(), get_templates()["x"]
    assert pairs["x"].shape == (100, 24) and list(pairs["y"]) == list(range(100))
    assert np.array_equal(pairs["x"][37], np.concatenate([digits[3], digits[7]]))


def test_an_unknown_template_set_is_refused_with_the_valid_ones():
    from lossbench.data import mnist1d_arrays

    with pytest.raises(ValueError, match="unknown template_set 'letters'; valid: digits, "
                                         "digit-pairs"):
        mnist1d_arrays(template_set="letters")


def test_chance_precision_at_1_by_hand():
    assert chance_precision_at_1(torch.tensor([0, 0, 1, 1])) == pytest.approx(1 / 3)


def test_digits_task_splits_by_seed_and_keeps_the_classes_balanced():
    from lossbench.suites.standard import digits_data

    a, b, c = digits_data(0), digits_data(0), digits_data(1)
    assert len(a.y_train) + len(a.y_val) + len(a.y_test) == 1797
    assert torch.equal(a.x_test, b.x_test) and not torch.equal(a.x_test, c.x_test)
    assert torch.bincount(a.y_test, minlength=10).min() >= 35


def test_retrieval_records_validation_retrieval_on_the_held_out_classes():
    from lossbench.metrics.retrieval import retrieval_metrics
    from lossbench.suites.metric_learning import MNIST1D_RETRIEVAL, retrieval_task_metrics

    data = mnist1d_retrieval(0)
    torch.manual_seed(0)
    model = Evaluator(build_model("cnn1d", data.in_shape, 5, channels=8).eval())
    ev = EvalInput(data=data, checkpoints={"last": model}, loss_kind="classification")
    out = retrieval_task_metrics(ev)
    expected = retrieval_metrics(model.features(data.x_val), data.y_val)
    assert out["val_p_at_1"] == expected["p_at_1"]
    assert out["val_map_at_r"] == expected["map_at_r"]
    assert int(MNIST1D_RETRIEVAL.version) >= 2  # recorded since version 2


def test_retrieval_metrics_come_from_the_selected_checkpoint():
    from lossbench.metrics.retrieval import retrieval_metrics
    from lossbench.suites.metric_learning import retrieval_task_metrics

    data = mnist1d_retrieval(0)
    torch.manual_seed(0)
    last = Evaluator(build_model("cnn1d", data.in_shape, 16, channels=8).eval())
    selected = Evaluator(build_model("cnn1d", data.in_shape, 16, channels=8).eval())
    ev = EvalInput(data, {"last": last, "selected": selected}, "embedding")
    out = retrieval_task_metrics(ev)
    def map_at_r(model):
        return retrieval_metrics(model.outputs(data.x_test), data.y_test)["map_at_r"]

    assert out["map_at_r"] == map_at_r(selected) != map_at_r(last)


def test_an_embedding_loss_run_on_retrieval_keeps_its_best_validation_map_at_r_epoch():
    t = SUITES.load("metric_learning").task("mnist1d-retrieval")
    record = execute(RunSpec("triplet_semihard", LOSSES.card("triplet_semihard").version,
                             "metric_learning", "mnist1d-retrieval", t.version, 0,
                             options={"epochs": 2}))
    assert record.status == "ok", record.error
    assert record.metrics["best_epoch"] in (0.0, 1.0)


def test_a_last_epoch_task_records_no_selected_epoch():
    t = SUITES.load("standard").task("mnist1d")
    record = execute(RunSpec("cross_entropy", "1", "standard", "mnist1d", t.version, 0,
                             options={"epochs": 1}))
    assert record.status == "ok", record.error
    assert "best_epoch" not in record.metrics


def test_a_record_states_the_number_of_classes_its_model_was_trained_on():
    """The report's chance level of top-1 (an entry that failed to train) reads it."""
    import json

    t = SUITES.load("ood").task("mnist1d-ood")
    record = execute(RunSpec("cross_entropy", "1", "ood", "mnist1d-ood", t.version, 0,
                             options={"epochs": 1}))
    assert record.status == "ok", record.error
    assert json.loads(record.provenance["task_json"])["num_classes"] == \
        t.make_data(0).num_classes == 6

"""A task's metrics computed from outputs recorded in the run's child and replayed elsewhere equal
the metrics of the model itself, bit for bit; an input the child did not answer for is an error
(lossbench.replay), and so is a record the child never produced (lossbench.runner.score)."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from lossbench.evaluator import Evaluator
from lossbench.metrics import classification
from lossbench.registry import LOSSES, SUITES
from lossbench.replay import MissingOutputs, ReplayEvaluator, answer, recording, replaying
from lossbench.run_outputs import RunOutputs, decode, encode
from lossbench.runner import evaluation_plans, score, train_run
from lossbench.spec import RunSpec
from lossbench.suites.base import EvalInput, TaskData


class Net(nn.Module):
    """A linear classifier with a ``features`` method, like lossbench.models.Classifier."""

    def __init__(self, seed: int):
        super().__init__()
        torch.manual_seed(seed)
        self.body = nn.Linear(4, 3)
        self.head = nn.Linear(3, 2)

    def features(self, x):
        return torch.tanh(self.body(x))

    def forward(self, x):
        return self.head(self.features(x))


def data() -> TaskData:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(30, 4, generator=g)
    y = (x[:, 0] > 0).long()
    return TaskData(x[:10], y[:10], x[10:20], y[10:20], x[20:], y[20:], num_classes=2,
                    extra={"x_shift": x[20:] * 2})


def evaluate(ev: EvalInput) -> dict[str, float]:
    """Metrics in the shape of the suites': several checkpoints, methods and inputs."""
    d = ev.data
    test = ev.selected.outputs(d.x_test)
    return {"top1": classification.top1(test, d.y_test),
            "nll": classification.nll(test, d.y_test),
            "val_top1": classification.top1(ev.last.outputs(d.x_val), d.y_val),
            "shift_top1": classification.top1(ev.selected.outputs(d.extra["x_shift"]), d.y_test),
            "feature_norm": ev.last.features(d.x_test).norm().item()}


def checkpoints() -> dict[str, Evaluator]:
    return {"last": Evaluator(Net(0)), "selected": Evaluator(Net(1))}


def test_replayed_outputs_give_the_models_own_metrics_bit_for_bit():
    direct = evaluate(EvalInput(data(), checkpoints()))
    recorders, recorded = recording(checkpoints())
    assert evaluate(EvalInput(data(), recorders)) == direct
    replayed = evaluate(EvalInput(data(), replaying(("last", "selected"), recorded)))
    assert replayed == direct


def test_the_replay_survives_the_transport():
    recorders, recorded = recording(checkpoints())
    evaluate(EvalInput(data(), recorders))
    back = decode(encode(RunOutputs("ok", checkpoints=("last", "selected"), outputs=recorded)))
    replayed = evaluate(EvalInput(data(), replaying(back.checkpoints, back.outputs)))
    assert replayed == evaluate(EvalInput(data(), checkpoints()))


def test_without_a_selected_checkpoint_both_sides_fall_back_to_the_last():
    only_last = {"last": Evaluator(Net(0))}
    recorders, recorded = recording(only_last)
    direct = evaluate(EvalInput(data(), recorders))
    assert evaluate(EvalInput(data(), replaying((), recorded))) == direct


def test_an_input_the_child_did_not_answer_for_is_missing_with_its_checkpoint_and_method():
    recorders, recorded = recording(checkpoints())
    recorders["last"].outputs(data().x_val)
    replay = ReplayEvaluator("last", recorded)
    assert torch.equal(replay.outputs(data().x_val), Net(0)(data().x_val).detach())
    with pytest.raises(MissingOutputs, match=r"did not return the outputs of the 'last' "
                                             r"checkpoint for a \(10, 4\) input"):
        replay.outputs(data().x_test)
    with pytest.raises(MissingOutputs, match="the features of the 'last' checkpoint"):
        replay.features(data().x_val)


def test_outputs_of_the_wrong_length_are_refused():
    x = data().x_val
    recorders, recorded = recording({"last": Evaluator(Net(0))})
    recorders["last"].outputs(x)
    key = next(iter(recorded))
    recorded[key] = recorded[key][:3]
    with pytest.raises(MissingOutputs, match=r"shape \(3, 2\) for an input of 10 rows"):
        ReplayEvaluator("last", recorded).outputs(x)


def test_the_requests_of_one_replay_are_the_plan_that_answers_the_next():
    recorders, recorded = recording(checkpoints())
    evaluate(EvalInput(data(), recorders))
    plan = []
    evaluate(EvalInput(data(), replaying(("last", "selected"), recorded, plan)))
    assert [(c, m) for c, m, _ in plan] == [("selected", "outputs"), ("last", "outputs"),
                                            ("selected", "outputs"), ("last", "features")]
    answered = answer(checkpoints(), plan)
    assert answered.keys() == recorded.keys()
    assert all((answered[k] == recorded[k]).all() for k in recorded)


def mnist1d_spec(seed: int = 0) -> RunSpec:
    task = SUITES.load("standard").task("mnist1d")
    return RunSpec("cross_entropy", LOSSES.card("cross_entropy").version, "standard", "mnist1d",
                   task.version, seed, options={"epochs": 1})


def test_a_claimed_success_without_outputs_is_scored_as_an_error():
    claim = RunOutputs("ok", scalars={"train_seconds": 1.0, "samples_per_second": 1.0},
                       history={"train_loss": [0.1]}, metrics={"top1": 0.99})
    record = score(mnist1d_spec(), claim)
    assert record.status == "error" and record.metrics == {}
    assert "did not return the outputs of the 'last' checkpoint" in record.error


def test_a_child_reported_failure_keeps_its_reason_and_the_parents_spec():
    spec = mnist1d_spec(seed=2)
    record = score(spec, RunOutputs("diverged", "loss became nan in epoch 0",
                                    scalars={"diverged_epoch": 0.0}))
    assert record.spec == spec and record.status == "diverged"
    assert record.metrics == {"diverged_epoch": 0.0}
    assert record.error == "loss became nan in epoch 0"
    assert record.provenance["card_json"] and not math.isnan(record.provenance["wall_seconds"])


TIMING = {"train_seconds", "samples_per_second", "loss_cost_ratio"}


def quality(metrics: dict[str, float]) -> dict[str, object]:
    """The metrics without timings, NaN as a string (NaN != NaN)."""
    return {k: "nan" if v != v else v for k, v in metrics.items() if k not in TIMING}


def test_a_run_given_the_plan_of_an_earlier_run_scores_the_same():
    """After one run of a task and seed is scored, the next child computes only the planned
    outputs (it runs no metric of its own), and its record is the same."""
    spec = mnist1d_spec(seed=1)
    unplanned = train_run(spec)
    first = score(spec, unplanned)
    plans = evaluation_plans(spec)
    assert list(plans) == [unplanned.checkpoints]
    planned = train_run(spec, plans=plans)
    assert planned.outputs.keys() == unplanned.outputs.keys()
    again = score(spec, planned)
    assert again.status == first.status == "ok"
    assert quality(again.metrics) == quality(first.metrics)


def test_a_claimed_success_without_its_timings_or_curve_names_what_is_missing():
    record = score(mnist1d_spec(), RunOutputs("ok", scalars={"train_seconds": 1.0}))
    assert record.status == "error"
    assert record.error == ("MissingOutputs: the run's child returned no samples_per_second, "
                            "training curve (train_loss per epoch)")

"""Planning a sweep: defaults, explicit selections and the errors for bad values."""

from __future__ import annotations

import pytest

from lossbench.errors import UsageError
from lossbench.plan import plan


def test_default_plan_covers_every_loss_on_the_embedded_task_for_five_seeds():
    specs = plan(suites=["standard"]).specs
    standard = [s for s in specs if s.regularizer is None]
    assert {"cross_entropy", "focal", "label_smoothing"} <= {s.loss for s in standard}
    assert {s.seed for s in standard} == {0, 1, 2, 3, 4}
    assert {(s.suite, s.task) for s in specs} == {("standard", "mnist1d")}


def test_specs_carry_resolved_hparams_and_versions():
    s = plan(suites=["standard"], losses=["focal"], seeds=1).specs[0]
    assert (s.loss, s.loss_version, dict(s.loss_hparams)) == ("focal", "1", {"gamma": 2.0})
    assert s.task_version == "3"


def test_hparam_overrides_change_the_spec():
    (a,) = plan(suites=["standard"], losses=["focal"], seeds=1).specs
    (b,) = plan(suites=["standard"], losses=["focal"], seeds=1,
                loss_hparams={"focal": {"gamma": 3.0}}).specs
    assert b.loss_hparams["gamma"] == 3.0 and a.key != b.key


@pytest.mark.parametrize("kwargs, message", [
    ({"losses": ["focall"]}, "unknown loss 'focall'; did you mean 'focal'"),
    ({"suites": ["standrd"]}, "unknown suite 'standrd'; did you mean 'standard'"),
    ({"tasks": ["mnist"]}, "unknown task 'mnist'"),
    ({"regularizers": ["no_such_reg"]}, "unknown regularizer 'no_such_reg'"),
    ({"seeds": 0}, "--seeds must be >= 1, got 0"),
    ({"options": {"epoch": 2}}, "unknown run option 'epoch'; did you mean 'epochs'"),
    ({"options": {"epochs": -1}}, "option epochs must be a positive integer, got -1"),
])
def test_bad_values_are_usage_errors_that_name_them(kwargs, message):
    with pytest.raises(UsageError, match=message):
        plan(**kwargs)


def test_task_may_be_named_with_its_suite():
    specs = plan(tasks=["standard/mnist1d"], losses=["cross_entropy"], seeds=1).specs
    assert [(s.suite, s.task) for s in specs] == [("standard", "mnist1d")]


def test_options_are_part_of_the_spec():
    (s,) = plan(suites=["standard"], losses=["focal"], seeds=1, options={"epochs": 2}).specs
    assert dict(s.options) == {"epochs": 2}


def test_named_loss_runs_only_where_its_card_applies_unless_suites_are_named():
    specs = plan(losses=["arcface"], seeds=1).specs
    assert specs and {s.suite for s in specs} == {"metric_learning"}


def test_embedding_loss_on_a_classification_task_is_a_usage_error():
    with pytest.raises(UsageError, match="'arcface' is an embedding loss"):
        plan(tasks=["standard/mnist1d"], losses=["arcface"], seeds=1)


def test_naming_a_suite_keeps_unnamed_entries_on_their_cards_suites():
    specs = plan(suites=["standard"], seeds=1).specs
    assert "metrix" not in {s.regularizer for s in specs}  # a metric-learning regularizer


def test_naming_entry_and_suite_runs_it_there_even_off_card():
    specs = plan(suites=["standard"], regularizers=["metrix"], seeds=1).specs
    assert {(s.loss, s.regularizer) for s in specs} == {("cross_entropy", "metrix")}


def test_a_suite_that_fails_to_load_is_skipped_with_its_reason_not_silently():
    from lossbench.registry import SUITES

    def broken():
        raise ImportError("No module named 'missing_dep'")

    SUITES.register("broken_suite", broken)
    try:
        planned = plan(None, ["standard/mnist1d"], ["cross_entropy"], None, 1)
        specs, skipped = planned.specs, planned.skipped
    finally:
        SUITES.refresh()
    assert specs and {s.task for s in specs} == {"mnist1d"}
    assert any(s.what == "suite broken_suite" and "missing_dep" in s.reason for s in skipped)


def test_an_absurd_number_of_seeds_is_a_usage_error_naming_the_cap():
    from lossbench.errors import UsageError
    from lossbench.plan import MAX_SEEDS, plan

    with pytest.raises(UsageError, match=f"at most {MAX_SEEDS}, got 1000000000"):
        plan(["standard"], ["mnist1d"], ["cross_entropy"], None, 1_000_000_000)


# ---------------------------------------------------------------- the Plan object

def test_the_plan_names_the_cross_entropy_runs_it_added_as_baseline():
    planned = plan(tasks=["standard/mnist1d"], losses=["focal"], seeds=2, baseline=True)
    assert [(s.loss, s.regularizer, s.seed) for s in planned.baseline] == [
        ("cross_entropy", None, 0), ("cross_entropy", None, 1)]
    assert {s.key for s in planned.baseline} <= {s.key for s in planned.specs}
    assert len(planned.specs) == 4


def test_a_selection_that_runs_cross_entropy_itself_gets_no_baseline_runs():
    planned = plan(tasks=["standard/mnist1d"], losses=["cross_entropy", "focal"], seeds=1,
                   baseline=True)
    assert planned.baseline == () and len(planned.specs) == 2


def test_each_planned_task_carries_its_runs_and_its_recipes_epochs():
    from lossbench.registry import SUITES

    recipe = SUITES.load("standard").task("mnist1d").train.epochs
    (task,) = plan(tasks=["standard/mnist1d"], losses=["focal", "cross_entropy"], seeds=3).tasks
    assert (task.label, task.version, task.embedded, task.runs) == ("standard/mnist1d", "3",
                                                                     True, 6)
    assert task.epochs == recipe


def test_the_epochs_option_is_the_planned_tasks_epochs():
    planned = plan(tasks=["standard/mnist1d"], losses=["focal"], seeds=1, options={"epochs": 2})
    assert planned.task("standard", "mnist1d").epochs == 2


def test_asking_the_plan_for_a_task_it_does_not_reach_names_the_ones_it_does():
    from lossbench.errors import UsageError

    planned = plan(tasks=["standard/mnist1d"], losses=["focal"], seeds=1)
    with pytest.raises(UsageError, match="standard/digits.*standard/mnist1d"):
        planned.task("standard", "digits")

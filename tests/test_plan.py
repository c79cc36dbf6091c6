"""Planning a sweep: defaults, explicit selections and the errors for bad values."""

from __future__ import annotations

import pytest

from lossbench.errors import UsageError
from lossbench.plan import plan


def test_default_plan_covers_every_loss_on_the_embedded_task_for_five_seeds():
    specs, _ = plan(suites=["standard"])
    standard = [s for s in specs if s.regularizer is None]
    assert {"cross_entropy", "focal", "label_smoothing"} <= {s.loss for s in standard}
    assert {s.seed for s in standard} == {0, 1, 2, 3, 4}
    assert {(s.suite, s.task) for s in specs} == {("standard", "mnist1d")}


def test_specs_carry_resolved_hparams_and_versions():
    (s, *_), _ = plan(suites=["standard"], losses=["focal"], seeds=1)
    assert (s.loss, s.loss_version, dict(s.loss_hparams)) == ("focal", "1", {"gamma": 2.0})
    assert s.task_version == "2"


def test_hparam_overrides_change_the_spec():
    (a,), _ = plan(suites=["standard"], losses=["focal"], seeds=1)
    (b,), _ = plan(suites=["standard"], losses=["focal"], seeds=1,
                   loss_hparams={"focal": {"gamma": 3.0}})
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
    specs, _ = plan(tasks=["standard/mnist1d"], losses=["cross_entropy"], seeds=1)
    assert [(s.suite, s.task) for s in specs] == [("standard", "mnist1d")]


def test_options_are_part_of_the_spec():
    (s,), _ = plan(suites=["standard"], losses=["focal"], seeds=1, options={"epochs": 2})
    assert dict(s.options) == {"epochs": 2}


def test_named_loss_runs_only_where_its_card_applies_unless_suites_are_named():
    specs, _ = plan(losses=["arcface"], seeds=1)
    assert specs and {s.suite for s in specs} == {"metric_learning"}


def test_embedding_loss_on_a_classification_task_is_a_usage_error():
    with pytest.raises(UsageError, match="'arcface' is an embedding loss"):
        plan(tasks=["standard/mnist1d"], losses=["arcface"], seeds=1)


def test_naming_a_suite_keeps_unnamed_entries_on_their_cards_suites():
    specs, _ = plan(suites=["standard"], seeds=1)
    assert "metrix" not in {s.regularizer for s in specs}  # a metric-learning regularizer


def test_naming_entry_and_suite_runs_it_there_even_off_card():
    specs, _ = plan(suites=["standard"], regularizers=["metrix"], seeds=1)
    assert {(s.loss, s.regularizer) for s in specs} == {("cross_entropy", "metrix")}


def test_a_suite_that_fails_to_load_is_skipped_with_its_reason_not_silently():
    from lossbench.registry import SUITES

    def broken():
        raise ImportError("No module named 'missing_dep'")

    SUITES.register("broken_suite", broken)
    try:
        specs, skipped = plan(None, ["standard/mnist1d"], ["cross_entropy"], None, 1)
    finally:
        SUITES.refresh()
    assert specs and {s.task for s in specs} == {"mnist1d"}
    assert any(s.what == "suite broken_suite" and "missing_dep" in s.reason for s in skipped)


def test_an_absurd_number_of_seeds_is_a_usage_error_naming_the_cap():
    from lossbench.errors import UsageError
    from lossbench.plan import MAX_SEEDS, plan

    with pytest.raises(UsageError, match=f"at most {MAX_SEEDS}, got 1000000000"):
        plan(["standard"], ["mnist1d"], ["cross_entropy"], None, 1_000_000_000)

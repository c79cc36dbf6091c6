"""A suite's description, read without loading the suite: its tasks and each recipe's epochs,
and the one count of a run's epochs the plan, the estimate and the default timeout share."""

from __future__ import annotations

from types import SimpleNamespace

from lossbench.registry import SUITES
from lossbench.spec import RunSpec
from lossbench.suites.description import (
    RECIPE_EPOCHS,
    describe_suite,
    recipe_epochs,
    spec_epochs,
    suite_info,
)


def _spec(suite: str = "standard", task: str = "mnist1d", **options) -> RunSpec:
    return RunSpec("cross_entropy", "1", suite, task, "2", 0, options=options)


def test_the_description_states_each_tasks_recipe_epochs():
    suite = SUITES.load("standard")
    assert describe_suite(suite)[RECIPE_EPOCHS] == {
        name: task.train.epochs for name, task in suite.tasks.items()}


def test_a_look_alike_task_without_a_recipe_states_no_epochs():
    task = SimpleNamespace(name="t", version="1", embedded=True, supports_embedding=False)
    suite = SimpleNamespace(name="look_alike", tasks={"t": task})
    assert describe_suite(suite)[RECIPE_EPOCHS] == {}


def test_suite_info_reads_the_description_back():
    assert suite_info("standard").tasks["mnist1d"].version == "3"


def test_a_runs_epochs_are_its_recipes():
    assert spec_epochs(_spec()) == SUITES.load("standard").task("mnist1d").train.epochs


def test_the_epochs_option_wins_over_the_recipe():
    assert spec_epochs(_spec(epochs=3)) == 3


def test_a_suite_that_is_not_registered_states_no_epochs():
    assert recipe_epochs("no_such_suite", "mnist1d") is None
    assert spec_epochs(_spec("no_such_suite")) is None

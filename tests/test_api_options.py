"""What a sweep runs (``Selection``) and how (``Execution``): frozen objects that refuse a bad
value when made, naming it and what is accepted (lossbench.api.options)."""

from __future__ import annotations

import dataclasses

import pytest

from lossbench.api import Execution, Selection, tune
from lossbench.errors import UsageError


def test_a_selection_holds_its_lists_as_tuples_so_equal_selections_are_equal():
    a = Selection(losses=["focal"], tasks=["standard/mnist1d"], seeds=[0, 1])
    assert a.losses == ("focal",) and a.seeds == (0, 1)
    assert a == Selection(losses=("focal",), tasks=("standard/mnist1d",), seeds=(0, 1))


def test_a_selection_cannot_be_changed_once_made():
    with pytest.raises(dataclasses.FrozenInstanceError):
        Selection().seeds = 3


def test_a_single_name_instead_of_a_list_is_refused_with_the_fix():
    with pytest.raises(UsageError, match=r"losses takes a list of names, got the string "
                                         r"'focal': write losses=\['focal'\]"):
        Selection(losses="focal")


def test_a_name_that_is_not_a_string_is_refused():
    with pytest.raises(UsageError, match="tasks: every name must be a non-empty string, got 3"):
        Selection(tasks=["standard/mnist1d", 3])


def test_seeds_are_a_count_or_a_list_of_seeds():
    with pytest.raises(UsageError, match="seeds takes a number N .* got True"):
        Selection(seeds=True)
    with pytest.raises(UsageError, match="every seed must be an integer >= 0, got -1"):
        Selection(seeds=[0, -1])


def test_per_entry_hyperparameters_are_a_mapping_per_entry():
    with pytest.raises(UsageError, match=r"loss_hparams\['focal'\] takes a mapping of "
                                         r"hyperparameters, got 3"):
        Selection(loss_hparams={"focal": 3})


def test_an_unknown_recipe_option_is_refused_naming_the_valid_ones():
    with pytest.raises(UsageError, match="epoch.*epochs"):
        Selection(options={"epoch": 2})


def test_amp_and_compile_are_spec_options():
    assert Selection(options={"epochs": 2}, amp=True, compile=True).spec_options == {
        "epochs": 2, "amp": "bf16", "compile": True}
    assert Selection().spec_options is None


def test_an_unknown_progress_mode_is_refused_naming_the_valid_ones():
    with pytest.raises(UsageError, match="unknown progress 'loud'; valid: auto, rich, plain, "
                                         "quiet"):
        Execution(progress="loud")


def test_workers_and_timeout_must_be_positive():
    with pytest.raises(UsageError, match="workers takes a positive integer or None, got 0"):
        Execution(workers=0)
    with pytest.raises(UsageError, match="timeout takes a positive number or None, got -1.5"):
        Execution(timeout=-1.5)


def test_confirm_must_be_a_function():
    with pytest.raises(UsageError, match="confirm takes a function or None, got 'yes'"):
        Execution(confirm="yes")


def test_tuning_refuses_a_selection_that_sets_hyperparameters():
    with pytest.raises(UsageError, match="tuning chooses the hyperparameters: leave hparams "
                                         "unset"):
        tune(Selection(losses=["focal"], hparams={"gamma": 3}))

"""A run spec's hash is stable, canonical and sensitive to everything that changes a result."""

from __future__ import annotations

import dataclasses

import pytest

from lossbench.spec import RunSpec, canonical_json


def spec(**kw) -> RunSpec:
    base = dict(loss="focal", loss_version="1", suite="standard", task="mnist1d",
                task_version="1", seed=0, loss_hparams={"gamma": 2.0})
    return RunSpec(**{**base, **kw})


def test_canonical_json_sorts_keys_and_drops_whitespace():
    assert canonical_json({"b": 1, "a": [1, 2]}) == '{"a":[1,2],"b":1}'


def test_key_is_16_hex_digits_and_stable():
    assert spec().key == spec().key
    assert len(spec().key) == 16 and int(spec().key, 16) >= 0


def test_key_ignores_hparam_insertion_order():
    a = spec(loss_hparams={"gamma": 2.0, "alpha": 1.0})
    b = spec(loss_hparams={"alpha": 1.0, "gamma": 2.0})
    assert a.key == b.key


def test_every_field_changes_the_key():
    changed = {
        "loss": "cross_entropy", "loss_version": "2", "suite": "noisy", "task": "sym50",
        "task_version": "2", "seed": 1, "loss_hparams": {"gamma": 3.0}, "regularizer": "mixup",
        "regularizer_version": "1", "regularizer_hparams": {"alpha": 0.2},
        "options": {"epochs": 2}, "harness_version": "9.9.9",
    }
    assert set(changed) == {f.name for f in dataclasses.fields(RunSpec)}
    keys = {spec(**{name: value}).key for name, value in changed.items()}
    assert len(keys) == len(changed) and spec().key not in keys


def test_round_trips_through_dict():
    s = spec(regularizer="mixup", regularizer_hparams={"alpha": 0.2})
    assert RunSpec.from_dict(s.to_dict()) == s


def test_every_recipe_option_that_overrides_the_recipe_is_a_train_config_field():
    import dataclasses

    from lossbench.spec import TRAIN_CONFIG_OPTIONS
    from lossbench.train import TrainConfig

    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    assert TRAIN_CONFIG_OPTIONS and set(TRAIN_CONFIG_OPTIONS) <= fields


@pytest.mark.parametrize(("key", "value", "message"), [
    ("epochs", True, "option epochs must be a positive integer, got True"),
    ("amp", "fp16", "option amp must be one of bf16, got 'fp16'"),
    ("compile", "yes", "option compile must be true or false"),
    ("samples_per_class", 2.5, r"option samples_per_class must be a non-negative integer"),
])
def test_recipe_options_are_checked_by_their_one_declaration(key, value, message):
    from lossbench.errors import UsageError
    from lossbench.plan import validate_options

    with pytest.raises(UsageError, match=message):
        validate_options({key: value})

"""The equal-budget tuning protocol: reproducible independent draws, validation-only selection."""

from __future__ import annotations

import json
import math

import pytest

from lossbench import tune as tn
from lossbench.errors import UsageError
from lossbench.registry import LOSSES

SPACE = {"gamma": {"low": 0.0, "high": 5.0}, "lr": {"low": 1e-4, "high": 1e-1, "log": True},
         "k": {"low": 1, "high": 3, "int": True}, "v": {"choices": ["a", "b"]}}


def test_draws_are_reproducible():
    assert tn.draw_configs("focal", SPACE, 6) == tn.draw_configs("focal", SPACE, 6)


def test_each_entry_and_hyperparameter_has_its_own_sequence():
    one = tn.draw_configs("focal", {"gamma": SPACE["gamma"]}, 5)
    more = tn.draw_configs("focal", SPACE, 5)  # adding hyperparameters changes nothing for gamma
    assert [c["gamma"] for c in one] == [c["gamma"] for c in more]
    other = tn.draw_configs("poly", {"gamma": SPACE["gamma"]}, 5)
    assert [c["gamma"] for c in other] != [c["gamma"] for c in one]


def test_draws_stay_in_their_ranges_and_types():
    for c in tn.draw_configs("x", SPACE, 32):
        assert 0.0 <= c["gamma"] <= 5.0
        assert 1e-4 <= c["lr"] <= 1e-1
        assert isinstance(c["k"], int) and 1 <= c["k"] <= 3
        assert c["v"] in ("a", "b")


def test_quasi_random_draws_cover_the_range_evenly():
    values = sorted(c["g"] for c in tn.draw_configs("x", {"g": {"low": 0, "high": 1}}, 8))
    # a low-discrepancy sequence puts one of 8 points in each eighth of [0, 1)
    assert [int(v * 8) for v in values] == list(range(8))


def test_log_scale_maps_the_unit_interval_geometrically():
    dim = {"low": 1e-4, "high": 1e-2, "log": True}
    assert tn.unit_to_value(dim, 0.5) == pytest.approx(1e-3)


def test_int_dimension_gives_every_value_equal_width():
    dim = {"low": 1, "high": 3, "int": True}
    assert [tn.unit_to_value(dim, u) for u in (0.0, 0.34, 0.67, 0.999)] == [1, 2, 3, 3]


@pytest.mark.parametrize("space, message", [
    ({"g": {"low": 2.0, "high": 1.0}}, "low must be < high"),
    ({"g": {"low": 1.0, "high": 1.0}}, "low must be < high"),
    ({"g": {"low": 0.0, "high": 1.0, "log": True}}, "log-scale range needs low > 0"),
    ({"g": {"choices": []}}, "non-empty list"),
    ({"g": {"high": 1.0}}, "expected keys low, high"),
    ({"g": {"low": False, "high": True}}, "finite numbers"),
])
def test_malformed_search_spaces_are_named(space, message):
    with pytest.raises(UsageError, match=message):
        tn.validate_search_space("e", space)


def test_trial_configs_start_with_the_defaults_and_have_k_entries():
    card = LOSSES.card("focal")
    configs = tn.trial_configs(card, 5)
    assert len(configs) == 5 and configs[0] == dict(card.hparams)


def test_an_entry_without_search_space_runs_its_defaults_only():
    assert tn.trial_configs(LOSSES.card("cross_entropy"), 8) == [{}]


def test_selection_takes_the_best_value_and_the_earlier_trial_on_ties():
    assert tn.select_trial([0.5, 0.7, 0.7, math.nan]) == 1
    assert tn.select_trial([0.5, 0.2, 0.3], higher_is_better=False) == 1
    assert tn.select_trial([math.nan, math.nan]) is None


def _fake_sweep(monkeypatch, val_of):
    """Replace training by records whose val_top1 is ``val_of(spec)`` (test top1 is its
    opposite, so selecting on test would pick a different trial)."""
    from lossbench import scheduler
    from lossbench.record import Record
    from lossbench.store import stored_keys, write_record

    def run_sweep(specs, results, **kwargs):
        done = stored_keys(results)
        for s in specs:
            if s.key not in done:
                v = val_of(s)
                write_record(results, Record(s, "ok", {"val_top1": v, "top1": 1 - v}, "", {}))

    monkeypatch.setattr(scheduler, "run_sweep", run_sweep)


def test_tune_selects_on_validation_and_runs_the_choice_for_the_seeds(tmp_path, monkeypatch):
    _fake_sweep(monkeypatch, lambda s: 1 - abs(s.loss_hparams.get("gamma", 0) - 3.0) / 10)
    (result,) = tn.tune(losses=["focal"], tasks=["standard/mnist1d"], trials=6, seeds=3,
                        results=tmp_path)
    gammas = [t.loss_hparams["gamma"] for t in result.trials]
    best = min(range(6), key=lambda i: abs(gammas[i] - 3.0))
    assert result.selected == best
    manifest = json.loads(tn.manifest_path(tmp_path, result).read_text())
    assert manifest["budget"] == 6 and manifest["selected_key"] == result.trials[best].key
    from lossbench.store import load_results

    runs = load_results(tmp_path)
    finals = runs[runs["loss_hparams"] == json.dumps({"gamma": gammas[best]},
                                                     separators=(",", ":"))]
    assert sorted(finals["seed"]) == [0, 1, 2]


def test_tune_requires_an_entry():
    with pytest.raises(UsageError, match="--loss or --regularizer"):
        tn.tune(results="unused")


def test_a_task_without_the_selection_metric_selects_nothing_and_says_why(tmp_path, monkeypatch):
    from lossbench import scheduler
    from lossbench.record import Record
    from lossbench.store import write_record

    def run_sweep(specs, results, **kwargs):
        for s in specs:
            write_record(results, Record(s, "ok", {"val_map": 0.5, "top1": 0.5}, "", {}))

    monkeypatch.setattr(scheduler, "run_sweep", run_sweep)
    (result,) = tn.tune(losses=["focal"], tasks=["standard/mnist1d"], trials=2, results=tmp_path)
    assert result.selected is None
    assert "does not record 'val_top1'" in result.note and "val_map" in result.note


def test_metric_learning_selects_on_validation_map_at_r_not_the_saturating_p_at_1(
        tmp_path, monkeypatch):
    from lossbench import scheduler
    from lossbench.record import Record
    from lossbench.store import write_record

    def run_sweep(specs, results, **kwargs):  # P@1 ties at 1.0; MAP@R prefers a large margin
        for s in specs:
            margin = s.loss_hparams.get("margin", 0.0)
            write_record(results, Record(s, "ok", {"val_p_at_1": 1.0, "val_map_at_r": margin,
                                                   "p_at_1": 0.9}, "", {}))

    monkeypatch.setattr(scheduler, "run_sweep", run_sweep)
    (result,) = tn.tune(losses=["arcface"], tasks=["metric_learning/mnist1d-retrieval"],
                        trials=4, seeds=1, results=tmp_path)
    margins = [t.loss_hparams["margin"] for t in result.trials]
    assert result.selection_metric == "val_map_at_r"
    assert result.selected == margins.index(max(margins)) != 0

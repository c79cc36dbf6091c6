"""The canary: a fixed small set of short runs covering every embedded task and every built-in
entry, digested bit for bit, so that a refactor proves itself result-neutral without a board
re-run."""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

import pytest

from lossbench import canary
from lossbench.canary import RunDigest, canary_specs, choose_runs, compare, failed
from lossbench.registry import LOSSES, REGULARIZERS, SUITES


def builtin(registry) -> set[str]:
    return {name for name in registry.names() if registry.get(name).builtin}


def spec(loss: str, task: str, regularizer: str | None = None) -> SimpleNamespace:
    return SimpleNamespace(loss=loss, regularizer=regularizer, suite="s", task=task)


def test_the_canary_runs_every_builtin_entry_and_every_embedded_task_once_or_more():
    specs = canary_specs()
    losses = builtin(LOSSES)
    regularizers = builtin(REGULARIZERS)
    tasks = {(name, t.name) for name in SUITES.names() if SUITES.get(name).builtin
             for t in SUITES.load(name).tasks.values() if t.embedded}
    assert {s.loss for s in specs} == losses
    assert {s.regularizer for s in specs} - {None} == regularizers
    assert {(s.suite, s.task) for s in specs} == tasks
    assert {s.seed for s in specs} == {canary.CANARY_SEED}
    assert {json.dumps(s.options) for s in specs} == {json.dumps({"epochs": 1})}


def test_the_canary_is_small_one_run_per_entry_at_most():
    specs = canary_specs()
    entries = len(builtin(LOSSES)) + len(builtin(REGULARIZERS))
    assert len(specs) <= entries  # a regularizer's run with cross-entropy runs both


def test_choosing_covers_every_entry_and_task_and_spreads_entries_over_tasks():
    plan = [spec("ce", "a"), spec("ce", "b"), spec("focal", "a"), spec("focal", "b"),
            spec("ce", "a", "mixup"), spec("ce", "c")]
    chosen = choose_runs(plan)
    # mixup (with ce) goes first, to task a; focal then to b, the emptier task; c gets its
    # only spec; ce needs no run of its own
    assert [(s.loss, s.regularizer, s.task) for s in chosen] == [
        ("focal", None, "b"), ("ce", "mixup", "a"), ("ce", None, "c")]


def test_choosing_is_deterministic_and_in_plan_order():
    plan = [spec(loss, task) for task in ("a", "b", "c") for loss in ("x", "y", "z")]
    first = choose_runs(plan)
    assert choose_runs(plan) == first
    assert first == sorted(first, key=plan.index)


def test_a_one_ulp_change_of_a_metric_changes_the_digest():
    value = 0.8125
    assert (RunDigest("ok", {"top1": value}).digest
            != RunDigest("ok", {"top1": math.nextafter(value, 1.0)}).digest)
    assert RunDigest("ok", {"top1": value}).digest != RunDigest("error", {"top1": value}).digest


def saved_file(**runs: RunDigest) -> dict:
    return {"format": canary.FORMAT, "runs": {k: d.to_dict() for k, d in runs.items()}}


def test_compare_names_each_run_identical_different_missing_or_new():
    saved = saved_file(a=RunDigest("ok", {"top1": 0.5}), b=RunDigest("ok", {"top1": 0.5}),
                       c=RunDigest("ok", {"top1": 0.5}))
    now = {"a": RunDigest("ok", {"top1": 0.5}), "b": RunDigest("ok", {"top1": 0.25}),
           "d": RunDigest("ok", {"top1": 0.5})}
    assert compare(saved, now) == [("a", "identical"), ("b", "different: top1 0.5 -> 0.25"),
                                   ("c", "missing"), ("d", "new")]


def test_a_comparison_fails_on_a_difference_or_a_missing_run_but_not_on_a_new_one():
    assert failed([("a", "identical"), ("d", "new")]) is False
    assert failed([("a", "identical"), ("c", "missing")]) is True
    assert failed([("b", "different: top1 0.5 -> 0.25")]) is True


def test_a_file_that_is_not_a_canary_file_is_refused_by_name(tmp_path):
    bad = tmp_path / "before.json"
    bad.write_text("{}")
    with pytest.raises(ValueError, match="before.json.*not a canary file"):
        canary.load(bad)


@pytest.mark.slow
def test_a_two_run_canary_saved_and_rerun_is_identical(tmp_path):
    """Two runs through the sweep's path (local executor, children forked), twice: the quality
    metrics are bit-identical, the digests equal, and the comparison passes."""
    specs = [s for s in canary_specs() if (s.suite, s.task) == ("standard", "mnist1d")][:2]
    first, machine = canary.run_canary(specs=specs, workers=2, progress="quiet")
    canary.save(tmp_path / "before.json", first, canary.DEFAULT_EPOCHS, machine)
    second, _ = canary.run_canary(specs=specs, workers=2, progress="quiet")
    verdicts = compare(canary.load(tmp_path / "before.json"), second)
    assert [v for _, v in verdicts] == ["identical", "identical"]
    assert all(d.status == "ok" and "top1" in d.metrics for d in second.values())

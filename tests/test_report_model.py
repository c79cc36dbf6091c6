"""The leaderboard model's rules, one by one: primary metrics, paper links and the
provenance a table must not mix."""

from __future__ import annotations

import pandas as pd
import pytest

from lossbench.report.boards import choose_metrics
from lossbench.report.provenance import mixed


@pytest.mark.parametrize(("headline", "measured", "expected"), [
    (["top1", "nll", "ece"], {"top1", "nll", "ece"}, ["top1", "nll", "ece"]),
    # metric learning: MAP@R is primary even where P@1 is listed first
    (["p_at_1", "map_at_r", "nmi"], {"p_at_1", "map_at_r", "nmi"}, ["map_at_r", "p_at_1", "nmi"]),
    # OOD detection: the ID top-1 sits right after the primary OOD score
    (["near_auroc_msp", "far_auroc_msp"], {"near_auroc_msp", "far_auroc_msp", "top1", "ece"},
     ["near_auroc_msp", "top1", "far_auroc_msp", "ece"]),
])
def test_primary_metrics_mean_what_readers_expect(headline, measured, expected):
    assert choose_metrics(headline, measured) == expected


def test_ece_after_temperature_scaling_sits_beside_ece():
    measured = {"top1", "nll", "ece", "ece_ts", "smooth_ece"}
    assert choose_metrics(["top1", "nll", "ece"], measured) == \
        ["top1", "nll", "ece", "ece_ts", "smooth_ece"]


def test_a_suite_compares_its_tasks_on_its_own_first_headline_metric():
    """An OOD task listing its ID top-1 first is still ranked on near-OOD AUROC, the suite's."""
    measured = {"top1", "near_auroc_msp", "far_auroc_msp"}
    assert choose_metrics(["top1", "near_auroc_msp", "far_auroc_msp"], measured,
                            ["near_auroc_msp", "far_auroc_msp"]) == \
        ["near_auroc_msp", "top1", "far_auroc_msp"]


def test_mixed_provenance_names_what_is_mixed():
    runs = pd.DataFrame({"git_sha": ["a" * 40, "b" * 40], "device": ["cpu:x AVX512 x1"] * 2,
                         "task_version": ["2", "2"]})
    assert mixed(runs) == ["2 git SHAs (aaaaaaaaaaaa, bbbbbbbbbbbb)"]


def test_harness_fingerprints_are_checked_when_the_records_have_them():
    runs = pd.DataFrame({"git_sha": ["a", "a"], "device": ["cpu", "cpu"],
                         "task_version": ["1", "1"]})
    assert mixed(runs) == []  # no harness_fingerprint column: nothing to check
    runs["harness_fingerprint"] = ["f1", "f2"]
    assert mixed(runs) == ["2 harness fingerprints (f1, f2)"]


def test_records_of_two_machines_with_one_device_string_are_flagged():
    runs = pd.DataFrame({"git_sha": ["a", "a", "a"], "device": ["cpu:x86_64 AVX512 x1"] * 3,
                         "task_version": ["1"] * 3,
                         "machine_id": ["0123456789ab", "ba9876543210", None]})
    assert mixed(runs) == ["2 machines (0123456789ab, ba9876543210)"]
    runs["machine_id"] = ["0123456789ab", "0123456789ab", None]  # None: a record made before
    assert mixed(runs) == []

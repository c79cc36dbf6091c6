"""Findings a suite declares itself (``Suite.findings``), as a third-party suite may, and how
``lossbench validate`` and the leaderboard show them beside the catalog's verdicts.

The built-in suites declare none: they are judged against the pre-registered catalog
(tests/test_catalog.py, tests/test_validity.py). A finding says "entry A beats entry B on a
metric of a task" (or, for one entry, "metric X above metric Y"), with its source.
``validate`` judges it on the stored records: default recipe, card defaults, the task's current
version, A and B paired by seed; the verdict comes from the 95 % t-interval of the signed
difference.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats

import lossbench
from lossbench import findings as fd
from lossbench import report
from lossbench.build import resolve_hparams
from lossbench.cli import main
from lossbench.plan import DEFAULT_SEEDS
from lossbench.record import Record
from lossbench.registry import LOSSES, REGULARIZERS, SUITES
from lossbench.report import catalog_section
from lossbench.spec import RunSpec
from lossbench.store import load_results, write_record
from lossbench.suites.declared_findings import EntryRef, Finding, FindingError
from lossbench.suites.description import suite_info

SEEDS = range(5)


# ---------------------------------------------------------------- helpers

def finding(**overrides) -> Finding:
    """focal below cross-entropy in ECE on standard/mnist1d (Mukhoti et al. 2020's claim)."""
    fields = dict(id="focal-calibrates", task="mnist1d", metric="ece", a=EntryRef("focal"),
                  b=EntryRef("cross_entropy"), source="Mukhoti et al. 2020, Table 1",
                  published="1.48 vs 4.35", claim="focal is better calibrated than CE")
    return Finding(**{**fields, **overrides})


def store(results, loss: str, by_seed: dict[int, dict[str, float]], *, regularizer=None,
          suite="standard", task="mnist1d", version="1", options=None, loss_hparams=None,
          status="ok") -> None:
    """Write one record per seed through the real store writer (card-default hyperparameters
    unless ``loss_hparams`` overrides them), with the metadata a run stores (cards, task)."""
    from lossbench.record_meta import record_meta

    meta = record_meta(loss, regularizer, suite, task)
    lc = LOSSES.card(loss)
    rc = REGULARIZERS.card(regularizer) if regularizer else None
    for seed, metrics in by_seed.items():
        spec = RunSpec(loss=loss, loss_version=lc.version, suite=suite, task=task,
                       task_version=version, seed=seed,
                       loss_hparams=resolve_hparams(lc, loss_hparams),
                       regularizer=regularizer, regularizer_version=rc.version if rc else None,
                       regularizer_hparams=resolve_hparams(rc, None) if rc else {},
                       options=options or {})
        write_record(results, Record(spec, status, metrics if status == "ok" else {},
                                     "" if status == "ok" else "boom", meta))


def ece(values) -> dict[int, dict[str, float]]:
    return {s: {"ece": v} for s, v in zip(SEEDS, values, strict=False)}


def judge(path, f: Finding | None = None, **kw) -> fd.FindingResult:
    (result,) = fd.evaluate(load_results(path), "standard", [f or finding()],
                            task_versions={"mnist1d": "1"}, **kw)
    return result


CE = [0.050, 0.060, 0.055, 0.070, 0.065]


# ---------------------------------------------------------------- declarations

def test_the_builtin_suites_declare_no_findings_of_their_own():
    """They are judged against the pre-registered catalog (lossbench.catalog)."""
    names = ["standard", "imbalanced", "noisy", "ood", "metric_learning"]
    assert all(s.findings == () for s in fd.suite_findings(names))


def test_the_cached_suite_metadata_carries_the_same_findings_as_the_suite(declaring):
    assert suite_info("declaring").findings == SUITES.load("declaring").findings == DECLARED


def test_an_unknown_loss_is_named_with_close_matches():
    with pytest.raises(FindingError, match="unknown loss 'focall'; did you mean 'focal'"):
        fd.check_findings("standard", [finding(a=EntryRef("focall"))], ["mnist1d"])


def test_an_unknown_regularizer_is_named_with_the_valid_ones():
    bad = finding(a=EntryRef("cross_entropy", "elrr"))
    with pytest.raises(FindingError, match=r"(?s)unknown regularizer 'elrr'.*valid regularizer "
                                           r"names: .*elr"):
        fd.check_findings("standard", [bad], ["mnist1d"])


def test_an_unknown_metric_is_named():
    with pytest.raises(FindingError, match="finding 'focal-calibrates' of suite 'standard': "
                                           "unknown metric 'eec'"):
        fd.check_findings("standard", [finding(metric="eec")], ["mnist1d"])


def test_an_unknown_task_is_named_with_the_suites_tasks():
    with pytest.raises(FindingError, match=r"(?s)unknown task 'mnist1'.*valid task names: "
                                           r"digits, mnist1d"):
        fd.check_findings("standard", [finding(task="mnist1")], ["mnist1d", "digits"])


def test_a_same_entry_finding_needs_metric_b():
    with pytest.raises(FindingError, match="b is None .* but metric_b is not given"):
        finding(b=None)


def test_metric_b_belongs_only_to_same_entry_findings():
    with pytest.raises(FindingError, match="metric_b='top1' is only for same-entry findings"):
        finding(metric_b="top1")


def test_a_duplicate_id_is_refused():
    with pytest.raises(FindingError, match="declared twice"):
        fd.check_findings("standard", [finding(), finding()], ["mnist1d"])


def test_entries_can_be_written_as_text():
    f = finding(a="cross_entropy + elr")
    assert f.a == EntryRef("cross_entropy", "elr") and f.a.label == "cross_entropy + elr"


# ---------------------------------------------------------------- verdicts

def test_a_beating_b_on_every_seed_is_reproduced(tmp_path):
    store(tmp_path, "cross_entropy", ece(CE))
    store(tmp_path, "focal", ece([v - 0.03 for v in CE]))
    r = judge(tmp_path)
    assert (r.verdict, r.n, r.seeds) == ("reproduced", 5, (0, 1, 2, 3, 4))
    assert r.low > 0 and math.isclose(r.diff, 0.03)


def test_a_losing_on_every_seed_is_inverted(tmp_path):
    store(tmp_path, "cross_entropy", ece(CE))
    store(tmp_path, "focal", ece([v + 0.01 + s / 1000 for s, v in enumerate(CE)]))
    r = judge(tmp_path)
    assert r.verdict == "inverted" and r.high < 0


def test_a_mixed_record_is_unresolved(tmp_path):
    store(tmp_path, "cross_entropy", ece(CE))
    store(tmp_path, "focal", ece([v + d for v, d in zip(CE, [-0.02, 0.02, -0.01, 0.015, 0.0],
                                                         strict=True)]))
    r = judge(tmp_path)
    assert r.verdict == "unresolved" and r.low < 0 < r.high


def test_for_a_lower_is_better_metric_the_difference_is_b_minus_a(tmp_path):
    focal = [0.020, 0.030, 0.020, 0.050, 0.030]
    store(tmp_path, "cross_entropy", ece(CE))
    store(tmp_path, "focal", ece(focal))
    r = judge(tmp_path)
    d = np.array(CE) - np.array(focal)  # ece(CE) - ece(focal): positive = focal better
    half = stats.t.ppf(0.975, 4) * d.std(ddof=1) / math.sqrt(5)
    assert math.isclose(r.diff, d.mean()) and math.isclose(r.half, half)
    assert math.isclose(r.mean_a, np.mean(focal)) and math.isclose(r.mean_b, np.mean(CE))


def test_an_explicit_direction_overrides_the_metrics(tmp_path):
    store(tmp_path, "cross_entropy", ece(CE))
    store(tmp_path, "focal", ece([v - 0.03 for v in CE]))
    assert judge(tmp_path, finding(higher_is_better=True)).verdict == "inverted"


def test_a_same_entry_finding_compares_two_metrics_of_one_run(tmp_path):
    store(tmp_path, "cross_entropy", {s: {"top1_best_val": 0.50 + s / 100, "top1": 0.40}
                                      for s in SEEDS})
    memorises = Finding(id="ce-memorises", task="mnist1d", metric="top1_best_val",
                        metric_b="top1", a=EntryRef("cross_entropy"), b=None, source="Arpit",
                        published="best above last", claim="CE memorises")
    r = judge(tmp_path, memorises)
    assert (r.verdict, r.n, r.failed_b) == ("reproduced", 5, 0)
    assert math.isclose(r.diff, 0.12) and math.isclose(r.mean_b, 0.40)


def test_fewer_shared_seeds_than_needed_is_missing_with_the_command(tmp_path):
    store(tmp_path, "cross_entropy", ece(CE[:3]))
    store(tmp_path, "focal", ece([v - 0.03 for v in CE[:3]]))
    r = judge(tmp_path)
    assert (r.verdict, r.n) == ("missing", 3)
    assert r.command == ("lossbench run --suite standard --task mnist1d --loss focal "
                         "--loss cross_entropy --seeds 5")


def test_an_absent_side_is_missing_and_only_it_is_in_the_command(tmp_path):
    store(tmp_path, "cross_entropy", ece(CE))
    r = judge(tmp_path)
    assert (r.verdict, r.n) == ("missing", 0) and math.isnan(r.diff)
    assert r.command == "lossbench run --suite standard --task mnist1d --loss focal --seeds 5"


def test_failed_runs_are_counted_and_the_command_retries_them(tmp_path):
    store(tmp_path, "cross_entropy", ece(CE))
    store(tmp_path, "focal", ece([v - 0.03 for v in CE[:4]]))
    store(tmp_path, "focal", {4: {}}, status="error")
    r = judge(tmp_path)
    assert (r.verdict, r.n, r.failed_a, r.failed_b) == ("missing", 4, 1, 0)
    assert r.command.endswith("--loss focal --seeds 5 --retry-failed")


def test_a_regularized_entry_and_its_plain_loss_share_one_command(tmp_path):
    elr = finding(a=EntryRef("cross_entropy", "elr"))
    r = judge(tmp_path, elr, results="runs/x")
    assert r.command == ("lossbench run --suite standard --task mnist1d --loss cross_entropy "
                         "--regularizer elr --regularizer none --seeds 5 --results runs/x")


def test_min_seeds_sets_how_many_shared_seeds_a_verdict_needs(tmp_path):
    store(tmp_path, "cross_entropy", ece(CE[:3]))
    store(tmp_path, "focal", ece([v - 0.03 for v in CE[:3]]))
    assert judge(tmp_path, min_seeds=3).verdict == "reproduced"
    with pytest.raises(lossbench.errors.UsageError, match="min_seeds must be an integer >= 2"):
        judge(tmp_path, min_seeds=1)


# ---------------------------------------------------------------- what is compared

def test_only_default_recipe_default_hparams_current_version_runs_count(tmp_path):
    store(tmp_path, "cross_entropy", ece(CE))
    store(tmp_path, "focal", ece([v - 0.03 for v in CE]))
    worse = ece([v + 0.05 for v in CE])  # would invert the verdict if any of these were used
    store(tmp_path, "focal", worse, options={"epochs": 2})
    store(tmp_path, "focal", worse, loss_hparams={"gamma": 4.5})
    store(tmp_path, "focal", worse, version="0")
    r = judge(tmp_path)
    assert (r.verdict, r.n, r.task_version) == ("reproduced", 5, "1")
    assert math.isclose(r.diff, 0.03)


def test_without_a_declared_version_the_newest_stored_one_is_judged(tmp_path):
    store(tmp_path, "cross_entropy", ece(CE), version="1")
    store(tmp_path, "focal", ece([v - 0.03 for v in CE]), version="1")
    store(tmp_path, "cross_entropy", ece(CE), version="10")
    (r,) = fd.evaluate(load_results(tmp_path), "standard", [finding()])
    assert (r.task_version, r.verdict, r.n) == ("10", "missing", 0)


# ---------------------------------------------------------------- a suite that declares findings

DECLARED = (
    Finding(id="gce-above-ce", task="mnist1d-sym50", metric="top1_best_val", a=EntryRef("gce"),
            b=EntryRef("cross_entropy"), source="Zhang & Sabuncu 2018",
            published="87.13 vs 81.88", claim="GCE above CE under symmetric noise"),
    Finding(id="elr-above-ce", task="mnist1d-sym50", metric="top1_best_val",
            a=EntryRef("cross_entropy", "elr"), b=EntryRef("cross_entropy"),
            source="Liu et al. 2020", published="ELR above CE", claim="ELR above CE"),
    Finding(id="ce-memorises", task="mnist1d-sym50", metric="top1_best_val", metric_b="top1",
            a=EntryRef("cross_entropy"), b=None, source="Arpit et al. 2017",
            published="best above last", claim="CE memorises"),
)


@pytest.fixture
def declaring():
    """A suite like a third party's: the noisy suite's tasks, with findings of its own."""
    import dataclasses

    SUITES.register("declaring", lambda: dataclasses.replace(
        SUITES.load("noisy"), name="declaring", findings=DECLARED))
    yield "declaring"
    SUITES.refresh()


# ---------------------------------------------------------------- CLI, API, leaderboard

def _noisy_records(results, gce_delta: float) -> None:
    version = suite_info("declaring").tasks["mnist1d-sym50"].version
    ce = {s: {"top1_best_val": 0.50 + s / 100, "top1": 0.40 + s / 200} for s in SEEDS}
    gce = {s: {"top1_best_val": v["top1_best_val"] + gce_delta + s / 1000, "top1": 0.5}
           for s, v in ce.items()}
    store(results, "cross_entropy", ce, suite="declaring", task="mnist1d-sym50",
          version=version)
    store(results, "gce", gce, suite="declaring", task="mnist1d-sym50", version=version)


def test_cli_validate_prints_the_table_and_exits_1_when_a_finding_is_inverted(tmp_path, capsys,
                                                                                declaring):
    _noisy_records(tmp_path, gce_delta=-0.05)
    assert main(["validate", "--results", str(tmp_path), "--suite", "declaring"]) == 1
    out = capsys.readouterr().out
    assert "Findings declared by the suites themselves" in out
    line = next(x for x in out.splitlines() if x.startswith("gce-above-ce"))
    assert "gce vs cross_entropy" in line and " 5 " in line and "inverted" in line
    assert "-0.0480 ± 0.0020" in line and "Zhang & Sabuncu 2018" in line
    assert "1 of 3 published findings reproduced (1 inverted, 1 missing)." in out
    assert (f"elr-above-ce: lossbench run --suite declaring --task mnist1d-sym50 --loss "
            f"cross_entropy --regularizer elr --seeds 5 --results {tmp_path}") in out


def test_cli_validate_exits_0_when_nothing_is_inverted(tmp_path, capsys, declaring):
    _noisy_records(tmp_path, gce_delta=+0.05)
    assert main(["validate", "--results", str(tmp_path), "--suite", "declaring", "--json"]) == 0
    rows = {r["id"]: r for r in json.loads(capsys.readouterr().out)["suite_findings"]}
    assert rows["gce-above-ce"]["verdict"] == "reproduced"
    assert rows["ce-memorises"]["verdict"] == "reproduced"
    assert rows["elr-above-ce"]["verdict"] == "missing" and rows["elr-above-ce"]["diff"] is None


def test_cli_validate_names_an_unknown_suite_and_exits_2(tmp_path, capsys):
    assert main(["validate", "--results", str(tmp_path), "--suite", "noisyy"]) == 2
    assert "unknown suite 'noisyy'; did you mean 'noisy'" in capsys.readouterr().err


def test_cli_validate_refuses_fewer_than_two_seeds_with_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["validate", "--min-seeds", "1"])
    assert exc.value.code == 2 and "expected an integer >= 2" in capsys.readouterr().err


def test_the_suites_own_findings_are_judged_by_findings_validate(tmp_path, declaring):
    _noisy_records(tmp_path, gce_delta=+0.05)
    results = fd.validate(str(tmp_path), ["declaring"])
    assert [r.finding.id for r in results] == ["gce-above-ce", "elr-above-ce", "ce-memorises"]
    assert [r.verdict for r in results] == ["reproduced", "missing", "reproduced"]


def test_run_and_validate_default_to_five_seeds():
    from lossbench.cli.parser import build_parser

    assert DEFAULT_SEEDS == fd.DEFAULT_MIN_SEEDS == 5
    assert build_parser().parse_args(["run"]).seeds == 5
    assert build_parser().parse_args(["validate"]).min_seeds == 5


def test_the_leaderboard_shows_a_suites_own_findings_after_the_catalog(tmp_path, declaring):
    _noisy_records(tmp_path, gce_delta=+0.05)
    text = report.render(tmp_path, None, "p")
    catalog = "## Do the embedded suites agree with the literature?"
    title = "### Findings declared by the suites themselves"
    assert text.index(catalog) < text.index(title) < text.index("## Provenance")
    section = text[text.index(title):text.index("## Provenance")]
    assert "**2 of 3 published findings reproduced (1 missing).**" in section
    line = next(x for x in section.splitlines() if "gce vs cross_entropy" in x)
    assert line.startswith("| reproduced") and "+0.0520 ± 0.0020" in line
    assert "| 5 " in line and "Zhang &amp; Sabuncu 2018" in line  # & is an HTML entity


def test_without_declared_findings_the_leaderboard_has_no_such_section(tmp_path):
    store(tmp_path, "cross_entropy", ece(CE))
    assert catalog_section.leaderboard_section(load_results(tmp_path)) == ""


def test_markdown_cells_escape_pipes_and_line_breaks():
    """The section escapes its cells with the board's one rule (``markdown.md_text``)."""
    assert catalog_section.md_text("a | b\nc") == "a \\| b c"


def test_finding_text_from_a_suite_cannot_inject_markup():
    assert catalog_section.md_text("<script>x</script> [a](javascript:1)") == (
        "&lt;script>x&lt;/script> \\[a\\](javascript:1)")


def test_an_entrys_stored_defaults_are_those_of_its_newest_records_card():
    import pandas as pd

    def card(gamma: float) -> str:
        return json.dumps({"loss": {"name": "focal", "hparams": {"gamma": gamma}},
                           "regularizer": None})

    runs = pd.DataFrame({"card_json": [card(3.0), card(2.0)], "spec_key": ["a", "b"],
                         "started_at": ["2026-01-02T00:00:00", "2026-01-01T00:00:00"]})
    defaults = catalog_section.stored_card_defaults(runs)
    assert defaults("loss", "focal") == {"gamma": 3.0}
    assert defaults("loss", "gce") is None

"""The researcher's loop (issue 15): a loss in a plain module runs without packaging
(``--loss module:attr``), next to cross-entropy, with hyperparameters from the command line; and
``show`` / ``create_loss`` look anything up."""

from __future__ import annotations

import os
import subprocess
import sys
import types

import pandas as pd
import pytest

from lossbench import metadata_cache
from lossbench.errors import UsageError
from lossbench.isolated_metadata import forget_described
from lossbench.plan import plan
from lossbench.registry import LOSSES
from lossbench.store import load_results

from .conftest import run_cli

TASK = "standard/mnist1d"

MODULE = '''
"""A loss being tried out: not packaged, not registered."""
import os

with open(os.environ["IMPORTS_LOG"], "a") as fh:  # who imported this module
    fh.write(f"{os.getpid()}\\n")


class MyLoss:
    """Cross-entropy of tempered logits.

    L = -log softmax(z / T)_y
    """

    hparams = {"temperature": 1.0}

    def __init__(self, temperature=1.0):
        self.temperature = temperature

    def __call__(self, logits, targets):
        import torch.nn.functional as F

        return F.cross_entropy(logits / self.temperature, targets)
'''


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A folder holding ``my_losses.py``; put on PYTHONPATH by the tests."""
    folder = tmp_path_factory.mktemp("site")
    (folder / "my_losses.py").write_text(MODULE)
    return folder


@pytest.fixture
def on_path(site, tmp_path, monkeypatch):
    """``my_losses`` importable by this process's children (the sandbox passes sys.path)."""
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("IMPORTS_LOG", str(tmp_path / "imports.log"))
    LOSSES.refresh()
    forget_described()
    metadata_cache.clear_memory()
    yield tmp_path / "imports.log"
    LOSSES.refresh()
    forget_described()


@pytest.fixture(scope="module")
def loop(site, tmp_path_factory):
    """The done-when command of issue 15, run once: ``lossbench run --loss my_losses:MyLoss``
    on one task, 2 seeds, 2 epochs, with the leaderboard written next to the results."""
    out_dir = tmp_path_factory.mktemp("loop")
    results = out_dir / "results"
    log = out_dir / "imports.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "lossbench.cli", "run", "--loss", "my_losses:MyLoss", "--task",
         TASK, "--seeds", "2", "--epochs", "2", "--results", str(results), "--leaderboard",
         str(results / "lb.md"), "--quiet"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=out_dir,
        env={**os.environ, "PYTHONPATH": str(site), "IMPORTS_LOG": str(log),
             "OMP_NUM_THREADS": "1"})
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr
    importers = {int(p) for p in log.read_text().split()}
    return {"pid": proc.pid, "stderr": stderr, "importers": importers, "results": results,
            "records": pd.concat(map(pd.read_parquet, sorted(results.glob("*.parquet")))),
            "board": (results / "lb.md").read_text(encoding="utf-8")}


def test_a_module_attr_loss_and_the_cross_entropy_baseline_are_both_stored(loop):
    runs = loop["records"].drop_duplicates("spec_key")
    assert sorted(zip(runs["loss"], runs["seed"], runs["status"], strict=True)) == [
        ("cross_entropy", 0, "ok"), ("cross_entropy", 1, "ok"),
        ("my_losses:MyLoss", 0, "ok"), ("my_losses:MyLoss", 1, "ok")]
    assert "baseline: cross_entropy added on standard/mnist1d" in loop["stderr"]


def test_the_record_names_the_target_and_marks_it_local(loop):
    mine = loop["records"][loop["records"]["loss"] == "my_losses:MyLoss"]
    (version,) = set(mine["loss_version"])
    assert version.startswith("0+local.") and len(version) == len("0+local.") + 12


def test_the_board_compares_the_unpublished_loss_with_cross_entropy(loop):
    board = loop["board"]
    assert "my_losses:MyLoss (" in board and "‡" in board
    assert "‡ = unpublished" in board
    versus = board[board.index("ersus"):]  # the paired comparison with cross-entropy
    assert "my_losses:MyLoss" in versus


def test_the_sweep_process_never_imports_the_target(loop):
    assert loop["importers"]  # the card child and the run children did
    assert loop["pid"] not in loop["importers"]


def test_no_baseline_plans_only_the_named_loss(on_path):
    specs = plan(tasks=[TASK], losses=["my_losses:MyLoss"], seeds=2, baseline=False).specs
    assert {s.loss for s in specs} == {"my_losses:MyLoss"}
    with_base = plan(tasks=[TASK], losses=["my_losses:MyLoss"], seeds=2, baseline=True).specs
    assert sorted((s.loss, s.seed) for s in with_base if s.loss == "cross_entropy") == [
        ("cross_entropy", 0), ("cross_entropy", 1)]


def test_editing_the_module_makes_a_new_version(on_path, site):
    (before,) = plan(tasks=[TASK], losses=["my_losses:MyLoss"], seeds=1).specs
    path = site / "my_losses.py"
    original = path.read_text()
    try:
        path.write_text(original + "\n# edited\n")
        LOSSES.refresh()
        forget_described()
        metadata_cache.clear_memory()
        (after,) = plan(tasks=[TASK], losses=["my_losses:MyLoss"], seeds=1).specs
    finally:
        path.write_text(original)
    assert before.loss_version != after.loss_version and before.key != after.key


def test_hparam_text_is_typed_by_the_card_default(on_path):
    (spec,) = plan(tasks=[TASK], losses=["my_losses:MyLoss"], seeds=1,
                   hparams={"temperature": "2"}).specs
    assert spec.loss_hparams == {"temperature": 2.0}


@pytest.mark.parametrize("hparams, message", [
    ({"gama": "3"}, r"no selected entry has a hyperparameter 'gama'.*valid names: gamma \(focal\)"),
    ({"gamma": "three"}, r"--hparam gamma=three for loss 'focal': expected a float like the "
                         r"default 2.0, got 'three'"),
])
def test_a_bad_hparam_is_a_usage_error_naming_it(hparams, message):
    with pytest.raises(UsageError, match=message):
        plan(tasks=[TASK], losses=["focal"], seeds=1, hparams=hparams)


def test_seed_is_repeatable_and_excludes_seeds():
    out = run_cli("run", "--loss", "focal", "--seeds", "2", "--seed", "7")
    assert out.returncode == 2
    assert "give either --seeds 2" in out.stderr and "or --seed N" in out.stderr


def test_a_malformed_target_names_the_expected_form():
    with pytest.raises(UsageError, match=r"'my losses:X' is not of the form module:attr"):
        plan(tasks=[TASK], losses=["my losses:X"], seeds=1)


def test_show_prints_the_paper_with_its_link_and_the_defaults(tmp_path):
    out = run_cli("show", "focal", "--results", str(tmp_path))
    assert out.returncode == 0, out.stderr
    assert "Focal Loss for Dense Object Detection" in out.stdout
    assert "https://arxiv.org/abs/1708.02002" in out.stdout
    assert "gamma=2.0" in out.stdout and f"no stored runs in {tmp_path}" in out.stdout


def test_show_names_the_entry_an_alias_duplicates(tmp_path):
    out = run_cli("show", "balanced_softmax", "--results", str(tmp_path))
    assert out.returncode == 0, out.stderr
    assert "alias of" in out.stdout and "logit_adjustment (the same function" in out.stdout


def test_show_json_gives_the_card_for_scripts(tmp_path):
    import json

    out = run_cli("show", "focal", "--json", "--results", str(tmp_path))
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout)
    assert info["card"]["hparams"] == {"gamma": 2.0} and info["results"] == []
    assert info["card"]["paper_url"] == "https://arxiv.org/abs/1708.02002"


def test_show_summarises_stored_runs_next_to_cross_entropy(loop):
    import lossbench

    info = lossbench.show("cross_entropy", results=loop["results"])
    (row,) = info["results"]
    assert (row["task"], row["runs"], row["ok"], row["seeds"]) == ("mnist1d", 2, 2, [0, 1])
    assert row["cross_entropy_mean"] == pytest.approx(row["mean"])


def test_show_reads_the_rows_the_leaderboard_shows(loop):
    """Its metric is the board's primary one and its mean the board's cell."""
    import lossbench
    from lossbench.report import build_model

    (row,) = lossbench.show("cross_entropy", results=loop["results"])["results"]
    (board,) = build_model(loop["results"]).sections[0].boards
    (config,) = [c for c in board.configs if c.label == "cross_entropy"]
    assert row["metric"] == board.primary
    assert row["mean"] == pytest.approx(board.cells[(config.key, board.primary)][0])


def test_create_loss_builds_the_entry_with_typed_hparams():
    import lossbench

    loss = lossbench.create_loss("focal", gamma="3")
    assert loss.gamma == 3.0
    with pytest.raises(UsageError, match="has no hyperparameter 'gama'; valid: gamma"):
        lossbench.create_loss("focal", gama=3)


def test_the_api_is_listed_and_python_m_lossbench_works():
    import lossbench

    assert {"create_loss", "create_regularizer", "show", "run", "check", "validate",
            "leaderboard", "list_entries"} <= set(lossbench.__all__) & set(dir(lossbench))
    public = {n for n in dir(lossbench) if not n.startswith("_")
              and not isinstance(getattr(lossbench, n), types.ModuleType)}  # not submodules
    assert public == set(lossbench.__all__) - {"__version__"}  # nothing but the API
    out = subprocess.run([sys.executable, "-m", "lossbench", "--version"], capture_output=True,
                         text=True, timeout=60, check=False)
    assert out.returncode == 0 and out.stdout.startswith("lossbench ")



def test_run_prints_the_plan_size_and_an_estimate_before_starting(loop):
    assert ("plan: 4 to run, 0 already stored; estimated " in loop["stderr"])


def test_an_entry_without_stored_runs_is_estimated_from_the_other_entries_on_the_task(loop):
    import statistics

    from lossbench.estimate import estimate

    (spec,) = plan(tasks=[TASK], losses=["focal"], seeds=[5], options={"epochs": 2}).specs
    runs = load_results(loop["results"])
    ok = runs[runs["status"] == "ok"]
    per_entry = ok.groupby("loss")["wall_seconds"].median()  # focal has none stored
    est = estimate([spec], loop["results"], workers=1, executor="serial")  # no start-up
    assert (est.measured, est.default) == (1, 0)
    assert est.seconds == statistics.median(per_entry.tolist())


def test_without_stored_timings_the_estimate_is_a_per_epoch_default(tmp_path):
    from lossbench.estimate import DEFAULT_SECONDS_PER_EPOCH, DEFAULT_SECONDS_PER_RUN, estimate

    specs = plan(tasks=[TASK], losses=["focal"], seeds=4, options={"epochs": 10}).specs
    est = estimate(specs, tmp_path, workers=2, executor="serial")  # no start-up
    assert est.default == 4
    assert est.seconds == pytest.approx(4 * (10 * DEFAULT_SECONDS_PER_EPOCH
                                             + DEFAULT_SECONDS_PER_RUN) / min(2, os.cpu_count()))


def test_a_declined_confirmation_runs_nothing(tmp_path):
    import lossbench
    from lossbench.errors import LossbenchError

    asked = []
    with pytest.raises(LossbenchError, match="cancelled: nothing was run"):
        lossbench.run(lossbench.Selection(losses=["focal"], tasks=[TASK], seeds=1,
                                          options={"epochs": 1}),
                      lossbench.Execution(results=tmp_path,
                                          confirm=lambda n, line: asked.append((n, line))))
    assert asked and asked[0][0] == 2  # focal and its cross-entropy baseline
    assert not list(tmp_path.glob("*.parquet"))

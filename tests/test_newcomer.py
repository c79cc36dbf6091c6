"""The newcomer's path (issue 23): messages that name what the user typed and the real reason, a
smoke run described with its own epochs, estimates from stored runs of the same task and epochs,
a note when ``--workers`` exceeds the cores, and Ctrl-C messages that fit the command."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from lossbench import estimate as est
from lossbench import scheduler
from lossbench.cli import main
from lossbench.cli.render import shown_fidelity
from lossbench.errors import LossbenchError
from lossbench.isolated_metadata import forget_described
from lossbench.plan import plan
from lossbench.registry import LOSSES, SUITES
from lossbench.report.model import recipe_description
from lossbench.suites.base import Suite, Task, TaskData
from lossbench.train import TrainConfig

SMOKE = ["--task", "standard/mnist1d", "--loss", "cross_entropy", "--seeds", "1", "--epochs", "1",
         "--quiet"]

LOCAL_MODULE = '''
class MyLoss:
    """Cross-entropy, tried out before it has a paper."""

    def __init__(self):
        pass

    def __call__(self, logits, targets):
        import torch.nn.functional as F

        return F.cross_entropy(logits, targets)
'''


@pytest.fixture
def no_run(monkeypatch):
    """Fail the test if a sweep gets as far as starting an executor."""
    def refuse(*args, **kwargs):
        raise AssertionError("a run was started")

    monkeypatch.setattr(scheduler, "make_executor", refuse)


@pytest.fixture
def local_loss(tmp_path, monkeypatch):
    """``newcomer_loss:MyLoss``, a loss in a plain module without version or paper."""
    (tmp_path / "newcomer_loss.py").write_text(LOCAL_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    LOSSES.refresh()
    forget_described()
    yield "newcomer_loss:MyLoss"
    LOSSES.refresh()
    forget_described()


# ---------------------------------------------------------------- errors name what was typed

def test_a_task_outside_the_named_suite_says_which_suite_holds_it(capsys):
    assert main(["run", "--suite", "standard", "--task", "noisy/mnist1d-sym20"]) == 2
    err = capsys.readouterr().err
    assert "task noisy/mnist1d-sym20 is in suite noisy, not standard" in err
    assert "unknown task" not in err


def test_a_bare_task_name_outside_the_named_suite_says_which_suite_holds_it(capsys):
    assert main(["run", "--suite", "standard", "--task", "mnist1d-sym20"]) == 2
    assert "task mnist1d-sym20 is in suite noisy, not standard" in capsys.readouterr().err


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="no /proc file system here")
def test_results_on_proc_names_the_results_flag_and_the_file_system(no_run, capsys):
    assert main(["run", *SMOKE, "--results", "/proc/lossbench-newcomer"]) == 2
    err = capsys.readouterr().err
    assert ("--results '/proc/lossbench-newcomer' cannot be created: '/proc' is on the kernel's "
            "'proc' file system") in err
    assert "--leaderboard" not in err  # a flag the user never typed


def test_a_dangling_symlink_as_results_says_where_it_points(tmp_path, no_run, capsys):
    link = tmp_path / "results"
    link.symlink_to(tmp_path / "gone")
    assert main(["run", *SMOKE, "--results", str(link), "--no-leaderboard"]) == 2
    err = capsys.readouterr().err
    assert (f"--results '{link}' is a symbolic link to '{tmp_path / 'gone'}', which does not "
            f"exist") in err
    assert "File exists" not in err


def test_an_unwritable_default_leaderboard_says_it_is_the_default(tmp_path, no_run, capsys):
    results = tmp_path / "missing" / "results"
    assert main(["run", *SMOKE, "--results", str(results)]) == 2
    err = capsys.readouterr().err
    assert f"leaderboard file '{tmp_path / 'missing' / 'results-leaderboard.md'}'" in err
    assert "where the leaderboard of --results" in err and "give --leaderboard PATH" in err
    assert not results.exists()  # the check creates nothing


# ---------------------------------------------------------------- check and show wording

def test_check_of_a_module_attr_target_does_not_speak_of_entry_points(local_loss, capsys):
    assert main(["check", local_loss]) == 1
    out = capsys.readouterr().out
    assert (f"missing card attribute(s) version, paper on the module:attr target {local_loss}"
            in out)
    assert "entry-point" not in out


def test_show_names_the_absolute_results_folder_and_suggests_results(tmp_path, monkeypatch,
                                                                     capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["show", "focal"]) == 0
    out = capsys.readouterr().out
    assert (f"no stored runs in {tmp_path / 'results'} (no such folder); for runs stored "
            f"elsewhere, add --results DIR") in out


def test_a_local_loss_without_a_paper_is_not_shown_as_exact(local_loss, tmp_path, capsys):
    assert main(["show", local_loss, "--results", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "fidelity:     not stated (no paper given)" in out
    assert "fidelity:     exact" not in out


def test_fidelity_exact_stays_exact_where_a_paper_is_given():
    assert shown_fidelity("exact", "Lin et al. Focal Loss. ICCV 2017") == "exact"
    assert shown_fidelity("exact", "") == "not stated (no paper given)"
    assert shown_fidelity("approximate: no warm-up", "") == "approximate: no warm-up"


# ---------------------------------------------------------------- a smoke run says its epochs

def test_a_smoke_runs_task_description_says_its_own_epochs():
    recipe = "MNIST-1D, 1D CNN, 40 epochs AdamW one-cycle lr 0.01"
    assert recipe_description(recipe, '{"epochs":2}') == (
        "MNIST-1D, 1D CNN, 2 epochs (recipe: 40) AdamW one-cycle lr 0.01")
    assert recipe_description(recipe, "{}") == recipe
    assert recipe_description(recipe, '{"epochs":40}') == recipe
    assert recipe_description("digits, MLP", '{"epochs":2}') == (
        "digits, MLP; run with 2 epochs (--epochs)")


def test_the_plan_line_says_the_epochs_of_a_smoke_run(tmp_path):
    specs = plan(tasks=["standard/mnist1d"], losses=["focal"], seeds=1, options={"epochs": 2}).specs
    line = est.estimate(specs, tmp_path, workers=1, executor="serial").line(len(specs), 0)
    assert "(2 epochs per run;" in line and "40" not in line


# ---------------------------------------------------------------- estimates

#: The tiny task's known cost: every loss call sleeps this long, 4 batches per epoch.
SLEEP_PER_BATCH = 0.05
BATCHES = 4
RECIPE_EPOCHS = 2


def _tiny_data(seed: int) -> TaskData:
    g = torch.Generator().manual_seed(seed)
    x, y = torch.randn(4 * 32 + 64, 8, generator=g), torch.randint(0, 3, (4 * 32 + 64,),
                                                                   generator=g)
    return TaskData(x[:128], y[:128], x[128:160], y[128:160], x[160:], y[160:], num_classes=3)


def _tiny_metrics(ev) -> dict[str, float]:
    logits = ev.selected.outputs(ev.data.x_test)
    return {"top1": float((logits.argmax(1) == ev.data.y_test).float().mean())}


def _tiny_suite() -> Suite:
    task = Task(name="sleepy", version="1", description=f"{RECIPE_EPOCHS} epochs of 4 batches",
                make_data=_tiny_data, evaluate=_tiny_metrics, model="mlp",
                model_kwargs={"hidden": 8, "depth": 1},
                train=TrainConfig(epochs=RECIPE_EPOCHS, batch_size=32, schedule="constant"))
    return Suite(name="tiny_newcomer", version="1", description="a task of known cost",
                 tasks={"sleepy": task})


def _sleepy_loss():
    def loss(logits, targets):
        time.sleep(SLEEP_PER_BATCH)
        return F.cross_entropy(logits, targets)

    return loss


_sleepy_loss.version = "1"
_sleepy_loss.hparams = {}


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """One stored run of the tiny task at its recipe's epochs (seed 0), by the serial executor
    (this process: the in-process suite and loss are visible)."""
    import lossbench

    SUITES.register("tiny_newcomer", _tiny_suite)
    LOSSES.register("sleepy_newcomer", lambda: _sleepy_loss, origin="tests")
    results = tmp_path_factory.mktemp("stored")
    try:
        df = lossbench.run(
            lossbench.Selection(suites=["tiny_newcomer"], losses=["sleepy_newcomer"], seeds=[0],
                                baseline=False),
            lossbench.Execution(results=results, executor="serial", progress="quiet"))
    finally:
        SUITES.refresh()
        LOSSES.refresh()
    return {"results": results, "wall": float(df["wall_seconds"].iloc[0]),
            "status": df["status"].iloc[0], "error": df["error"].iloc[0]}


def _second_plan(options=None, seed=1):
    specs = plan(suites=["tiny_newcomer"], losses=["sleepy_newcomer"], seeds=[seed],
                 options=options).specs
    return specs


@pytest.fixture
def tiny(stored):
    SUITES.register("tiny_newcomer", _tiny_suite)
    LOSSES.register("sleepy_newcomer", lambda: _sleepy_loss, origin="tests")
    yield stored
    SUITES.refresh()
    LOSSES.refresh()


def test_the_tiny_task_costs_what_its_loss_sleeps(tiny):
    assert tiny["status"] == "ok", tiny["error"]
    assert tiny["wall"] >= RECIPE_EPOCHS * BATCHES * SLEEP_PER_BATCH


def test_a_second_plan_is_estimated_within_1_5x_of_the_stored_runs_wall(tiny):
    e = est.estimate(_second_plan(), tiny["results"], workers=1, executor="serial")
    assert (e.measured, e.default, e.startup) == (1, 0, 0.0)
    assert tiny["wall"] / 1.5 <= e.seconds <= tiny["wall"] * 1.5


def test_epochs_equal_to_the_recipe_cost_the_same_as_the_recipe(tiny):
    same = est.estimate(_second_plan({"epochs": RECIPE_EPOCHS}), tiny["results"], workers=1,
                        executor="serial")
    assert same.measured == 1 and same.seconds == pytest.approx(tiny["wall"])


def test_other_epochs_are_not_estimated_from_the_recipes_runs(tiny):
    smoke = est.estimate(_second_plan({"epochs": 1}), tiny["results"], workers=1,
                         executor="serial")
    assert (smoke.measured, smoke.default) == (0, 1)
    assert smoke.seconds == pytest.approx(est.DEFAULT_SECONDS_PER_EPOCH
                                          + est.DEFAULT_SECONDS_PER_RUN)


def test_a_fresh_folder_finds_default_recipe_timings_in_the_board(tiny, tmp_path, monkeypatch):
    monkeypatch.setattr(est, "BOARD_RESULTS", str(tiny["results"]))
    fresh = est.estimate(_second_plan(), tmp_path / "fresh", workers=1, executor="serial")
    assert fresh.measured == 1 and fresh.seconds == pytest.approx(tiny["wall"])
    smoke = est.estimate(_second_plan({"epochs": RECIPE_EPOCHS}), tmp_path / "fresh", workers=1,
                         executor="serial")
    assert smoke.measured == 0  # --epochs runs are never looked up in the board


def test_the_local_executor_adds_its_start_up_per_task_and_seed(tiny, monkeypatch):
    monkeypatch.setattr(os, "getloadavg", lambda: (0.0, 0.0, 0.0))  # an idle machine
    specs = _second_plan(seed=1) + _second_plan(seed=2)
    e = est.estimate(specs, tiny["results"], workers=1, executor="local")
    assert e.startup == pytest.approx(est.SWEEP_START_SECONDS + 2 * est.WARM_UP_SECONDS)
    assert e.seconds == pytest.approx(e.startup + 2 * tiny["wall"])
    assert f"{est.duration(e.startup)} start-up" in e.line(2, 0)


def test_the_start_up_is_scaled_by_the_load_on_the_cores(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setattr(os, "getloadavg", lambda: (5.0, 1.0, 1.0))
    assert est.cpu_slowdown() == pytest.approx((5.0 + 1) / 2)
    monkeypatch.setattr(os, "getloadavg", lambda: (0.2, 0.0, 0.0))
    assert est.cpu_slowdown() == 1.0  # an idle machine: never faster than idle


def test_more_workers_than_cores_are_not_counted_as_parallel(tiny, monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    specs = [s for seed in range(6) for s in _second_plan(seed=seed + 1)]
    e = est.estimate(specs, tiny["results"], workers=64, executor="local")
    assert e.workers == 2 and e.seconds - e.startup == pytest.approx(6 * tiny["wall"] / 2)
    assert est.parallel_runs(64, 6, "cuda") == 6  # GPU runs are not capped by the cores
    assert est.parallel_runs(64, 6, "cpu", "ray") == 6  # nor a cluster's


# ---------------------------------------------------------------- --workers beyond the cores

def test_workers_beyond_the_cores_get_a_note_saying_how_many_run_at_most(tmp_path, monkeypatch,
                                                                         capsys):
    monkeypatch.setattr(os, "cpu_count", lambda: 2)

    def stop(*args, **kwargs):
        raise LossbenchError("stopped before any run")

    monkeypatch.setattr(scheduler, "make_executor", stop)
    args = ["run", "--task", "standard/mnist1d", "--loss", "focal", "--seeds", "3", "--epochs",
            "1", "--quiet", "--results", str(tmp_path / "r"), "--no-leaderboard"]
    assert main([*args, "--workers", "64"]) == 1
    notes = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("note:")]
    assert notes == ["note: --workers 64 is more than the 2 CPU cores: at most 6 run(s) at once, "
                     "sharing the cores; no faster than --workers 2"]
    assert main([*args, "--workers", "2"]) == 1
    assert "note:" not in capsys.readouterr().err


# ---------------------------------------------------------------- Ctrl-C

def _interrupt(*args, **kwargs):
    raise KeyboardInterrupt


def test_ctrl_c_during_leaderboard_says_nothing_more_was_written(tmp_path, monkeypatch, capsys):
    from lossbench import report

    monkeypatch.setattr(report, "write", _interrupt)
    (tmp_path / "r").mkdir()
    assert main(["leaderboard", "--results", str(tmp_path / "r"), "--out",
                 str(tmp_path / "lb.md")]) == 130
    err = capsys.readouterr().err
    assert "interrupted: nothing more was written; re-run `lossbench leaderboard`" in err
    assert "finished runs" not in err


def test_ctrl_c_during_run_says_finished_runs_are_kept(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(scheduler, "make_executor", _interrupt)
    assert main(["run", *SMOKE, "--results", str(tmp_path / "r"), "--no-leaderboard"]) == 130
    assert ("interrupted; finished runs are stored, re-run the same command to resume"
            in capsys.readouterr().err)


def test_ctrl_c_during_show_says_nothing_changed(monkeypatch, capsys):
    from lossbench import api

    monkeypatch.setattr(api, "show", _interrupt)
    assert main(["show", "focal"]) == 130
    assert ("interrupted; `lossbench show` changes no results or leaderboard file"
            in capsys.readouterr().err)


def test_a_real_sigint_during_leaderboard_exits_130_with_its_message(tmp_path):
    """SIGINT itself (not a raised KeyboardInterrupt): the process signals itself while writing."""
    import subprocess
    import sys

    (tmp_path / "r").mkdir()
    code = ("import os, signal, sys, time\n"
            # a shell's background job starts with SIGINT ignored: restore Python's handler
            "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
            "from lossbench import report\n"
            "from lossbench.cli import main\n"
            "def write(*args, **kwargs):\n"
            "    os.kill(os.getpid(), signal.SIGINT)\n"
            "    time.sleep(30)\n"
            "report.write = write\n"
            "sys.exit(main(sys.argv[1:]))\n")
    out = subprocess.run([sys.executable, "-c", code, "leaderboard", "--results",
                          str(tmp_path / "r"), "--out", str(tmp_path / "lb.md")],
                         capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 130
    assert ("interrupted: nothing more was written; re-run `lossbench leaderboard` (same "
            "options) to regenerate the leaderboard") in out.stderr
    assert not (tmp_path / "lb.md").exists()

"""The command line: exit codes, messages that name bad values, resume, determinism."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

import lossbench

from .conftest import run_cli


@pytest.mark.parametrize("args, fragment", [
    (["run", "--loss", "focall"], "unknown loss 'focall'; did you mean 'focal'"),
    (["run", "--suite", "imbalancedd"], "unknown suite 'imbalancedd'"),
    (["run", "--seeds", "0"], "expected a positive integer, got '0'"),
    (["run", "--seeds", "three"], "expected a positive integer, got 'three'"),
    (["list", "--kind", "losses"], "invalid choice: 'losses'"),
    (["run", "--task", "nope"], "unknown task 'nope'"),
])
def test_bad_values_exit_2_and_name_the_value(args, fragment):
    out = run_cli(*args)
    assert out.returncode == 2
    assert fragment in out.stderr


def test_unknown_name_lists_the_valid_choices():
    out = run_cli("run", "--loss", "focall")
    assert "valid loss names:" in out.stderr and "cross_entropy" in out.stderr


def test_list_shows_builtins_with_origin_and_status():
    out = run_cli("list", "--kind", "loss")
    assert out.returncode == 0
    line = next(row for row in out.stdout.splitlines() if row.startswith("focal "))
    assert f"lossbench {lossbench.__version__}" in line and line.rstrip().endswith("ok")


def test_list_suites_shows_tasks_versions_and_data_availability():
    out = run_cli("list", "--kind", "suite")
    assert out.returncode == 0
    line = next(row for row in out.stdout.splitlines() if row.startswith("standard"))
    assert "mnist1d" in line and "local" in line


@pytest.mark.slow
def test_second_run_runs_nothing_new(tmp_path):
    args = ["run", "--task", "standard/mnist1d", "--loss", "cross_entropy", "--seeds", "2",
            "--epochs", "1", "--results", str(tmp_path / "r"), "--leaderboard",
            str(tmp_path / "lb.md")]
    first = run_cli(*args)
    assert first.returncode == 0, first.stderr
    assert "2 to run, 0 already stored" in first.stderr
    second = run_cli(*args)
    assert second.returncode == 0
    assert "0 to run, 2 already stored" in second.stderr


@pytest.mark.slow  # several seconds of subprocesses: the CI's slow step
def test_rerunning_a_finished_sweep_imports_no_entry_and_keeps_the_leaderboard(tmp_path):
    args = ["run", "--task", "standard/mnist1d", "--loss", "cross_entropy", "--seeds", "1",
            "--epochs", "1", "--results", str(tmp_path / "r"), "--leaderboard",
            str(tmp_path / "lb.md"), "--quiet"]
    assert run_cli(*args).returncode == 0
    board = (tmp_path / "lb.md").read_bytes()
    code = ("import sys\nfrom lossbench.cli import main\nrc = main(sys.argv[1:])\n"
            "print(sorted(m for m in sys.modules if m == 'torch' or "
            "m.startswith('lossbench_registry.')))\nsys.exit(rc)")
    again = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                           timeout=120, check=False)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == "[]"  # planned from the metadata cache: no entry imported
    assert "is up to date with" in again.stderr  # the leaderboard's stamp matched: not redrawn
    assert (tmp_path / "lb.md").read_bytes() == board


@pytest.mark.slow  # a fresh interpreter per CLI call: in .ci/run's slow step
def test_force_reruns_stored_specs_and_keeps_the_earlier_record(tmp_path):
    results = tmp_path / "r"
    args = ["run", "--task", "standard/mnist1d", "--loss", "cross_entropy", "--seeds", "1",
            "--epochs", "1", "--results", str(results), "--no-leaderboard"]
    run_cli(*args)
    (first,) = results.glob("*.parquet")
    before = pd.read_parquet(first)
    out = run_cli(*args, "--force")
    assert "1 to run, 0 already stored" in out.stderr
    kept = pd.read_parquet(results / "_attempts" / f"{first.stem}.1.parquet")
    pd.testing.assert_frame_equal(kept, before)  # the earlier record, unchanged
    assert pd.read_parquet(first)["started_at"].iloc[0] >= before["started_at"].iloc[0]


@pytest.mark.slow  # a fresh interpreter per CLI call: in .ci/run's slow step
def test_leaderboard_is_byte_identical_for_the_same_results(tmp_path):
    results = tmp_path / "r"
    run_cli("run", "--task", "standard/mnist1d", "--loss", "focal", "--loss", "cross_entropy",
            "--seeds", "2", "--epochs", "1", "--results", str(results), "--no-leaderboard")
    a, b = tmp_path / "a" / "lb.md", tmp_path / "b" / "lb.md"  # one name: the same page links
    for out in (a, b):  # the markdown is under test, not the plots
        out.parent.mkdir()
        assert run_cli("leaderboard", "--results", str(results), "--out", str(out),
                       "--no-plots").returncode == 0
    assert a.read_bytes() == b.read_bytes()
    assert (a.parent / "lb" / "standard.md").read_bytes() == \
        (b.parent / "lb" / "standard.md").read_bytes()
    assert "focal" in a.read_text() and "cross_entropy" in a.read_text()


@pytest.mark.slow  # a fresh interpreter per CLI call: in .ci/run's slow step
def test_killed_run_leaves_no_partial_file(tmp_path):
    results = tmp_path / "r"
    proc = subprocess.Popen(
        [sys.executable, "-m", "lossbench.cli", "run", "--task", "standard/mnist1d", "--loss",
         "cross_entropy", "--seeds", "3", "--results", str(results), "--no-leaderboard"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ.copy())
    deadline = time.monotonic() + 120
    while not list(results.glob("*.parquet")) and time.monotonic() < deadline:
        time.sleep(0.1)  # until the first record is stored; the second run is then in flight
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    from lossbench.ledger import LEDGER_FILE
    from lossbench.results_lock import LOCK_FILE

    leftovers = [p.name for p in results.iterdir() if p.name not in (LEDGER_FILE, LOCK_FILE)]
    assert any(name.endswith(".parquet") for name in leftovers)  # the kill came after a record
    assert all(name.endswith(".parquet") and not name.startswith(".") for name in leftovers)
    pd.read_parquet(results)  # every file that exists is complete


def test_list_shows_the_summary_and_long_adds_the_paper():
    short = run_cli("list", "focal")
    long = run_cli("list", "focal", "--long")
    assert short.returncode == long.returncode == 0
    assert "Focal loss" in short.stdout and "arXiv:1708.02002" not in short.stdout
    assert "arXiv:1708.02002" in long.stdout and "exact" in long.stdout


@pytest.mark.parametrize("command", ["list", "run", "show", "check", "leaderboard", "tune",
                                     "validate"])
def test_every_command_help_ends_with_examples(command):
    from lossbench.cli.parser import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices[command]
    text = sub.format_help()
    assert "examples:" in text and f"lossbench {command} " in text.split("examples:")[1]


def test_a_warm_list_imports_no_entry():
    assert run_cli("list").returncode == 0  # reads (and caches) every card
    code = ("import sys, io, contextlib\nfrom lossbench.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n    rc = main(['list'])\n"
            "print(sorted(m for m in sys.modules if m == 'torch' or "
            "m.startswith('lossbench_registry.')))\nsys.exit(rc)")
    again = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           timeout=120, check=False)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == "[]"


def test_a_terminal_is_asked_only_above_100_runs(monkeypatch):
    from lossbench.cli.sweep_commands import ask

    answers = iter(["y", "n"])
    asked = []
    monkeypatch.setattr("builtins.input", lambda prompt: asked.append(prompt) or next(answers))
    assert ask(100, "plan: 100 to run") and asked == []
    assert ask(101, "plan: 101 to run") and asked == ["start 101 runs? [y/N] "]
    assert not ask(840, "plan: 840 to run")

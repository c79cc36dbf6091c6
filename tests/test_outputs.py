"""Output locations are checked before anything is computed: a bad ``--results``, ``--out`` or
``--leaderboard`` exits 2 naming the path and the reason, and no run is started."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from lossbench import api, scheduler
from lossbench.cli import main
from lossbench.errors import UsageError
from lossbench.plan import plan
from lossbench.runner import failure_record
from lossbench.store import write_record

GOLDEN = str(Path(__file__).parent / "fixtures" / "golden" / "results")


@pytest.fixture
def no_run(monkeypatch):
    """Fail the test if a sweep gets as far as starting an executor."""
    def refuse(*args, **kwargs):
        raise AssertionError("a run was started")

    monkeypatch.setattr(scheduler, "make_executor", refuse)


def run(results, *extra):
    return main(["run", "--task", "standard/mnist1d", "--loss", "cross_entropy", "--seeds", "1",
                 "--epochs", "1", "--quiet", "--results", str(results), *extra])


@pytest.fixture
def immutable():
    """``chattr +i`` a path (even root cannot write it), undone afterwards; skipped where the
    file system or the container does not support it."""
    done = []

    def make(path):
        out = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True)
        if out.returncode != 0:
            pytest.skip(f"chattr +i is not available here: {out.stderr.strip()}")
        done.append(path)

    yield make
    for path in done:
        subprocess.run(["chattr", "-i", str(path)], check=False)


def test_a_file_given_as_results_exits_2_before_any_run(tmp_path, no_run, capsys):
    results = tmp_path / "results"
    results.write_text("not a folder")
    assert run(results, "--no-leaderboard") == 2
    assert f"'{results}' is a file, not a folder" in capsys.readouterr().err


def test_results_under_a_regular_file_exits_2_naming_the_file(tmp_path, no_run, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert run(blocker / "results", "--no-leaderboard") == 2
    assert f"'{blocker}' is a file, not a folder" in capsys.readouterr().err


def test_an_unwritable_results_folder_exits_2_before_any_run(tmp_path, no_run, immutable,
                                                             capsys):
    results = tmp_path / "results"
    results.mkdir()
    immutable(results)
    assert run(results, "--no-leaderboard") == 2
    err = capsys.readouterr().err
    assert f"'{results}' is not writable" in err and "Operation not permitted" in err


def test_a_missing_results_folder_is_created_and_the_probe_removed(tmp_path):
    from lossbench.outputs import prepare_results

    results = tmp_path / "a" / "b"
    assert prepare_results(results) == results
    assert results.is_dir() and list(results.iterdir()) == []


def test_a_record_file_that_cannot_be_replaced_exits_2_before_any_run(tmp_path, no_run,
                                                                      immutable, capsys):
    results = tmp_path / "results"
    specs = plan(["standard"], ["mnist1d"], ["cross_entropy"], None, 1,
                 options={"epochs": 1}).specs
    path = write_record(results, failure_record(specs[0], "error", "stored before"))
    immutable(path)
    assert run(results, "--no-leaderboard", "--force") == 2
    assert f"'{path}' cannot be replaced (Operation not permitted)" in capsys.readouterr().err


def test_a_missing_leaderboard_folder_exits_2_before_any_run(tmp_path, no_run, capsys):
    board = tmp_path / "missing" / "board.md"
    assert run(tmp_path / "results", "--leaderboard", str(board)) == 2
    assert f"its folder '{board.parent}' does not exist" in capsys.readouterr().err


def test_a_leaderboard_path_under_a_regular_file_exits_2_before_tuning(tmp_path, no_run, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    code = main(["tune", "--task", "standard/mnist1d", "--loss", "focal", "--trials", "2",
                 "--seeds", "1", "--epochs", "1", "--results", str(tmp_path / "r"),
                 "--leaderboard", str(blocker / "board.md")])
    assert code == 2
    assert f"'{blocker}' is a file, not a folder" in capsys.readouterr().err


def test_tune_with_a_file_as_results_exits_2_before_any_trial(tmp_path, no_run, capsys):
    results = tmp_path / "results"
    results.write_text("")
    code = main(["tune", "--task", "standard/mnist1d", "--loss", "focal", "--trials", "2",
                 "--seeds", "1", "--epochs", "1", "--results", str(results),
                 "--no-leaderboard"])
    assert code == 2
    assert f"'{results}' is a file, not a folder" in capsys.readouterr().err


def test_leaderboard_of_a_missing_results_folder_exits_2_instead_of_an_empty_board(tmp_path,
                                                                                   capsys):
    out = tmp_path / "board.md"
    assert main(["leaderboard", "--results", str(tmp_path / "nope"), "--out", str(out)]) == 2
    assert f"'{tmp_path / 'nope'}' does not exist" in capsys.readouterr().err
    assert not out.exists()


def test_leaderboard_of_a_file_as_results_exits_2(tmp_path, capsys):
    results = tmp_path / "results"
    results.write_text("")
    assert main(["leaderboard", "--results", str(results), "--out",
                 str(tmp_path / "b.md")]) == 2
    assert f"'{results}' is a file, not a folder" in capsys.readouterr().err


def test_a_folder_given_as_out_exits_2(tmp_path, capsys):
    assert main(["leaderboard", "--results", GOLDEN, "--out", str(tmp_path)]) == 2
    assert f"'{tmp_path}' is a folder; give a file path" in capsys.readouterr().err


def test_a_missing_out_folder_exits_2(tmp_path, capsys):
    out = tmp_path / "missing" / "b.md"
    assert main(["leaderboard", "--results", GOLDEN, "--out", str(out), "--no-plots"]) == 2
    assert f"its folder '{out.parent}' does not exist" in capsys.readouterr().err


def test_the_api_leaderboard_checks_its_paths_before_rendering(tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        api.leaderboard(tmp_path / "nope", None)
    with pytest.raises(UsageError, match="is a folder"):
        api.leaderboard(GOLDEN, tmp_path)


def test_a_record_that_cannot_be_written_mid_sweep_stops_it_with_the_path(tmp_path,
                                                                           monkeypatch):
    from lossbench.errors import LossbenchError

    def disk_full(results_dir, record):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(scheduler, "write_record", disk_full)
    specs = plan(["standard"], ["mnist1d"], ["cross_entropy"], None, 1,
                 options={"epochs": 1}).specs
    with pytest.raises(LossbenchError, match=r"\.parquet' \(No space left on device\); the "
                                             r"sweep stopped"):
        scheduler.run_sweep(specs, tmp_path / "r", executor="serial", progress="quiet")

"""A hostile or buggy plugin package spoils nothing but its own entries.

Every plugin here is a real distribution (built and installed with pip, ``tests/hostile.py``),
driven through the real ``lossbench`` CLI in fresh interpreters: a package that changes torch's
global state at import, one that changes only its thread count, one that calls ``os._exit`` at
import, one that hangs at import, one with invalid cards, two that register the same name, one
that reuses a built-in's name, one with markup and terminal escapes in its card, and three that
attack the result boundary or train nothing (a loss that sends a code-running pickle on its run's
result pipe, two that send a record forged for another spec, one that ignores the logits). Each
broken
entry gets a one-line reason; every healthy run's record equals the same spec run alone, bit for
bit; the CLI process itself never imports third-party code, and no file is left in the temp
folder. To keep the default run short, one ``lossbench list`` (every package but the hanging one)
and one mixed run (with its leaderboard) are shared by the tests that read them.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pandas as pd
import pytest

import lossbench

from . import hostile
from .conftest import run_cli

IMPORT_TIMEOUT = "8"  # generous: a healthy plugin's child imports torch
HANG_TIMEOUT = "1.5"  # where the hanging package is the only third-party one
#: Every package but the hanging one: listed together by one ``lossbench list`` call (whose card
#: cache the later calls on the same site reuse), and installed for the mixed runs.
LISTED = tuple(p for p in hostile.PACKAGES if p != "lossbench-hang")
#: Packages that attack the result boundary (the run's child and the sweep) or train nothing.
BOUNDARY = ("lossbench-pipe", "lossbench-forge", "lossbench-detached")
#: Their losses, run together by one sweep (the ``boundary`` fixture).
BOUNDARY_LOSSES = ("pipe_loss", "forge_record", "forge_arrays", "detached_loss")
#: Metrics that measure time (they differ between any two runs); every other value must match.
TIMING = {"train_seconds", "samples_per_second", "loss_cost_ratio"}


@pytest.fixture(scope="module")
def sites(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    everything = hostile.install_all(root, {**hostile.PACKAGES, **hostile.TRUST_BOUNDARY})
    return {
        "hostile": hostile.site_with(everything, root / "hostile-site", *hostile.PACKAGES),
        "exit": hostile.site_with(everything, root / "exit-site", "lossbench-exit"),
        "hang": hostile.site_with(everything, root / "hang-site", "lossbench-hang"),
        "badcards": hostile.site_with(everything, root / "badcards-site", "lossbench-badcards"),
        "clash": hostile.site_with(everything, root / "clash-site", "lossbench-clash-a",
                                   "lossbench-clash-b", "lossbench-good"),
        "shadow": hostile.site_with(everything, root / "shadow-site", "lossbench-shadow"),
        "listed": hostile.site_with(everything, root / "listed-site", *LISTED),
        "boundary": hostile.site_with(everything, root / "boundary-site", *BOUNDARY),
    }


@pytest.fixture
def env(tmp_path):
    """Environment of a CLI call: its own temp folder (checked empty afterwards)."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()

    yield lambda site=None, **extra: cli_env(tmp, site, **extra)
    assert leftovers(tmp) == []


def cli_env(tmp, site=None, **extra) -> dict[str, str]:
    out = {"TMPDIR": str(tmp), "LOSSBENCH_IMPORT_TIMEOUT": IMPORT_TIMEOUT,
           "OMP_NUM_THREADS": "1", **extra}
    if site is not None:  # the site first, then the caller's path (a checkout's own code)
        out["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(site), os.environ.get("PYTHONPATH", "")) if p)
    return out


def leftovers(tmp) -> list[str]:
    """What a CLI call left in its temp folder (torch's compile cache folder aside)."""
    return [p.name for p in tmp.iterdir() if p.name.startswith(("lossbench", "tmp"))]


def status_of(listing: str, name: str) -> str:
    line = next(ln for ln in listing.splitlines() if ln.startswith(name + " "))
    return line


def run_args(results, *losses, epochs="1", leaderboard=None):
    board = ["--leaderboard", str(leaderboard)] if leaderboard else ["--no-leaderboard"]
    return ["run", "--task", "standard/mnist1d", "--seeds", "1", "--epochs", epochs,
            "--results", str(results), *board, "--quiet",
            *[a for loss in losses for a in ("--loss", loss)]]


def records(results) -> pd.DataFrame:
    """The stored runs without a regularizer, indexed by (loss, metric)."""
    df = pd.read_parquet(results)
    return df[df["regularizer"].isna()].set_index(["loss", "metric"])


def assert_same_record(a: pd.DataFrame, b: pd.DataFrame, loss: str) -> None:
    """``loss``'s record in ``a`` and in ``b``: same status and bit-identical metrics."""
    ra, rb = a.loc[loss], b.loc[loss]
    assert set(ra["status"]) == set(rb["status"]) == {"ok"}
    va = ra["value"].drop([m for m in TIMING if m in ra.index])
    vb = rb["value"].drop([m for m in TIMING if m in rb.index])
    pd.testing.assert_series_equal(va, vb, check_exact=True)
    assert set(ra["spec_key"]) == set(rb["spec_key"])


@pytest.fixture(scope="module")
def solo(tmp_path_factory):
    """cross_entropy and the good plugin loss run alone, without any hostile package."""
    results = tmp_path_factory.mktemp("solo") / "results"
    out = run_cli(*run_args(results, "cross_entropy"), env={"OMP_NUM_THREADS": "1"})
    assert out.returncode == 0, out.stderr
    return records(results)


# ------------------------------------------------------------------------- list

@pytest.fixture(scope="module")
def listing(sites, tmp_path_factory) -> str:
    """``lossbench list`` with every package but the hanging one installed (one call, read by
    several tests): it exits 0 and leaves nothing in its temp folder."""
    tmp = tmp_path_factory.mktemp("listing-tmp")
    out = run_cli("list", env=cli_env(tmp, sites["listed"]))
    assert out.returncode == 0, out.stderr
    assert leftovers(tmp) == []
    return out.stdout


def test_list_survives_a_plugin_that_exits_at_import(listing):
    line = status_of(listing, "exit_loss")
    assert "crashed the process (exit code 9)" in line and "about to leave" in line
    assert status_of(listing, "cross_entropy").endswith(" ok")


def test_list_survives_a_plugin_that_hangs_at_import(sites, env):
    out = run_cli("list", env=env(sites["hang"], LOSSBENCH_IMPORT_TIMEOUT=HANG_TIMEOUT),
                  timeout=120)
    assert out.returncode == 0, out.stderr
    assert f"did not finish within {HANG_TIMEOUT}s" in status_of(out.stdout, "hang_loss")
    assert status_of(out.stdout, "focal").endswith(" ok")


def test_list_names_what_is_wrong_with_each_invalid_card(listing):
    assert "['gamma'] is nan" in status_of(listing, "nan_card")
    assert "suites must be a list of suite names, got int 42" in status_of(listing,
                                                                          "int_suites")
    assert "unknown suite(s) 'no_such_suite'" in status_of(listing, "unknown_suite")
    assert "at most 64 characters" in status_of(listing, "long_version")
    assert status_of(listing, "sane_card").endswith(" ok")


def test_list_cuts_every_line_short(listing):
    assert max(len(line) for line in listing.splitlines()) < 600
    assert len(listing) < 30_000


# ------------------------------------------------------------------------- run

@pytest.fixture
def installed(sites, monkeypatch):
    """Make a site's packages visible to this process's registries (as if pip-installed)."""
    from lossbench import registry as reg
    from lossbench.isolated_metadata import forget_described

    def install(name):
        monkeypatch.syspath_prepend(str(sites[name]))
        for r in reg.REGISTRIES.values():
            r.refresh()
        forget_described()

    yield install
    monkeypatch.undo()
    for r in reg.REGISTRIES.values():
        r.refresh()
    forget_described()


def test_planning_the_default_sweep_skips_each_broken_entry_with_its_reason(installed,
                                                                          monkeypatch):
    from lossbench.plan import plan

    monkeypatch.setenv("LOSSBENCH_IMPORT_TIMEOUT", IMPORT_TIMEOUT)
    installed("listed")
    planned = plan(tasks=["standard/mnist1d"], seeds=1)
    specs, skipped = planned.specs, planned.skipped
    reasons = {s.what: s.reason for s in skipped}
    assert "exit code 9" in reasons["loss exit_loss"]
    assert "['gamma'] is nan" in reasons["loss nan_card"]
    assert "got int 42" in reasons["loss int_suites"]
    assert {"cross_entropy", "good_loss", "sane_card", "dtype_loss"} <= {s.loss for s in specs}
    assert not {hostile.PACKAGES[p]["module"] for p in LISTED} & set(sys.modules)


@pytest.fixture(scope="module")
def mixed_run(sites, tmp_path_factory):
    """cross_entropy run beside the packages that change torch's global state at import, the
    healthy plugin and the markup one, with the leaderboard written by the run; which processes
    imported the dtype package is recorded in a file."""
    root = tmp_path_factory.mktemp("mixed-run")
    tmp = root / "tmp"
    tmp.mkdir()
    pid_file, results, board = root / "imported-by", root / "r", root / "leaderboard.md"
    cli = subprocess.Popen(
        [sys.executable, "-m", "lossbench.cli",
         *run_args(results, "dtype_loss", "cross_entropy", "good_loss", "x|y<script>",
                   leaderboard=board)],
        env={**os.environ, **cli_env(tmp, sites["listed"], HOSTILE_PID_FILE=str(pid_file))},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, err = cli.communicate(timeout=300)
    assert cli.returncode == 0, err
    assert leftovers(tmp) == []
    return {"cli_pid": cli.pid, "importers": {int(p) for p in pid_file.read_text().split()},
            "records": records(results),
            # the summary and the detail pages (the plugin's rows are on its suite's page)
            "board": "\n".join(p.read_text(encoding="utf-8") for p in
                                [board, *sorted((root / "leaderboard").glob("*.md"))])}


def test_import_time_side_effects_reach_only_the_plugins_own_runs(mixed_run, solo):
    assert mixed_run["importers"]  # only children imported the package
    assert mixed_run["cli_pid"] not in mixed_run["importers"]
    assert_same_record(mixed_run["records"], solo, "cross_entropy")
    assert set(mixed_run["records"].loc["dtype_loss"]["status"]) == {"ok"}


def test_naming_a_plugin_that_hangs_at_import_is_a_usage_error_not_a_hang(sites, env, tmp_path):
    out = run_cli(*run_args(tmp_path / "r", "hang_loss"),
                  env=env(sites["hang"], LOSSBENCH_IMPORT_TIMEOUT=HANG_TIMEOUT), timeout=120)
    assert out.returncode == 2
    assert "hang_loss" in out.stderr and f"within {HANG_TIMEOUT}s" in out.stderr


def test_naming_an_entry_with_a_nan_card_is_a_usage_error(sites, env, tmp_path):
    out = run_cli(*run_args(tmp_path / "r", "nan_card"), env=env(sites["badcards"]))
    assert out.returncode == 2
    assert "['gamma'] is nan" in out.stderr and "Traceback" not in out.stderr


# ------------------------------------------------------------------------- result boundary

@pytest.fixture(scope="module")
def boundary(sites, tmp_path_factory):
    """One ``lossbench run`` of the losses that attack the trust boundary, alone (no baseline),
    on one seed of standard/mnist1d: the stored rows (long format) by loss, and the file the
    pickle's command would create. It exits 1 (the hostile runs are not ok) and leaves nothing
    in its temp folder."""
    root = tmp_path_factory.mktemp("boundary")
    tmp = root / "tmp"
    tmp.mkdir()
    marker = root / "the-sweep-ran-my-command"
    out = run_cli(*run_args(root / "r", *BOUNDARY_LOSSES), "--no-baseline",
                  env=cli_env(tmp, sites["boundary"], HOSTILE_MARKER=str(marker)))
    assert out.returncode == 1, out.stderr
    assert leftovers(tmp) == []
    rows = pd.read_parquet(root / "r")
    return {loss: part for loss, part in rows.groupby("loss")}, marker


def test_the_attacks_on_the_trust_boundary_are_stored_for_their_own_specs_only(boundary):
    """Nothing is stored for cross_entropy, nor for a seed other than the one run (the forged
    record claims cross_entropy seed 3)."""
    rows, _ = boundary
    assert set(rows) == set(BOUNDARY_LOSSES)
    assert all(set(r["seed"]) == {0} for r in rows.values())


def test_a_pickle_sent_on_the_result_pipe_never_runs_in_the_sweep(boundary):
    """The loss finds its child's result pipe (gc.get_objects) and sends an object whose
    unpickling runs ``touch MARKER``: the sweep reads bytes, refuses them, and records the run
    as an error; the command never runs."""
    rows, marker = boundary
    assert not marker.exists()
    assert set(rows["pipe_loss"]["status"]) == {"error"}
    assert "the run's outputs were refused: the run's outputs are not a readable array " \
           "archive" in rows["pipe_loss"]["error"].iloc[0]


def test_a_record_forged_for_another_spec_is_never_stored(boundary):
    """One loss sends a pickled Record of cross_entropy seed 3 with top1 0.99, the other
    well-formed outputs claiming top1 0.99: each run is stored for its own spec only, as an
    error, with none of the claimed values."""
    rows, _ = boundary
    for loss in ("forge_record", "forge_arrays"):
        assert set(rows[loss]["status"]) == {"error"}
        assert not (rows[loss]["value"] == 0.99).any()
    assert "not a readable array archive" in rows["forge_record"]["error"].iloc[0]
    assert "did not return the outputs of the 'last' checkpoint" in \
           rows["forge_arrays"]["error"].iloc[0]


def test_a_loss_that_ignores_the_logits_is_stored_as_an_error(boundary):
    rows = boundary[0]["detached_loss"]
    assert set(rows["status"]) == {"error"}
    assert "NoGradient: first training step: no gradient of the loss reaches the model's " \
           "outputs (logits)" in rows["error"].iloc[0]
    assert rows["value"].isna().all()


# ------------------------------------------------------------------------- check

def test_check_reports_an_exit_at_import_as_a_failed_check(sites, env):
    out = run_cli("check", "exit_loss", env=env(sites["exit"]))
    assert out.returncode == 1
    assert "FAIL  load" in out.stdout and "exit code 9" in out.stdout


def test_check_kills_a_plugin_that_hangs_at_import_after_its_timeout(sites, env):
    out = run_cli("check", "hang_loss", "--timeout", HANG_TIMEOUT, env=env(sites["hang"]),
                  timeout=120)
    assert out.returncode == 1
    assert "FAIL  load" in out.stdout and f"did not finish within {HANG_TIMEOUT}s" in out.stdout


def test_check_fails_the_card_of_a_nan_hyperparameter(sites, env):
    out = run_cli("check", "nan_card", env=env(sites["badcards"]))
    assert out.returncode == 1
    assert "FAIL  card" in out.stdout and "['gamma'] is nan" in out.stdout


@pytest.mark.slow
def test_a_nightly_sweep_with_hostile_packages_runs_every_healthy_entry(sites, env, tmp_path,
                                                                          solo):
    """Every package of tests/hostile.py installed at once, the whole default sweep of a task:
    every healthy entry runs, each broken one is skipped once with its reason, and the
    leaderboard renders."""
    results = tmp_path / "r"
    out = run_cli("run", "--task", "standard/mnist1d", "--seeds", "1", "--epochs", "1",
                  "--results", str(results), "--no-leaderboard", "--quiet",
                  env=env(sites["hostile"]), timeout=900)
    assert out.returncode == 0, out.stderr
    got = records(results)
    assert_same_record(got, solo, "cross_entropy")
    assert {"good_loss", "sane_card", "dtype_loss", "threads_loss", "x|y<script>",
            "focal"} <= set(got.index.get_level_values(0))
    for healthy in ("good_loss", "sane_card", "dtype_loss", "threads_loss", "x|y<script>"):
        assert set(got.loc[healthy]["status"]) == {"ok"}
    for broken in ("exit_loss", "hang_loss", "nan_card", "int_suites", "unknown_suite",
                   "long_version", "clash_loss"):
        assert sum(ln.startswith(f"skipped loss {broken}:") for ln in out.stderr.splitlines()) == 1
    assert "clash_loss" not in set(got.index.get_level_values(0))
    board = tmp_path / "leaderboard.md"
    assert run_cli("leaderboard", "--results", str(results), "--out", str(board), "--no-plots",
                   env=env()).returncode == 0
    assert "## " in board.read_text(encoding="utf-8")


# ------------------------------------------------------------------------- names

def test_two_plugins_with_the_same_name_are_both_listed_as_conflicting(listing):
    lines = [ln for ln in listing.splitlines() if ln.startswith("clash_loss ")]
    assert len(lines) == 2
    for line in lines:
        assert "registered more than once: lossbench-clash-a 0.1.0 (clash_a:Loss); " \
               "lossbench-clash-b 0.1.0 (clash_b:Loss)" in line
    assert status_of(listing, "good_loss").endswith(" ok")


def test_the_default_sweep_skips_a_name_two_plugins_share_and_plans_the_rest(installed,
                                                                           monkeypatch):
    from lossbench.plan import plan

    monkeypatch.setenv("LOSSBENCH_IMPORT_TIMEOUT", IMPORT_TIMEOUT)
    installed("clash")
    planned = plan(tasks=["standard/mnist1d"], seeds=1)
    specs, skipped = planned.specs, planned.skipped
    reasons = [s.reason for s in skipped if s.what == "loss clash_loss"]
    assert len(reasons) == 1 and "registered more than once" in reasons[0]
    assert {"good_loss", "cross_entropy"} <= {s.loss for s in specs}
    assert "clash_loss" not in {s.loss for s in specs}


def test_a_plugin_reusing_a_built_in_name_is_listed_beside_the_built_in(listing):
    builtin, plugin = sorted((ln for ln in listing.splitlines() if ln.startswith("focal ")),
                             key=lambda ln: "shadow" in ln)
    assert f"lossbench {lossbench.__version__}" in builtin and builtin.endswith(" ok")
    assert "lossbench-shadow" in plugin and "built-ins cannot be shadowed" in plugin


def test_a_plugin_reusing_a_built_in_name_never_replaces_the_built_in(installed):
    from lossbench.plan import plan
    from lossbench.registry import LOSSES

    installed("shadow")
    assert LOSSES.get("focal").target == "lossbench_registry.losses.focal:Focal"
    specs = plan(tasks=["standard/mnist1d"], losses=["focal"], seeds=1).specs
    assert [s.loss for s in specs] == ["focal"]
    assert "shadow" not in sys.modules


# ------------------------------------------------------------------------- threads

def test_a_thread_count_change_at_import_reaches_only_the_plugins_own_runs(sites, env,
                                                                           tmp_path, solo):
    pid_file = tmp_path / "imported-by"
    results = tmp_path / "r"
    cli = subprocess.Popen(
        [sys.executable, "-m", "lossbench.cli",
         *run_args(results, "threads_loss", "cross_entropy")],
        env={**os.environ, **env(sites["listed"], HOSTILE_PID_FILE=str(pid_file))},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, err = cli.communicate(timeout=300)
    assert cli.returncode == 0, err
    importers = {int(p) for p in pid_file.read_text().split()}
    assert importers and cli.pid not in importers
    got = records(results)
    assert_same_record(got, solo, "cross_entropy")
    assert set(got.loc["threads_loss"]["status"]) == {"ok"}


# ------------------------------------------------------------------------- markup

def test_markup_in_a_plugins_card_is_inert_on_the_leaderboard(mixed_run):
    board = mixed_run["board"]
    for raw in ("<script>", "<b>", "<img", "[click](", "\n# heading", "x|y", "\x1b"):
        assert raw not in board
    assert r"x\|y&lt;script>" in board
    assert r"approximate: a\|b # heading &lt;b>bold&lt;/b>" in board


def test_escape_sequences_in_a_plugins_card_are_shown_not_sent_to_the_terminal(listing):
    assert "\x1b" not in listing
    assert r"1|<b>v</b>\x1b[2J" in status_of(listing, "x|y<script>")

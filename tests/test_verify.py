"""`lossbench verify`: the results folder against its append-only ledger — deleted, altered,
unknown and foreign records, torn ledger lines, and adopting records stored before ledgers."""

from __future__ import annotations

import json
import os
import shutil

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lossbench import report
from lossbench.digest import DIGEST_COLUMN
from lossbench.integrity import verify
from lossbench.ledger import LEDGER_FILE, append, entry, read_ledger
from lossbench.record import Record
from lossbench.record_format import record_table
from lossbench.spec import RunSpec
from lossbench.store import load_results, result_path, set_aside, write_record

from . import hostile
from .conftest import run_cli


def record(seed=0, top1=0.5, loss="focal") -> Record:
    spec = RunSpec(loss=loss, loss_version="1", suite="standard", task="mnist1d",
                   task_version="1", seed=seed)
    return Record(spec, "ok", {"top1": top1}, "", {"device": "cpu", "wall_seconds": 1.0})


def categories(outcome) -> list[tuple[str, str]]:
    return sorted((f.category, f.path) for f in outcome.findings)


# ---------------------------------------------------------------- the ledger


def test_every_stored_record_appends_one_line_and_earlier_lines_never_change(tmp_path):
    write_record(tmp_path, record(seed=0))
    before = (tmp_path / LEDGER_FILE).read_bytes()
    write_record(tmp_path, record(seed=1))
    write_record(tmp_path, record(seed=0, top1=0.6))  # a re-run: a new line, the old one stays
    after = (tmp_path / LEDGER_FILE).read_bytes()
    assert after.startswith(before) and after.count(b"\n") == 3
    assert [e.event for e in read_ledger(tmp_path).entries] == ["write"] * 3


def test_a_torn_last_line_is_reported_not_fatal_and_the_next_entry_starts_a_new_line(tmp_path):
    write_record(tmp_path, record(seed=0))
    with open(tmp_path / LEDGER_FILE, "ab") as fh:
        fh.write(b'{"at":"2026-01-01T00:00:00Z","digest":"ab')  # a writer killed mid-line
    outcome = verify(tmp_path)
    assert categories(outcome) == [("ledger", f"{LEDGER_FILE}:2")]
    assert outcome.findings[0].reason.startswith("torn last line: not JSON")
    write_record(tmp_path, record(seed=1))
    ledger = read_ledger(tmp_path)
    assert [e.key for e in ledger.entries] == [record(seed=0).spec.key, record(seed=1).spec.key]
    assert [why.split(":")[0] for _, why in ledger.torn] == ["bad line"]
    assert len(load_results(tmp_path)) == 2  # both records are still trusted


def test_a_ledger_line_with_an_unknown_event_is_a_bad_line(tmp_path):
    append(tmp_path, entry("write", "k", "0" * 64))
    with open(tmp_path / LEDGER_FILE, "a") as fh:
        fh.write('{"at":"x","digest":null,"event":"erase","key":"k"}\n')
    assert read_ledger(tmp_path).torn == [
        (2, "bad line: event 'erase' is not one of write, adopt, merge, set_aside, retire")]


# ---------------------------------------------------------------- what verify finds


def test_a_folder_written_by_the_store_verifies(tmp_path):
    for seed in (0, 1):
        write_record(tmp_path, record(seed=seed))
    outcome = verify(tmp_path)
    assert outcome.ok and outcome.records == 2 and outcome.findings == []


def test_a_deleted_record_is_reported_deleted(tmp_path):
    path = write_record(tmp_path, record())
    path.unlink()
    assert categories(verify(tmp_path)) == [("deleted", path.name)]


def test_a_record_changed_after_it_was_stored_is_reported_altered(tmp_path):
    path = write_record(tmp_path, record(top1=0.5))
    write_record(tmp_path / "other", record(top1=0.99))
    shutil.copy(tmp_path / "other" / path.name, path)  # a sound record, but not the one stored
    assert categories(verify(tmp_path)) == [("altered", path.name)]


def test_a_truncated_record_the_ledger_vouched_for_is_altered(tmp_path):
    path = write_record(tmp_path, record())
    path.write_bytes(path.read_bytes()[:100])
    assert categories(verify(tmp_path)) == [("altered", path.name)]


def test_a_record_the_ledger_never_saw_is_unknown(tmp_path):
    write_record(tmp_path, record(seed=0))
    write_record(tmp_path / "elsewhere", record(seed=7))
    shutil.copy(result_path(tmp_path / "elsewhere", record(seed=7).spec.key), tmp_path)
    assert categories(verify(tmp_path)) == [("unknown", f"{record(seed=7).spec.key}.parquet")]


def test_a_record_copied_under_another_key_is_foreign(tmp_path):
    path = write_record(tmp_path, record())
    shutil.copy(path, result_path(tmp_path, "0123456789abcdef"))
    assert categories(verify(tmp_path)) == [("foreign", "0123456789abcdef.parquet")]


def test_a_kept_earlier_attempt_is_verified_too(tmp_path):
    write_record(tmp_path, record(top1=0.5))
    write_record(tmp_path, record(top1=0.6))  # the first record moves to _attempts/
    assert verify(tmp_path).ok
    attempt = next((tmp_path / "_attempts").iterdir())
    write_record(tmp_path / "other", record(top1=0.99))
    shutil.copy(result_path(tmp_path / "other", record().spec.key), attempt)
    assert categories(verify(tmp_path)) == [("altered", f"_attempts/{attempt.name}")]


def test_a_file_set_aside_by_a_sweep_is_logged_and_no_longer_a_finding(tmp_path):
    path = write_record(tmp_path, record())
    path.write_bytes(b"not parquet")
    (moved,) = set_aside(tmp_path, [path.stem])
    assert read_ledger(tmp_path).entries[-1].event == "set_aside"
    outcome = verify(tmp_path)
    assert outcome.ok and outcome.set_aside == 1 and moved[1].parent.name == "_untrusted"


# ---------------------------------------------------------------- records older than ledgers


def legacy_folder(tmp_path, seeds=(0, 1)):
    """Records as harness 0.2.2 stored them: no digest column, no ledger."""
    for seed in seeds:
        table = record_table(record(seed=seed)).drop_columns([DIGEST_COLUMN])
        pq.write_table(table, result_path(tmp_path, record(seed=seed).spec.key))
    return tmp_path


def test_records_stored_before_ledgers_are_unknown_until_adopted(tmp_path):
    legacy_folder(tmp_path)
    outcome = verify(tmp_path)
    assert not outcome.has_ledger and [c for c, _ in categories(outcome)] == ["unknown"] * 2
    adopted = verify(tmp_path, adopt=True)
    assert adopted.adopted == 2 and adopted.ok
    assert [e.event for e in read_ledger(tmp_path).entries] == ["adopt", "adopt"]
    assert verify(tmp_path, adopt=True).adopted == 0  # adopting twice adds nothing


def test_a_sweep_into_records_stored_before_ledgers_is_refused_until_they_are_adopted(tmp_path):
    """Else its first record would create the ledger and every older record would become
    unknown, set aside and run again."""
    from lossbench.errors import UsageError
    from lossbench.scheduler import run_sweep

    legacy_folder(tmp_path)
    with pytest.raises(UsageError, match="lossbench verify --adopt"):
        run_sweep([record(seed=0).spec], tmp_path, executor="serial", progress="quiet")
    verify(tmp_path, adopt=True)
    summary = run_sweep([record(seed=0).spec], tmp_path, executor="serial", progress="quiet")
    assert summary.ran == [] and [s.key for s in summary.cached] == [record(seed=0).spec.key]


def test_adopt_never_vouches_for_an_altered_record(tmp_path):
    legacy_folder(tmp_path, seeds=(0,))
    path = result_path(tmp_path, record().spec.key)
    table = pq.read_table(path)
    i = table.schema.get_field_index("seed")
    pq.write_table(table.set_column(i, "seed", pa.array([5], pa.int64())), path)
    outcome = verify(tmp_path, adopt=True)
    assert outcome.adopted == 0 and categories(outcome) == [("altered", path.name)]


def test_an_adopted_record_changed_later_is_altered(tmp_path):
    legacy_folder(tmp_path, seeds=(0,))
    verify(tmp_path, adopt=True)
    path = result_path(tmp_path, record().spec.key)
    table = pq.read_table(path)
    i = table.schema.get_field_index("value")
    pq.write_table(table.set_column(i, "value", pa.array([0.99], pa.float64())), path)
    assert categories(verify(tmp_path)) == [("altered", path.name)]


# ---------------------------------------------------------------- the board and the command


def test_the_leaderboard_says_whether_the_store_verified(tmp_path):
    write_record(tmp_path, record(seed=0))
    path = write_record(tmp_path, record(seed=1))
    assert "- store: verified: all 2 records match" in report.render(tmp_path)
    path.unlink()
    text = report.render(tmp_path)
    assert "- store: **NOT verified**: 1 deleted" in text


def test_verify_exits_0_on_a_sound_folder_1_on_findings_2_on_a_missing_folder(tmp_path):
    write_record(tmp_path, record())
    ok = run_cli("verify", "--results", str(tmp_path))
    assert ok.returncode == 0 and "verified, 1 records match the ledger" in ok.stdout
    result_path(tmp_path, record().spec.key).unlink()
    found = run_cli("verify", "--results", str(tmp_path), "--json")
    assert found.returncode == 1
    doc = json.loads(found.stdout)
    assert doc["ok"] is False and doc["counts"] == {"deleted": 1}
    missing = run_cli("verify", "--results", str(tmp_path / "nope"))
    assert missing.returncode == 2 and "does not exist" in missing.stderr


# ---------------------------------------------------------------- hostile plugins


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile-store")
    return hostile.install_all(root, {name: hostile.TRUST_BOUNDARY[name]
                                      for name in ("lossbench-forger", "lossbench-eraser")})


def cli(site, *args, **env):
    """The CLI with the plugins on the path (ahead of an existing PYTHONPATH)."""
    path = os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH", "")) if p)
    return run_cli(*args, env={"PYTHONPATH": path, "OMP_NUM_THREADS": "1", **env})


SMOKE = ("--task", "standard/mnist1d", "--seeds", "1", "--epochs", "1", "--no-leaderboard")


@pytest.mark.slow
def test_records_forged_by_a_plugin_are_not_trusted_and_the_spec_runs_again(site, tmp_path):
    """The forger overwrites the stored cross_entropy record with top1 = 0.99 and adds one for
    seed 7 during its first forward, each with its spec key and digest recomputed."""
    results = tmp_path / "results"
    assert cli(site, "run", "--loss", "cross_entropy", *SMOKE, "--results",
               str(results)).returncode == 0
    ce_key = next(results.glob("*.parquet")).stem
    honest = load_results(results)["top1"].item()
    assert cli(site, "run", "--loss", "forger_loss", "--no-baseline", *SMOKE, "--results",
               str(results), HOSTILE_RESULTS=str(results)).returncode == 0
    outcome = verify(results)
    assert sorted(f.category for f in outcome.findings) == ["altered", "unknown"]
    runs = load_results(results)
    assert sorted(runs["loss"]) == ["forger_loss"] and 7 not in set(runs["seed"])
    board = report.render(results)
    assert "**NOT verified**: 1 altered, 1 unknown" in board and f"`{ce_key}.parquet`" in board
    again = cli(site, "run", "--loss", "cross_entropy", *SMOKE, "--results", str(results))
    assert again.returncode == 0 and "runs again" in again.stderr
    rerun = load_results(results).set_index("loss").loc["cross_entropy", "top1"]
    assert rerun == honest != 0.99
    assert [f.category for f in verify(results).findings] == ["unknown"]  # seed 7 stays out


@pytest.mark.slow
def test_records_deleted_or_zeroed_by_a_plugin_at_import_are_reported(site, tmp_path):
    results = tmp_path / "results"
    assert cli(site, "run", "--loss", "cross_entropy", "--task", "standard/mnist1d", "--seeds",
               "2", "--epochs", "1", "--no-leaderboard", "--results",
               str(results)).returncode == 0
    deleted, zeroed = sorted(results.glob("*.parquet"))
    shown = cli(site, "show", "eraser_loss", "--results", str(results),
                HOSTILE_DELETE=str(deleted), HOSTILE_ZERO=str(zeroed))
    assert shown.returncode == 0 and not deleted.exists()
    found = run_cli("verify", "--results", str(results))
    assert found.returncode == 1
    assert f"deleted  {deleted.name}" in found.stdout
    assert f"altered  {zeroed.name}" in found.stdout


@pytest.mark.skipif(__import__("lossbench.confinement").confinement.landlock_abi() <= 0,
                    reason="this kernel has no Landlock (Linux >= 5.13)")
@pytest.mark.slow
def test_a_confined_run_cannot_forge_records_at_all(site, tmp_path):
    """The same forger with the run's child confined (no extra writable folder): its writes into
    the results folder are denied, its run is an error, and the store verifies untouched."""
    results = tmp_path / "results"
    assert cli(site, "run", "--loss", "cross_entropy", *SMOKE, "--results",
               str(results)).returncode == 0
    before = {p.name: p.read_bytes() for p in results.glob("*.parquet")}
    forged = cli(site, "run", "--loss", "forger_loss", "--no-baseline", *SMOKE, "--results",
                 str(results), HOSTILE_RESULTS=str(results), LOSSBENCH_CHILD_WRITABLE="")
    assert forged.returncode == 1  # the forger's run failed
    runs = load_results(results).set_index("loss")
    assert runs.loc["forger_loss", "status"] == "error"
    assert "PermissionError" in runs.loc["forger_loss", "error"]
    assert {p.name: p.read_bytes() for p in results.glob("*.parquet")
            if p.name in before} == before
    assert verify(results).ok and 7 not in set(runs["seed"])


# ---------------------------------------------------------------- retiring superseded records


def versioned(seed: int, harness: str) -> Record:
    spec = RunSpec(loss="focal", loss_version="1", suite="standard", task="mnist1d",
                   task_version="1", seed=seed, harness_version=harness)
    return Record(spec, "ok", {"top1": 0.5}, "", {"device": "cpu", "wall_seconds": 1.0})


def test_retiring_removes_the_older_harness_records_and_verify_stays_clean(tmp_path):
    from lossbench.integrity import retire_below

    old, new = versioned(0, "0.3.0"), versioned(0, "0.4.0")
    write_record(tmp_path, old)
    write_record(tmp_path, new)
    assert retire_below(tmp_path, "0.4.0") == [(old.spec.key, "0.3.0")]
    assert not result_path(tmp_path, old.spec.key).exists()
    assert result_path(tmp_path, new.spec.key).exists()
    outcome = verify(tmp_path)
    assert outcome.ok and outcome.records == 1  # the retired record is not "deleted"
    last = read_ledger(tmp_path).entries[-1]
    assert (last.event, last.key, last.reason) == ("retire", old.spec.key,
                                                   "harness 0.3.0 superseded by 0.4.0")


def test_a_record_deleted_without_retiring_is_still_reported(tmp_path):
    write_record(tmp_path, versioned(0, "0.3.0"))
    result_path(tmp_path, versioned(0, "0.3.0").spec.key).unlink()
    assert [f.category for f in verify(tmp_path).findings] == ["deleted"]


def test_retire_below_names_a_bad_version(tmp_path):
    from lossbench.errors import UsageError
    from lossbench.integrity import retire_below

    with pytest.raises(UsageError, match="'latest' is not a harness version"):
        retire_below(tmp_path, "latest")

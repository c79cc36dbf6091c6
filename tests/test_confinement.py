"""A run's child may write only in its scratch folder, /dev and the cache folders (Landlock):
a plugin cannot touch the results folder while it trains. Where the kernel has no Landlock the
tests that need it skip and say so."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from lossbench.confinement import (
    EXTRA_ENV,
    SWITCH_ENV,
    confine_writes,
    landlock_abi,
    writable_folders,
    write_rights,
)

needs_landlock = pytest.mark.skipif(landlock_abi() <= 0,
                                    reason="this kernel has no Landlock (Linux >= 5.13)")


def in_child(code: str, **env: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter: confinement is irreversible for a process."""
    full = {**os.environ, **env}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, env=full, timeout=120, check=False)


def test_the_writable_folders_are_the_scratch_dev_the_caches_and_the_extra_ones(tmp_path):
    scratch, extra, cache = tmp_path / "s", tmp_path / "e", tmp_path / "c"
    for p in (scratch, extra, cache):
        p.mkdir()
    folders = writable_folders(scratch, {"HOME": str(tmp_path), "XDG_CACHE_HOME": str(cache),
                                         EXTRA_ENV: os.pathsep.join([str(extra), "/nope"])})
    assert folders == [str(scratch.resolve()), "/dev", str(cache.resolve()),
                       str(extra.resolve())]


def test_later_landlock_versions_deny_more_kinds_of_write():
    assert write_rights(1) < write_rights(2) < write_rights(3)


def test_switched_off_it_confines_nothing_and_says_so(monkeypatch):
    monkeypatch.setenv(SWITCH_ENV, "off")
    assert confine_writes(["/nowhere"]) == f"unconfined: {SWITCH_ENV}=off"


@needs_landlock
def test_a_confined_process_writes_in_its_folders_and_nowhere_else(tmp_path):
    scratch, results = tmp_path / "scratch", tmp_path / "results"
    scratch.mkdir()
    results.mkdir()
    (results / "record.parquet").write_text("honest")
    out = in_child(f"""
        import os
        from lossbench.confinement import confine_writes
        print(confine_writes([{str(scratch)!r}, "/dev"]))
        open({str(scratch / 'ok.txt')!r}, "w").write("ok")
        open("/dev/null", "w").write("ok")
        for act in (lambda: open({str(results / 'record.parquet')!r}, "w").write("forged"),
                    lambda: open({str(results / 'new.parquet')!r}, "w").write("forged"),
                    lambda: os.remove({str(results / 'record.parquet')!r})):
            try:
                act()
                print("WRITTEN")
            except PermissionError:
                print("denied")
        """, **{EXTRA_ENV: ""})
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("confined (Landlock ABI")
    assert lines[1:] == ["denied"] * 3
    assert (scratch / "ok.txt").read_text() == "ok"
    assert (results / "record.parquet").read_text() == "honest"
    assert not (results / "new.parquet").exists()

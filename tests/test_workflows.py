"""The GitHub workflows that run third-party code are hardened: zizmor, the GitHub Actions
security linter, finds nothing above low in ``.github/workflows/`` (actions pinned to commits, no
``${{ }}`` expanded inside ``run:`` scripts, least permissions per job, no credentials left in the
checkout). It runs offline (no GitHub API), from the ``test`` extra."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

WORKFLOWS = Path(__file__).resolve().parent.parent / ".github" / "workflows"


def zizmor() -> str:
    """The zizmor executable: beside this interpreter (a virtual environment's ``bin``), else
    on ``PATH``."""
    beside = Path(sys.executable).with_name("zizmor")
    found = str(beside) if beside.is_file() else shutil.which("zizmor")
    if found is None:
        pytest.skip("zizmor is not installed (it is in the test extra: pip install -e '.[test]')")
    return found


def findings(*args: str) -> list[dict]:
    proc = subprocess.run([zizmor(), "--offline", "--no-exit-codes", "--format", "json", *args,
                           str(WORKFLOWS)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_workflows_have_no_finding_above_low():
    above_low = findings("--min-severity", "medium")
    assert above_low == [], "\n".join(
        f"{f['ident']}: {f['desc']} ({f['determinations']['severity']})" for f in above_low)


def test_the_check_sees_an_unhardened_workflow(tmp_path, monkeypatch):
    folder = tmp_path / ".github" / "workflows"
    folder.mkdir(parents=True)
    bad = folder / "bad.yml"
    bad.write_text("on: pull_request\njobs:\n  j:\n    runs-on: ubuntu-latest\n    steps:\n"
                   "      - uses: actions/checkout@v4\n"
                   "      - run: echo \"${{ github.head_ref }}\"\n", encoding="utf-8")
    monkeypatch.setattr(sys.modules[__name__], "WORKFLOWS", folder)
    idents = {f["ident"] for f in findings("--min-severity", "medium")}
    assert {"unpinned-uses", "template-injection"} <= idents

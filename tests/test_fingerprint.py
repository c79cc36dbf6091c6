"""The harness fingerprint: records say which harness code made them, and the code cannot change
under a version without the version changing."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

import lossbench
from lossbench import fingerprint
from lossbench.fingerprint import PIN_FILE, bump, harness_fingerprint, pin_problem, write_pin

ROOT = Path(__file__).resolve().parents[1]


def test_the_harness_sources_match_the_pin_of_the_current_version():
    """Fails when the trainer, runner, data, models, metrics or suites changed without a version
    bump; the message says which files and the one command that fixes it."""
    problem = pin_problem()
    assert not problem, problem


def test_every_version_file_names_the_same_version():
    for name, pattern in fingerprint.VERSION_FILES.items():
        assert pattern.search((ROOT / name).read_text()).group(1) == lossbench.__version__, name


@pytest.fixture
def project(tmp_path) -> Path:
    """A copy of the version files and the harness sources, to edit."""
    shutil.copytree(ROOT / "bench", tmp_path / "bench")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_changing_a_line_of_the_trainer_breaks_the_pin_and_names_the_fix(project):
    pin = project / "bench" / PIN_FILE.name
    assert pin_problem(root=project / "bench", path=pin) == ""
    train = project / "bench" / "train.py"
    train.write_text(train.read_text().replace("weight_decay: float = 0.0",
                                               "weight_decay: float = 0.01"))
    problem = pin_problem(root=project / "bench", path=pin)
    assert "changed: train.py" in problem
    assert "python -m lossbench.fingerprint --bump" in problem


def test_a_file_outside_the_harness_sources_does_not_change_the_fingerprint(project):
    (project / "bench" / "report.py").write_text("# the report does not change a run\n")
    assert pin_problem(root=project / "bench", path=project / "bench" / PIN_FILE.name) == ""


def test_bump_sets_the_version_everywhere_and_pins_the_new_sources(project):
    train = project / "bench" / "train.py"
    train.write_text(train.read_text() + "\n# a change\n")
    major, minor, patch = (int(p) for p in lossbench.__version__.split("."))
    new = f"{major}.{minor}.{patch + 1}"  # the next patch version above the current one
    fp = bump(new, project_root=project)
    pins = fingerprint.read_pins(project / "bench" / PIN_FILE.name)
    assert pins[new]["fingerprint"] == fp != pins[lossbench.__version__]["fingerprint"]
    pin = project / "bench" / PIN_FILE.name
    assert pin_problem(new, root=project / "bench", path=pin) == ""
    for name, pattern in fingerprint.VERSION_FILES.items():
        assert pattern.search((project / name).read_text()).group(1) == new, name


def test_bump_refuses_a_version_that_is_not_above_the_current_one(project):
    current = lossbench.__version__
    with pytest.raises(ValueError, match=re.escape(f"not above the current {current}")):
        bump(lossbench.__version__, project_root=project)


def test_an_unpinned_version_asks_for_a_pin(tmp_path, project):
    write_pin("0.0.9", root=project / "bench", path=tmp_path / "pin.json")
    assert "has no pinned fingerprint" in pin_problem("0.1.0", root=project / "bench",
                                                      path=tmp_path / "pin.json")


def test_every_record_carries_the_fingerprint_and_the_entries_distribution(tmp_path):
    from lossbench.runner import failure_record
    from lossbench.spec import RunSpec

    spec = RunSpec(loss="focal", loss_version="1", suite="standard", task="mnist1d",
                   task_version="2", seed=0)
    local = RunSpec(loss="my_losses:MyLoss", loss_version="1+local.0123456789ab",
                    suite="standard", task="mnist1d", task_version="2", seed=0)
    prov = failure_record(spec, "timeout", "").provenance
    assert prov["harness_fingerprint"] == harness_fingerprint()
    assert prov["loss_distribution"] == f"lossbench {lossbench.__version__}"
    assert prov["regularizer_distribution"] is None
    assert failure_record(local, "timeout", "").provenance["loss_distribution"] == (
        "local 0123456789ab")

"""The harness fingerprint: records say which harness code made them, and the code cannot change
under a version without the version changing."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

import lossbench
from lossbench import fingerprint
from lossbench.fingerprint import (
    PIN_FILE,
    RESULT_NEUTRAL,
    bump,
    definition_digests,
    fingerprint_of,
    harness_fingerprint,
    harness_sources,
    pin_problem,
    write_pin,
)

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
    """A copy of the version files and the harness sources, to edit, its current version
    pinned to its code as it is."""
    shutil.copytree(ROOT / "bench", tmp_path / "bench")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    write_pin(lossbench.__version__, root=tmp_path / "bench",
              path=tmp_path / "bench" / PIN_FILE.name)
    return tmp_path


def test_changing_a_line_of_the_trainer_breaks_the_pin_and_names_the_fix(project):
    pin = project / "bench" / PIN_FILE.name
    assert pin_problem(root=project / "bench", path=pin) == ""
    train = project / "bench" / "train.py"
    train.write_text(train.read_text().replace("weight_decay: float = 0.0",
                                               "weight_decay: float = 0.01"))
    problem = pin_problem(root=project / "bench", path=pin)
    assert "changed: TrainConfig (train.py)" in problem
    assert "python -m lossbench.fingerprint --bump" in problem


def test_a_change_in_a_result_neutral_module_does_not_change_the_fingerprint(project):
    cli = project / "bench" / "cli" / "__init__.py"
    cli.write_text(cli.read_text() + "\nNEW_CONSTANT = 1\n")
    assert pin_problem(root=project / "bench", path=project / "bench" / PIN_FILE.name) == ""


def test_a_new_module_is_fingerprinted_unless_it_is_declared_result_neutral(project):
    (project / "bench" / "warmup.py").write_text("STEPS = 3\n")
    problem = pin_problem(root=project / "bench", path=project / "bench" / PIN_FILE.name)
    assert "changed: STEPS (warmup.py)" in problem


def test_every_result_neutral_name_is_a_module_of_the_package():
    modules = {p.relative_to(fingerprint.PACKAGE_DIR).as_posix().removesuffix(".py")
               .removesuffix("/__init__") for p in fingerprint.PACKAGE_DIR.rglob("*.py")}
    assert [name for name in RESULT_NEUTRAL if name.replace(".", "/") not in modules] == []


def test_bump_sets_the_version_everywhere_and_pins_the_new_sources(project):
    train = project / "bench" / "train.py"
    train.write_text(train.read_text().replace("weight_decay: float = 0.0",
                                               "weight_decay: float = 0.01"))
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


# ---------------------------------------------------------------- behaviour, not bytes
# A tiny package root: two fingerprinted modules (``train.py``, ``runner.py``) and a
# result-neutral one (``cli.py``).

TRAIN = '''"""The trainer."""

import math

from .runner import scale

STEPS = 3  # how many steps


def fit(x):
    """Fit ``x``."""
    return scale(x) * math.sqrt(STEPS)


def warmup(x):
    return x + 1
'''

RUNNER = '''import math


def scale(x):
    return 2 * x
'''


@pytest.fixture
def tiny(tmp_path) -> Path:
    (tmp_path / "train.py").write_text(TRAIN)
    (tmp_path / "runner.py").write_text(RUNNER)
    (tmp_path / "cli.py").write_text("def main():\n    return 0\n")
    return tmp_path


def fingerprint_after(root: Path, name: str, old: str, new: str) -> str:
    """The fingerprint of ``root`` after replacing ``old`` by ``new`` in the file ``name``."""
    text = (root / name).read_text()
    assert old in text
    (root / name).write_text(text.replace(old, new))
    return fingerprint_of(definition_digests(root))


def test_the_fingerprinted_files_are_the_package_less_the_result_neutral_modules(tiny):
    assert [p.name for p in harness_sources(tiny)] == ["runner.py", "train.py"]


def test_a_comment_does_not_change_the_fingerprint(tiny):
    before = fingerprint_of(definition_digests(tiny))
    assert fingerprint_after(tiny, "train.py", "# how many steps", "# steps, see #12") == before


def test_a_docstring_does_not_change_the_fingerprint(tiny):
    before = fingerprint_of(definition_digests(tiny))
    assert fingerprint_after(tiny, "train.py", '"""Fit ``x``."""', '"""Fit x, well."""') == before
    assert fingerprint_after(tiny, "train.py", '"""The trainer."""', "") == before


def test_formatting_does_not_change_the_fingerprint(tiny):
    before = fingerprint_of(definition_digests(tiny))
    assert fingerprint_after(tiny, "runner.py", "return 2 * x", "return (\n        2*x)") == before


def test_a_changed_constant_changes_the_fingerprint(tiny):
    before = fingerprint_of(definition_digests(tiny))
    assert fingerprint_after(tiny, "train.py", "STEPS = 3", "STEPS = 4") != before


def test_a_changed_expression_changes_the_fingerprint(tiny):
    before = fingerprint_of(definition_digests(tiny))
    assert fingerprint_after(tiny, "runner.py", "2 * x", "x * 2") != before


def test_renaming_a_function_changes_the_fingerprint(tiny):
    before = fingerprint_of(definition_digests(tiny))
    assert fingerprint_after(tiny, "train.py", "def warmup(x)", "def warm_up(x)") != before


def test_moving_a_function_between_fingerprinted_files_does_not_change_the_fingerprint(tiny):
    """``warmup`` moves from train.py to runner.py, ``scale`` the other way (with the import
    lines that say where it lives now)."""
    before = fingerprint_of(definition_digests(tiny))
    (tiny / "train.py").write_text(TRAIN.replace("from .runner import scale\n", "").replace(
        "\n\ndef warmup(x):\n    return x + 1\n", "\n\ndef scale(x):\n    return 2 * x\n"))
    (tiny / "runner.py").write_text("def warmup(x):\n    return x + 1\n")
    assert fingerprint_of(definition_digests(tiny)) == before


def test_moving_a_function_into_a_result_neutral_module_changes_the_fingerprint(tiny):
    before = fingerprint_of(definition_digests(tiny))
    (tiny / "runner.py").write_text("import math\n")
    (tiny / "cli.py").write_text(RUNNER)
    assert fingerprint_of(definition_digests(tiny)) != before


def test_moving_a_function_that_uses_a_name_two_files_define_changes_the_fingerprint(tiny):
    """``LIMIT`` means 1 in train.py and 2 in runner.py: a function that reads it means
    something else in the other file."""
    (tiny / "train.py").write_text("LIMIT = 1\n\n\ndef cap(x):\n    return min(x, LIMIT)\n")
    (tiny / "runner.py").write_text("LIMIT = 2\n")
    before = fingerprint_of(definition_digests(tiny))
    (tiny / "train.py").write_text("LIMIT = 1\n")
    (tiny / "runner.py").write_text("LIMIT = 2\n\n\ndef cap(x):\n    return min(x, LIMIT)\n")
    assert fingerprint_of(definition_digests(tiny)) != before


def test_swapping_a_third_party_import_changes_the_fingerprint(tiny):
    before = fingerprint_of(definition_digests(tiny))
    assert fingerprint_after(tiny, "train.py", "import math", "import cmath as math") != before


def test_a_failing_pin_names_the_changed_definition_and_its_file(tiny):
    write_pin("1.0", root=tiny, path=tiny / "pin.json")
    fingerprint_after(tiny, "runner.py", "2 * x", "3 * x")
    assert "changed: scale (runner.py)" in pin_problem("1.0", root=tiny, path=tiny / "pin.json")

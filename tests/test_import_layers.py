"""bench/'s imports go one way: the ``layers`` contract of ``[tool.importlinter]`` in
pyproject.toml (import-linter; imports inside functions count) holds, and an upward import breaks
it."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def lint_imports(package_parent: Path, config: Path) -> subprocess.CompletedProcess:
    """``lint-imports`` on ``config``, with the ``lossbench`` found under ``package_parent``."""
    env = {**os.environ, "PYTHONPATH": str(package_parent)}
    return subprocess.run(
        [sys.executable, "-c", "from importlinter.cli import lint_imports_command as c; c()",
         "--no-cache", str(config)],
        cwd=package_parent, env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def copy(tmp_path) -> Path:
    """The package as ``lossbench`` beside a copy of pyproject.toml."""
    shutil.copytree(ROOT / "bench", tmp_path / "lossbench",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_import_layers_contract_holds(copy):
    result = lint_imports(copy, copy / "pyproject.toml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout


def test_an_upward_import_inside_a_function_breaks_the_contract(copy):
    """The spec (a low layer) importing the report (a high one), even inside a function."""
    spec = copy / "lossbench" / "spec.py"
    spec.write_text(spec.read_text() + "\n\ndef _upward():\n    from .report import render\n\n"
                    "    return render\n")
    result = lint_imports(copy, copy / "pyproject.toml")
    assert result.returncode == 1
    assert "lossbench.spec is not allowed to import lossbench.report" in result.stdout


def test_an_import_back_up_inside_the_report_breaks_its_contract(copy):
    """The report's configurations (records → model) importing the site (its top)."""
    configs = copy / "lossbench" / "report" / "configs.py"
    configs.write_text(configs.read_text() + "\n\ndef _upward():\n    from .site import write\n\n"
                       "    return write\n")
    result = lint_imports(copy, copy / "pyproject.toml")
    assert result.returncode == 1
    assert "lossbench.report.configs is not allowed to import lossbench.report.site" \
        in result.stdout


#: What the command line imports of the package besides the API: errors, the terminal's text
#: escaping, the checks of the paths it is given (they name the flag) and the version
#: (``from ..version import __version__``).
CLI_MAY_IMPORT = {"api", "errors", "text_safety", "outputs", "version"}


def test_the_command_line_reaches_the_package_only_through_the_api():
    """Every import of bench/cli/ (inside functions too) names the API, an argument-level helper
    or another cli module."""
    found = set()
    for path in (ROOT / "bench" / "cli").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 2:
                found.add((node.module or "").split(".")[0])
    assert found <= CLI_MAY_IMPORT, sorted(found - CLI_MAY_IMPORT)
    assert "api" in found


def import_cycle(package_parent: Path) -> list[str]:
    """One cycle of ``lossbench``'s import graph (module-level, function-level and
    ``TYPE_CHECKING`` imports, as grimp reads them), or [] when the graph is acyclic. Run in a
    child so that the copy under ``package_parent`` is the one imported."""
    code = """
import json, sys
import grimp
g = grimp.build_graph("lossbench", include_external_packages=False,
                      exclude_type_checking_imports=False)
edges = {m: sorted(g.find_modules_directly_imported_by(m)) for m in sorted(g.modules)}
state, stack = {}, []
def visit(m):
    state[m] = 1
    stack.append(m)
    for n in edges.get(m, ()):
        if state.get(n) == 1:
            return stack[stack.index(n):] + [n]
        if n not in state:
            found = visit(n)
            if found:
                return found
    stack.pop()
    state[m] = 2
    return None
sys.setrecursionlimit(10000)
for m in edges:
    if m not in state:
        cycle = visit(m)
        if cycle:
            print(json.dumps(cycle))
            break
else:
    print("[]")
"""
    env = {**os.environ, "PYTHONPATH": str(package_parent)}
    out = subprocess.run([sys.executable, "-c", code], cwd=package_parent, env=env,
                         capture_output=True, text=True, timeout=120, check=True)
    import json

    return json.loads(out.stdout)


def test_the_package_import_graph_has_no_cycle(copy):
    assert import_cycle(copy) == []


def test_an_import_back_inside_a_function_makes_a_cycle_that_is_found(copy):
    """The version (the bottom) importing the spec (which imports the version), lazily."""
    version = copy / "lossbench" / "version.py"
    version.write_text(version.read_text() + "\n\ndef _back():\n    from . import spec\n\n"
                       "    return spec\n")
    cycle = import_cycle(copy)
    assert {"lossbench.version", "lossbench.spec"} <= set(cycle)


def test_no_module_of_the_package_is_over_400_lines():
    """One concept per module: a module that outgrows 400 lines holds several (issue 24)."""
    lengths = {p.relative_to(ROOT).as_posix(): len(p.read_text(encoding="utf-8").splitlines())
               for p in (ROOT / "bench").rglob("*.py")}
    assert {path: n for path, n in lengths.items() if n > 400} == {}

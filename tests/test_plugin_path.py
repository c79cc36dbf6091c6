"""A third-party loss is found through its package's entry point — no fork, no lossbench import.

The test builds two throwaway distributions in a temp dir, installs them with pip into a target
folder put on PYTHONPATH, and drives the real ``lossbench`` CLI in fresh interpreters.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from .conftest import run_cli

GOOD = '''
import torch.nn.functional as F


class SquaredHinge:
    """Squared multi-class hinge (Crammer-Singer style): a throwaway plugin loss."""

    version = "0.1"
    paper = "Crammer & Singer, JMLR 2001"
    hparams = {"margin": 1.0}

    def __init__(self, margin=1.0):
        self.margin = margin

    def __call__(self, logits, targets):
        true = logits.gather(1, targets[:, None])
        others = logits + self.margin
        others = others.scatter(1, targets[:, None], float("-inf"))
        return F.relu(others.max(1, keepdim=True).values - true).pow(2).mean()
'''

BROKEN = '''
raise ImportError("this plugin needs the package 'does_not_exist'")
'''


def make_dist(root: Path, name: str, module: str, source: str, entry: str) -> Path:
    pkg = root / name
    (pkg / module).mkdir(parents=True)
    (pkg / module / "__init__.py").write_text(textwrap.dedent(source))
    (pkg / "pyproject.toml").write_text(textwrap.dedent(f'''
        [build-system]
        requires = ["setuptools>=61"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "{name}"
        version = "0.1.0"

        [project.entry-points."lossbench.losses"]
        {entry}

        [tool.setuptools]
        packages = ["{module}"]
    '''))
    return pkg


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("plugins")
    site = root / "site"
    good = make_dist(root, "lossbench-sqhinge", "sqhinge", GOOD,
                     'sq_hinge = "sqhinge:SquaredHinge"')
    broken = make_dist(root, "lossbench-broken", "brokenloss", BROKEN,
                       'broken_loss = "brokenloss:Loss"')
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                    "--no-build-isolation", "--no-index", "--target", str(site), str(good),
                    str(broken)], check=True, capture_output=True, text=True)
    return site


def test_installed_plugin_is_listed_with_its_origin(plugin_site):
    out = run_cli("list", "sq_*", env={"PYTHONPATH": str(plugin_site)})
    assert out.returncode == 0, out.stderr
    assert "sq_hinge" in out.stdout and "lossbench-sqhinge 0.1.0" in out.stdout
    assert "0.1" in out.stdout and " ok" in out.stdout


def test_broken_plugin_is_listed_with_its_error_and_the_rest_still_lists(plugin_site):
    out = run_cli("list", env={"PYTHONPATH": str(plugin_site)})
    assert out.returncode == 0, out.stderr
    broken = next(line for line in out.stdout.splitlines() if line.startswith("broken_loss"))
    assert "ImportError" in broken and "does_not_exist" in broken
    assert "focal" in out.stdout and "sq_hinge" in out.stdout


@pytest.mark.slow  # several seconds of subprocesses: the CI's slow step
def test_plugin_runs_and_its_result_is_stored(plugin_site, tmp_path):
    results = tmp_path / "results"
    out = run_cli("run", "--task", "standard/mnist1d", "--loss", "sq_hinge", "--seeds", "1",
                  "--epochs", "1", "--results", str(results), "--leaderboard",
                  str(tmp_path / "lb.md"), "--no-baseline",  # the baseline: test_researcher_loop
                  env={"PYTHONPATH": str(plugin_site)})
    assert out.returncode == 0, out.stderr
    df = pd.read_parquet(results)
    assert set(df["loss"]) == {"sq_hinge"} and set(df["status"]) == {"ok"}
    assert "sq_hinge" in (tmp_path / "lb.md").read_text()


def test_default_run_skips_a_broken_plugin_and_runs_the_rest(plugin_site, tmp_path):
    results = tmp_path / "results"
    out = run_cli("run", "--task", "standard/mnist1d", "--loss", "cross_entropy", "--loss",
                  "sq_hinge",
                  "--seeds", "1", "--epochs", "1", "--results", str(results),
                  "--no-leaderboard", env={"PYTHONPATH": str(plugin_site)})
    assert out.returncode == 0, out.stderr
    assert set(pd.read_parquet(results)["loss"]) == {"cross_entropy", "sq_hinge"}


def test_naming_a_broken_plugin_is_a_usage_error_with_the_reason(plugin_site, tmp_path):
    out = run_cli("run", "--loss", "broken_loss", "--seeds", "1", "--results",
                  str(tmp_path / "r"), env={"PYTHONPATH": str(plugin_site)})
    assert out.returncode == 2
    assert "broken_loss" in out.stderr and "does_not_exist" in out.stderr

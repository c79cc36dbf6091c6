"""The leaderboard is a function of the records alone: what is installed plays no part.

Each record stores the cards of its entries and its task's metadata at run time
(``card_json``, ``task_json``: :mod:`lossbench.record_meta`); rendering reads only those, so it
imports no torch, no entry and no suite, and gives the same bytes with a plugin installed or not.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lossbench import report
from lossbench.record import Record
from lossbench.spec import RunSpec
from lossbench.store import load_results, write_record
from tests.conftest import run_cli
from tests.test_plugin_path import plugin_site  # noqa: F401 - the installed plugin fixture

GOLDEN = Path(__file__).parent / "fixtures" / "golden" / "results"
ROOT = Path(__file__).resolve().parents[1]


def _render(results: Path, out: Path) -> dict[str, str]:
    return {p.as_posix(): t for p, t in report.render_pages(results, out, None, "p").items()}


def test_rendering_imports_no_torch_entry_or_suite(tmp_path):
    code = (
        "import sys\n"
        "from lossbench import report\n"
        f"report.render_pages({str(GOLDEN)!r}, 'lb.md', None, 'p')\n"
        f"report.write_site({str(GOLDEN)!r}, {str(tmp_path / 'site')!r})\n"
        # the light descriptions of suites and the findings they declare (no suite is loaded
        # through them)
        "light = {'lossbench.suites', 'lossbench.suites.info', 'lossbench.suites.description',"
        " 'lossbench.suites.declared_findings'}\n"
        "bad = sorted(m for m in sys.modules if m == 'torch' or m not in light and m.startswith("
        "('lossbench_registry', 'lossbench.suites', 'lossbench.runner', 'lossbench.train')))\n"
        "print(bad)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=tmp_path)
    assert out.stdout.strip() == "[]"


def test_the_same_records_render_the_same_bytes_whatever_cards_are_installed(monkeypatch,
                                                                            tmp_path):
    from lossbench import registry

    before = _render(GOLDEN, tmp_path / "lb.md")

    def installed_plugin_changed_everything(self, name):
        raise AssertionError(f"the report read the live card of {name!r}")

    monkeypatch.setattr(registry.Registry, "card", installed_plugin_changed_everything)
    monkeypatch.setattr(registry.Registry, "load", installed_plugin_changed_everything)
    assert _render(GOLDEN, tmp_path / "lb.md") == before


def test_the_board_shows_the_card_stored_at_run_time(tmp_path):
    """A card edited after the runs (new defaults, a new paper) does not change the board:
    'defaults' and the paper link are the ones the runs were made with."""
    for seed in range(3):
        spec = RunSpec(loss="focal", loss_version="1", suite="standard", task="mnist1d",
                       task_version="1", seed=seed, loss_hparams={"gamma": 2.0})
        card = {"name": "focal", "kind": "loss", "version": "1", "objective": "classification",
                "hparams": {"gamma": 2.0}, "paper": "arXiv:1708.02002", "fidelity": "exact"}
        meta = {"card_json": json.dumps({"loss": card, "regularizer": None}),
                "task_json": json.dumps({"headline": ["top1"],
                                         "higher_is_better": {"top1": True}})}
        write_record(tmp_path, Record(spec, "ok", {"top1": 0.8 + seed / 100}, "", meta))
    texts = _render(tmp_path, tmp_path / "lb.md")
    page = texts[(tmp_path / "lb" / "standard.md").as_posix()]
    assert "| focal   | defaults  |" in page
    assert "[p-focal]: https://arxiv.org/abs/1708.02002" in texts[(tmp_path / "lb.md").as_posix()]


def test_a_record_stores_the_cards_and_the_task_it_ran_with(tmp_path):
    from lossbench.record_meta import record_meta

    meta = record_meta("focal", "mixup", "standard", "mnist1d")
    cards, task = json.loads(meta["card_json"]), json.loads(meta["task_json"])
    assert cards["loss"]["name"] == "focal" and "gamma" in cards["loss"]["hparams"]
    assert cards["regularizer"]["name"] == "mixup" and cards["loss"]["paper"]
    assert task["headline"][0] == "top1" and task["higher_is_better"]["ece"] is False
    spec = RunSpec(loss="focal", loss_version="1", suite="standard", task="mnist1d",
                   task_version="1", seed=0)
    write_record(tmp_path, Record(spec, "ok", {"top1": 0.5}, "", meta))
    stored = load_results(tmp_path).iloc[0]
    assert stored["card_json"] == meta["card_json"] and stored["task_json"] == meta["task_json"]


def test_a_record_of_an_entry_whose_card_cannot_be_read_still_stores_why():
    from lossbench.record_meta import record_meta

    cards = json.loads(record_meta("no_such_loss", None, "standard", "mnist1d")["card_json"])
    assert cards["loss"] is None and "no_such_loss" in cards["errors"]["loss"]


@pytest.mark.slow  # several seconds of subprocesses: the CI's slow step
def test_rendering_the_committed_results_imports_no_torch():
    """(Its time is a benchmark, not an assertion: ``nox -s bench``,
    benchmarks/test_render_speed.py; figures in docs/performance.md.)"""
    results = ROOT / "results"
    if not any(results.glob("*.parquet")):
        pytest.skip("no committed results")
    code = (
        "import sys\n"
        "from lossbench import report\n"
        f"report.render_pages({str(results)!r}, 'lb.md', None, 'p')\n"
        "print('torch' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert out.stdout.strip() == "False", out.stdout


@pytest.mark.slow
def test_a_plugins_runs_render_the_same_bytes_installed_or_uninstalled(plugin_site,  # noqa: F811
                                                                      tmp_path):
    """The done-when of issue 14: run a third-party loss, then render its results with the
    plugin installed and again with it uninstalled (gone from the path)."""
    root = tmp_path
    results = root / "results"
    installed = {"PYTHONPATH": str(plugin_site)}
    assert run_cli("run", "--task", "standard/mnist1d", "--loss", "sq_hinge", "--seeds", "1",
                   "--epochs", "1", "--results", str(results), "--no-leaderboard",
                   env=installed).returncode == 0
    boards = []
    for name, env in (("with", installed), ("without", {})):
        out = root / name / "lb.md"
        out.parent.mkdir()
        assert run_cli("leaderboard", "--results", str(results), "--out", str(out),
                       "--no-plots", env=env).returncode == 0
        boards.append({p.relative_to(out.parent): p.read_bytes()
                       for p in sorted(out.parent.rglob("*.md"))})
    assert boards[0] == boards[1] and "sq_hinge" in boards[0][Path("lb.md")].decode()

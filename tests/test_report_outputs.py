"""Where the leaderboard goes: ``run --results X`` never overwrites the project's
``leaderboard.md``; ``lossbench leaderboard --html DIR`` builds a self-contained static site."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from lossbench.cli import main
from lossbench.cli.sweep_commands import default_leaderboard

GOLDEN = Path(__file__).parent / "fixtures" / "golden" / "results"


def test_a_scratch_results_folder_gets_its_leaderboard_beside_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert default_leaderboard("results") == "leaderboard.md"
    assert default_leaderboard(str(tmp_path / "results")) == "leaderboard.md"
    assert default_leaderboard("/tmp/try") == "/tmp/try-leaderboard.md"


def test_run_with_results_leaves_the_project_leaderboard_untouched(tmp_path, monkeypatch):
    from tests.test_tune import _fake_sweep

    _fake_sweep(monkeypatch, lambda s: 0.5 + s.seed / 100)
    monkeypatch.chdir(tmp_path)
    Path("leaderboard.md").write_text("the project's committed board\n")
    assert main(["run", "--loss", "focal", "--task", "standard/mnist1d", "--seeds", "2",
                 "--results", "scratch"]) == 0
    assert Path("leaderboard.md").read_text() == "the project's committed board\n"
    assert "focal" in Path("scratch-leaderboard.md").read_text()
    assert Path("scratch-leaderboard", "standard.md").is_file()


def test_run_with_leaderboard_writes_where_it_is_told(tmp_path, monkeypatch):
    from tests.test_tune import _fake_sweep

    _fake_sweep(monkeypatch, lambda s: 0.5)
    monkeypatch.chdir(tmp_path)
    assert main(["run", "--loss", "focal", "--task", "standard/mnist1d", "--seeds", "2",
                 "--results", "scratch", "--leaderboard", "mine.md"]) == 0
    assert Path("mine.md").is_file() and not Path("leaderboard.md").exists()


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("site")
    shutil.copytree(GOLDEN, root / "results")
    assert main(["leaderboard", "--results", str(root / "results"), "--out",
                 str(root / "lb.md"), "--html", str(root / "site")]) == 0
    return root / "site"


def test_the_site_has_a_summary_a_page_per_suite_and_per_entry(site):
    assert (site / "index.html").is_file() and (site / "suite" / "standard.html").is_file()
    index = (site / "index.html").read_text()
    for entry in ("focal", "cross_entropy"):
        assert f'href="entry/{entry}.html"' in index
        page = (site / "entry" / f"{entry}.html").read_text()
        assert f'href="https://example.org/{entry}"' in page  # the paper link
        assert f"{entry}: L = ..." in page  # the docstring (formula)


def test_the_site_is_self_contained(site):
    for page in site.rglob("*.html"):
        text = page.read_text()
        assert not re.search(r'<(script|link|img)[^>]+(src|href)="(https?:)?//', text), page
        for target in re.findall(r'(?:src|href)="([^"#:]+)"', text):  # relative links resolve
            assert (page.parent / target).resolve().is_file(), (page, target)


def test_the_site_lets_readers_filter_by_suite_kind_fidelity_and_tuning(site):
    index = (site / "index.html").read_text()
    for name in ("suite", "kind", "fidelity", "tuned"):
        assert f'data-filter="{name}"' in index
    assert re.search(r'<table class="sortable filterable[^"]*" id="summary"', index)


def test_html_into_a_file_exits_2(tmp_path, capsys):
    (tmp_path / "f").write_text("x")
    assert main(["leaderboard", "--results", str(GOLDEN), "--out", str(tmp_path / "lb.md"),
                 "--html", str(tmp_path / "f")]) == 2
    assert "is a file" in capsys.readouterr().err

"""What a hostile record cannot do to lossbench's outputs: no record field becomes a path, no
plugin string drives a terminal or injects markup, and a board or site is replaced all-or-nothing.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from lossbench import report
from lossbench.all_or_nothing import remove_leftovers, temp_path
from lossbench.cli import main
from lossbench.cli.sweep_commands import refresh_leaderboard
from lossbench.errors import UsageError
from lossbench.file_names import MAX_LENGTH, inside, slug
from lossbench.freshness import up_to_date
from lossbench.progress import SweepProgress
from lossbench.record import Record
from lossbench.report import site
from lossbench.scheduler import run_sweep
from lossbench.spec import RunSpec
from lossbench.store import write_record
from lossbench.text_safety import for_html, for_markdown, for_terminal, one_line

HOSTILE = "evil\x1b[2J\u202egnp.exe\rover"  # clear screen, right-to-left override, carriage return


def spec(loss: str = "cross_entropy", suite: str = "standard", seed: int = 0) -> RunSpec:
    return RunSpec(loss=loss, loss_version="1", suite=suite, task="mnist1d", task_version="1",
                   seed=seed)


def store(results: Path, loss: str = "cross_entropy", suite: str = "standard", seeds=(0, 1),
          error: str = "") -> None:
    for seed in seeds:
        status = "error" if error else "ok"
        write_record(results, Record(spec(loss, suite, seed), status,
                                     {} if error else {"top1": 0.5 + seed / 10, "ece": 0.1},
                                     error, {"device": "cpu"}))


def files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()}


# ---------------------------------------------------------------- file names

def test_a_plain_name_is_its_own_file_name():
    assert [slug(n) for n in ("standard", "cross_entropy", "mnist1d-lt10")] == \
        ["standard", "cross_entropy", "mnist1d-lt10"]


@pytest.mark.parametrize("name", ["../../x", "/etc/passwd", "..", ".", "", "a/b", "C:\\x",
                                  "x" * 10_000, HOSTILE, "Standard"])
def test_any_other_name_becomes_a_short_lower_case_file_name_in_the_folder(name, tmp_path):
    stem = slug(name)
    assert stem and len(stem) <= MAX_LENGTH and stem not in (".", "..")
    assert stem == stem.lower() and stem.isascii() and "/" not in stem and "\\" not in stem
    assert inside(tmp_path, f"{stem}.md").parent == tmp_path


def test_names_that_clean_to_the_same_slug_get_distinct_file_names():
    names = ["a b", "a-b", "a/b", "A-B", "a" * 200, "a" * 201]
    assert len({slug(n) for n in names}) == len(names)
    assert slug("a/b") == slug("a/b")  # deterministic


def test_a_path_leaving_the_output_folder_is_refused(tmp_path):
    for part in ("../x.md", "/tmp/x.md", "."):
        with pytest.raises(ValueError, match="not inside the output folder"):
            inside(tmp_path, part)


def test_a_records_suite_that_is_a_path_writes_only_inside_the_output_folders(tmp_path):
    results, board = tmp_path / "deep" / "results", tmp_path / "deep" / "board"
    board.mkdir(parents=True)
    store(results, suite="../../x")
    store(results, suite=str(tmp_path / "abs"))
    before = files_under(tmp_path)
    report.write(results, board / "lb.md", plots=True, html=board / "site")
    new = files_under(tmp_path) - before
    assert new and all(board in p.parents or results in p.parents for p in new)
    assert not (tmp_path / "x.md").exists() and not (tmp_path / "abs.md").exists()


@pytest.mark.parametrize("entry", ["../../../x", "/abs/x", "e" * 10_000])
def test_a_tuning_manifest_named_after_a_hostile_entry_stays_in_the_tuning_folder(tmp_path,
                                                                                   entry):
    from lossbench.tune import TuningResult, manifest_path, write_manifest

    result = TuningResult("loss", entry, [spec(entry)], [0.5], "val_top1", 0, {})
    path = write_manifest(tmp_path, result, [0])
    assert path == manifest_path(tmp_path, result) and path.is_file()
    assert path.parent == tmp_path / "_tuning" and len(path.name) <= MAX_LENGTH + 5


def test_a_10000_character_entry_name_builds_the_site(tmp_path):
    store(tmp_path / "results", loss="l" * 10_000)
    index = report.write(tmp_path / "results", tmp_path / "lb.md", plots=False,
                         html=tmp_path / "site")
    pages = list((tmp_path / "site" / "entry").iterdir())
    assert index.is_file() and len(pages) == 1 and len(pages[0].name) <= MAX_LENGTH + 5


# ---------------------------------------------------------------- one escaping per medium

def test_control_and_bidi_characters_are_shown_visibly_in_each_medium():
    for text in (for_terminal(HOSTILE), for_markdown(HOSTILE), for_html(HOSTILE)):
        assert not any(ch in text for ch in "\x1b\u202e\r")
    assert for_terminal(HOSTILE) == "evil\\x1b[2J\\u202egnp.exe\\x0dover"
    assert for_html("<a>\u2066") == "&lt;a&gt;\\u2066"
    assert for_terminal("αβ ✓ 中文") == "αβ ✓ 中文"  # printable text of any script is kept


def test_one_line_flattens_whitespace_shows_escapes_and_cuts_with_an_ellipsis():
    assert one_line("a\n  b\tc\x1b[2J") == "a b c\\x1b[2J"
    assert one_line("abcdef", limit=4) == "abc…"
    assert one_line("abcd", limit=4) == "abcd"


def test_an_entry_name_and_error_with_escapes_are_inert_in_markdown_and_html(tmp_path):
    results = tmp_path / "results"
    store(results, loss=HOSTILE)
    store(results, loss="cross_entropy", error=f"RuntimeError: {HOSTILE}")
    report.write(results, tmp_path / "lb.md", plots=False, html=tmp_path / "site")
    texts = [p.read_text(encoding="utf-8") for p in files_under(tmp_path)
             if p.suffix in (".md", ".html")]
    assert len(texts) >= 4
    for text in texts:
        assert not any(ch in text for ch in "\x1b\u202e\r")
    assert any("\\x1b" in text or "\\\\x1b" in text for text in texts)


class _FakeTerminal:
    """Rich's Console on a string buffer that says it is a terminal (colours and all)."""

    def __init__(self, monkeypatch):
        import rich.console

        real = rich.console.Console
        self.buffer = io.StringIO()
        monkeypatch.setattr(rich.console, "Console",
                            lambda **kw: real(**{**kw, "file": self.buffer,
                                                 "force_terminal": True}))


def test_rich_markup_in_a_failed_runs_error_is_printed_as_text_in_a_terminal(monkeypatch):
    term = _FakeTerminal(monkeypatch)
    with SweepProgress(1, mode="rich") as bar:
        bar.finished(Record(spec(HOSTILE), "error", {}, "ValueError: [/red] [bold]x\x1b[2J"))
    out = term.buffer.getvalue()
    assert "[/red] [bold]x\\x1b[2J" in out and "\x1b[2J" not in out and "\u202e" not in out


class _Executor:
    """Returns a failed record whose error is rich markup, then good ones."""

    def map(self, specs, on_start=None):
        for i, s in enumerate(specs):
            if on_start:
                on_start(s)
            yield Record(s, "error" if i == 0 else "ok", {} if i == 0 else {"top1": 0.5},
                         "ValueError: closing tag [/red] at position 0" if i == 0 else "",
                         {"device": "cpu"})

    def close(self):
        pass


def test_a_markup_error_does_not_stop_the_sweep_and_the_leaderboard_is_written(tmp_path,
                                                                                monkeypatch):
    _FakeTerminal(monkeypatch)
    specs = [spec(seed=s) for s in range(3)]
    summary = run_sweep(specs, tmp_path / "results", executor=_Executor(), progress="rich")
    assert [r.status for r in summary.ran] == ["error", "ok", "ok"]
    report.write(tmp_path / "results", tmp_path / "lb.md", plots=False)
    assert "error ×1" in (tmp_path / "lb" / "standard.md").read_text(encoding="utf-8")


# ---------------------------------------------------------------- all-or-nothing

def test_a_site_build_failing_halfway_leaves_the_previous_site_intact(tmp_path, monkeypatch):
    results = tmp_path / "results"
    store(results, loss="cross_entropy")
    store(results, loss="focal")
    report.write(results, tmp_path / "lb.md", plots=False, html=tmp_path / "site")
    before = {p: p.read_bytes() for p in files_under(tmp_path)}
    store(results, loss="focal", seeds=(2,))
    real, calls = site.entry_page, []

    def killed_halfway(*args):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(site, "entry_page", killed_halfway)
    with pytest.raises(KeyboardInterrupt):
        report.write(results, tmp_path / "lb.md", plots=False, html=tmp_path / "site")
    after = {p: p.read_bytes() for p in files_under(tmp_path) if results not in p.parents}
    assert after == {p: b for p, b in before.items() if results not in p.parents}
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_a_full_disk_while_writing_detail_pages_leaves_the_previous_board(board, monkeypatch):
    results, out = board
    before = {p: p.read_bytes() for p in [out, *report.pages_dir(out).iterdir()]}
    store(results, seeds=(2,))
    real = Path.write_text

    def disk_full(self, *args, **kwargs):
        if self.parent.name.endswith(".tmp") and self.name == "standard.md":
            raise OSError(28, "No space left on device")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", disk_full)
    with pytest.raises(OSError, match="No space left"):
        report.write(results, out, plots=False)
    assert {p: p.read_bytes() for p in [out, *report.pages_dir(out).iterdir()]} == before
    assert not [p for p in out.parent.iterdir() if p.name.endswith(".tmp")]
    assert not up_to_date(results, out, report.plots_link(results, out))  # a new record


def test_a_dead_writers_temporary_folder_is_removed_by_the_next_build(tmp_path):
    store(tmp_path / "results")
    dead = tmp_path / f".site.0123456789ab.{2 ** 30}.tmp"  # no process has this id
    live = tmp_path / f".site.0123456789ab.{os.getpid()}.tmp"
    dead.mkdir()
    live.mkdir()
    report.write(tmp_path / "results", tmp_path / "lb.md", plots=False, html=tmp_path / "site")
    assert not dead.exists() and live.exists()
    assert remove_leftovers(tmp_path / "site") == []  # the live one is this process's


def test_temporary_names_are_unique_per_call_and_carry_the_process_id(tmp_path):
    a, b = temp_path(tmp_path / "x.png"), temp_path(tmp_path / "x.png")
    assert a != b and a.name.endswith(f".{os.getpid()}.tmp") and a.parent == tmp_path


def test_a_site_folder_holding_other_files_is_refused_not_deleted(tmp_path):
    store(tmp_path / "results")
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "notes.txt").write_text("mine")
    with pytest.raises(UsageError, match="notes.txt"):
        report.write(tmp_path / "results", tmp_path / "lb.md", plots=False,
                     html=tmp_path / "site")
    assert (tmp_path / "site" / "notes.txt").read_text() == "mine"


@pytest.fixture
def board(tmp_path) -> tuple[Path, Path]:
    results, out = tmp_path / "results", tmp_path / "lb.md"
    store(results)
    store(results, suite="imbalanced")
    report.write(results, out, plots=False)
    return results, out


def test_a_written_board_is_up_to_date_with_its_stamp(board):
    results, out = board
    assert up_to_date(results, out, report.plots_link(results, out))
    assert main(["leaderboard", "--results", str(results), "--out", str(out), "--check"]) == 0


@pytest.mark.parametrize("damage", ["missing", "altered", "added"])
def test_a_detail_page_not_matching_the_stamp_is_reported_and_rebuilt(board, damage):
    results, out = board
    page = report.pages_dir(out) / "standard.md"
    text = page.read_text(encoding="utf-8")
    if damage == "missing":
        page.unlink()
    elif damage == "altered":
        page.write_text(text.replace("standard", "edited"), encoding="utf-8")
    else:
        (report.pages_dir(out) / "extra.md").write_text("stray", encoding="utf-8")
    assert not up_to_date(results, out, report.plots_link(results, out))
    assert main(["leaderboard", "--results", str(results), "--out", str(out), "--check"]) == 1
    refresh_leaderboard(str(results), str(out))  # what `lossbench run` does after a sweep
    assert page.read_text(encoding="utf-8") == text
    assert not (report.pages_dir(out) / "extra.md").exists()
    assert report.is_fresh(results, out)


def _run_in_a_terminal(args: list[str], env: dict[str, str], timeout: float = 600) -> tuple[
        int, str]:
    """``lossbench ARGS`` with its stderr on a pseudo-terminal (so the live rich display is on):
    the exit status and everything it wrote there."""
    import pty
    import select
    import subprocess
    import sys
    import time

    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "lossbench.cli", *args],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=slave,
                            env={**os.environ, **env})
    os.close(slave)
    chunks, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 1.0)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: every writer of the terminal is gone
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    os.close(master)
    return proc.wait(timeout=30), b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.slow
def test_a_plugin_failing_with_markup_in_a_terminal_leaves_the_sweep_and_board_whole(tmp_path):
    """The real thing: a third-party loss (tests/hostile.py, FAILING) whose error is
    ``[/red] ... ESC[2J U+202E CR``, run beside cross-entropy by the CLI with a terminal."""
    from . import hostile

    site = hostile.install_all(tmp_path / "plugin", hostile.FAILING)
    results, board = tmp_path / "r", tmp_path / "lb.md"
    status, shown = _run_in_a_terminal(
        ["run", "--task", "standard/mnist1d", "--seeds", "1", "--epochs", "1", "--loss",
         "raises_markup", "--loss", "cross_entropy", "--results", str(results),
         "--leaderboard", str(board)],
        {"PYTHONPATH": f"{site}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
         "COLUMNS": "400", "OMP_NUM_THREADS": "1"})
    assert status == 1, shown  # one run failed; no traceback, no MarkupError
    assert "MarkupError" not in shown and "Traceback" not in shown
    # the first line of the error (a CR ends it), its escapes visible
    assert "error\x1b[0m raises_markup" in shown
    assert "ValueError: closing tag [/red] at 0 [bold]\\x1b[2J\\u202egnp" in shown
    assert "\x1b[2J" not in shown and "\u202e" not in shown
    detail = (tmp_path / "lb" / "standard.md").read_text(encoding="utf-8")
    assert "error ×1" in detail and "cross_entropy" in detail


@pytest.mark.slow
def test_a_real_plugin_with_a_10000_character_entry_name_runs_and_builds_the_site(tmp_path):
    """The same as an installed package: its entry point's name is 10,000 characters."""
    import os

    from . import hostile
    from .conftest import run_cli

    name = "l" * 10_000
    site = hostile.install_all(tmp_path, {"lossbench-long-name": {
        "module": "long_name", "entries": {name: "long_name:Loss"},
        "source": hostile.CE_LOSS.format(summary="Cross-entropy under a very long name.",
                                         paper="", fidelity="exact")}})
    env = {"PYTHONPATH": os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH", ""))
                                         if p), "OMP_NUM_THREADS": "1"}
    results, board, html = tmp_path / "r", tmp_path / "lb.md", tmp_path / "html"
    ran = run_cli("run", "--loss", name, "--task", "standard/mnist1d", "--seeds", "1",
                  "--epochs", "1", "--no-baseline", "--results", str(results),
                  "--leaderboard", str(board), env=env)
    assert ran.returncode == 0, ran.stderr[-2000:]
    built = run_cli("leaderboard", "--results", str(results), "--out", str(board), "--html",
                    str(html), env=env)
    assert built.returncode == 0, built.stderr[-2000:]
    assert all(len(p.name) <= 255 for p in html.rglob("*"))
    assert (html / "index.html").is_file()

"""The static HTML site of the leaderboard: self-contained files, no server, no network.

One board, two media: the summary (``index.html``), each suite's page (``suite/<suite>.html``)
and the validity page (``suite/_validity.html``) are the markdown pages of
:func:`lossbench.report.render_pages` rendered to HTML (markdown-it, raw HTML off), so every
section, table, legend and mark of the markdown board is on the site too
(``tests/test_report_site_content.py`` compares the two). The site adds what a browser can do:
the tables sort by a click on a column, the summary's rows filter by suite, kind, fidelity and
tuning, entry names link to ``entry/<entry>.html`` (one page per entry: its card as the records
stored it — paper link, summary, the docstring, often the formula —, defaults, search space,
fidelity, its results on every task, and its reliability diagrams as inline SVG drawn from the
recorded bins), plots are shown inline, and the scatter plots are inline SVG with a hover title
on every point.

Width: the summary fits a 1,400 px window (its cells wrap, an interval sits on a second line
under its value and tie group); a table wider than the window scrolls inside its own box, its
entry column staying in place. The pages share one small stylesheet and script, inlined in each
page, so a page opened from disk or served by GitHub Pages works the same. Every string from a
record is escaped (:func:`.site_html.esc`; the markdown by
:func:`lossbench.report.markdown.md_text`, and raw HTML in it is not rendered).

This module assembles the site; its pieces are :mod:`.site_html` (the stylesheet, script and HTML
building blocks), :mod:`.site_markdown` (a markdown page as HTML) and :mod:`.entry_page`.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from ..file_names import inside
from ..freshness import pages_dir
from . import plots as P
from .boards import TaskBoard
from .configs import Config
from .entry_page import entry_page
from .model import Model
from .plot_folder import plot_jobs
from .site_html import entry_file, esc, page
from .site_markdown import PageLinks, markdown_html
from .summary import EntrySummary
from .summary_page import render_summary

#: The site file of the validity page (beside the suite pages; no suite's file name starts with
#: an underscore, :func:`lossbench.file_names.slug`).
VALIDITY_FILE = "suite/_validity.html"


def _fidelities(r: EntrySummary) -> list[str]:
    return sorted({str(c.get("fidelity") or "exact").split(":")[0].split()[0]
                   for c in r.cards.values() if c} or {"unknown"})


def summary_rows(m: Model) -> dict[str, dict[str, str]]:
    """The filter attributes of each summary row, by entry name: the suites it has a cell in, its
    kind, fidelity and tuning."""
    s = m.summary
    if s is None:
        return {}
    return {r.entry: {"data-entry": r.entry,
                      "data-suite": " ".join(su for su in s.suites
                                             if r.cells.get(su) is not None or su in r.flags),
                      "data-kind": r.kind, "data-fidelity": " ".join(_fidelities(r)),
                      "data-tuned": "yes" if r.tuned else "no"} for r in s.rows}


def filters_html(m: Model, suites: list[str]) -> str:
    """The summary's filters (suite, kind, fidelity, tuning)."""
    s = m.summary
    if s is None or not s.rows:
        return ""
    kinds = sorted({r.kind for r in s.rows})
    fidelities = sorted({f for r in s.rows for f in _fidelities(r)})

    def select(name: str, label: str, options: list[str]) -> str:
        opts = "".join(f'<option value="{esc(o)}">{esc(o)}</option>' for o in options)
        return (f'<label>{esc(label)} <select id="filter-{name}" data-filter="{name}">'
                f'<option value="">all</option>{opts}</select></label>')

    return ('<div class="filters">Show: ' + select("suite", "suite", suites)
            + select("kind", "kind", kinds) + select("fidelity", "fidelity", fidelities)
            + select("tuned", "tuned", ["yes", "no"]) + " (click a column head to sort)</div>")


def index_page(m: Model, summary: str | None = None, links: PageLinks | None = None,
               results_dir="results") -> str:
    """``index.html``: the markdown summary (rendered from ``m`` when not given, without the
    validity section, which needs the records of every seed) with its tables sortable and its
    entry tables filterable; ``links`` default to a site of the summary alone."""
    if summary is None:
        summary = render_summary(m, "", "leaderboard", "", source=results_dir)
    if links is None:
        suites = sorted({b.suite for s in m.sections for b in s.boards})
        links = PageLinks("leaderboard.md", "index.html", {}, entries=entry_labels(m),
                          rows=summary_rows(m), filters=filters_html(m, suites))
    body = markdown_html(summary, links)
    return page("lossbench leaderboard", body, "")


def entry_labels(m: Model) -> set[str]:
    """The entries that get a page: every configuration's label."""
    return {c.label for s in m.sections for b in s.boards for c in b.ranked()}


def markdown_page(title: str, text: str, links: PageLinks, results_dir) -> str:
    """A detail page (a suite's, the validity page) of the markdown board as a site page."""
    root = links.relative("index.html")[:-len("index.html")]
    return page(title, markdown_html(text, links), root)


#: What a site folder holds: a folder holding anything else is not replaced.
SITE_NAMES = frozenset({"index.html", "suite", "entry", "plots", ".nojekyll"})


def check_folder(folder: Path) -> None:
    """The site is replaced whole: refuse (UsageError) a folder that holds anything but a
    site's files, which the swap would delete."""
    from ..errors import UsageError

    if folder.is_dir() and not folder.is_symlink():
        extra = sorted(p.name for p in folder.iterdir() if p.name not in SITE_NAMES)
        if extra:
            raise UsageError(f"--html {str(folder)!r} holds {', '.join(map(repr, extra[:3]))}, "
                             f"which is not part of a lossbench site; the site is rebuilt whole, "
                             f"so give an empty or new folder, or the folder of a previous site")
    elif folder.exists() or folder.is_symlink():
        raise UsageError(f"--html {str(folder)!r} is not a folder; give a folder for the site")


def write(m: Model, results_dir, folder: Path, texts: dict[Path, str], summary: Path,
          drawn: Path | None = None) -> Path:
    """Write the site into ``folder``, all-or-nothing: built whole in a temporary folder beside
    it and swapped in (:func:`lossbench.all_or_nothing.replace_folder`), so a build killed or
    failing halfway leaves the previous site as it was. ``texts``: the markdown pages of the
    same model (:func:`lossbench.report.render_pages`, ``summary`` the key of the summary). Its
    plots go to ``folder/plots``: copied from ``drawn`` (a plot folder just drawn from the same
    model) when given, else drawn."""
    from ..all_or_nothing import replace_folder

    folder = Path(folder)
    check_folder(folder)
    replace_folder(folder, lambda new: _build(m, new, drawn, texts, Path(summary), results_dir))
    return folder / "index.html"


def site_files(texts: dict[Path, str], summary: Path) -> dict[str, str]:
    """Each markdown page (as a posix path) and its file in the site: the summary
    ``index.html``, the detail pages ``suite/<name>.html``."""
    out = {summary.as_posix(): "index.html"}
    pages = pages_dir(summary)
    for path in texts:
        if path != summary and path.parent == pages:
            out[path.as_posix()] = f"suite/{path.stem}.html"
    return out


def _build(m: Model, folder: Path, drawn: Path | None, texts: dict[Path, str],
           summary: Path, results_dir) -> None:
    """Every file of the site, into the empty folder ``folder``."""
    suites = sorted({b.suite for s in m.sections for b in s.boards})
    jobs = plot_jobs(m)
    plots_dir = folder / "plots"
    every = [j for v in jobs.values() for j in v]
    if drawn is not None and all((Path(drawn) / name).is_file() for _, name, _ in every):
        plots_dir.mkdir(parents=True)
        for _, name, _ in every:
            shutil.copyfile(inside(drawn, name), inside(plots_dir, name))
    else:
        P.draw(every, plots_dir)
    svgs = {name: P.inline_svg((plots_dir / name).read_text(encoding="utf-8"))
            for _, name, _ in every if name.endswith(".svg")}
    by_entry: dict[str, list[tuple[TaskBoard, Config]]] = {}
    for section in m.sections:
        for b in section.boards:
            for c in b.ranked():
                by_entry.setdefault(c.label, []).append((b, c))
    mapping = site_files(texts, summary)
    files: dict[Path, str] = {}
    for path, text in texts.items():
        target = mapping.get(path.as_posix())
        if target is None:
            continue
        links = PageLinks(path.as_posix(), target, mapping, {n for _, n, _ in every}, svgs,
                          set(by_entry), summary_rows(m) if target == "index.html" else {},
                          filters_html(m, suites) if target == "index.html" else "")
        html = (index_page(m, text, links, results_dir) if target == "index.html" else
                markdown_page(f"lossbench: {Path(target).stem.lstrip('_')}", text, links,
                              results_dir))
        files[inside(folder, target)] = html
    for entry, configs in sorted(by_entry.items()):
        files[inside(folder, entry_file(entry))] = entry_page(m, entry, configs)
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (folder / ".nojekyll").write_text("", encoding="utf-8")

"""The leaderboard: rendered from the results store, and only from it.

A small package: :mod:`.model` turns the records (and tuning manifests) into boards with their
statistics (:mod:`.configs`, :mod:`.boards`, :mod:`.versus`, :mod:`.aggregates`,
:mod:`.summary`, :mod:`.answers`); the renderers consume the model — :mod:`.summary_page` (the
one-screen summary ``leaderboard.md``) and :mod:`.suite_page` (one detail page per suite,
``leaderboard/<suite>.md``) from the building blocks of :mod:`.markdown`, :mod:`.site` (a
static HTML site) and :mod:`.plots` (PNG figures). Nothing here imports torch, an entry or a
suite: what the report needs of them was stored in each record at run time
(:mod:`lossbench.record_meta`), so the same results render the same bytes whatever is installed.

Deterministic: the same result files give byte-identical output (no clocks, stable sorting,
fixed bootstrap seeds), so a test can regenerate the committed leaderboard and compare.
"""

from __future__ import annotations

from pathlib import Path

from ..file_names import inside, slug
from ..freshness import pages_dir, pages_on_disk, plots_link, stamp
from ..store import PLOTS_DIR, load_manifests, scan
from . import model
from .configs import Config
from .markdown import HEADER, md_text
from .model import Model
from .plot_folder import draw_plots, plot_jobs
from .validity import split_confirmation

__all__ = ["HEADER", "Config", "Model", "build_model", "is_fresh", "md_text", "pages_dir",
           "plots_link", "render", "render_pages", "write", "write_site"]


def build_model(results_dir: str | Path = "results") -> Model:
    """The model of every record (and tuning manifest) in ``results_dir``."""
    from ..integrity import verify

    stored = scan(results_dir)
    untrusted = [(p.name, reason) for p, reason in stored.untrusted()]
    runs = stored.load()
    board, _ = split_confirmation(runs, _catalog())
    m = model.build(board, load_manifests(results_dir), untrusted,
                    verify(results_dir).board_line())
    m.all_runs = runs
    return m


def _catalog():
    """The shipped findings catalog; when it cannot be read the board keeps every seed (and its
    validity section says why the catalog was not judged)."""
    from ..catalog import load_catalog
    from ..errors import UsageError

    try:
        return load_catalog()
    except UsageError:
        return None


def results_name(results_dir: str | Path, out: str | Path) -> str:
    """The results folder as the board names it: relative to the summary's folder when inside
    it (``results`` for ``leaderboard.md`` beside ``results/``, however the command spelled the
    paths), else its absolute path, so the same folder always renders the same bytes."""
    folder, base = Path(results_dir).resolve(), Path(out).resolve().parent
    try:
        return folder.relative_to(base).as_posix() or "."
    except ValueError:
        return folder.as_posix()


def render_pages(results_dir: str | Path = "results", out: str | Path = "leaderboard.md",
                 plots_dir: str | Path | None = None, link: str | None = None,
                 m: Model | None = None) -> dict[Path, str]:
    """Every markdown page for ``results_dir``: ``{out: summary, pages_dir(out)/<suite>.md:
    detail page}``. ``plots_dir``: where to draw the plots (None: do not draw). ``link``: how
    the summary refers to the plot folder (default: relative from ``out``)."""
    from .catalog_section import leaderboard_section
    from .suite_page import render_suite
    from .summary_page import render_summary
    from .validity import PAGE, sections

    out = Path(out)
    source = results_name(results_dir, out)
    m = m if m is not None else build_model(results_dir)
    link = (link if link is not None else plots_link(results_dir, out)).rstrip("/")
    pages = pages_dir(out)
    every_seed = m.runs if m.all_runs is None else m.all_runs
    validity, caveats, validity_page = (sections(every_seed, page_link=f"{pages.name}/{PAGE}",
                                                 source=source)
                                        if not every_seed.empty else ("", {}, ""))
    # findings declared by the suites themselves (third-party suites; '' when none declares any)
    findings = validity + (leaderboard_section(m.runs) if not m.runs.empty else "")
    jobs = plot_jobs(m)
    page_link = plots_link(results_dir, pages / "x.md")
    detail: dict[Path, str] = {}
    for suite in sorted({b.suite for s in m.sections for b in s.boards}):
        listed = {k: [(t, n) for t, n, _ in v] for k, v in jobs.items()}
        detail[inside(pages, f"{slug(suite)}.md")] = render_suite(
            m, suite, page_link, listed, f"../{out.name}", caveats.get(suite, ""),
            source=source)
    if validity_page:
        detail[inside(pages, PAGE)] = validity_page
    summary_stamp = stamp(results_dir, link, {p.name: t for p, t in detail.items()})
    texts = {out: render_summary(m, summary_stamp, pages.name, findings, source=source),
             **detail}
    if plots_dir is not None:
        draw_plots([j for v in jobs.values() for j in v], Path(plots_dir), results_dir)
    return texts


def render(results_dir: str | Path = "results", plots_dir: str | Path | None = None,
           plots_link: str | None = None) -> str:
    """The summary markdown (``leaderboard.md``) for every run in ``results_dir``; with
    ``plots_dir``, the plots are drawn there too."""
    texts = render_pages(results_dir, "leaderboard.md", plots_dir, plots_link)
    return texts[Path("leaderboard.md")]


def write(results_dir: str | Path = "results", out: str | Path = "leaderboard.md",
          plots: bool = True, html: str | Path | None = None) -> Path:
    """Regenerate ``out``, its detail pages (``pages_dir(out)``) and, with ``plots``, the plots
    under ``<results_dir>/_plots``; with ``html``, also the static site in that folder (one
    model, the plots drawn once).

    All-or-nothing (:mod:`lossbench.all_or_nothing`): the site and the detail-page folder are
    each built whole beside their target and swapped in; the summary, whose stamp certifies the
    detail pages, is written last. A writer killed or failing halfway leaves the previous
    outputs as they were."""
    from ..all_or_nothing import replace_folder, write_text

    out = Path(out)
    pages = pages_dir(out)
    check_pages_folder(pages)
    if html is not None:
        from . import site

        site.check_folder(Path(html))
    plots_dir = Path(results_dir) / PLOTS_DIR if plots else None
    m = build_model(results_dir)
    texts = render_pages(results_dir, out, plots_dir, m=m)
    if html is not None:
        from . import site

        site.write(m, results_dir, Path(html), texts, out, drawn=plots_dir)
    detail = {path: text for path, text in texts.items() if path != out}

    def build(folder: Path) -> None:
        for path, text in detail.items():
            inside(folder, path.name).write_text(text, encoding="utf-8")

    if detail or pages.exists():
        replace_folder(pages, build)
    write_text(out, texts[out])
    return out


def check_pages_folder(pages: Path) -> None:
    """The detail-page folder is replaced whole: refuse (UsageError) one holding anything but
    markdown files, which the swap would delete."""
    from ..errors import UsageError

    if pages.is_symlink() or (pages.exists() and not pages.is_dir()):
        raise UsageError(f"the detail pages go to {str(pages)!r}, which is not a folder; move "
                         f"it away or choose another --out")
    if pages.is_dir():
        for path in pages.iterdir():
            leftover = path.name.startswith(".") and path.name.endswith(".tmp")
            if not (path.is_file() and (path.suffix == ".md" or leftover)):
                raise UsageError(f"the detail-page folder {str(pages)!r} holds {path.name!r}, "
                                 f"which is not a detail page; it is rebuilt whole, so move that "
                                 f"away first")


def is_fresh(results_dir: str | Path = "results", out: str | Path = "leaderboard.md") -> bool:
    """Whether ``out`` and its detail pages exist and equal what ``results_dir`` renders, and
    the detail-page folder holds nothing else."""
    texts = render_pages(results_dir, out)
    for path, text in texts.items():
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            return False
    expected = {path.name for path in texts if path != Path(out)}
    return set(pages_on_disk(out)) == expected


def write_site(results_dir: str | Path, folder: str | Path) -> Path:
    """Build the static HTML site of ``results_dir`` in ``folder`` (see :mod:`.site`); returns
    the path of its ``index.html``."""
    from . import site

    m = build_model(results_dir)
    summary = Path("leaderboard.md")
    return site.write(m, results_dir, Path(folder), render_pages(results_dir, summary, m=m),
                      summary)

"""One board, two media: the HTML site carries what the markdown board carries.

Both are rendered from the same small results folder; each markdown page (the summary, a suite's
page, the validity page) and its site page are reduced to what a reader sees — headings,
paragraphs, list items and tables, in order, as plain text — by two independent extractors (a
line parser of the markdown, :mod:`html.parser` for the HTML). Every block of the markdown must
be on the site page, in the same order, with the same text: a table with the same header, the
same rows and the same cells; and the marks († approximate, ‡ unpublished, ⚠ few seeds) occur as
often on both. A section added to the markdown that the site does not show fails here.
"""

from __future__ import annotations

import html
import json
import os
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from lossbench import report
from lossbench.record import Record
from lossbench.report import site
from lossbench.spec import RunSpec
from lossbench.store import write_record

MARKS = ("†", "‡", "⚠")
TOP1 = {"cross_entropy": [0.80, 0.82, 0.84, 0.86], "focal": [0.83, 0.85, 0.86, 0.90],
        "approx_loss": [0.70, 0.72]}  # two seeds only: the ⚠ of few seeds
FIDELITY = {"cross_entropy": "exact", "focal": "exact", "approx_loss": "approximate: no warm-up"}


def _record(loss: str, seed: int, top1: float) -> Record:
    card = {"name": loss, "kind": "loss", "version": "1", "objective": "classification",
            "hparams": {}, "paper": f"https://example.org/{loss}", "fidelity": FIDELITY[loss],
            "summary": f"The {loss} loss: ``L = -log p_y``.", "doc": f"{loss}: ``L = ...``"}
    task = {"headline": ["top1"], "description": "a tiny task",
            "higher_is_better": {"top1": True, "ece": False}}
    spec = RunSpec(loss=loss, loss_version="1", suite="standard", task="mnist1d",
                   task_version="1", seed=seed)
    meta = {"card_json": json.dumps({"loss": card, "regularizer": None}),
            "task_json": json.dumps(task), "started_at": f"2026-01-0{seed + 1}T00:00:00"}
    return Record(spec, "ok", {"top1": top1, "ece": 1 - top1 - 0.1}, "", meta)


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("board")


@pytest.fixture(scope="module")
def boards(root) -> tuple[dict[str, str], dict[str, str]]:
    """(markdown page -> text, the same page's site file -> HTML), from one results folder;
    the site is in ``root/site``."""
    for loss, values in TOP1.items():
        for seed, top1 in enumerate(values):
            write_record(root / "results", _record(loss, seed, top1))
    here = os.getcwd()
    os.chdir(root)  # both media name the results folder as given: results/
    try:
        results, summary = Path("results"), Path("lb.md")
        m = report.build_model(results)
        texts = report.render_pages(results, summary, None, m=m)
        site.write(m, results, Path("site"), texts=texts, summary=summary)
    finally:
        os.chdir(here)
    mapping = site.site_files(texts, summary)
    md = {mapping[p.as_posix()]: t for p, t in texts.items()}
    return md, {name: (root / "site" / name).read_text(encoding="utf-8") for name in md}


# ---------------------------------------------------------------- what a reader sees

def _inline(text: str) -> str:
    """Markdown inline text as plain text: code spans, links, emphasis, escapes and entities."""
    kept: list[str] = []

    def keep(value: str) -> str:
        kept.append(value)
        return f"\0{len(kept) - 1}\0"

    text = re.sub(r"`([^`]*)`", lambda m: keep(m.group(1)), text)
    text = re.sub(r"\\(.)", lambda m: keep(m.group(1)), text)
    text = re.sub(r"\[([^\]]*)\](?:\([^)]*\)|\[[^\]]*\])", r"\1", text)
    text = text.replace("*", "")
    text = re.sub(r"(?<!\w)_(?=\S)(.+?)(?<=\S)_(?!\w)", r"\1", text)
    text = html.unescape(text)
    while "\0" in text:
        text = re.sub(r"\0(\d+)\0", lambda m: kept[int(m.group(1))], text)
    return " ".join(text.split())


def markdown_blocks(text: str) -> list[tuple]:
    """A markdown page as (kind, text) blocks; a table as ("table", rows of cells)."""
    blocks: list[tuple] = []
    para: list[str] = []
    rows: list[tuple[str, ...]] = []

    def flush() -> None:
        if para:
            blocks.append(("p", _inline(" ".join(para))))
            para.clear()
        if rows:
            blocks.append(("table", tuple(rows)))
            rows.clear()

    for line in text.splitlines():
        line = line.strip()
        if line.startswith(">"):
            line = line[1:].strip()
        if line.startswith("<!--") or re.match(r"\[[^\]]+\]: ", line):
            continue
        if line.startswith("|"):
            if para:
                flush()
            if not re.fullmatch(r"\|[\s:|-]+\|", line):
                cells = re.split(r"(?<!\\)\|", line.strip("|"))
                rows.append(tuple(_inline(c) for c in cells))
            continue
        if rows:
            flush()
        if not line:
            flush()
        elif line.startswith("#"):
            flush()
            blocks.append(("h", _inline(line.lstrip("#"))))
        elif line.startswith("- "):
            flush()
            blocks.append(("li", _inline(line[2:])))
        else:
            para.append(line)
    flush()
    return blocks


class _Blocks(HTMLParser):
    """An HTML page as the same (kind, text) blocks (the text inside an inline SVG, a plot's
    hover titles, is not a block)."""

    KINDS = {"h1": "h", "h2": "h", "h3": "h", "h4": "h", "h5": "h", "h6": "h", "p": "p",
             "li": "li"}

    def __init__(self) -> None:
        super().__init__()
        self.blocks: list[tuple] = []
        self.stack: list[tuple[str, list[str]]] = []
        self.table: list[tuple[str, ...]] | None = None
        self.row: list[str] | None = None
        self.svg = 0

    def handle_starttag(self, tag, attrs):
        if tag == "svg":
            self.svg += 1
        elif tag in self.KINDS or tag in ("td", "th"):
            self.stack.append((tag, []))
        elif tag == "table":
            self.table = []
        elif tag == "tr":
            self.row = []

    def handle_endtag(self, tag):
        if tag == "svg":
            self.svg -= 1
        elif self.stack and tag == self.stack[-1][0]:
            name, parts = self.stack.pop()
            text = " ".join("".join(parts).split())
            if name in ("td", "th"):
                self.row.append(text)
            else:
                self.blocks.append((self.KINDS[name], text))
            if self.stack:  # a block inside another (a paragraph in a list item)
                self.stack[-1][1].append(" " + "".join(parts) + " ")
        elif tag == "tr":
            self.table.append(tuple(self.row))
        elif tag == "table":
            self.blocks.append(("table", tuple(self.table)))

    def handle_data(self, data):
        if self.stack and not self.svg and self.stack[-1][0] != "title":
            self.stack[-1][1].append(data)


def html_blocks(text: str) -> list[tuple]:
    parser = _Blocks()
    parser.feed(text)
    return parser.blocks


def _missing(wanted: list[tuple], have: list[tuple]) -> list[tuple]:
    """The blocks of ``wanted`` not found in ``have`` in order (empty: a subsequence)."""
    missing, at = [], 0
    for block in wanted:
        try:
            at = have.index(block, at) + 1
        except ValueError:
            missing.append(block)
    return missing


# ---------------------------------------------------------------- the tests

def test_the_site_has_a_page_for_every_markdown_page(boards):
    md, _ = boards
    assert {"index.html", "suite/standard.html", "suite/_validity.html"} <= set(md)


@pytest.mark.parametrize("name", ["index.html", "suite/standard.html", "suite/_validity.html"])
def test_every_markdown_block_is_on_the_site_page_in_order(boards, name):
    md, pages = boards
    wanted = markdown_blocks(md[name])
    assert wanted and _missing(wanted, html_blocks(pages[name])) == []


@pytest.mark.parametrize("name", ["index.html", "suite/standard.html", "suite/_validity.html"])
def test_the_tables_have_the_same_rows_and_cells(boards, name):
    md, pages = boards
    tables = [b for b in markdown_blocks(md[name]) if b[0] == "table"]
    on_site = [b for b in html_blocks(pages[name]) if b[0] == "table"]
    assert tables and _missing(tables, on_site) == []


@pytest.mark.parametrize("name", ["index.html", "suite/standard.html", "suite/_validity.html"])
def test_the_marks_occur_as_often_on_both(boards, name):
    md, pages = boards
    seen_md = " ".join(str(b[1]) for b in markdown_blocks(md[name]))
    seen_html = " ".join(str(b[1]) for b in html_blocks(pages[name]))
    assert [seen_md.count(m) for m in MARKS] == [seen_html.count(m) for m in MARKS]


def test_the_fixture_exercises_the_marks_findings_and_paired_tables(boards):
    md, _ = boards
    suite = md["suite/standard.html"]
    assert "approx_loss†" in suite and "⚠" in suite  # an approximate entry with few seeds
    assert "versus cross-entropy" in suite  # the paired table
    assert "Do the embedded suites agree with the literature?" in md["index.html"]


def test_a_block_the_site_lacks_is_found_missing(boards):
    md, pages = boards
    added = md["index.html"] + "\n## Which loss for long-tailed data?\n\n- focal: +0.03\n"
    assert _missing(markdown_blocks(added), html_blocks(pages["index.html"])) == [
        ("h", "Which loss for long-tailed data?"), ("li", "focal: +0.03")]


def test_the_site_names_the_results_folder_it_was_built_from(tmp_path):
    m = report.build_model(tmp_path)
    assert f"from <code>{tmp_path.as_posix()}/</code>" in site.index_page(m, results_dir=tmp_path)


def test_links_between_pages_point_at_site_pages(boards):
    _, pages = boards
    assert 'href="suite/standard.html"' in pages["index.html"]
    assert 'href="suite/_validity.html"' in pages["index.html"]
    assert 'href="../index.html"' in pages["suite/standard.html"]
    assert 'href="../entry/approx_loss.html"' in pages["suite/standard.html"]


def test_the_scatter_is_inline_svg_with_a_hover_title_per_point(boards):
    _, pages = boards
    page = pages["suite/standard.html"]
    scatter = page[page.index('<svg class="plot"'):]
    scatter = scatter[:scatter.index("</svg>")]
    titles = re.findall(r"<title>([^<]*)</title>", scatter)
    assert sorted(t.split(" on ")[0] for t in titles) == sorted(TOP1)  # one per entry's point


def test_no_page_of_the_site_shows_rest_markup(boards, root):
    for path in (root / "site").rglob("*.html"):
        assert "``" not in path.read_text(encoding="utf-8"), path
    focal = (root / "site" / "entry" / "focal.html").read_text(encoding="utf-8")
    assert "The focal loss: <code>L = -log p_y</code>." in focal


def test_the_filters_sit_on_the_ranking_not_on_an_answer_table(boards):
    _, pages = boards
    index = pages["index.html"]
    summary_table = index[index.index('id="summary"'):]
    header = summary_table[:summary_table.index("</thead>")]
    assert ">paper<" in header  # the entry × suite ranking, not a per-question answer table
    assert index.index('class="filters"') < index.index('id="summary"')

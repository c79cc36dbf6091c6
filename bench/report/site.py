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
record is escaped (:func:`esc`; the markdown by
:func:`lossbench.report.markdown.md_text`, and raw HTML in it is not rendered).
"""

from __future__ import annotations

import json
import math
import posixpath
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from ..file_names import inside, slug
from ..freshness import STAMP_PREFIX, pages_dir
from ..paper_links import paper_url
from ..text_safety import for_html
from . import markdown as md
from . import model as M
from . import plots as P

CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0 auto;
max-width:1400px;padding:0 16px 40px;color:#1b1f23;box-sizing:border-box}
h1{font-size:24px}h2{font-size:19px;margin-top:28px}h3{font-size:16px}h4{font-size:14px}
p,li{max-width:1100px}
.scroll{overflow-x:auto;max-width:100%;margin:8px 0}
table{border-collapse:separate;border-spacing:0;font-size:13px}
th,td{border:1px solid #d0d7de;border-width:0 1px 1px 0;padding:3px 7px;text-align:left;
white-space:nowrap;background:#fff;vertical-align:top}
tr>:first-child{border-left-width:1px}thead tr:first-child>*{border-top-width:1px}
th{background:#f6f8fa;cursor:pointer;user-select:none}
th.sorted-asc::after{content:" \\25B2"}th.sorted-desc::after{content:" \\25BC"}
td.n{text-align:right}td.l,th.l{text-align:left}tbody tr:nth-child(even)>td{background:#fafbfc}
.entry{position:sticky;left:0;z-index:1;text-align:left}
th.entry{z-index:2}
table.fit th,table.fit td{white-space:normal}
table.fit td.entry{min-width:9em}
.iv{display:inline-flex;flex-wrap:wrap;justify-content:flex-end;column-gap:.3em}
.iv .ci{order:3;flex-basis:100%;text-align:right;font-size:11px;color:#57606a;white-space:nowrap}
.note{color:#57606a;max-width:1100px}.filters{margin:10px 0}.filters label{margin-right:14px}
pre{background:#f6f8fa;padding:10px;overflow:auto;max-width:1100px;white-space:pre-wrap}
code{background:#f6f8fa;padding:0 3px;border-radius:3px}
blockquote{margin:8px 0;padding:2px 12px;border-left:4px solid #d4a72c;background:#fff8c5}
img{max-width:100%;border:1px solid #eee;margin:6px 0}
figure{margin:6px 0}
.svgs{display:flex;flex-wrap:wrap;gap:10px}.svgs figure{margin:0;text-align:center}
svg.plot{max-width:100%;height:auto}
nav a{margin-right:12px}.warn{color:#9a6700}
"""

JS = """
function cellValue(td){var v=td.getAttribute('data-sort');if(v===null)v=td.textContent.trim();
var n=parseFloat(v);return (v!==''&&!isNaN(n)&&isFinite(v))?n:v.toLowerCase();}
function sortTable(th){var table=th.closest('table'),tbody=table.tBodies[0];
var idx=Array.prototype.indexOf.call(th.parentNode.children,th);
var asc=!th.classList.contains('sorted-asc');
Array.prototype.forEach.call(th.parentNode.children,function(h){h.classList.remove('sorted-asc','sorted-desc');});
th.classList.add(asc?'sorted-asc':'sorted-desc');
var rows=Array.prototype.slice.call(tbody.rows);
rows.sort(function(a,b){var x=cellValue(a.cells[idx]),y=cellValue(b.cells[idx]);
var xm=(x===''||x==='–'),ym=(y===''||y==='–');if(xm!==ym)return xm?1:-1;
if(typeof x!==typeof y){x=String(x);y=String(y);}
return (x<y?-1:x>y?1:0)*(asc?1:-1);});
rows.forEach(function(r){tbody.appendChild(r);});}
function applyFilters(){var sel=document.querySelectorAll('select[data-filter]');
var rows=document.querySelectorAll('table.filterable tbody tr');
rows.forEach(function(r){var show=true;sel.forEach(function(s){var v=s.value;if(!v)return;
var have=(r.getAttribute('data-'+s.getAttribute('data-filter'))||'').split(' ');
if(have.indexOf(v)<0)show=false;});r.style.display=show?'':'none';});}
document.addEventListener('DOMContentLoaded',function(){
document.querySelectorAll('table.sortable th').forEach(function(th){
th.addEventListener('click',function(){sortTable(th);});});
document.querySelectorAll('select[data-filter]').forEach(function(s){
s.addEventListener('change',applyFilters);});});
"""

#: Marks a table cell may carry after an entry's name (unpublished, approximate, few seeds).
ENTRY_MARKS = md.UNPUBLISHED_MARK + md.APPROXIMATE_MARK + "⚠ "
#: The site file of the validity page (beside the suite pages; no suite's file name starts with
#: an underscore, :func:`lossbench.file_names.slug`).
VALIDITY_FILE = "suite/_validity.html"
_NUMBER = r"[-+]?\d+(?:\.\d+)?"
_INTERVAL_CELL = re.compile(rf"({_NUMBER}) (\[{_NUMBER}, {_NUMBER}\])(.*)")
_LEADING_NUMBER = re.compile(rf"\s*({_NUMBER})")


def esc(value, multiline: bool = False) -> str:
    """Text from a record as HTML: :func:`lossbench.text_safety.for_html`, the one HTML escaping
    function (control and bidi characters written visibly, ``& < > " '`` escaped); with
    ``multiline``, newlines are kept (``<pre>`` blocks)."""
    return for_html(value, multiline)


def _safe_url(url: str | None) -> str | None:
    return url if url and url.startswith(("https://", "http://")) else None


def page(title: str, body: str, root: str) -> str:
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
            f"<title>{esc(title)}</title><style>{CSS}</style><script>{JS}</script></head>"
            f"<body><nav><a href=\"{root}index.html\">summary</a></nav>\n{body}\n</body></html>\n")


def scroll(html: str) -> str:
    """``html`` (a table) in a box that scrolls sideways when it is wider than the window."""
    return f'<div class="scroll">{html}</div>'


def table(headers: list[tuple[str, bool]], rows: list[tuple[dict[str, str], list[str]]],
          cls: str = "sortable", table_id: str = "") -> str:
    """``headers``: (text, left-aligned); ``rows``: (row attributes, cell HTML); in its
    scrolling box (:func:`scroll`)."""
    ident = f' id="{esc(table_id)}"' if table_id else ""
    head = "".join(f'<th class="{"l" if left else ""}">{esc(h)}</th>' for h, left in headers)
    body = []
    for attrs, cells in rows:
        a = "".join(f' {k}="{esc(v)}"' for k, v in attrs.items())
        tds = "".join(cell if cell.startswith("<td") else f"<td>{cell}</td>" for cell in cells)
        body.append(f"<tr{a}>{tds}</tr>")
    return scroll(f'<table class="{cls}"{ident}><thead><tr>{head}</tr></thead><tbody>'
                  + "\n".join(body) + "</tbody></table>")


def td(text: str, sort=None, left: bool = False, raw: bool = False) -> str:
    s = "" if sort is None else f' data-sort="{esc(sort)}"'
    c = ' class="l"' if left else ""
    return f"<td{c}{s}>{text if raw else esc(text)}</td>"


def entry_file(entry: str) -> str:
    """The page of ``entry``, relative to the site's root (:func:`lossbench.file_names.slug`)."""
    return f"entry/{slug(entry)}.html"


def suite_file(suite: str) -> str:
    """The page of ``suite``, relative to the site's root (:func:`lossbench.file_names.slug`)."""
    return f"suite/{slug(suite)}.html"


def rest_inline(text: str) -> str:
    """Card text (a summary, a docstring) as HTML: escaped, with reST inline literals
    (````code````) and roles (``:math:`x```) shown as ``<code>``, not as raw markup."""
    out, pos = [], 0
    for m in re.finditer(r"(?::[\w.-]+:)?``(.+?)``|(?::[\w.-]+:)`([^`]+)`", text, re.S):
        out.append(esc(text[pos:m.start()], True))
        out.append(f"<code>{esc(m.group(1) or m.group(2), True)}</code>")
        pos = m.end()
    return "".join(out) + esc(text[pos:], True)


# ---------------------------------------------------------------- markdown pages as HTML

@dataclass
class PageLinks:
    """How a markdown page's links and tables become the site's: ``md_path`` is the page's path
    among the markdown pages, ``html_path`` its file in the site; ``pages`` maps every markdown
    page to its site file; ``plots`` names the plot files (shown inline: ``svgs`` holds the
    inline markup of the SVG ones); ``entries`` the entries with a page; ``rows`` the filter
    attributes of the summary's rows (by entry name)."""

    md_path: str
    html_path: str
    pages: dict[str, str]
    plots: set[str] = field(default_factory=set)
    svgs: dict[str, str] = field(default_factory=dict)
    entries: set[str] = field(default_factory=set)
    rows: dict[str, dict[str, str]] = field(default_factory=dict)
    filters: str = ""

    def relative(self, target: str) -> str:
        """``target`` (a path in the site) relative to this page."""
        return posixpath.relpath(target, posixpath.dirname(self.html_path) or ".")

    def href(self, href: str) -> str:
        """A link of the markdown page as a link of the site: another markdown page becomes its
        site file, a plot the site's copy; anything else is unchanged."""
        if re.match(r"[a-z][a-z0-9+.-]*:|#|/", href):
            return href
        base = posixpath.basename(href)
        if base in self.plots:
            return self.relative(f"plots/{base}")
        target = posixpath.normpath(posixpath.join(posixpath.dirname(self.md_path), href))
        return self.relative(self.pages[target]) if target in self.pages else href


def _markdown_it():
    from markdown_it import MarkdownIt

    renderer = MarkdownIt("commonmark", {"html": False}).enable("table")

    def table_open(self, tokens, idx, options, env):
        before = tokens[idx].meta.get("before", "")
        return before + '<div class="scroll">' + self.renderToken(tokens, idx, options, env)

    def table_close(self, tokens, idx, options, env):
        return self.renderToken(tokens, idx, options, env) + "</div>\n"

    renderer.add_render_rule("table_open", table_open)
    renderer.add_render_rule("table_close", table_close)
    return renderer


def _plain(inline) -> str:
    """The text of an inline token (what a reader sees)."""
    return "".join(c.content for c in inline.children or [] if c.type in ("text", "code_inline"))


def _html_token(token_class, content: str):
    t = token_class("html_inline", "", 0)
    t.content = content
    return t


def _add_class(token, cls: str) -> None:
    have = token.attrGet("class")
    token.attrSet("class", f"{have} {cls}" if have else cls)


def markdown_html(text: str, links: PageLinks) -> str:
    """A markdown page of the board as HTML for the site: links mapped (:meth:`PageLinks.href`),
    a list item that only links a plot shows the plot, every table sortable in its scrolling box
    (the summary's tables fit the window and filter), an entry's name links its page, a cell's
    interval goes under its value."""
    from markdown_it.token import Token

    text = "\n".join(line for line in text.splitlines() if not line.startswith(STAMP_PREFIX))
    mdi = _markdown_it()
    tokens = mdi.parse(text)
    index = links.html_path == "index.html"
    first_entry_table = True
    entry_col = -1
    col = 0
    in_body = False
    row_token = None
    for i, tok in enumerate(tokens):
        if tok.type == "table_open":
            header = []
            for t in tokens[i + 1:]:
                if t.type == "thead_close":
                    break
                if t.type == "inline":
                    header.append(_plain(t).strip())
            entry_col = header.index("entry") if "entry" in header else -1
            _add_class(tok, "sortable")
            if index and entry_col == 0:
                # the rankings (entry, paper, …) filter; the answers' tables above them only fit
                ranking = "paper" in header
                _add_class(tok, "filterable fit" if ranking else "fit")
                if first_entry_table and ranking:
                    tok.attrSet("id", "summary")
                    tok.meta["before"] = links.filters
                    first_entry_table = False
        elif tok.type in ("thead_open", "tbody_open"):
            in_body = tok.type == "tbody_open"
        elif tok.type == "tr_open":
            col, row_token = 0, tok
        elif tok.type in ("th_open", "td_open"):
            if col == entry_col:
                _add_class(tok, "entry")
            if tok.type == "td_open":
                cell = tokens[i + 1]
                plain = _plain(cell).strip()
                number = _LEADING_NUMBER.match(plain)
                tok.attrSet("data-sort", number.group(1) if number else
                            "" if plain in ("", "–") else plain)
                if number or plain == "–":
                    _add_class(tok, "n")
                tok.attrs.pop("style", None)  # alignment: by content (class n: numbers right)
                if col == entry_col:
                    _entry_cell(cell, plain, links, row_token if in_body else None, Token)
                elif _INTERVAL_CELL.fullmatch(plain) and len(cell.children) == 1:
                    value, interval, rest = _INTERVAL_CELL.fullmatch(plain).groups()
                    cell.children = [_html_token(
                        Token, f'<span class="iv"><span>{esc(value)}</span> '
                               f'<span class="ci">{esc(interval)}</span> '
                               f'<span>{esc(rest.strip())}</span></span>')]
            col += 1
        elif tok.type == "inline" and tok.children:
            for child in tok.children:
                if child.type == "link_open":
                    child.attrSet("href", links.href(child.attrGet("href") or ""))
            _inline_plot(tok, links, Token)
    return mdi.renderer.render(tokens, mdi.options, {})


def _entry_cell(cell, plain: str, links: PageLinks, row, token_class) -> None:
    """An entry's cell: its name links its page; the summary's row gets its filter attributes."""
    name = plain.rstrip(ENTRY_MARKS)
    if row is not None and name in links.rows:
        for key, value in links.rows[name].items():
            row.attrSet(key, value)
    if name in links.entries and not any(c.type == "link_open" for c in cell.children):
        link = token_class("link_open", "a", 1)
        link.attrSet("href", links.relative(entry_file(name)))
        link.attrSet("class", "entry-link")
        cell.children = [link, *cell.children, token_class("link_close", "a", -1)]


def _inline_plot(inline, links: PageLinks, token_class) -> None:
    """A paragraph or list item that is only a link to a plot shows the plot, captioned with the
    link's text (an SVG plot inline, so its points' hover titles work)."""
    kids = inline.children
    if not (len(kids) == 3 and kids[0].type == "link_open" and kids[1].type == "text"):
        return
    href = kids[0].attrGet("href") or ""
    name = posixpath.basename(href)
    if name not in links.plots:
        return
    title = esc(kids[1].content)
    shown = links.svgs.get(name) or f'<img src="{esc(href)}" alt="{title}">'
    inline.children = [_html_token(
        token_class, f'<figure>{shown}<figcaption><a href="{esc(href)}">{title}</a>'
                     f"</figcaption></figure>")]


def _fidelities(r: M.EntrySummary) -> list[str]:
    return sorted({str(c.get("fidelity") or "exact").split(":")[0].split()[0]
                   for c in r.cards.values() if c} or {"unknown"})


def summary_rows(m: M.Model) -> dict[str, dict[str, str]]:
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


def filters_html(m: M.Model, suites: list[str]) -> str:
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


def index_page(m: M.Model, summary: str | None = None, links: PageLinks | None = None,
               results_dir="results") -> str:
    """``index.html``: the markdown summary (rendered from ``m`` when not given, without the
    validity section, which needs the records of every seed) with its tables sortable and its
    entry tables filterable; ``links`` default to a site of the summary alone."""
    if summary is None:
        summary = md.render_summary(m, "", "leaderboard", "", source=results_dir)
    if links is None:
        suites = sorted({b.suite for s in m.sections for b in s.boards})
        links = PageLinks("leaderboard.md", "index.html", {}, entries=entry_labels(m),
                          rows=summary_rows(m), filters=filters_html(m, suites))
    body = markdown_html(summary, links)
    return page("lossbench leaderboard", body, "")


def entry_labels(m: M.Model) -> set[str]:
    """The entries that get a page: every configuration's label."""
    return {c.label for s in m.sections for b in s.boards for c in b.ranked()}


def markdown_page(title: str, text: str, links: PageLinks, results_dir) -> str:
    """A detail page (a suite's, the validity page) of the markdown board as a site page."""
    root = links.relative("index.html")[:-len("index.html")]
    return page(title, markdown_html(text, links), root)


def reliability_svg(frac, conf, acc, title: str, size: int = 200) -> str:
    """A binned reliability diagram as inline SVG: per-bin accuracy bars (opacity = share of
    samples) over the diagonal, tick values 0, 0.5 and 1 on both axes, the binned ECE, and the
    title above it (whole, never cut)."""
    n = len(frac)
    left, pad = 30, 10
    inner = size - left - pad
    top = float(max(frac)) if len(frac) and max(frac) > 0 else 1.0
    bars = []
    for k in range(n):
        if frac[k] <= 0 or math.isnan(acc[k]):
            continue
        h = inner * float(acc[k])
        x = left + inner * k / n
        bars.append(f'<rect x="{x:.1f}" y="{pad + inner - h:.1f}" width="{inner / n:.1f}" '
                    f'height="{h:.1f}" fill="#1f77b4" fill-opacity="'
                    f'{0.25 + 0.75 * float(frac[k]) / top:.2f}"><title>confidence '
                    f'{k / n:.2f}–{(k + 1) / n:.2f}: accuracy {float(acc[k]):.3f}, '
                    f'{float(frac[k]):.1%} of samples</title></rect>')
    ticks = []
    for v in (0.0, 0.5, 1.0):
        x, y = left + inner * v, pad + inner * (1 - v)
        ticks.append(f'<line x1="{x:.1f}" y1="{pad + inner}" x2="{x:.1f}" '
                     f'y2="{pad + inner + 4}" stroke="#555"/>'
                     f'<text x="{x:.1f}" y="{pad + inner + 14}" font-size="9" '
                     f'text-anchor="middle">{v:g}</text>'
                     f'<line x1="{left - 4}" y1="{y:.1f}" x2="{left}" y2="{y:.1f}" '
                     f'stroke="#555"/>'
                     f'<text x="{left - 6}" y="{y + 3:.1f}" font-size="9" '
                     f'text-anchor="end">{v:g}</text>')
    ece = sum(float(f) * abs(float(a) - float(c)) for f, a, c in zip(frac, acc, conf, strict=True)
              if f > 0 and not (math.isnan(a) or math.isnan(c)))
    height = size + 16
    return (f'<figure><figcaption>{esc(title)}</figcaption>'
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{height}" '
            f'role="img" aria-label="{esc(title)}"><title>{esc(title)}</title>'
            f'<rect x="{left}" y="{pad}" width="{inner}" height="{inner}" fill="none" '
            f'stroke="#999"/>' + "".join(bars) + "".join(ticks)
            + f'<line x1="{left}" y1="{pad + inner}" x2="{left + inner}" y2="{pad}" '
              f'stroke="#000" stroke-dasharray="4 3"/>'
            + f'<text x="{left + 4}" y="{pad + 12}" font-size="10">ECE {ece:.3f}</text>'
            + f'<text x="{left + inner / 2}" y="{height - 2}" font-size="9" '
              f'text-anchor="middle">confidence</text>'
            + f'<text x="9" y="{pad + inner / 2}" font-size="9" text-anchor="middle" '
              f'transform="rotate(-90 9 {pad + inner / 2})">accuracy</text></svg></figure>')


def entry_page(m: M.Model, entry: str, configs: list[tuple[M.TaskBoard, M.Config]]) -> str:
    cards = {}
    for _, c in configs:
        for group_cards in (c.cards, *c.alias_cards):  # merged aliases: their cards too
            for g, card in group_cards.items():
                if card and (g, card.get("name")) not in cards:
                    cards[(g, card.get("name"))] = card
    parts = [f"<h1>{esc(entry)}</h1>"]
    for (g, _), card in cards.items():
        url = _safe_url(paper_url(card.get("paper", "")))
        paper = (f'<a id="paper" href="{esc(url)}">{esc(card.get("paper", ""))}</a>' if url
                 else esc(card.get("paper") or "–"))
        rows = [("kind", g), *([("objective", card.get("objective"))] if g == "loss" else []),
                ("version", card.get("version")), ("origin", card.get("origin")),
                ("target", card.get("target")), ("fidelity", card.get("fidelity")),
                ("suites", ", ".join(card.get("suites") or []) or "all")]
        alias = (f" (alias of {esc(card['alias_of'])}: the same function)"
                 if card.get("alias_of") else "")
        parts.append(f"<h2>{esc(g)}: {esc(card.get('name', ''))}{alias}</h2>")
        parts.append(f"<p>{rest_inline(card.get('summary') or '')}</p><p>paper: {paper}</p>")
        parts.append("<table>" + "".join(f'<tr><th class="l">{esc(k)}</th>'
                                         f'<td class="l">{esc(v)}</td></tr>' for k, v in rows)
                     + "</table>")
        parts.append("<h3>Default hyperparameters</h3><pre>"
                     + esc(json.dumps(card.get("hparams") or {}, indent=1, sort_keys=True), True)
                     + "</pre><h3>Search space</h3><pre>"
                     + esc(json.dumps(card.get("search_space") or {}, indent=1,
                                      sort_keys=True), True)
                     + "</pre>")
        if card.get("doc"):
            parts.append("<h3>Docstring (formula)</h3><pre>" + rest_inline(card["doc"])
                         + "</pre>")
    if not cards:
        parts.append("<p>The records of this entry carry no card.</p>")
    parts.append("<h2>Results</h2>")
    parts.append('<p class="note"><em>hparams</em>: <em>defaults</em> = the card\'s default '
                 "hyperparameters, <em>(none)</em> = the entry has none; <em>Δ vs CE</em> = "
                 "this configuration − cross-entropy on the primary metric, paired by seed "
                 "(mean ± 95 % t-interval); <em>group</em> = its tie group on the task's "
                 "table (the legend is on the suite's page).</p>")
    headers = [("task", True), ("recipe", True), ("hparams", True), ("tuning", True),
               ("seeds", False), ("primary", True), ("value", False), ("Δ vs CE", False),
               ("group", False)]
    rows, svgs = [], []
    for b, c in configs:
        mean, half = b.cells[(c.key, b.primary)]
        base = b.baseline()
        delta = "–"
        if base is not None and base.key != c.key and not {c.key, base.key} & set(b.flags):
            v = M.paired(b, c, base, b.primary)
            delta = md.signed(v.mean, v.half) if not math.isnan(v.mean) else "–"
        group = b.tie_groups().get(c.key, "–")
        rows.append(({}, [td(b.name, left=True),
                          td("default" if b.configs and c.first.get("options") == "{}"
                             else str(c.first.get("options")), left=True),
                          td(c.hparams, left=True), td(c.tuning, left=True),
                          td(str(c.n_ok), sort=c.n_ok), td(b.primary, left=True),
                          td(md.cell_text(b, c, b.primary), sort="" if math.isnan(mean) else mean),
                          td(delta), td(str(group))]))
        pooled = P.pooled_reliability(c.ok)
        if pooled is not None and c.first.get("options") == "{}":
            svgs.append(reliability_svg(*pooled, f"{b.name}, {c.hparams} ({c.n_ok} seeds)"))
    parts.append(table(headers, rows))
    if svgs:
        parts.append("<h2>Reliability diagrams (pooled seeds)</h2><div class=\"svgs\">"
                     + "".join(svgs) + "</div>")
    return page(f"lossbench: {entry}", "\n".join(parts), "../")


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


def write(m: M.Model, results_dir, folder: Path, drawn: Path | None = None,
          texts: dict[Path, str] | None = None, summary: Path | None = None) -> Path:
    """Write the site into ``folder``, all-or-nothing: built whole in a temporary folder beside
    it and swapped in (:func:`lossbench.all_or_nothing.replace_folder`), so a build killed or
    failing halfway leaves the previous site as it was. ``texts``: the markdown pages of the
    same model (:func:`lossbench.report.render_pages`, ``summary`` the key of the summary);
    rendered here when not given. Its plots go to ``folder/plots``: copied from ``drawn`` (a
    plot folder just drawn from the same model) when given, else drawn."""
    from ..all_or_nothing import replace_folder

    folder = Path(folder)
    check_folder(folder)
    if texts is None or summary is None:
        from . import render_pages

        summary = Path("leaderboard.md")
        texts = render_pages(results_dir, summary, None, m=m)
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


def _build(m: M.Model, folder: Path, drawn: Path | None, texts: dict[Path, str],
           summary: Path, results_dir) -> None:
    """Every file of the site, into the empty folder ``folder``."""
    suites = sorted({b.suite for s in m.sections for b in s.boards})
    jobs = {}
    for section in m.sections:
        for suite in sorted({b.suite for b in section.boards}):
            jobs[f"{suite}|{section.options}"] = P.suite_jobs(section, suite,
                                                              md.options_tag(section.options))
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
    by_entry: dict[str, list[tuple[M.TaskBoard, M.Config]]] = {}
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

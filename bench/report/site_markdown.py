"""The board's markdown pages as the site's HTML: links mapped to the site's files, tables
sortable in scrolling boxes (the summary's filter), entry names linking their pages, intervals
under their values, plots shown inline (markdown-it, raw HTML off)."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field

from ..freshness import STAMP_PREFIX
from .markdown import APPROXIMATE_MARK, UNPUBLISHED_MARK
from .site_html import entry_file, esc

#: Marks a table cell may carry after an entry's name (unpublished, approximate, few seeds).
ENTRY_MARKS = UNPUBLISHED_MARK + APPROXIMATE_MARK + "⚠ "
_NUMBER = r"[-+]?\d+(?:\.\d+)?"
_INTERVAL_CELL = re.compile(rf"({_NUMBER}) (\[{_NUMBER}, {_NUMBER}\])(.*)")
_LEADING_NUMBER = re.compile(rf"\s*({_NUMBER})")


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

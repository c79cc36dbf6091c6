"""HTML building blocks of the site: its one stylesheet and script, escaping, pages, tables.

Every string from a record is escaped (:func:`esc`, :func:`lossbench.text_safety.for_html`);
card text keeps its reST inline literals as ``<code>`` (:func:`rest_inline`). The stylesheet and
script are inlined in each page, so a page opened from disk or served by GitHub Pages works the
same.
"""

from __future__ import annotations

import re

from ..file_names import slug
from ..text_safety import for_html

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


def esc(value, multiline: bool = False) -> str:
    """Text from a record as HTML: :func:`lossbench.text_safety.for_html`, the one HTML escaping
    function (control and bidi characters written visibly, ``& < > " '`` escaped); with
    ``multiline``, newlines are kept (``<pre>`` blocks)."""
    return for_html(value, multiline)


def safe_url(url: str | None) -> str | None:
    """``url`` when it is an http(s) address (what a page may link), else None."""
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



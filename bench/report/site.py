"""The static HTML site of the leaderboard: self-contained files, no server, no network.

``index.html`` holds the summary (entry × suite matrix, sortable and filterable by suite, kind,
fidelity and tuning), ``suite/<suite>.html`` each suite's task tables with their plots inline,
``entry/<entry>.html`` one page per entry: its card as the records stored it (paper link,
summary, the docstring — often the formula —, defaults, search space, fidelity), its results on
every task, and its reliability diagrams (inline SVG drawn from the recorded bins). The pages
share one small stylesheet and script, inlined in each page, so a page opened from disk or
served by GitHub Pages works the same. Every string from a record is escaped.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

from ..file_names import inside, slug
from ..text_safety import for_html
from . import markdown as md
from . import model as M
from . import plots as P

CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0 auto;
max-width:1400px;padding:0 16px 40px;color:#1b1f23}
h1{font-size:24px}h2{font-size:19px;margin-top:28px}h3{font-size:16px}
table{border-collapse:collapse;margin:8px 0;font-size:13px}
th,td{border:1px solid #d0d7de;padding:3px 7px;text-align:right;white-space:nowrap}
th{background:#f6f8fa;cursor:pointer;user-select:none;position:sticky;top:0}
th.sorted-asc::after{content:" \\25B2"}th.sorted-desc::after{content:" \\25BC"}
td.l,th.l{text-align:left}tr:nth-child(even){background:#fafbfc}
.note{color:#57606a;max-width:900px}.filters{margin:10px 0}.filters label{margin-right:14px}
pre{background:#f6f8fa;padding:10px;overflow:auto;max-width:900px}
img{max-width:100%;border:1px solid #eee;margin:6px 0}
.svgs{display:flex;flex-wrap:wrap;gap:10px}.svgs figure{margin:0;text-align:center}
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


def _safe_url(url: str | None) -> str | None:
    return url if url and url.startswith(("https://", "http://")) else None


def page(title: str, body: str, root: str) -> str:
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
            f"<title>{esc(title)}</title><style>{CSS}</style><script>{JS}</script></head>"
            f"<body><nav><a href=\"{root}index.html\">summary</a></nav>\n{body}\n</body></html>\n")


def table(headers: list[tuple[str, bool]], rows: list[tuple[dict[str, str], list[str]]],
          cls: str = "sortable", table_id: str = "") -> str:
    """``headers``: (text, left-aligned); ``rows``: (row attributes, cell HTML)."""
    ident = f' id="{esc(table_id)}"' if table_id else ""
    head = "".join(f'<th class="{"l" if left else ""}">{esc(h)}</th>' for h, left in headers)
    body = []
    for attrs, cells in rows:
        a = "".join(f' {k}="{esc(v)}"' for k, v in attrs.items())
        tds = "".join(cell if cell.startswith("<td") else f"<td>{cell}</td>" for cell in cells)
        body.append(f"<tr{a}>{tds}</tr>")
    return (f'<table class="{cls}"{ident}><thead><tr>{head}</tr></thead><tbody>'
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


def _interval_cell(r: M.EntrySummary, col: str) -> str:
    if col in r.flags:
        return td(r.flags[col], sort="")
    if r.cells.get(col) is None:
        return td("–", sort="")
    return td(md.summary_cell(r, col), sort=f"{r.cells[col].iqm[0]:.6f}")


# ---------------------------------------------------------------- pages

def index_page(m: M.Model, suites: list[str]) -> str:
    s = m.summary
    parts = ["<h1>lossbench leaderboard</h1>",
             '<p class="note">Generated by <code>lossbench leaderboard --html</code> from the '
             "stored records only. Each cell: interquartile mean of the entry's scores "
             "normalised to cross-entropy (1 = CE, above 1 = better) over the suite's tasks × "
             "seeds, with its 95 % stratified-bootstrap interval and its tie group gN in that "
             "column (entries whose interval overlaps the leader's share g1; within a group the "
             "order means nothing). Click a column to sort; choose filters below.</p>"]
    if s is None or not s.rows:
        parts.append("<p>No default-recipe runs.</p>")
    else:
        kinds = sorted({r.kind for r in s.rows})
        fidelities = sorted({f for r in s.rows for f in _fidelities(r)})

        def select(name: str, label: str, options: list[str]) -> str:
            opts = "".join(f'<option value="{esc(o)}">{esc(o)}</option>' for o in options)
            return (f'<label>{esc(label)} <select id="filter-{name}" data-filter="{name}">'
                    f'<option value="">all</option>{opts}</select></label>')

        parts.append('<div class="filters">' + select("suite", "suite", suites)
                     + select("kind", "kind", kinds) + select("fidelity", "fidelity", fidelities)
                     + select("tuned", "tuned", ["yes", "no"]) + "</div>")
        headers = [("entry", True), ("paper", True), ("kind", True), ("fidelity", True),
                   ("tuned", True), ("tasks", False), ("its tasks", False)]
        headers += [(su, False) for su in s.suites]
        headers += [(f"{su} better/tie/worse", False) for su in s.suites]
        rows = []
        for r in s.rows:
            covered = [su for su in s.suites if r.cells.get(su) is not None or su in r.flags]
            attrs = {"data-suite": " ".join(covered), "data-kind": r.kind,
                     "data-fidelity": " ".join(_fidelities(r)),
                     "data-tuned": "yes" if r.tuned else "no", "data-entry": r.entry}
            urls = [_safe_url(M.paper_url(c.get("paper", ""))) for c in
                    [md.evaluated_card(r), *(md.alias_card(a) for a in r.alias_cards)]]
            papers = ", ".join(f'<a href="{esc(u)}">paper</a>' for u in urls if u)
            own = r.cells.get("own")
            cells = [td(f'<a class="entry" href="{esc(entry_file(r.entry))}">{esc(r.entry)}</a>',
                        sort=r.entry, left=True, raw=True),
                     td(papers or "–", left=True, raw=True),
                     td(r.kind, left=True),
                     f'<td class="l" title="{esc(r.fidelity)}">'
                     f'{esc(" / ".join(_fidelities(r)))}</td>',
                     td("yes" if r.tuned else "no", left=True),
                     td(str(own.tasks) if own else "–" if "own" in r.flags else "0",
                        sort=own.tasks if own else 0),
                     _interval_cell(r, "own")]
            cells += [_interval_cell(r, su) for su in s.suites]
            for su in s.suites:
                b, t, w = r.counts.get(su, (0, 0, 0))
                cells.append(td(f"{b} / {t} / {w}" if b + t + w else "–",
                                sort=(b - w) if b + t + w else ""))
            rows.append((attrs, cells))
        parts.append(table(headers, rows, "sortable filterable", "summary"))
    parts.append("<h2>Suites</h2><ul>" + "".join(
        f'<li><a href="{esc(suite_file(su))}">{esc(su)}</a></li>' for su in suites) + "</ul>")
    parts.append("<h2>Provenance</h2>" + _provenance_html(m))
    return page("lossbench leaderboard", "\n".join(parts), "")


def _fidelities(r: M.EntrySummary) -> list[str]:
    return sorted({str(c.get("fidelity") or "exact").split(":")[0].split()[0]
                   for c in r.cards.values() if c} or {"unknown"})


def _provenance_html(m: M.Model) -> str:
    items = []
    for col, what in (("git_sha", "git sha"), ("device", "devices"),
                      ("harness_fingerprint", "harness fingerprint"),
                      ("lossbench_version", "lossbench version")):
        if col in m.runs:
            vals = sorted({str(v) for v in m.runs[col] if not M.is_missing(v) and str(v)})
            items.append(f"<li>{esc(what)}: {esc(', '.join(vals) or '(unknown)')}</li>")
    flagged = [f"{b.name}: {'; '.join(M.mixed(b.runs))}" for sec in m.sections
               for b in sec.boards if M.mixed(b.runs)]
    if flagged:
        items.append('<li class="warn">tables that mix provenance: '
                     + esc("; ".join(flagged)) + "</li>")
    return "<ul>" + "".join(items) + "</ul>"


def task_table_html(b: M.TaskBoard, root: str) -> str:
    groups = b.tie_groups()
    headers = [("group", False), ("entry", True), ("hparams", True), ("tuning", True),
               ("seeds", False)] + [(f"{mt} {M.arrow(mt, b.directions)}", False)
                                    for mt in b.metrics] + [("failed", True)]
    rows = []
    for c in b.ranked():
        cells = [td(str(groups.get(c.key, "–")), sort=groups.get(c.key, "")),
                 td(f'<a href="{root}{esc(entry_file(c.label))}">{esc(c.label)}</a>',
                    sort=c.label, left=True, raw=True),
                 td(c.hparams, left=True), td(c.tuning, left=True),
                 td(str(c.n_ok), sort=c.n_ok)]
        for mt in b.metrics:
            mean, half = b.cells[(c.key, mt)]
            cells.append(td(md.cell_text(b, c, mt),
                            sort="" if math.isnan(mean) else f"{mean:.6f}"))
        cells.append(td(md.failures(c), left=True))
        rows.append(({"data-entry": c.label}, cells))
    return table(headers, rows)


def suite_page(m: M.Model, suite: str, plots: dict[str, list[tuple[str, str]]]) -> str:
    parts = [f"<h1>{esc(suite)}</h1>"]
    for section in m.sections:
        boards = [b for b in section.boards if b.suite == suite]
        if not boards:
            continue
        parts.append("<h2>Default recipe</h2>" if section.default else
                     f"<h2>Runs with recipe options <code>{esc(section.options)}</code></h2>")
        for b in boards:
            parts.append(f"<h3>{esc(b.name)}</h3>")
            if b.meta.get("description"):
                description = M.recipe_description(b.meta["description"], section.options)
                parts.append(f'<p class="note">{esc(description)}</p>')
            parts.append(task_table_html(b, "../"))
            mix = M.mixed(b.runs)
            if mix:
                parts.append(f'<p class="warn">mixed provenance: {esc("; ".join(mix))}</p>')
        for title, name in plots.get(f"{suite}|{section.options}", []):
            parts.append(f'<figure><img src="../plots/{esc(name)}" alt="{esc(title)}">'
                         f"<figcaption>{esc(title)}</figcaption></figure>")
    return page(f"lossbench: {suite}", "\n".join(parts), "../")


def reliability_svg(frac, conf, acc, title: str, size: int = 160) -> str:
    """A binned reliability diagram as inline SVG: per-bin accuracy bars (opacity = share of
    samples) over the diagonal, with the binned ECE."""
    n = len(frac)
    pad = 22
    inner = size - 2 * pad
    top = float(max(frac)) if len(frac) and max(frac) > 0 else 1.0
    bars = []
    for k in range(n):
        if frac[k] <= 0 or math.isnan(acc[k]):
            continue
        h = inner * float(acc[k])
        x = pad + inner * k / n
        bars.append(f'<rect x="{x:.1f}" y="{pad + inner - h:.1f}" width="{inner / n:.1f}" '
                    f'height="{h:.1f}" fill="#1f77b4" fill-opacity="'
                    f'{0.25 + 0.75 * float(frac[k]) / top:.2f}"/>')
    ece = sum(float(f) * abs(float(a) - float(c)) for f, a, c in zip(frac, acc, conf, strict=True)
              if f > 0 and not (math.isnan(a) or math.isnan(c)))
    return (f'<figure><svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" '
            f'role="img" aria-label="{esc(title)}">'
            f'<rect x="{pad}" y="{pad}" width="{inner}" height="{inner}" fill="none" '
            f'stroke="#999"/>' + "".join(bars)
            + f'<line x1="{pad}" y1="{pad + inner}" x2="{pad + inner}" y2="{pad}" '
              f'stroke="#000" stroke-dasharray="4 3"/>'
            + f'<text x="{pad + 3}" y="{pad + 12}" font-size="10">ECE {ece:.3f}</text>'
            + f'<text x="{size / 2}" y="{size - 5}" font-size="9" text-anchor="middle">'
              f"confidence</text></svg><figcaption>{esc(title)}</figcaption></figure>")


def entry_page(m: M.Model, entry: str, configs: list[tuple[M.TaskBoard, M.Config]]) -> str:
    cards = {}
    for _, c in configs:
        for group_cards in (c.cards, *c.alias_cards):  # merged aliases: their cards too
            for g, card in group_cards.items():
                if card and (g, card.get("name")) not in cards:
                    cards[(g, card.get("name"))] = card
    parts = [f"<h1>{esc(entry)}</h1>"]
    for (g, _), card in cards.items():
        url = _safe_url(M.paper_url(card.get("paper", "")))
        paper = (f'<a id="paper" href="{esc(url)}">{esc(card.get("paper", ""))}</a>' if url
                 else esc(card.get("paper") or "–"))
        rows = [("kind", g), *([("objective", card.get("objective"))] if g == "loss" else []),
                ("version", card.get("version")), ("origin", card.get("origin")),
                ("target", card.get("target")), ("fidelity", card.get("fidelity")),
                ("suites", ", ".join(card.get("suites") or []) or "all")]
        alias = (f" (alias of {esc(card['alias_of'])}: the same function)"
                 if card.get("alias_of") else "")
        parts.append(f"<h2>{esc(g)}: {esc(card.get('name', ''))}{alias}</h2>")
        parts.append(f"<p>{esc(card.get('summary') or '')}</p><p>paper: {paper}</p>")
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
            parts.append("<h3>Docstring (formula)</h3><pre>" + esc(card["doc"], True) + "</pre>")
    if not cards:
        parts.append("<p>The records of this entry carry no card.</p>")
    parts.append("<h2>Results</h2>")
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
            svgs.append(reliability_svg(*pooled, f"{b.name} ({c.hparams})"))
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


def write(m: M.Model, results_dir, folder: Path, drawn: Path | None = None) -> Path:
    """Write the site into ``folder``, all-or-nothing: built whole in a temporary folder beside
    it and swapped in (:func:`lossbench.all_or_nothing.replace_folder`), so a build killed or
    failing halfway leaves the previous site as it was. Its plots go to ``folder/plots``: copied
    from ``drawn`` (a plot folder just drawn from the same model) when given, else drawn."""
    from ..all_or_nothing import replace_folder

    folder = Path(folder)
    check_folder(folder)
    replace_folder(folder, lambda new: _build(m, new, drawn))
    return folder / "index.html"


def _build(m: M.Model, folder: Path, drawn: Path | None) -> None:
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
    listed = {k: [(t, n) for t, n, _ in v] for k, v in jobs.items()}
    files = {inside(folder, "index.html"): index_page(m, suites)}
    for suite in suites:
        files[inside(folder, suite_file(suite))] = suite_page(m, suite, listed)
    by_entry: dict[str, list[tuple[M.TaskBoard, M.Config]]] = {}
    for section in m.sections:
        for b in section.boards:
            for c in b.ranked():
                by_entry.setdefault(c.label, []).append((b, c))
    for entry, configs in sorted(by_entry.items()):
        files[inside(folder, entry_file(entry))] = entry_page(m, entry, configs)
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (folder / ".nojekyll").write_text("", encoding="utf-8")

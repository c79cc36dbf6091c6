"""An entry's page of the site (``entry/<entry>.html``): its cards as the records stored them
(paper link, summary, the docstring — often the formula —, defaults, search space, fidelity),
its results on every task, and its reliability diagrams as inline SVG from the recorded bins."""

from __future__ import annotations

import json
import math

from ..interval_text import plus_minus
from ..paper_links import paper_url
from . import plots as P
from .boards import TaskBoard
from .configs import Config
from .model import Model
from .site_html import esc, page, rest_inline, safe_url, table, td
from .suite_page import cell_text
from .versus import paired


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


def entry_page(m: Model, entry: str, configs: list[tuple[TaskBoard, Config]]) -> str:
    cards = {}
    for _, c in configs:
        for group_cards in (c.cards, *c.alias_cards):  # merged aliases: their cards too
            for g, card in group_cards.items():
                if card and (g, card.get("name")) not in cards:
                    cards[(g, card.get("name"))] = card
    parts = [f"<h1>{esc(entry)}</h1>"]
    for (g, _), card in cards.items():
        url = safe_url(paper_url(card.get("paper", "")))
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
            v = paired(b, c, base, b.primary)
            delta = plus_minus(v.mean, v.half, signed=True) if not math.isnan(v.mean) else "–"
        group = b.tie_groups().get(c.key, "–")
        rows.append(({}, [td(b.name, left=True),
                          td("default" if b.configs and c.first.get("options") == "{}"
                             else str(c.first.get("options")), left=True),
                          td(c.hparams, left=True), td(c.tuning, left=True),
                          td(str(c.n_ok), sort=c.n_ok), td(b.primary, left=True),
                          td(cell_text(b, c, b.primary), sort="" if math.isnan(mean) else mean),
                          td(delta), td(str(group))]))
        pooled = P.pooled_reliability(c.ok)
        if pooled is not None and c.first.get("options") == "{}":
            svgs.append(reliability_svg(*pooled, f"{b.name}, {c.hparams} ({c.n_ok} seeds)"))
    parts.append(table(headers, rows))
    if svgs:
        parts.append("<h2>Reliability diagrams (pooled seeds)</h2><div class=\"svgs\">"
                     + "".join(svgs) + "</div>")
    return page(f"lossbench: {entry}", "\n".join(parts), "../")


"""The catalog's judgement as text and as data: what ``lossbench validate`` prints (the findings on
the confirmation seeds with the design seeds' beside them, the rank tables, the summary lines),
the rows the board's validity section shows (:mod:`lossbench.report.validity`), and the JSON of
``lossbench validate --json``. The judging itself is :mod:`lossbench.validity`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from .diagnosis import Reason, finding_reason, finding_reasons, ranking_reason
from .interval_text import plus_minus
from .validity import Judgement, seed_text


def _num(x: float, digits: int = 3, sign: bool = True) -> str:
    if x is None or math.isnan(x):
        return "–"
    return f"{x:+.{digits}f}" if sign else f"{x:.{digits}f}"


def _p(x: float) -> str:
    if math.isnan(x):
        return "–"
    return "<0.001" if x < 0.001 else f"{x:.3f}"


def _hp(hp: Mapping[str, Any]) -> str:
    return "" if not hp else " (" + ", ".join(f"{k}={v}" for k, v in sorted(hp.items())) + ")"


def finding_rows(j: Judgement, other: Judgement | None = None) -> list[dict[str, str]]:
    """One row per finding: the primary effect ± interval (positive = A better), the ratio to
    the published effect, the Holm-adjusted p and the verdict on ``j``'s seeds; with ``other``
    (the design judgement beside the confirmation one) its effect and verdict too."""
    rows = []
    others = {v.finding.id: v for v in (other.findings if other else ())}
    for v in j.findings:
        p = v.primary
        f = v.finding
        row = {
            "finding": f.id,
            "task": f"{f.suite}/{f.task}",
            "A vs B": f"{f.a.label}{_hp(f.a_hparams)} vs {f.b.label}{_hp(f.b_hparams)}"
            if not f.same_entry else f"{f.a.label}{_hp(f.a_hparams)}",
            "primary": f"{f.primary} ({p.claim.expect})" if p.claim.name_b is None
            else f"{f.primary} vs {p.claim.name_b} ({p.claim.expect})",
        }
        if other is not None:
            o = others.get(f.id)
            row[f"{other.seed_set} effect"] = _num(o.primary.effect) if o else "–"
            row[f"{other.seed_set}"] = o.verdict if o else "–"
        row.update({
            "effect ± 95 %": plus_minus(p.effect, p.half, 3, signed=True),
            "published": _num(p.published),
            "ratio": _num(p.ratio, 2, sign=False),
            "n": str(p.n),
            "p (Holm)": _p(p.adj_support),
            "verdict": v.verdict + (f": {', '.join(v.contradicted_metrics(j.alpha))}"
                                    if v.verdict == "contradicted" else ""),
        })
        rows.append(row)
    return rows


def ranking_rows(j: Judgement) -> list[dict[str, str]]:
    return [{
        "table": r.ranking.id, "task": f"{r.ranking.suite}/{r.ranking.task}",
        "metric": r.ranking.metric, "entries": str(len(r.ranking.entries)), "n": str(r.n),
        "Kendall τ-b": _num(r.tau, 2),
        "95 % bootstrap": f"[{_num(r.low, 2)}, {_num(r.high, 2)}]" if not math.isnan(r.low)
        else "–",
        "source": r.ranking.source,
    } for r in j.rankings]


def render_text(confirmation: Judgement, design: Judgement) -> str:
    """What ``lossbench validate`` prints: the findings on the confirmation seeds with the
    design seeds' effect and verdict beside them, the rank tables on both, the summary lines."""
    from tabulate import tabulate

    lines = [f"Findings catalog {confirmation.digest} (pre-registered): effect = mean over "
             f"shared seeds of A − B signed so that positive = A better by the metric's "
             f"direction; published = the source's effect in the same units; ratio = effect / "
             f"published; p (Holm) = the primary test's p adjusted across the catalog.", ""]
    lines.append(tabulate(finding_rows(confirmation, design), headers="keys",
                          tablefmt="simple", disable_numparse=True))
    if confirmation.rankings:
        for j in (confirmation, design):
            lines += ["", f"Rank agreement on the {j.seed_set} seeds ({seed_text(j.seeds)}):",
                      tabulate(ranking_rows(j), headers="keys", tablefmt="simple",
                               disable_numparse=True)]
    lines += [f"No published rank table for {suite}: {why}"
              for suite, why in sorted(confirmation.unranked.items())]
    why = finding_reasons(confirmation)
    if why:
        lines += ["", f"Why not confirmed on the {confirmation.seed_set} seeds (computed from "
                      "each finding's numbers; what was measured about them is on the board's "
                      "validity page):"]
        lines += [f"  {fid}: {r.kind}: {r.text}" for fid, r in why.items()]
    tables = [(r.ranking.id, r.tau, ranking_reason(r)) for r in confirmation.rankings]
    tables = [(rid, tau, text) for rid, tau, text in tables if text]
    if tables:
        lines += ["", f"Rank tables on the {confirmation.seed_set} seeds, the pairs ordered the "
                      "other way:"]
        lines += [f"  {rid} (τ-b {tau:+.2f}): {text}" for rid, tau, text in tables]
    lines += ["", confirmation.summary_line() + ".", design.summary_line() + "."]
    notes = [v for v in confirmation.findings if v.note]
    lines += [f"note: {v.finding.id}: {v.note}" for v in notes]
    return "\n".join(lines)


def _with_reason(d: dict[str, Any], reason: Reason | None) -> dict[str, Any]:
    d["reason"] = None if reason is None else {"kind": reason.kind, "text": reason.text}
    return d


def clean_nan(x: Any) -> Any:
    """``x`` with every NaN float (at any depth of dicts and lists) replaced by None (JSON)."""
    if isinstance(x, float) and math.isnan(x):
        return None
    if isinstance(x, dict):
        return {k: clean_nan(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [clean_nan(v) for v in x]
    return x


def to_dict(*judgements: Judgement) -> dict[str, Any]:
    """The judgements as plain data (``lossbench validate --json``): the catalog digest and, per
    seed set, its seeds, alpha, verdict counts, findings (every metric test, and ``reason``: why
    it is not confirmed, :func:`lossbench.diagnosis.finding_reason`) and rank tables (with the
    pairs ordered against the published table as ``reason``)."""
    out: dict[str, Any] = {"digest": judgements[0].digest if judgements else None,
                           "seed_sets": {}}
    for j in judgements:
        out["seed_sets"][j.seed_set] = {
            "seeds": list(j.seeds), "alpha": j.alpha, "counts": j.counts(),
            "summary": j.summary_line(),
            "findings": [_with_reason(v.to_dict(j.alpha), finding_reason(v, j.alpha))
                         for v in j.findings],
            "rankings": [{**r.to_dict(), "reason": ranking_reason(r)} for r in j.rankings]}
    return clean_nan(out)

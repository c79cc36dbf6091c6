"""The text of ``list``, ``show`` and ``verify``: plugin strings one line and printable, cut to a
width per column."""

from __future__ import annotations

#: Widest cell ``lossbench list`` prints per column (a plugin's strings are cut to these).
LIST_WIDTHS = {"name": 60, "kind": 12, "version": 24, "origin": 60, "summary": 60,
               "status": 300}
#: ``lossbench list --long``: the paper and fidelity too, the summary uncut (up to the card's
#: 200 characters).
LONG_LIST_WIDTHS = {"name": 60, "kind": 12, "version": 24, "origin": 60, "summary": 200,
                    "paper": 300, "fidelity": 200, "status": 300}

#: ``lossbench list --kind suite``: one row per task.
SUITE_WIDTHS = {"suite": 60, "task": 60, "version": 24, "default": 3, "data": 300, "origin": 60,
                "status": 300}


def cell(value: object, limit: int) -> str:
    """``value`` on one line, cut to ``limit`` characters (with … when cut)."""
    from ..text_safety import one_line

    return one_line(str(value), limit)


#: how many findings of one category ``lossbench verify`` prints (``--json``: all)
VERIFY_SHOWN = 20


def render_verify(outcome) -> str:
    """``lossbench verify``'s text: the outcome's line, then up to :data:`VERIFY_SHOWN` findings
    of each category (a :class:`lossbench.integrity.Verification`)."""
    from ..text_safety import one_line

    lines = [outcome.line()]
    for category in outcome.counts():
        found = [f for f in outcome.findings if f.category == category]
        for f in found[:VERIFY_SHOWN]:
            lines.append(f"  {category:8} {one_line(f.path)}: {one_line(f.reason)}")
        if len(found) > VERIFY_SHOWN:
            lines.append(f"  {category:8} … and {len(found) - VERIFY_SHOWN} more (--json lists "
                         f"all)")
    return "\n".join(lines)


def render_show(info: dict, results: str) -> str:
    """``lossbench show``'s text: every plugin string one line and printable, the docstring
    indented line by line."""
    from tabulate import tabulate

    from ..text_safety import for_terminal, one_line

    c = info["card"]

    def field(label: str, value: object) -> str:
        return f"{label + ':':<14}{one_line(str(value), 500)}"

    def fmt(values: dict) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in sorted(values.items())) or "(none)"

    def space(values: dict) -> str:
        parts = []
        for k, v in sorted(values.items()):
            if isinstance(v, dict) and "choices" in v:
                parts.append(f"{k} in {v['choices']!r}")
            elif isinstance(v, dict):
                flags = " ".join(f for f in ("log", "int") if v.get(f))
                parts.append(f"{k} in [{v.get('low')}, {v.get('high')}]"
                             + (f" ({flags})" if flags else ""))
        return "; ".join(parts) or "(none: nothing to tune)"

    lines = [
        f"{one_line(c['name'], 200)} ({info['kind']}"
        + (f", {c['objective']}" if info["kind"] == "loss" else "") + ")",
        field("version", c["version"]),
        field("origin", c["origin"] + (" (unpublished module:attr target)"
                                        if c["origin"] == "local" else "")),
        field("target", c["target"]),
        field("summary", c["summary"] or "(no docstring)"),
        field("paper", c["paper"] or "(none given)"),
    ]
    if c.get("paper_url"):
        lines.append(field("link", c["paper_url"]))
    lines += [
        field("fidelity", shown_fidelity(c["fidelity"], c["paper"])),
        *([field("alias of", f"{c['alias_of']} (the same function as its defaults)")]
          if c.get("alias_of") else []),
        field("defaults", fmt(c["hparams"])),
        field("search space", space(c["search_space"])),
        field("suites", ", ".join(c["suites"]) or "every suite"),
    ]
    if info["kind"] == "loss":
        lines.append(field("soft targets", "accepted" if c["accepts_soft_targets"] else "no"))
    doc = [for_terminal(ln) for ln in (c.get("doc") or "").splitlines()[1:]]
    while doc and not doc[0].strip():
        doc.pop(0)
    if doc:
        lines += ["", "docstring:", *(f"  {ln}".rstrip() for ln in doc)]
    rows = info["results"]
    lines.append("")
    from pathlib import Path

    folder = Path(results).absolute()
    if not rows:
        state = "" if folder.is_dir() else " (no such folder)"
        lines.append(f"no stored runs in {for_terminal(folder)}{state}; for runs stored "
                     f"elsewhere, add --results DIR")
        return "\n".join(lines)

    def num(v: object) -> str:
        return "–" if v is None else f"{v:.4f}"

    table = [{"task": one_line(f"{r['suite']}/{r['task']} v{r['task_version']}", 80),
              "options": one_line(", ".join(f"{k}={v}" for k, v in sorted(
                  r["options"].items())) or "recipe", 60),
              "entry": one_line(r["entry"], 80),
              "hparams": one_line(short({**r["loss_hparams"], **r["regularizer_hparams"]}), 80),
              "runs (ok)": f"{r['runs']} ({r['ok']})",
              "metric": r["metric"],
              "mean ± sd": f"{num(r['mean'])} ± {num(r['sd'])}",
              "cross_entropy": f"{num(r['cross_entropy_mean'])} "
                               f"({r['cross_entropy_seeds']} seeds)"} for r in rows]
    lines += [f"stored runs in {for_terminal(folder)} (mean over ok seeds):",
              tabulate(table, headers="keys", tablefmt="simple", disable_numparse=True)]
    return "\n".join(lines)


def shown_fidelity(fidelity: str, paper: str) -> str:
    """The card's fidelity as ``show`` and ``list --long`` print it: "exact" claims a match with
    a paper, so an entry that names none (a local ``module:attr`` loss, say) reads "not stated
    (no paper given)" instead of the card's default "exact"."""
    if fidelity == "exact" and not str(paper or "").strip():
        return "not stated (no paper given)"
    return fidelity


def short(values: dict) -> str:
    """Hyperparameters on one line, floats to 4 significant digits."""
    return ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v!r}"
                     for k, v in sorted(values.items())) or "(none)"

"""The summary page (``leaderboard.md``): the per-suite answers, one ranking per objective with
its legend, the versus-CE counts, the findings, links to the detail pages, the provenance."""

from __future__ import annotations

from pathlib import Path

from ..file_names import slug
from ..paper_links import paper_url
from ..run_outputs import STATUSES
from .aggregates import AggregateRow
from .answer_blocks import answer_block, answers_glance, answers_legend
from .boards import newest_boards
from .groups import ALPHA
from .markdown import (
    APPROXIMATE_MARK,
    UNPUBLISHED_MARK,
    code,
    compact_table,
    entry_md,
    header,
    link,
    md_text,
)
from .model import Model
from .provenance import mixed
from .summary import EntrySummary, Summary


def provenance_block(model: Model) -> str:
    runs = model.runs

    def values(col: str) -> str:
        if col not in runs:
            return "(not recorded)"
        vals = sorted({str(v) for v in runs[col].dropna() if str(v)})
        return ", ".join(code(v) for v in vals) or "(unknown)"

    counts = runs["status"].value_counts()
    status = ", ".join(f"{s} {int(counts[s])}" for s in STATUSES if s in counts)
    dates = sorted(str(v) for v in runs["started_at"].dropna())
    date = f"{dates[0][:10]} … {dates[-1][:10]}" if dates else "(unknown)"
    ks = sorted({int(m.get("budget", m["trials"])) for t in model.tunings.values()
                 for m in t.manifests})
    metrics = sorted({m["selection_metric"] for t in model.tunings.values() for m in t.manifests})
    tuning = (f"equal budget: K = {', '.join(map(str, ks))} configurations per entry and task "
              f"(card defaults + K − 1 quasi-random draws from the card's search space; an entry "
              f"without a search space runs its defaults only), selected on "
              f"{', '.join(metrics)} of seed 0 (validation split only), then run for the seeds; "
              f"rows marked *tuned*. Rows marked *untuned* use card defaults or hand-set "
              f"hyperparameters (see *Tuning*)."
              if ks else "none: every row uses card defaults or hand-set hyperparameters "
                         "(*untuned*).")
    lines = [
        f"- lossbench version: {values('lossbench_version')}",
        f"- git sha: {values('git_sha')}",
    ]
    if "harness_fingerprint" in runs:
        lines.append(f"- harness fingerprint: {values('harness_fingerprint')}")
    lines += [
        f"- run dates (UTC, from the records): {date}",
        f"- devices: {values('device')}",
    ]
    if "machine_id" in runs and runs["machine_id"].notna().any():  # older records: none
        lines.append(f"- machines (`machine_id`): {values('machine_id')}")
    lines += [
        f"- runs: {runs['spec_key'].nunique()} ({status})",
        *([f"- store: {model.store_check}"] if model.store_check else []),
        "- cells: mean ± 95 % Student-t interval over seeds (seed = data split + "
        "initialisation); metrics of the final-epoch model unless named otherwise (e.g. "
        "`*_best_val`: the best-validation epoch); ↑ higher is better, ↓ lower is better; "
        "**bold** = best in its column with an interval disjoint from the runner-up's; "
        f"{APPROXIMATE_MARK} = approximate implementation (see the card); "
        f"{UNPUBLISHED_MARK} = unpublished: a `module:attr` target run without packaging "
        f"(origin local), shown with a hash of its source file",
        f"- tuning: {tuning}",
    ]
    flagged = []
    for section in model.sections:
        for b in section.boards:
            mix = mixed(b.runs)
            if mix:
                flagged.append(f"{md_text(b.name)}"
                               + ("" if section.default else f" ({code(section.options)})")
                               + ": " + md_text("; ".join(mix)))
    if flagged:
        lines.append("- ⚠ **tables that mix provenance** (compare their rows with care): "
                     + "; ".join(flagged))
    else:
        lines.append("- no table mixes git SHAs, devices, task versions or harness "
                     "fingerprints")
    return "\n".join(lines)


# ---------------------------------------------------------------- the summary page

def evaluated_card(r: EntrySummary) -> dict:
    """The card of what a summary row evaluates: the regularizer's for ``loss + regularizer``
    rows, else the loss's."""
    return r.cards.get("regularizer") or r.cards.get("loss") or {}


def alias_card(cards: dict[str, dict]) -> dict:
    """The card of a merged alias (:mod:`.aliases`) that declares ``alias_of``."""
    return next((c for c in cards.values() if c and c.get("alias_of")), {})


def iqm_text(row: AggregateRow | None, digits: int = 3) -> str:
    if row is None:
        return "–"
    point, low, high = row.iqm
    return f"{point:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


# ---------------------------------------------------------------- per-task tables


def summary_cell(r: EntrySummary, col: str) -> str:
    """A summary cell: IQM [95 % CI] and, in a suite column, the tie group (gN); the flag text
    where the entry is unstable there; "–" where it did not run."""
    if col in r.flags:
        return md_text(r.flags[col])
    row = r.cells.get(col)
    if row is None:
        return "–"
    group = r.groups.get(col)
    return iqm_text(row) + ("" if group is None else f" g{group}")


def summary_flags_legend() -> str:
    from .stability import FAILED_LIFT, TRAINED_LIFT

    return (f"*unstable (k of n seeds failed)* in place of a cell: on a task of that column the "
            f"entry's seeds split between failed to train (top-1 — or the task's first headline "
            f"metric where top-1 is not recorded — at most {FAILED_LIFT:.0%} of the way from "
            f"chance to perfect) and trained (at least {TRAINED_LIFT:.0%}); *failed to train*: "
            f"every seed failed. A mean over such seeds ranks a coin flip, so the cell has no "
            f"IQM and no group; the detail page lists the values by seed.\n")


def approximate(r: EntrySummary) -> bool:
    """Whether any card of a summary row says its implementation is approximate."""
    return any(str(c.get("fidelity", "")).startswith("approximate")
               for c in [*r.cards.values(), *(c for a in r.alias_cards for c in a.values())]
               if c)


def summary_matrix(summary: Summary, objective: str | None = None) -> str:
    """The entry × suite matrix of one objective's ranking (None: every row, one ranking per
    objective as computed): IQM of CE-normalised primary scores [95 % CI] and the tie group (gN)
    over each suite's tasks and over the entry's own tasks, kind, tuning and the paper link."""
    rows, refs = [], []
    ranked = summary.rows if objective is None else summary.ranking(objective)
    suites = summary.suites if objective is None else summary.columns(objective)
    for r in ranked:
        card = evaluated_card(r)
        own = r.cells.get("own")
        papers = []
        for i, c in enumerate([card, *(alias_card(a) for a in r.alias_cards)]):
            url = paper_url(c.get("paper", "")) if c else None
            if url and link("paper", url) != "paper":  # a safe URL: a reference-style link
                ref = f"p-{slug(r.entry if not r.alias_cards else c.get('name', i))}"
                papers.append(f"[paper][{ref}]")
                refs.append(f"[{ref}]: {url}")
        paper = ", ".join(papers) or "–"
        row = {"entry": entry_md(r.entry, approximate(r), r.unpublished),
               "paper": paper,
               "kind": md_text(r.kind), "tuned": "yes" if r.tuned else "no",
               "tasks": str(own.tasks) if own is not None else "–" if "own" in r.flags
               else "0",
               "its tasks": summary_cell(r, "own")}
        for s in suites:
            row[md_text(s)] = summary_cell(r, s)
        rows.append(row)
    align = ["left", "left", "left", "left", "right", "right"] + ["right"] * len(suites)
    return compact_table(rows, align) + ("\n\n" + "\n".join(refs) if refs else "")


def objective_title(objective: str) -> str:
    return {"classification": "Classification losses and regularizers",
            "embedding": "Embedding losses"}.get(objective, f"{md_text(objective)} entries")


def versus_counts(summary: Summary) -> str:
    rows = []
    for r in summary.rows:
        if all(sum(v) == 0 for v in r.counts.values()):
            continue
        row = {"entry": md_text(r.entry)}
        for s in summary.suites:
            b, t, w = r.counts.get(s, (0, 0, 0))
            row[s] = f"{b} / {t} / {w}" if b + t + w else "–"
        rows.append(row)
    if not rows:
        return "_No entry was compared with cross-entropy._"
    return compact_table(rows, ["left"] + ["right"] * len(summary.suites))


def matrix_legend(primaries: list[str]) -> str:
    return (
        "*How the rankings are computed:* each cell is the interquartile mean (IQM) of the "
        "entry's scores on the suite's primary metric, normalised to cross-entropy on each task "
        "(1 = CE, above 1 = better), over the suite's tasks × seeds, with its 95 % "
        "stratified-bootstrap interval; *its tasks* = over every task the entry ran on (*tasks* "
        "of them; no group there, since entries ran on different tasks). One row per entry: on "
        "each task its tuned configuration where one exists, else its card defaults (other "
        "configurations are on the detail pages). **gN** = group in a suite column from a test "
        "against the column's leader: the entry with the highest IQM "
        "and every entry not significantly worse than it (paired t-test over the (task, seed) "
        f"pairs both ran, Holm across the entries compared, α = {ALPHA:g}) share g1; the best of "
        "the rest leads g2, and so on; within a group the order means nothing. Classification "
        "and embedding entries are ranked apart, in their own tables: their scores measure "
        "different things (an embedding's MAP@R against a classifier's penultimate features; "
        "the embedding table's scores are still relative to cross-entropy's). "
        "Rows: entries run on more suites first, then by their mean group over those suites. "
        "Primary metrics: " + md_text("; ".join(primaries)) + ".\n")


def render_summary(model: Model, stamp: str, pages: str, findings: str,
                   source: str | Path = "results") -> str:
    """``leaderboard.md``: the per-suite answers first, then one ranking per objective
    (classification, embedding), the legends of both, the versus-CE counts, the findings
    (validity) section, links to the detail pages, provenance last."""
    parts = [header(source), stamp]
    if model.untrusted:
        parts.append("\n_Files in the results folder that are not trusted lossbench records "
                     "and were left out (`lossbench verify` says more):_\n")
        parts.extend(f"- {code(name)}: {md_text(reason)}" for name, reason in model.untrusted)
    if model.runs.empty:
        parts.append("\nNo results yet: run `lossbench run`.\n")
        return "\n".join(parts)
    s = model.summary
    suites = sorted({b.suite for sec in model.sections for b in sec.boards})
    parts.append("\n## Summary\n")
    if s is None or not s.rows:
        parts.append("_Nothing to summarise: see the detail pages._\n")
    else:
        section = model.summarised
        primaries = sorted({f"{b.suite}: {b.primary}" for b in newest_boards(
            section.boards)[0]})
        if not section.default:
            parts.append(f"_No default-recipe runs: this summary shows the runs with recipe "
                         f"options `{section.options}`, which are not comparable with "
                         f"default-recipe results._\n")
        parts.append("Which entries beat the baseline, per suite (significantly, after a "
                     "paired test with Holm correction; how: below the tables).\n")
        glance = answers_glance(model.answers)
        if glance:
            parts.append(glance + "\n")
        for a in model.answers:
            parts.append(answer_block(a) + "\n")
        for objective in s.objectives():
            parts.append(f"\n### {objective_title(objective)}: ranking per suite\n")
            parts.append(summary_matrix(s, objective) + "\n")
        parts.append("\n### How to read the summary\n")
        parts.append(answers_legend())
        parts.append(matrix_legend(primaries))
        if any(r.flags for r in s.rows):
            parts.append(summary_flags_legend())
        parts.append("\n### Versus cross-entropy per suite\n")
        parts.append("Tasks of each suite where the entry is better / tied / worse than "
                     "cross-entropy on the primary metric (paired by seed; better or worse when "
                     "the 95 % interval of the difference excludes 0).\n")
        parts.append(versus_counts(s) + "\n")
    parts.append(findings)
    parts.append("\n## Detail pages\n")
    parts.append("Per suite: every task's full table (all configurations, all headline metrics, "
                 "calibration, cost), the paired comparison with cross-entropy, the suite "
                 "aggregate and the plots.\n")
    parts.extend(f"- [{md_text(suite)}]({pages}/{slug(suite)}.md)" for suite in suites)
    parts.append("")
    parts.append("\n## Provenance\n")
    parts.append(provenance_block(model) + "\n")
    return "\n".join(parts)



"""A suite's detail page (``leaderboard/<suite>.md``): per recipe section, each task's table
and its comparison with cross-entropy, the suite aggregate, the plots, and the tunings."""

from __future__ import annotations

import math
from pathlib import Path

from .. import aggregate as agg
from ..interval_text import plus_minus
from ..run_outputs import STATUSES
from .aggregates import Aggregate, build_aggregate
from .boards import WARN_BELOW_SEEDS, TaskBoard, best_marks
from .configs import Config, hparams_text, unpublished
from .groups import ALPHA
from .markdown import (
    APPROXIMATE_MARK,
    UNPUBLISHED_MARK,
    code,
    generated_line,
    md_text,
    p_text,
    table,
)
from .model import Model, recipe_description
from .provenance import mixed
from .stored_metadata import arrow
from .versus import versus, versus_metrics


def label_md(c: Config) -> str:
    text = md_text(c.label)
    if any(unpublished(c.first[n], c.first[f"{n}_version"])
           for n in ("loss", "regularizer")):
        text += UNPUBLISHED_MARK
    return text + (APPROXIMATE_MARK if c.approximate else "")


def failures(c: Config) -> str:
    from collections import Counter

    counts = Counter(c.statuses)
    order = [s for s in STATUSES if s != "ok"] + sorted(set(counts) - set(STATUSES))
    return ", ".join(f"{s} ×{int(counts[s])}" for s in order if s in counts and s != "ok")


def task_table(board: TaskBoard) -> str:
    marks = best_marks(board)
    groups = board.tie_groups()
    rows = []
    for c in board.ranked():
        n = c.n_ok
        row = {"group": str(groups.get(c.key, "–")), "entry": label_md(c),
               "hparams": md_text(c.hparams), "tuning": c.tuning,
               "seeds": f"{n}" if n >= WARN_BELOW_SEEDS else f"{n} ⚠"}
        for m in board.metrics:
            text = cell_text(board, c, m)
            row[f"{m} {arrow(m, board.directions)}"] = \
                f"**{text}**" if (c.key, m) in marks else text
        row["failed"] = failures(c)
        rows.append(row)
    align = ["right", "left", "left", "left", "right"] + ["right"] * len(board.metrics) + ["left"]
    notes = [f"group on {board.primary}, from a test against the leader: the best mean and every "
             f"row not significantly worse than it (paired t-test over shared seeds, Holm across "
             f"the rows compared, α = {ALPHA:g}) share group 1; the best of the rest leads "
             f"group 2, and so on."]
    approx = sorted({a for c in board.configs for a in c.approximate})
    if approx:
        notes.append(f"{APPROXIMATE_MARK} approximate implementation — "
                     + "; ".join(md_text(a) for a in approx))
    if board.hidden_trials:
        notes.append(f"{board.hidden_trials} tuning-trial configuration(s) (one seed each, "
                     f"selection only) are not shown; see *Tuning*.")
    if any(c.n_ok < WARN_BELOW_SEEDS for c in board.configs):
        notes.append(f"⚠ fewer than {WARN_BELOW_SEEDS} successful seeds: interval missing or wide.")
    if board.flags:
        notes.append(flags_note(board))
    mix = mixed(board.runs)
    if mix:
        notes.append("⚠ **mixed provenance** in this table: " + md_text("; ".join(mix)))
    return table(rows, align) + "".join(f"\n\n{n}" for n in notes)


def cell_text(board: TaskBoard, c: Config, metric: str) -> str:
    """A task-table cell: mean ± half-width, or for a flagged configuration (unstable or failed
    to train) its flag on the primary metric and its verdict on the others."""
    flag = board.flags.get(c.key)
    if flag is not None:
        return flag.text if metric == board.primary else flag.verdict
    return plus_minus(*board.cells[(c.key, metric)])


def flags_note(board: TaskBoard) -> str:
    """The legend of a table with flagged rows, and their per-seed values."""
    from .stability import FAILED_LIFT, TRAINED_LIFT, seeds_text

    metric = next(iter(board.flags.values())).metric
    rows = "; ".join(f"{label_md(c)}: {md_text(seeds_text(board.flags[c.key]))}"
                     for c in board.ranked() if c.key in board.flags)
    return (f"*unstable* = some seeds failed to train while others trained; *failed to train* "
            f"= every seed did. A seed failed when its {metric} got at most {FAILED_LIFT:.0%} "
            f"of the way from chance to perfect ((v − chance) / (1 − chance) ≤ {FAILED_LIFT:g})"
            f" and trained when it got at least {TRAINED_LIFT:.0%}. Such a row gets no mean, "
            f"interval, group or comparison (a mean over trained and failed seeds ranks a coin "
            f"flip). {metric} by seed: {rows}.")


def versus_table(board: TaskBoard) -> str:
    base = board.baseline()
    if base is None:
        return "_No cross-entropy runs on this task: no baseline comparison._"
    rows, corrected = [], False
    for c in board.ranked():
        if c.key == base.key:
            continue
        row = {"entry": label_md(c), "hparams": md_text(c.hparams), "tuning": c.tuning}
        paired = 0
        for m in versus_metrics(board):
            if c.key in board.flags or base.key in board.flags:
                flag = board.flags.get(c.key) or board.flags[base.key]
                row[f"Δ{m} {arrow(m, board.directions)}"] = \
                    flag.text if c.key in board.flags else f"baseline {flag.verdict}"
                continue
            v, used = versus(board, c, base, m)
            corrected |= used
            paired = max(paired, v.n)
            poi = "–" if math.isnan(v.poi) else f"{v.poi:.2f}"
            row[f"Δ{m} {arrow(m, board.directions)}"] = \
                f"{plus_minus(v.mean, v.half, signed=True)} (P {poi}, p {p_text(v.p)})"
        row["paired seeds"] = str(paired)
        rows.append(row)
    if not rows:
        return "_Only the baseline was run._"
    test = ("corrected resampled t-test (Nadeau & Bengio 2003, n_test/n_train from the records)"
            if corrected else "paired t-test over seeds")
    note = (f"Δ = configuration − cross-entropy, paired by seed (mean ± 95 % t-interval); "
            f"P = probability that a run of the configuration beats a run of CE (rliable's "
            f"Mann–Whitney definition; ↓ metrics negated); p = two-sided {test}. All rows are "
            f"reported; no p-value is corrected for multiple comparisons.")
    align = ["left", "left", "left"] + ["right"] * (len(rows[0]) - 3)
    return table(rows, align) + "\n\n" + note


def aggregate_section(a: Aggregate | None) -> str:
    if a is None:
        return "_No task has a cross-entropy baseline: nothing to normalise against._"
    rows = [{
        "configuration": md_text(r.name),
        "tasks": str(r.tasks),
        "runs/task": str(r.runs),
        "IQM ↑ [95 % CI]": f"{r.iqm[0]:.4f} [{r.iqm[1]:.4f}, {r.iqm[2]:.4f}]",
        "mean ↑": f"{r.mean:.4f}",
        "P(> CE) ↑": "–" if math.isnan(r.poi) else f"{r.poi:.2f}",
    } for r in a.rows]
    text = table(rows, ["left", "right", "right", "right", "right", "right"]) if rows \
        else "_No configuration was run on every task._"
    notes = [
        f"Tasks: {md_text(', '.join(a.tasks))}. Score = the task's primary metric relative to "
        f"cross-entropy's mean on that task (metric/CE for ↑ metrics, CE/metric for ↓ ones; 1 = "
        f"CE, above 1 = better). IQM = interquartile mean over runs × tasks with a "
        f"stratified-bootstrap percentile interval ({agg.BOOTSTRAP_REPS} resamples, "
        f"random_state {agg.BOOTSTRAP_SEED}); P(> CE) = rliable's probability of improvement "
        f"averaged over tasks.",
    ]
    if a.excluded:
        notes.append(f"{len(a.excluded)} configuration(s) not run on every task are not "
                     f"aggregated here.")
    if a.flagged:
        notes.append("Not aggregated, unstable or failed to train on a task: " + "; ".join(
            f"{md_text(name)} ({md_text(', '.join(where))})"
            for name, where in sorted(a.flagged.items())) + ".")
    if a.dropped_versions:
        notes.append("Older task versions left out (versions are never mixed): "
                     + md_text(", ".join(a.dropped_versions)))
    return text + "".join(f"\n\n{n}" for n in notes)


# ---------------------------------------------------------------- tuning and provenance

def tuning_section(model: Model) -> str:
    rows = []
    by_key = model.runs.set_index("spec_key")
    for task_key in sorted(model.tunings):
        suite, task, version, options = task_key
        for m in sorted(model.tunings[task_key].manifests, key=lambda m: (m["kind"], m["entry"])):
            chosen = m["chosen"]
            done = sum(not math.isnan(v) for v in m["values"])
            if chosen is None:
                picked, value = f"none: {md_text(m.get('note') or 'every trial failed')}", "–"
            else:
                key = m["trial_keys"][chosen]
                col = "loss_hparams" if m["kind"] == "loss" else "regularizer_hparams"
                picked = (md_text(hparams_text(by_key.at[key, col])) if key in by_key.index
                          else "") or "(no hyperparameters)"
                picked += " (defaults)" if chosen == 0 and m["search_space"] else ""
                value = "–" if math.isnan(m["values"][chosen]) else f"{m['values'][chosen]:.4f}"
            rows.append({"task": md_text(f"{suite}/{task} v{version}"),
                         "entry": md_text(m["entry"]),
                         "K": str(m.get("budget", m["trials"])),
                         "trials run (ok)": f"{m['trials']} ({done})",
                         "selected": picked, "selected on": md_text(m["selection_metric"]),
                         "value": value,
                         "options": "" if options == "{}" else code(options)})
    if not rows:
        return ("_No tuning manifests: every row is untuned (card defaults or hand-set "
                "hyperparameters)._")
    return table(rows)


def render_suite(model: Model, suite: str, plots_link: str,
                 plots: dict[str, list[tuple[str, str]]], summary_link: str,
                 caveat: str = "", source: str | Path = "results") -> str:
    """``leaderboard/<suite>.md``: the suite's disagreements with the literature (``caveat``),
    then per recipe section each task's table and versus-CE table, the suite aggregate, and the
    plots of the suite."""
    parts = [f"# lossbench leaderboard: {md_text(suite)}\n",
             generated_line(source, f" Back to the [summary]({summary_link}).")]
    if caveat:
        parts.append(caveat)
    for section in model.sections:
        boards = [b for b in section.boards if b.suite == suite]
        if not boards:
            continue
        if section.default:
            parts.append("\n## Default recipe\n")
        else:
            parts.append(f"\n## Runs with recipe options `{section.options}`\n")
            parts.append("_Not comparable with default-recipe runs (shorter or changed "
                         "training); kept apart from them._\n")
        for b in boards:
            parts.append(f"\n### {md_text(f'{b.suite} / {b.task} (task v{b.version})')}\n")
            description = b.meta.get("description")
            if description:
                parts.append(md_text(recipe_description(description, section.options)) + "\n")
            selection = b.meta.get("model_selection")
            if selection:
                parts.append(f"Test metrics of the checkpoint chosen by `{md_text(selection)}` "
                             "(the task's model selection).\n")
            parts.append(task_table(b) + "\n")
            parts.append(f"\n#### {md_text(f'{b.suite} / {b.task} v{b.version}')}: versus "
                         "cross-entropy\n")
            parts.append(versus_table(b) + "\n")
        parts.append(f"\n### {md_text(suite)}: aggregate over its tasks\n")
        parts.append(aggregate_section(build_aggregate(boards)) + "\n")
        key = f"{suite}|{section.options}"
        if plots.get(key):
            parts.append("\n### Plots\n")
            parts.extend(f"- [{md_text(title)}]({plots_link}/{name})"
                         for title, name in plots[key])
            parts.append("")
    if model.tunings and any(k[0] == suite for k in model.tunings):
        parts.append("\n## Tuning\n")
        sub = Model(model.runs, {k: v for k, v in model.tunings.items() if k[0] == suite},
                      [], None, [])
        parts.append(tuning_section(sub) + "\n")
    return "\n".join(parts)


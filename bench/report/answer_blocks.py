"""The summary's per-question blocks: which entries beat the question's baseline (:mod:`.answers`),
at a glance and in full, and how the answers are computed."""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..plan import BASELINE_LOSS
from .answers import Answer, Question
from .groups import ALPHA
from .markdown import (
    APPROXIMATE_MARK,
    UNPUBLISHED_MARK,
    code,
    compact_table,
    entry_md,
    gain_text,
    md_text,
    value_text,
)


def baseline_text(q: Question) -> str:
    """How a question's baseline is named: "cross-entropy", else the entry as code."""
    return "cross-entropy" if q.baseline == BASELINE_LOSS else code(q.baseline)


def answer_block(a: Answer) -> str:
    """One question's block: what is compared with what, then the entries significantly better
    than the baseline (gain [95 % CI], tasks where fewer than the suite's, ECE after temperature
    scaling and raw), or "no entry beats …"."""
    q = a.question
    head = f"### {md_text(q.title)}\n\n"
    if a.missing:
        return head + f"_Not answered: {md_text(a.missing)}._"
    base = baseline_text(q)
    tasks = f"{len(a.tasks)} task{'s' if len(a.tasks) != 1 else ''}"
    calibration = ", ".join(f"{name} {value_text(v)}" for name, v in
                            (("ECE after TS", a.baseline_ece_ts), ("raw ECE", a.baseline_ece))
                            if not math.isnan(v))
    context = (f"{code(a.metric)} {'↑' if a.higher_is_better else '↓'} on "
               f"{code(q.suite)} ({tasks}) against {base} ({value_text(a.baseline_value)}"
               + (f"; {calibration}" if calibration else "") + ")"
               + (f"; {md_text(q.note)}" if q.note else "") + ". ")
    winners = a.winners
    unstable = (f"; not tested, unstable or failed to train on a task: "
                f"{', '.join(md_text(e) for e in a.unstable)}" if a.unstable else "")
    if not winners:
        return head + context + f"**No entry beats {base}** ({len(a.gains)} compared{unstable})."
    text = head + context + (f"**{len(winners)} better** ({len(a.gains)} compared{unstable}):"
                             f"\n\n")
    partial = any(g.tasks < len(a.tasks) for g in winners)
    show_ts = any(not math.isnan(g.ece_ts) for g in winners)
    show_ece = any(not math.isnan(g.ece) for g in winners)
    rows = []
    for g in winners:
        row = {"entry": entry_md(g.entry, bool(g.approximate), g.unpublished),
               "gain [95 % CI]": gain_text(g.mean, g.half)}
        if partial:
            row["tasks"] = f"{g.tasks} of {len(a.tasks)}"
        if show_ts:
            row["ECE after TS ↓"] = value_text(g.ece_ts)
        if show_ece:
            row["raw ECE ↓"] = value_text(g.ece)
        rows.append(row)
    return text + compact_table(rows, ["left"] + ["right"] * (len(rows[0]) - 1))


def answers_glance(answers: Sequence[Answer], shown: int = 3) -> str:
    """The first screen of the summary: one row per question — the metric and baseline, and
    the best ``shown`` entries significantly better than the baseline with their gains (the
    rest counted), or "none of N"; the blocks below give every winner with its interval and
    calibration."""
    rows = []
    for a in answers:
        q = a.question
        base = baseline_text(q)
        if a.missing:
            better = f"_not answered: {md_text(a.missing)}_"
        elif not a.winners:
            better = f"none of {len(a.gains)}"
        else:
            best = [f"{entry_md(g.entry, bool(g.approximate), g.unpublished)} "
                    f"{gain_text(g.mean, math.nan)}" for g in a.winners[:shown]]
            more = len(a.winners) - shown
            better = ", ".join(best) + (f" (+{more} more)" if more > 0 else "")
        rows.append({"question": md_text(q.title),
                     "metric (vs)": f"{code(a.metric)} {'↑' if a.higher_is_better else '↓'} "
                                    f"(vs {base})",
                     "significantly better (gain)": better})
    return compact_table(rows, ["left", "left", "left"]) if rows else ""


def answers_legend() -> str:
    return (f"*How the answers are computed:* for each entry of the question's objective, its "
            f"row on each of the suite's tasks (tuned where tuning ran, else its card defaults) "
            f"is paired with the baseline's by (task, seed) over the design seeds both ran; "
            f"gain = the mean paired difference in the metric's good direction (for ECE: the "
            f"baseline's minus the entry's) with its 95 % t-interval; an entry is listed when a "
            f"two-sided paired t-test, Holm-corrected across the entries compared on that "
            f"question, rejects at family-wise α = {ALPHA:g} and the gain is positive. ECE = "
            f"mean over the same tasks × seeds, after temperature scaling (`ece_ts`, a "
            f"temperature fitted on the validation split) and raw (`ece`). "
            f"{APPROXIMATE_MARK} = approximate implementation (see its card); "
            f"{UNPUBLISHED_MARK} = unpublished `module:attr` target.\n")

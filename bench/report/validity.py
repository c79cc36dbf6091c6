"""The board's validity section: the pre-registered catalog judged on the records.

The catalog is the one shipped with lossbench (its digest is printed, so any edit after
registration is visible); everything else comes from the records: the cards' default
hyperparameters from ``card_json``
(:func:`lossbench.report.catalog_section.stored_card_defaults`), each task's newest stored
version. The headline is the confirmation seeds' verdict; the design seeds' is beside
it, since those seeds chose the recipes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import pandas as pd

from ..catalog import Catalog, load_catalog
from ..diagnosis import Reason, finding_reasons, ranking_reason
from ..disagreement_notes import DisagreementNote, load_notes
from ..errors import UsageError
from ..validity import Judgement, judge, seed_text
from ..validity_text import finding_rows, ranking_rows
from .catalog_section import stored_card_defaults
from .markdown import generated_line, md_text, table

TITLE = "## Do the embedded suites agree with the literature?"


def split_confirmation(runs: pd.DataFrame, catalog: Catalog | None,
                       ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the board's runs, the runs on confirmation seeds): confirmation seeds are judged by the
    validity section only, so every board table is over the same design seeds for every entry."""
    if catalog is None or runs.empty or "seed" not in runs:
        return runs, runs.iloc[0:0]
    held = runs["seed"].astype(int).isin(catalog.confirmation_seeds)
    return runs[~held].reset_index(drop=True), runs[held].reset_index(drop=True)


def judgements(runs: pd.DataFrame, catalog: Catalog) -> tuple[Judgement, Judgement]:
    """(confirmation, design) judgements of ``catalog`` on ``runs`` (all seeds), from the records
    alone."""
    defaults = stored_card_defaults(runs)
    return (judge(catalog, runs, "confirmation", defaults=defaults),
            judge(catalog, runs, "design", defaults=defaults))


def disagreements(confirmation: Judgement,
                  notes: Mapping[str, DisagreementNote] | None = None,
                  reasons: Mapping[str, Reason] | None = None) -> dict[str, list[str]]:
    """Per suite, one line for each finding the confirmation seeds do not confirm: what the
    literature says, what this proxy gives, why (computed from the finding's numbers:
    ``reasons``, default :func:`lossbench.diagnosis.finding_reasons`) and what was measured
    about it (``notes``, :mod:`lossbench.disagreement_notes`): the honest caveat of that suite's
    column."""
    reasons = finding_reasons(confirmation) if reasons is None else reasons
    out: dict[str, list[str]] = {}
    for v in confirmation.findings:
        if v.verdict == "confirmed":
            continue
        f = v.finding
        what = v.verdict
        if v.verdict == "contradicted":
            what += " on " + ", ".join(v.contradicted_metrics(confirmation.alpha))
        p = v.primary
        effect = "" if v.verdict == "missing" else \
            f" (effect {p.effect:+.3f} vs published {p.published:+.3f} on {f.primary})"
        line = f"`{md_text(f.id)}` {what}{effect}: {md_text(f.claim)}"
        reason = reasons.get(f.id)
        if reason is not None:
            line += f" *Why ({reason.kind}):* {md_text(reason.text)}."
        out.setdefault(f.suite, []).append(line + _measured(notes, f.id))
    return out


def _measured(notes: Mapping[str, DisagreementNote] | None, finding: str) -> str:
    """`` *Measured:* …`` with the note's evidence, or nothing when ``finding`` has no note."""
    note = (notes or {}).get(finding)
    return "" if note is None else \
        f" *Measured:* {md_text(note.measured)} (`{md_text(note.evidence)}`)"


def ranking_disagreements(confirmation: Judgement,
                          notes: Mapping[str, DisagreementNote] | None = None) -> list[str]:
    """One line per rank table whose τ-b is below :data:`TAU_BAR`: the pairs the proxy orders
    the other way (:func:`lossbench.diagnosis.ranking_reason`) and any measured note."""
    out = []
    for r in confirmation.rankings:
        if math.isnan(r.tau) or r.tau >= TAU_BAR:
            continue
        line = f"`{md_text(r.ranking.id)}` (τ-b {r.tau:+.2f})"
        reason = ranking_reason(r)
        if reason is not None:
            line += f": {md_text(reason)}."
        out.append(line + _measured(notes, r.ranking.id))
    return out


#: The rank agreement the validity issue asks of every declared table.
TAU_BAR = 0.6


#: Where the disagreements were studied: the recipe variants judged on the whole catalog.
WHY = ("six recipe variants (the sources' SGD protocol, pad-and-crop augmentation, a four "
       "times wider model, …) were judged on the whole catalog on the design seeds "
       "(docs/suites.md, \"Regime study for the whole catalog\"); none within the compute "
       "budget agrees better than the current recipe. The wide model does (mixup under label "
       "noise and focal's calibration then hold) at about four times the compute. Label "
       "smoothing's and mixup's calibration fail in every variant: cross-entropy is barely "
       "over-confident on these tasks, and these methods lower the confidence by 0.07–0.16, "
       "more than there is to correct")

#: How each line of the disagreements says why.
WHY_PER_FINDING = (
    "Each finding the confirmation seeds do not confirm, with *why*: first the reason computed "
    "from the finding's own numbers (reversed; a side metric against it; not equivalent; lost "
    "to Holm's correction; smaller than published; within the noise, with the seeds an effect of "
    "the published size would need; too noisy for a tie's margin), then what was *measured* "
    "about it after the verdict (`bench/disagreement_notes.toml`, kept apart from the "
    "pre-registered catalog and changing no verdict; a hypothesis is called one)")


#: The detail page with the full validity tables (a name no suite's page can take: a suite's
#: file name never starts with an underscore, :func:`lossbench.file_names.slug`).
PAGE = "_validity.md"


def _counts(j: Judgement, suite: str) -> str:
    verdicts = [v.verdict for v in j.findings if v.finding.suite == suite]
    rest = ", ".join(f"{verdicts.count(v)} {v}" for v in ("contradicted", "unresolved",
                                                           "missing") if verdicts.count(v))
    return f"{verdicts.count('confirmed')} of {len(verdicts)} confirmed" + \
        (f" ({rest})" if rest else "")


def sections(runs: pd.DataFrame, catalog: Catalog | None = None,
             page_link: str = PAGE, source: str = "results",
             notes: Mapping[str, DisagreementNote] | None = None,
             ) -> tuple[str, dict[str, str], str]:
    """(the summary's markdown section, per suite the detail page's caveat, the validity page):
    the catalog judged once on ``runs`` (every seed), so all three say the same. The summary has
    the headline and per suite its counts and the findings it does not confirm; the page
    (``page_link`` from the summary) has the findings table (confirmation beside design) and
    rank agreement; a suite's caveat lists its findings the confirmation seeds do not confirm,
    each with why (computed, and measured: ``notes``, default the shipped
    :mod:`lossbench.disagreement_notes`)."""
    try:
        catalog = catalog if catalog is not None else load_catalog()
        confirmation, design = judgements(runs, catalog)
        measured = load_notes(catalog) if notes is None else notes
    except UsageError as exc:  # a broken catalog is shown, not hidden
        return (f"\n{TITLE}\n\n_The findings catalog could not be judged: "
                f"{md_text(exc)}_\n", {}, "")
    headline = (f"**{md_text(confirmation.summary_line())}** — the pre-registered findings "
                f"catalog (`{catalog.digest}`, {len(catalog.findings)} published findings, "
                f"{len(catalog.rankings)} rank tables; `bench/catalog.toml`) judged on "
                f"confirmation seeds that never chose a recipe. On the design seeds "
                f"{seed_text(design.seeds)}, which the recipes were chosen on: "
                f"{md_text(design.summary_line().split(': ', 1)[1])}.\n")
    reasons = finding_reasons(confirmation)
    lines = disagreements(confirmation, measured, reasons)
    tables = ranking_disagreements(confirmation, measured)
    summary = [f"\n{TITLE}\n", headline,
               f"Every finding with its effect, the published effect, the adjusted p and the rank "
               f"tables: [the validity page]({page_link}). Per suite, and what its column must "
               f"be read with:\n"]
    for suite in sorted({f.suite for f in catalog.findings}):
        line = f"- **{md_text(suite)}**: {_counts(confirmation, suite)}"
        short = [f"`{md_text(v.finding.id)}` {v.verdict}"
                 + (f" ({reasons[v.finding.id].kind})" if v.finding.id in reasons else "")
                 for v in confirmation.findings
                 if v.finding.suite == suite and v.verdict != "confirmed"]
        summary.append(line + (f"; not confirmed: {'; '.join(short)}" if short else ""))
    summary.append("")
    page = ["# lossbench leaderboard: do the embedded suites agree with the literature?\n",
            generated_line(source),
            headline,
            "*effect*: mean over shared seeds of A − B on the primary metric, signed so that "
            "positive = A better, ± its 95 % t-interval; *published*: the source's effect in "
            "the same units; *ratio* = effect / published; *p (Holm)*: the primary test "
            "adjusted across the catalog. *confirmed* = the primary metric significantly as "
            "published and no declared metric significantly the other way; *contradicted* = a "
            "declared metric significantly the other way; *missing* = not every seed of the "
            "set stored. `lossbench validate` prints the same with every metric; "
            "`lossbench validate --confirm` runs what is missing.\n"]
    rows = finding_rows(confirmation, design)
    page.append(table([{k: md_text(v) for k, v in r.items()} for r in rows],
                      ["left"] * 4 + ["right", "left", "right", "right", "right", "right",
                                      "right", "left"]) + "\n")
    if catalog.rankings:
        page.append(f"\n## Rank agreement\n\nKendall τ-b between the published table and the "
                    f"task's means, seed-bootstrap 95 % interval, confirmation seeds "
                    f"{seed_text(confirmation.seeds)}:\n")
        page.append(table([{k: md_text(v) for k, v in r.items()}
                           for r in ranking_rows(confirmation)],
                          ["left", "left", "left", "right", "right", "right", "left",
                           "left"]) + "\n")
    page += [f"- No published rank table for **{md_text(suite)}**: {md_text(why)}."
             for suite, why in sorted(catalog.unranked.items())]
    if lines or tables:
        page.append("\n## Where the proxy disagrees with the literature\n")
        page.append(f"{WHY_PER_FINDING}\n\nAcross the catalog: {WHY}.\n")
        for suite in sorted(lines):
            page.append(f"**{md_text(suite)}**\n")
            page += [f"- {x}" for x in lines[suite]]
            page.append("")
        if tables:
            page.append(f"**Rank tables below τ-b {TAU_BAR:g}**\n")
            page += [f"- {x}" for x in tables]
    caveats = {suite: "\n> **Disagrees with the literature** on the confirmation seeds "
                      f"({seed_text(confirmation.seeds)}):\n" + "".join(f"> - {x}\n"
                                                                          for x in found)
               for suite, found in lines.items()}
    return "\n".join(summary), caveats, "\n".join(page) + "\n"


__all__: Sequence[str] = ["PAGE", "TAU_BAR", "TITLE", "disagreements", "judgements",
                          "ranking_disagreements", "sections", "split_confirmation"]

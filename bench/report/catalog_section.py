"""The leaderboard's section on the findings the suites declare themselves (``Suite.findings``,
:mod:`lossbench.suites.declared_findings`), judged on the records alone.

What is installed now plays no part: the declarations come from the records (each record's
``task_json`` states its suite's findings, :mod:`lossbench.record_meta`), and so do the card
defaults a comparable run must have (``card_json``); in both, the newest record's metadata wins
(``lossbench.report.stored_metadata._newest_first``, as everywhere in the report). Each
finding is judged as ``lossbench validate`` judges it (:func:`lossbench.findings.evaluate`), on
each task's newest stored version. The built-in suites declare none (the catalog is judged
apart, :mod:`lossbench.report.validity`), so the section is empty unless a third-party suite
declares findings.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ..comparable_runs import DEFAULT_OPTIONS
from ..errors import UsageError
from ..findings import CONFIDENCE, DEFAULT_MIN_SEEDS, SuiteFindings, compared_text, evaluate
from ..findings_text import percent_text, summary_line, task_text, verdict_text
from ..suites.declared_findings import Finding
from ..versions import version_key
from .markdown import md_text  # a suite's findings are plugin text: escaped as every cell
from .stored_metadata import _newest_first, stored_json

if TYPE_CHECKING:
    import pandas as pd

TITLE = "### Findings declared by the suites themselves"


def stored_declarations(runs: pd.DataFrame) -> list[SuiteFindings]:
    """The findings the records themselves state (each record's ``task_json``, written at run
    time: see :mod:`lossbench.record_meta`): per suite, the declarations stored by its newest
    default-recipe record, judged on each task's newest stored version. What is installed now
    plays no part."""
    if "task_json" not in runs or not len(runs):
        return []
    rows = runs[runs["options"] == DEFAULT_OPTIONS]
    out = []
    for suite, suite_rows in rows.groupby("suite", sort=True):
        text = next((t for t in _newest_first(suite_rows, "task_json")
                     if isinstance(t, str) and t), None)
        if text is None:
            continue
        try:
            declared = tuple(Finding.from_dict(f) for f in json.loads(text).get("findings") or [])
        except (ValueError, TypeError, KeyError, AttributeError, UsageError):
            continue  # a record with unreadable metadata declares nothing
        if declared:
            versions: dict[str, str] = {}
            for task, version in zip(suite_rows["task"], suite_rows["task_version"].astype(str),
                                     strict=True):
                if task not in versions or version_key(version) > version_key(versions[task]):
                    versions[task] = version
            out.append(SuiteFindings(str(suite), declared, versions))
    return out


def stored_card_defaults(runs: pd.DataFrame) -> Callable[[str, str], Mapping[str, Any] | None]:
    """``defaults(kind, name)`` read from the cards the records stored (``card_json``; the newest
    record of the entry wins), for :func:`lossbench.findings.evaluate` and the catalog's judge:
    the live registry plays no part."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for text in _newest_first(runs, "card_json"):
        cards = stored_json(text)
        for kind in ("loss", "regularizer"):
            card = cards.get(kind)
            if isinstance(card, dict) and "name" in card:
                found.setdefault((kind, str(card["name"])), dict(card.get("hparams") or {}))

    def defaults(kind: str, name: str) -> Mapping[str, Any] | None:
        return found.get((kind, name))

    return defaults


def leaderboard_section(runs: pd.DataFrame, min_seeds: int = DEFAULT_MIN_SEEDS) -> str:
    """The leaderboard's findings section: the summary line and one row per finding the records
    declare (:func:`stored_declarations`) with its verdict, difference ± interval, seeds and
    source; card defaults come from the stored cards (:func:`stored_card_defaults`)."""
    try:
        defaults = stored_card_defaults(runs)
        results = []
        for s in stored_declarations(runs):
            results += evaluate(runs, s.suite, s.findings, task_versions=s.task_versions,
                                min_seeds=min_seeds, defaults=defaults)
    except UsageError as exc:  # a wrong declaration is shown, not hidden
        return f"\n{TITLE}\n\n_The findings could not be checked: {md_text(exc)}_\n"
    if not results:
        return ""  # no suite declares findings of its own (the catalog is judged apart)
    from tabulate import tabulate

    rows = [{
        "verdict": verdict_text(r, min_seeds),
        "finding": md_text(r.finding.claim),
        "task": md_text(task_text(r)),
        "compared": md_text(f"{r.finding.versus} ({compared_text(r.finding)})"),
        f"diff ± {percent_text(r.confidence)} CI": md_text(r.diff_text()),
        "n": str(r.n),
        "published": md_text(r.finding.published),
        "source": md_text(r.finding.source),
    } for r in results]
    table = tabulate(rows, headers="keys", tablefmt="github", disable_numparse=True)
    return "\n".join([
        f"\n{TITLE}\n",
        f"**{summary_line(results)}.** A suite (a third-party one, typically) may declare "
        f"published results its tasks should reproduce (`Suite.findings`); each is judged "
        f"on the current task version's default-recipe runs "
        f"with card-default hyperparameters: diff = mean over the seeds both sides share of "
        f"A − B, signed so that positive = the published direction, ± the half-width of its "
        f"two-sided {percent_text(CONFIDENCE)} Student-t interval; *reproduced* / *inverted* = "
        f"the interval lies above / below 0, *missing* = fewer than {min_seeds} shared seeds. "
        f"`lossbench validate` prints the same, with the commands that produce missing runs.\n",
        table,
        "",
    ])

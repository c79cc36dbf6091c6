"""The text of ``lossbench validate``'s part on the suites' own findings: the table, the summary
line, the commands that produce missing runs, the notes; and the pieces the leaderboard's
findings section shares (:mod:`lossbench.report.catalog_section`).
"""

from __future__ import annotations

from collections.abc import Sequence

from .findings import DEFAULT_MIN_SEEDS, VERDICTS, FindingResult, compared_text


def summary_line(results: Sequence[FindingResult]) -> str:
    """``3 of 9 published findings reproduced (2 unresolved, 1 inverted, 3 missing)``."""
    counts = {v: sum(r.verdict == v for r in results) for v in VERDICTS}
    rest = ", ".join(f"{counts[v]} {v}" for v in VERDICTS[1:] if counts[v])
    text = f"{counts['reproduced']} of {len(results)} published findings reproduced"
    return f"{text} ({rest})" if rest else text


def percent_text(confidence: float) -> str:
    """``0.95`` → ``95 %``."""
    return f"{confidence * 100:g} %"


def failed_text(r: FindingResult) -> str:
    """The failed comparable runs: ``A / B``, or ``A`` alone for a same-entry finding."""
    return str(r.failed_a) if r.finding.same_entry else f"{r.failed_a} / {r.failed_b}"


def task_text(r: FindingResult) -> str:
    """``suite/task vVERSION`` of the judged runs."""
    version = f" v{r.task_version}" if r.task_version is not None else ""
    return f"{r.suite}/{r.finding.task}{version}"


def verdict_text(r: FindingResult, min_seeds: int | None = None) -> str:
    """The verdict, with the seeds found of the seeds needed when runs are missing."""
    if r.verdict == "missing" and min_seeds is not None:
        return f"missing ({r.n} of {min_seeds} seeds)"
    return r.verdict


def table_rows(results: Sequence[FindingResult], min_seeds: int) -> list[dict[str, str]]:
    """The rows of ``lossbench validate``'s table."""
    return [{
        "finding": r.finding.id,
        "task": task_text(r),
        "metric": compared_text(r.finding),
        "A vs B": r.finding.versus,
        "n": str(r.n),
        f"diff ± {percent_text(r.confidence)}": r.diff_text(),
        "verdict": verdict_text(r, min_seeds),
        "failed A / B": failed_text(r),
        "source": r.finding.source,
    } for r in results]


def render_text(results: Sequence[FindingResult], min_seeds: int = DEFAULT_MIN_SEEDS) -> str:
    """What ``lossbench validate`` prints: the table, the summary line, the commands that would
    produce the missing runs, and notes."""
    from tabulate import tabulate

    if not results:
        return "no published findings are declared by the selected suites"
    lines = [tabulate(table_rows(results, min_seeds), headers="keys", tablefmt="simple",
                      disable_numparse=True), "",
             summary_line(results) + ".",
             "diff: mean over the shared seeds of A − B signed so that positive = the published "
             "direction (metric ↑: A higher, ↓: A lower), ± the half-width of its two-sided "
             "Student-t interval; reproduced / inverted = the interval lies above / below 0."]
    missing = [r for r in results if r.command]
    if missing:
        lines += ["", f"Missing runs (fewer than {min_seeds} shared ok seeds):"]
        lines += [f"  {r.finding.id}: {r.command}" for r in missing]
    notes = [r for r in results if r.note]
    if notes:
        lines += [""] + [f"note: {r.finding.id}: {r.note}" for r in notes]
    return "\n".join(lines)

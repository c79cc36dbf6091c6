"""Merging records that a third-party distribution's runs produced elsewhere (``lossbench merge``).

The nightly board runs each third-party distribution in its own job, on a results folder of its
own, so that its code never shares a folder with anyone else's records; a trusted job, which
imports no plugin, then merges what each job returns into ``results/``. The merge takes a record
only when

- it is a sound record of the folder it comes from: its spec key recomputed from its spec is its
  file name, its rows match its digest, and that folder's ledger vouches for it
  (:func:`lossbench.record_trust.file_problems`);
- its spec is not stored in ``results`` yet: a merge never replaces a record (the store is
  append-only), so a job cannot overwrite the committed records or another job's;
- each of its entries is either a built-in of lossbench (by its name in this process's registry)
  or a third-party entry whose stored distribution is the job's own, and at least one is
  third-party: a job adds records of its own distribution's entries only, never a record of
  built-ins alone or one claiming another distribution's entry.

Accepted files are copied byte for byte (the same digest) and vouched for in ``results``'s
ledger by a ``merge`` entry; everything else is listed with the reason. Light: no torch.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .all_or_nothing import temp_path
from .errors import UsageError
from .ledger import append, entry, read_ledger
from .registry import BUILTIN_DISTRIBUTION


def normalized(name: str) -> str:
    """A distribution name as pip compares them (PEP 503: case and ``-_.`` runs ignored)."""
    return re.sub(r"[-_.]+", "-", str(name)).lower()


@dataclass
class MergeReport:
    """What :func:`merge_records` took (spec keys) and left out (file name, reason)."""

    source: str
    distribution: str
    merged: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "distribution": self.distribution,
                "merged": self.merged,
                "refused": [{"file": f, "reason": r} for f, r in self.refused]}

    def render_text(self) -> str:
        from .text_safety import for_terminal

        lines = [f"merged {len(self.merged)} record(s) of {for_terminal(self.distribution)} from "
                 f"{for_terminal(self.source)}; refused {len(self.refused)}"]
        lines += [f"  refused {for_terminal(f)}: {for_terminal(r)}" for f, r in self.refused]
        return "\n".join(lines)


def _builtin(kind: str, name: str | None) -> bool:
    from .registry import registry_for

    try:
        origin = registry_for(kind).get(name).origin
    except Exception:  # noqa: BLE001 - not registered here: not a built-in
        return False
    return normalized(str(origin).split(" ")[0]) == BUILTIN_DISTRIBUTION


def entry_problem(run: dict[str, Any], distribution: str) -> str:
    """'' when the record's entries are built-ins or the job's ``distribution``'s, at least one
    the latter; else why not."""
    third_party = 0
    for kind, name_col, dist_col in (("loss", "loss", "loss_distribution"),
                                     ("regularizer", "regularizer", "regularizer_distribution")):
        name = run.get(name_col)
        if not name:
            continue
        if _builtin(kind, name):
            continue
        claimed = str(run.get(dist_col) or "").split(" ")[0]
        if normalized(claimed) != normalized(distribution):
            return (f"its {kind} {name!r} is of distribution {claimed or '(none)'!r}, not "
                    f"{distribution!r}: a job merges its own distribution's records only")
        third_party += 1
    if not third_party:
        return "a record of built-in entries only: those run in the job that imports no plugin"
    return ""


def merge_records(source: str | Path, results: str | Path, distribution: str) -> MergeReport:
    """Merge the records of ``source`` (one distribution's job) into ``results`` (see the module
    docstring)."""
    from .record_trust import checked_contents, file_problems
    from .store import record_files, stored_keys

    source, results = Path(source), Path(results)
    if not source.is_dir():
        raise UsageError(f"source {str(source)!r} is not a folder of records")
    if not str(distribution).strip():
        raise UsageError("--distribution must name the distribution whose job made the records")
    if normalized(distribution) == BUILTIN_DISTRIBUTION:
        raise UsageError(f"--distribution {distribution!r} is lossbench itself: built-in runs are "
                         f"stored by the sweep that imports no plugin, never merged")
    report = MergeReport(str(source), distribution)
    files = record_files(source)
    problems = file_problems(files, read_ledger(source))
    contents = checked_contents(files)
    results.mkdir(parents=True, exist_ok=True)
    stored = stored_keys(results)
    for path in sorted(files):
        key = path.stem
        problem = problems.get(path) or ""
        content = contents[path][1]
        if not problem and content is not None:
            problem = entry_problem(content.run, distribution)
        if not problem and key in stored:
            problem = "its spec is stored in the results folder already: a merge never " \
                      "replaces a record"
        if problem or content is None:
            report.refused.append((path.name, problem or "not a readable record"))
            continue
        target = results / path.name
        tmp = temp_path(target)
        try:
            shutil.copyfile(path, tmp)
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        append(results, entry("merge", key, content.digest, f"from {normalized(distribution)}"))
        stored.add(key)
        report.merged.append(key)
    return report

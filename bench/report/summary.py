"""The summary: one row per entry, its aggregate over each suite and over its own tasks.

Each row takes an entry's best validated configuration on each task (:mod:`.configs`),
aggregates its CE-normalised primary scores per suite (:func:`.aggregates.entry_aggregate`),
ranks the entries of one objective in tie groups per suite column (:mod:`.groups`, pairs =
``(task, seed)``) and counts the tasks where the entry is better / tied / worse than
cross-entropy (:mod:`.versus`). Configurations that are unstable on a task show their flag
instead of a cell (:mod:`.stability`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .aggregates import AggregateRow, entry_aggregate, paired_scores
from .boards import TaskBoard, newest_boards
from .configs import Config, best_validated, unpublished
from .groups import groups_by_test
from .stored_metadata import objective_of
from .versus import paired


@dataclass
class EntrySummary:
    """One row of the summary: an entry's best validated configuration per task (tuned where
    tuning ran, else its card defaults) aggregated over each suite and over its own tasks."""

    entry: str
    cards: dict[str, dict]
    kind: str
    fidelity: str
    tuned: bool
    cells: dict[str, AggregateRow | None]  # column ("own", suite) -> aggregate row
    counts: dict[str, tuple[int, int, int]]  # suite -> better, tie, worse vs CE (tasks)
    groups: dict[str, int] = field(default_factory=dict)  # column -> tie group
    unpublished: bool = False  # a module:attr target run without packaging
    alias_cards: list[dict[str, dict]] = field(default_factory=list)  # merged aliases' cards
    #: column -> flag text where its configuration on a task of that column is unstable or
    #: failed to train (the cell shows it instead of an IQM, and takes no tie group)
    flags: dict[str, str] = field(default_factory=dict)
    #: what the entry optimises (its loss card's ``objective``: classification | embedding);
    #: entries of different objectives are ranked apart (:meth:`Summary.ranking`)
    objective: str = "classification"
    #: column -> ``{(task, seed): CE-normalised primary score}``, what the column's groups pair
    scores: dict[str, dict[tuple[str, int], float]] = field(default_factory=dict)

    @property
    def order(self) -> float:
        """The mean of its tie groups over the suites it ran on (the summary's row order, after
        the number of suites: entries run more widely first)."""
        suites = [g for col, g in self.groups.items() if col != "own"]
        return sum(suites) / len(suites) if suites else math.inf


#: objectives in the order the summary shows their rankings (others follow, sorted)
OBJECTIVE_ORDER = ("classification", "embedding")


@dataclass
class Summary:
    """The summary's rows, one per entry. Its rankings (tie groups, row order) are computed
    within one objective at a time: a classification entry and an embedding entry are never in
    one ranking, since their scores on a task measure different things (an embedding loss's
    MAP@R against a classifier's penultimate features)."""

    suites: list[str]
    rows: list[EntrySummary]

    def objectives(self) -> list[str]:
        """The objectives present, classification first, then embedding, then any other."""
        present = {r.objective for r in self.rows}
        return [o for o in OBJECTIVE_ORDER if o in present] + \
            sorted(present - set(OBJECTIVE_ORDER))

    def ranking(self, objective: str) -> list[EntrySummary]:
        """The rows of one objective, in the summary's order; their groups rank them among
        themselves only."""
        return [r for r in self.rows if r.objective == objective]

    def columns(self, objective: str) -> list[str]:
        """The suites where some entry of ``objective`` has a cell or a flag."""
        rows = self.ranking(objective)
        return [s for s in self.suites
                if any(r.cells.get(s) is not None or s in r.flags for r in rows)]


def entry_flags(boards: list[TaskBoard], entry: str) -> list[str]:
    """``"suite/task: flag"`` for each of the ``boards`` (newest versions) where ``entry``'s best
    validated configuration is unstable or failed to train."""
    out = []
    for b in newest_boards(boards)[0]:
        c = best_validated(b.configs, entry)
        if c is not None and c.key in b.flags:
            out.append(f"{b.suite}/{b.task}: {b.flags[c.key].text}")
    return out


def build_summary(boards: list[TaskBoard]) -> Summary:
    """One row per entry, its cells per column (``own`` and each suite), and in each suite column
    its tie group from a paired test against the column's leader (:mod:`.groups`, pairs =
    ``(task, seed)``), computed within each objective apart. The ``own`` column (every task the
    entry ran on) gets no group: its entries ran on different tasks, so no test compares them."""
    suites = sorted({b.suite for b in boards})
    newest, _ = newest_boards(boards)
    entries: dict[str, Config] = {}
    for b in newest:
        for c in b.configs:
            entries.setdefault(c.label, c)
    rows = []
    for entry in sorted(entries):
        first = entries[entry]
        flagged = {}
        for col, col_boards in [("own", boards), *((s, [b for b in boards if b.suite == s])
                                                    for s in suites)]:
            found = entry_flags(col_boards, entry)
            if found:
                flagged[col] = "; ".join(found) if col == "own" or len(found) > 1 else \
                    found[0].partition(": ")[2] + f" on {found[0].partition(': ')[0]}"
        cells = {"own": None if "own" in flagged else entry_aggregate(boards, entry)}
        scores = {"own": {} if "own" in flagged else paired_scores(boards, entry)}
        tuned = False
        counts = {}
        for s in suites:
            suite_boards = [b for b in boards if b.suite == s]
            cells[s] = None if s in flagged else entry_aggregate(suite_boards, entry)
            scores[s] = {} if s in flagged else paired_scores(suite_boards, entry)
            b_c_w = [0, 0, 0]
            for b in newest_boards(suite_boards)[0]:
                base, c = b.baseline(), best_validated(b.configs, entry)
                if c is None:
                    continue
                tuned |= c.tuned
                if base is None or c.key == base.key or c.key in b.flags:
                    continue
                v = paired(b, c, base, b.primary)
                b_c_w[("better", "tie", "worse").index(v.verdict)] += 1
            counts[s] = tuple(b_c_w)
        kind = "regularizer" if "regularizer" in first.cards else \
            str((first.cards.get("loss") or {}).get("objective") or "–")
        fidelity = " / ".join(str(c.get("fidelity") or "exact") for c in first.cards.values()
                              if c) or "unknown"
        rows.append(EntrySummary(entry, first.cards, kind, fidelity, tuned, cells, counts,
                                 unpublished=any(unpublished(first.first.get(n),
                                                             first.first.get(f"{n}_version"))
                                                 for n in ("loss", "regularizer")),
                                 alias_cards=first.alias_cards, flags=flagged,
                                 objective=objective_of(first.cards), scores=scores))
    for objective in {r.objective for r in rows}:
        ranked = [r for r in rows if r.objective == objective]
        for col in suites:  # "own" gets no group: entries ran on different tasks there
            present = [r for r in ranked if r.cells.get(col) is not None]
            groups = groups_by_test({r.entry: r.scores[col] for r in present},
                                    {r.entry: r.cells[col].iqm[0] for r in present})
            for r in present:
                r.groups[col] = groups[r.entry]
    rows.sort(key=lambda r: (-sum(s in r.groups for s in suites), r.order,
                             -r.cells["own"].iqm[0] if r.cells.get("own") else math.inf,
                             r.entry))
    return Summary(suites, rows)

"""``lossbench verify``: check a results folder against its ledger, and adopt legacy records.

Every record file is checked as the readers check it (:func:`lossbench.record_trust.file_problems`),
and the ledger (:mod:`lossbench.ledger`) is compared with the folder. What is found falls in one
of these categories:

* ``deleted``: the ledger vouches for a record whose file is gone;
* ``altered``: a record whose content is not what was stored — its digest differs from the
  ledger's or from the one it carries, its spec does not hash to its key, its rows disagree, or
  a file the ledger vouched for is no longer a readable record (truncated, zeroed bytes);
* ``unknown``: a record file the ledger never vouched for (written by something other than the
  sweep, e.g. a plugin; or stored before the folder had a ledger: see ``--adopt``);
* ``foreign``: a file whose rows claim another spec key than its file name;
* ``ledger``: a ledger line that cannot be read (a torn last line of a killed writer).

Kept earlier attempts (``_attempts/``) are checked against every digest the ledger vouched for
under their key. Files the sweep already moved to ``_untrusted/`` are counted, not findings.

``adopt`` vouches, in the ledger, for every ``unknown`` record that is otherwise sound (its key
recomputed from its spec, its rows in agreement, its carried digest, if any, its own): the one
way to bring records stored before ledgers existed under the ledger. It is an explicit act,
logged per record (``adopt`` entries), and it never vouches for an altered or foreign file.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from .digest import table_contents
from .ledger import VOUCHING_EVENTS, append, entry, read_ledger
from .record_format import CorruptResultError, read_record_file
from .record_trust import checked_contents, content_problem, ledger_problem
from .store import ATTEMPTS_DIR, UNTRUSTED_DIR, attempt_files, record_files, result_path

CATEGORIES = ("deleted", "altered", "unknown", "foreign", "ledger")


@dataclass(frozen=True)
class Finding:
    """One thing wrong with the folder: its category, the file (relative to the folder), the
    spec key (None for a ledger line) and why."""

    category: str
    path: str
    key: str | None
    reason: str


@dataclass
class Verification:
    """The outcome of :func:`verify`."""

    results: str
    has_ledger: bool
    records: int  # record files that verified
    findings: list[Finding] = field(default_factory=list)
    set_aside: int = 0  # files under _untrusted/ (moved there by a sweep)
    adopted: int = 0  # records vouched for by this call (``adopt``)

    @property
    def ok(self) -> bool:
        return not self.findings

    def counts(self) -> dict[str, int]:
        return {c: n for c in CATEGORIES if (n := sum(f.category == c for f in self.findings))}

    def line(self) -> str:
        """One line: whether the store verified, and what was found."""
        if self.ok:
            return (f"{self.results}: verified, {self.records} records match the ledger"
                    + (f" ({self.set_aside} files set aside earlier in {UNTRUSTED_DIR}/)"
                       if self.set_aside else ""))
        found = ", ".join(f"{n} {c}" for c, n in self.counts().items())
        return f"{self.results}: NOT verified: {found}" + (
            "" if self.has_ledger else " (the folder has no ledger: see `lossbench verify "
                                       "--adopt`)")

    def board_line(self) -> str:
        """The leaderboard's provenance line: as :meth:`line`, without the folder's path (the
        same records render the same bytes wherever they lie)."""
        if self.ok:
            return (f"verified: all {self.records} records match the results folder's ledger "
                    f"(`lossbench verify`)" + (f"; {self.set_aside} files were set aside "
                                              f"earlier ({UNTRUSTED_DIR}/)" if self.set_aside
                                              else ""))
        found = ", ".join(f"{n} {c}" for c, n in self.counts().items())
        if not self.has_ledger:
            return (f"not verified: the results folder has no ledger ({found}; records stored "
                    "before ledgers existed are vouched for by `lossbench verify --adopt`)")
        return (f"**NOT verified**: {found}; such files are left out (listed at the top), "
                "`lossbench verify` names them all")

    def to_dict(self) -> dict:
        return {**asdict(self), "ok": self.ok, "counts": self.counts()}


def _category(path: Path, reason: str, vouched: set[str]) -> str:
    if reason.startswith(("altered", "unknown")):
        return reason.split(":", 1)[0]
    if reason.startswith("its rows belong to spec key"):
        return "foreign"
    return "altered" if path.stem in vouched else "unknown"  # unreadable, another schema, ...


def verify(results_dir: str | Path, *, adopt: bool = False) -> Verification:
    """Check ``results_dir`` against its ledger (see the module docstring); with ``adopt``,
    first vouch for its sound unknown records. Takes the folder's lock when adopting."""
    results_dir = Path(results_dir)
    if adopt:
        from .results_lock import locked

        with locked(results_dir, wait=True):
            adopted = _adopt(results_dir)
        outcome = verify(results_dir)
        outcome.adopted = adopted
        return outcome
    ledger = read_ledger(results_dir)
    latest = ledger.latest()
    vouched = {k for k, e in latest.items() if e.event in VOUCHING_EVENTS}
    files = record_files(results_dir)
    out = Verification(str(results_dir), ledger.exists, 0)
    for path, (problem, content) in checked_contents(files).items():
        if not problem and content is not None:
            problem = content_problem(path.stem, content) or (
                ledger_problem(path.stem, content.digest, ledger) if ledger.exists else
                "unknown: the folder has no ledger, nothing vouches for this record")
        if problem:
            out.findings.append(Finding(_category(path, problem, vouched), path.name, path.stem,
                                        problem))
        else:
            out.records += 1
    present = {p.stem for p in files}
    for key in sorted(vouched - present):
        out.findings.append(Finding("deleted", result_path(".", key).name, key,
                                    f"deleted: the ledger vouched for it at {latest[key].at}, "
                                    "its file is gone"))
    digests = ledger.digests()
    for path, key, digest, problem in _attempts(results_dir):
        if not problem and digest not in digests.get(key, set()):
            problem = ("altered: not a digest the ledger vouched for under this key"
                       if key in digests else "unknown: the ledger has no record of this key")
        if problem:
            category = problem.split(":", 1)[0] if problem.startswith(("altered", "unknown")) \
                else ("altered" if key in digests else "unknown")
            out.findings.append(Finding(category, f"{ATTEMPTS_DIR}/{path.name}", key, problem))
    for number, why in ledger.torn:
        out.findings.append(Finding("ledger", f"_ledger.jsonl:{number}", None, why))
    untrusted = results_dir / UNTRUSTED_DIR
    out.set_aside = sum(1 for p in untrusted.iterdir() if p.is_file()) if untrusted.is_dir() \
        else 0
    return out


def retire_below(results_dir: str | Path, version: str) -> list[tuple[str, str]]:
    """Remove from ``results_dir`` every record made by a harness version below ``version``
    (a harness bump re-runs every spec under new keys; the board must not count a seed twice),
    each with a ``retire`` line in the ledger, so :func:`verify` does not report it deleted.
    Takes the folder's lock. Returns ``(key, its harness version)`` of each retired record.
    ``UsageError`` for a version that is not ``X.Y.Z``."""
    from .errors import UsageError
    from .results_lock import locked
    from .versions import is_harness_version, version_key

    if not is_harness_version(version):
        raise UsageError(f"--retire-below {version!r} is not a harness version (X.Y.Z, digits "
                         f"and dots)")
    results_dir = Path(results_dir)
    retired: list[tuple[str, str]] = []
    with locked(results_dir, wait=True):
        for path, (problem, content) in checked_contents(record_files(results_dir)).items():
            if problem or content is None:
                continue  # not a sound record: verify names it, retiring would hide it
            old = str(content.run.get("harness_version") or "")
            if not old or version_key(old) >= version_key(version):
                continue
            path.unlink()
            append(results_dir, entry("retire", path.stem, content.digest,
                                      f"harness {old} superseded by {version}"))
            retired.append((path.stem, old))
    return retired


def _attempts(results_dir: Path) -> list[tuple[Path, str, str | None, str]]:
    """``(path, key, digest, problem)`` of every kept earlier attempt."""
    out = []
    for path in attempt_files(results_dir):
        key = path.name.split(".", 1)[0]
        try:
            contents = table_contents(read_record_file(path))
        except CorruptResultError as exc:
            out.append((path, key, None, f"not a readable record ({exc})"))
            continue
        content = contents.get(key)
        if content is None:
            out.append((path, key, None, "foreign: its rows belong to another spec key"))
            continue
        out.append((path, key, content.digest, content_problem(key, content)))
    return out


def _adopt(results_dir: Path) -> int:
    """Vouch for the sound records (and kept attempts) the ledger has no entry for; returns
    how many."""
    ledger = read_ledger(results_dir)
    latest, known = ledger.latest(), ledger.digests()
    # attempts first: the entry of a key's current record must be the key's last one
    entries = [entry("adopt", key, digest) for _path, key, digest, problem
               in _attempts(results_dir) if not problem and digest and key not in known]
    for path, (problem, content) in checked_contents(record_files(results_dir)).items():
        if problem or content is None or content_problem(path.stem, content):
            continue
        last = latest.get(path.stem)
        if last is None or last.event not in VOUCHING_EVENTS:
            entries.append(entry("adopt", path.stem, content.digest))
    append(results_dir, entries)
    return len(entries)

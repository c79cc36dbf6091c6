"""What a conformance check yields: one :class:`CheckResult` per check, gathered in a
:class:`CheckReport` (what ``lossbench check`` prints, and what its child process sends back as
JSON), and the two exceptions a check raises to fail (:class:`CheckFailed`) or skip
(:class:`CheckSkipped`) with a reason."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PASS, FAIL, SKIP = "pass", "fail", "skip"


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check: ``status`` is pass, fail or skip; ``detail`` says why."""

    name: str
    status: str
    detail: str = ""

    @property
    def failed(self) -> bool:
        return self.status == FAIL

    def line(self) -> str:
        return f"  {self.status.upper():<4}  {self.name:<16} {self.detail}".rstrip()


@dataclass
class CheckReport:
    """All checks run on one entry. ``ok`` is true when no check failed."""

    entry: str
    kind: str
    target: str = ""
    origin: str = ""
    results: list[CheckResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(r.failed for r in self.results)

    @property
    def failures(self) -> list[CheckResult]:
        return [r for r in self.results if r.failed]

    def result(self, name: str) -> CheckResult:
        """The result of the check called ``name`` (KeyError if it was not run)."""
        for r in self.results:
            if r.name == name:
                return r
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {"entry": self.entry, "kind": self.kind, "target": self.target,
                "origin": self.origin,
                "results": [[r.name, r.status, r.detail] for r in self.results]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CheckReport:
        return cls(d["entry"], d["kind"], d.get("target", ""), d.get("origin", ""),
                   [CheckResult(*map(str, r)) for r in d.get("results", [])])

    def render(self) -> str:
        head = f"lossbench check {self.entry} ({self.kind}"
        head += f", {self.origin}" if self.origin else ""
        head += f", {self.target})" if self.target else ")"
        counts = {s: sum(r.status == s for r in self.results) for s in (PASS, FAIL, SKIP)}
        tail = (f"{counts[PASS]} passed, {counts[FAIL]} failed, {counts[SKIP]} skipped: "
                + ("OK" if self.ok else "FAILED"))
        lines = [head, *(r.line() for r in self.results), tail]
        if self.failures:
            lines.append(self.fix_first())
        return "\n".join(lines)

    def fix_first(self) -> str:
        """The summary line: the first failed check (in check order, so the cause comes before
        the failures it may explain) and how many others failed."""
        first, *rest = self.failures
        more = f"; then the {len(rest)} other failure(s) above" if rest else ""
        return f"fix first: {first.name}: {first.detail}{more}"

    __str__ = render


class CheckFailed(Exception):
    """Raised inside a check to fail it with a message (any other exception fails it too)."""


class CheckSkipped(Exception):
    """Raised inside a check to skip it with a reason."""

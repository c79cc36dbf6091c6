"""What was measured about the catalog's disagreements: post-hoc notes beside the verdicts.

The catalog (:mod:`lossbench.catalog`) is pre-registered; why the proxy fails a finding can only
be learnt after it has been judged. Those explanations live in their own file
(``bench/disagreement_notes.toml``), so the catalog's digest stays that of its registration and
no note can change a verdict. Each ``[[note]]`` names a ``finding`` (a finding or rank table of
the catalog), says what was ``measured`` (a hypothesis is called one) and where (``evidence``: a
document path with its section). The board prints a note beside the reason computed from the
finding's own numbers (:mod:`lossbench.diagnosis`). Light: no torch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .catalog import Catalog, CatalogError, read_declared, required_text, toml_data
from .errors import unknown_value

#: The notes shipped with the package.
NOTES_FILE = Path(__file__).with_name("disagreement_notes.toml")
SCHEMA_VERSION = 1
_FIELDS = ("finding", "measured", "evidence")


@dataclass(frozen=True)
class DisagreementNote:
    """What was measured about one finding's disagreement, and where."""

    finding: str
    measured: str
    evidence: str


def parse_notes(text: str | bytes, catalog: Catalog, path: str = "") -> dict[str, DisagreementNote]:
    """The notes of ``text`` keyed by finding id, checked against ``catalog``: an unknown
    finding, a missing or unknown field, an empty text or a second note for one finding is a
    :class:`~lossbench.catalog.CatalogError` naming it (and the valid choices)."""
    where = path or "disagreement notes"
    data = toml_data(text.encode("utf-8") if isinstance(text, str) else text, where)
    if data.get("schema") != SCHEMA_VERSION:
        raise CatalogError(f"{where}: schema must be {SCHEMA_VERSION}, got "
                           f"{data.get('schema')!r}")
    extra = sorted(set(data) - {"schema", "note"})
    if extra:
        raise CatalogError(f"{where}: unknown top-level key(s) {extra}; valid: schema, note")
    ids = [f.id for f in catalog.findings] + [r.id for r in catalog.rankings]
    out: dict[str, DisagreementNote] = {}
    for i, d in enumerate(data.get("note", [])):
        here = f"{where}: note {i + 1}"
        if not isinstance(d, Mapping):
            raise CatalogError(f"{here}: must be a table, got {d!r}")
        unknown = sorted(set(d) - set(_FIELDS))
        if unknown:
            raise CatalogError(f"{here}: unknown field(s) {unknown}; valid: {', '.join(_FIELDS)}")
        values = {k: required_text(d, k, here).strip() for k in _FIELDS}
        if values["finding"] not in ids:
            raise CatalogError(f"{here}: {unknown_value('finding', values['finding'], ids)}")
        if values["finding"] in out:
            raise CatalogError(f"{here}: a second note for {values['finding']!r}")
        out[values["finding"]] = DisagreementNote(**values)
    return out


def load_notes(catalog: Catalog, path: str | Path | None = None) -> dict[str, DisagreementNote]:
    """The shipped notes (or those at ``path``), checked against ``catalog``; a missing file
    passed as ``path`` is an error, none shipped means no notes."""
    p = Path(path) if path is not None else NOTES_FILE
    if path is None and not p.is_file():
        return {}
    return parse_notes(read_declared(p, "disagreement notes"), catalog, str(p))


__all__ = ["NOTES_FILE", "DisagreementNote", "load_notes", "parse_notes"]

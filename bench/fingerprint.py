"""Which harness code made a record: the fingerprint of the result-relevant code, and its pin.

A run is keyed by its spec, and the spec names the harness by its version
(``RunSpec.harness_version`` = ``lossbench.__version__``), not by its code. So that a record
keyed by a version was made by one code, the code that decides what a number means — the
trainer, the runner, the data, models and augmentations, the metrics, the suites — is hashed
into a **harness fingerprint**, stored on every record (``harness_fingerprint``), and pinned per
version in ``bench/harness_pin.json``. A test fails when the code no longer matches the pin of
the current version; the fix is one command,

    python -m lossbench.fingerprint --bump X.Y.Z

which sets the version in ``bench/version.py`` and ``pyproject.toml`` and pins the new
fingerprint, so every spec key changes with the code and no stored record is reused for it.
``python -m lossbench.fingerprint`` prints the fingerprint and whether it matches the pin.

**Which files** (:func:`harness_sources`): every ``bench/**/*.py`` except the modules
:data:`RESULT_NEUTRAL` names, so a new module is fingerprinted by default.

**Behaviour, not bytes** (:func:`definition_dumps`). Each file is parsed with :mod:`ast`
(comments and formatting vanish), docstrings are dropped, and the tree is written by
:func:`canonical_dump`. What is hashed is the **collection of top-level definitions keyed by
name** (functions, classes, one-name assignments), not files; plus ``<file>:<module>`` (a
module's other top-level statements), ``<imports>`` (the top-level imports of other packages,
one set for all files) and ``<package imports>`` (the renames ``g=f`` of
``from .x import f as g``). Imports of the package's own modules are left out: they only say
where a name lives. A name whose meaning depends on the file (defined in several files, like
each suite's ``SUITE``, or imported as different things) is *ambiguous*: it and every
definition that uses it are keyed by their file too. So a comment, a docstring, formatting,
re-ordering, or a *pure move* of a definition between fingerprinted files (with its import
lines) leaves the fingerprint unchanged; a change of code, constant, default, decorator,
annotation or third-party import changes it, and so does renaming a definition or moving one
that uses an ambiguous name. Limits: moving code into a :data:`RESULT_NEUTRAL` module drops it;
``__all__`` is not hashed; switching ``from .a import f`` to ``from .b import f`` is seen only
when ``f`` is ambiguous; a package import made only for its side effect is not seen. The pin
keeps every definition's digest, so a failing pin names what changed and where.
"""

from __future__ import annotations

import argparse
import ast
import functools
import hashlib
import json
import re
import sys
from collections import defaultdict
from pathlib import Path

from .version import __version__

#: The modules of the package that cannot change a record's numbers, as module paths relative to
#: the package (``"report"`` is ``report.py`` or everything under ``report/``). Every other module
#: is fingerprinted (:func:`harness_sources`).
RESULT_NEUTRAL = (
    "__init__", "__main__", "api", "cli", "version",  # front ends; the version is in every spec key
    "plan", "tune", "estimate",  # planning: what it decides is in the spec
    # where and how runs execute, not what they compute
    "scheduler", "executors", "sandbox", "describe_child", "confinement", "procs", "progress",
    "machine", "metadata_cache", "isolated_metadata", "outputs",
    # what a record says besides numbers; comparing versions, telling an empty cell
    "record_meta", "errors", "text_safety", "paper_links", "fingerprint", "versions", "cells",
    "store", "digest", "ledger", "integrity", "results_lock", "merging", "all_or_nothing",
    "file_names", "record_format", "record_trust",  # the store and its bookkeeping
    # the readers of records: statistics, findings, catalog (and why a finding fails), report,
    # checks, re-runs; typing --hparam by its card (the typed value is in the spec)
    "aggregate", "findings", "catalog", "validity", "confirmation", "report", "reproduction",
    "conformance", "freshness", "design_vector", "canary", "comparable_runs", "findings_text",
    "validity_text", "catalog_checks", "diagnosis", "disagreement_notes", "hparam_values",
    # what a suite describes and declares, read without loading it (its tasks, each recipe's
    # epochs, its published findings); how the readers write a mean ± its interval
    "suites.description", "suites.declared_findings", "interval_text",
)
PACKAGE_DIR = Path(__file__).resolve().parent
PIN_FILE = PACKAGE_DIR / "harness_pin.json"
FINGERPRINT_LENGTH = 16
#: The package's own name, as absolute imports of its modules spell it.
PACKAGE = "lossbench"
IMPORTS_KEY = "<imports>"
PACKAGE_IMPORTS_KEY = "<package imports>"


def module_path(relative: str) -> str:
    """``"report/model.py"`` → ``"report.model"``; ``"executors/__init__.py"`` → ``"executors"``."""
    parts = relative.removesuffix(".py").split("/")
    return ".".join(parts[:-1] if parts[-1] == "__init__" and len(parts) > 1 else parts)


def is_result_neutral(relative: str) -> bool:
    """Whether the file ``relative`` (to the package folder) is one of :data:`RESULT_NEUTRAL`."""
    module = module_path(relative)
    return any(module == name or module.startswith(name + ".") for name in RESULT_NEUTRAL)


def harness_sources(root: Path = PACKAGE_DIR) -> list[Path]:
    """The fingerprinted files under ``root``: every ``*.py`` not :data:`RESULT_NEUTRAL`."""
    return sorted(p for p in root.rglob("*.py")
                  if p.is_file() and not is_result_neutral(p.relative_to(root).as_posix()))


def canonical_dump(node: object) -> str:
    """``ast.dump(node, annotate_fields=True, include_attributes=False)`` without empty fields
    (``None`` or ``[]``), as Python 3.13's ``ast.dump`` writes it: the fields later Pythons add
    (``type_params``, …) are empty in code that does not use them, so the text is the same on
    every supported Python. A constant is written by its ``repr`` (``1``, ``1.0``, ``True`` and
    ``'1'`` differ)."""
    if isinstance(node, ast.Constant):
        return f"Constant({node.value!r})"
    if isinstance(node, ast.AST):
        fields = ", ".join(f"{name}={canonical_dump(value)}"
                           for name, value in ast.iter_fields(node)
                           if value is not None and not (isinstance(value, list) and not value))
        return f"{type(node).__name__}({fields})"
    if isinstance(node, list):
        return "[" + ", ".join(canonical_dump(item) for item in node) + "]"
    return repr(node)


def _is_package_import(node: ast.Import | ast.ImportFrom) -> bool:
    if isinstance(node, ast.ImportFrom):
        return node.level > 0 or (node.module or "").split(".")[0] == PACKAGE
    return any(alias.name.split(".")[0] == PACKAGE for alias in node.names)


def _is_type_checking_block(node: ast.stmt) -> bool:
    return isinstance(node, ast.If) and ast.unparse(node.test) in ("TYPE_CHECKING",
                                                                   "typing.TYPE_CHECKING")


def _bound_names(node: ast.Import | ast.ImportFrom) -> list[tuple[str, ast.alias]]:
    """``[(the name an import binds, its alias)]``: ``import a.b`` binds ``a``."""
    return [(alias.asname or (alias.name if isinstance(node, ast.ImportFrom)
                              else alias.name.split(".")[0]), alias) for alias in node.names]


def _absolute(node: ast.ImportFrom, relative: str) -> ast.ImportFrom:
    """A package import of the file ``relative`` with its module spelled in full
    (``from .a import f`` in ``suites/b.py`` → ``from lossbench.suites.a import f``)."""
    if not node.level:
        return node
    package = [PACKAGE, *module_path(relative).split(".")]
    if not relative.endswith("__init__.py"):
        package = package[:-1]
    base = package[:len(package) - (node.level - 1)]
    module = ".".join(base + ([node.module] if node.module else []))
    return ast.ImportFrom(module=module, names=node.names, level=0)


class _Normalise(ast.NodeTransformer):
    """Drops docstrings and the imports of the package's own modules that bind a name
    :func:`definition_dumps` does not call ambiguous (they only say where it lives), collecting
    the renames they make (``from .x import f as g`` → ``g=f``); a package import that binds an
    ambiguous name stays, its module spelled in full."""

    def __init__(self, relative: str, ambiguous: set[str]) -> None:
        self.relative, self.ambiguous = relative, ambiguous
        self.renames: set[str] = set()

    def _drop_docstring(self, node: ast.AST) -> ast.AST:
        body = node.body
        if (body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            node.body = body[1:]
        return self.generic_visit(node)

    visit_Module = visit_ClassDef = visit_FunctionDef = visit_AsyncFunctionDef = _drop_docstring

    def _drop_package_import(self, node: ast.Import | ast.ImportFrom) -> ast.AST | None:
        if not _is_package_import(node):
            return node
        kept = []
        for bound, alias in _bound_names(node):
            if bound in self.ambiguous:
                kept.append(alias)
            elif bound != alias.name.split(".")[-1]:
                self.renames.add(f"{bound}={alias.name.split('.')[-1]}")
        if not kept:
            return None
        if isinstance(node, ast.ImportFrom):
            return _absolute(ast.ImportFrom(module=node.module, names=kept, level=node.level),
                             self.relative)
        return ast.Import(names=kept)

    visit_Import = visit_ImportFrom = _drop_package_import


def _defined_name(node: ast.stmt) -> str | None:
    """The name a top-level statement defines: a function, a class, an assignment to one name."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return node.name
    if isinstance(node, ast.Assign) and len(node.targets) == 1:
        target = node.targets[0]
    elif isinstance(node, ast.AnnAssign):
        target = node.target
    else:
        return None
    return target.id if isinstance(target, ast.Name) else None


def _top_level(root: Path) -> dict[str, list[ast.stmt]]:
    """``{file: its top-level statements}`` of the fingerprinted files, without the ``if
    TYPE_CHECKING:`` blocks (imports for annotations only) and ``__all__``."""
    out = {}
    for path in harness_sources(root):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        out[path.relative_to(root).as_posix()] = [
            node for node in tree.body
            if not _is_type_checking_block(node) and _defined_name(node) != "__all__"]
    return out


def _ambiguous_names(files: dict[str, list[ast.stmt]]) -> set[str]:
    """The names whose meaning depends on the file: defined in more than one file, or imported
    from other packages as different things in different files, or both defined and imported."""
    meanings: dict[str, set[str]] = defaultdict(set)
    for relative, body in files.items():
        for node in body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                if not _is_package_import(node):
                    for bound, alias in _bound_names(node):
                        meanings[bound].add(canonical_dump(type(node)(
                            **{**vars(node), "names": [alias]})))
            elif (name := _defined_name(node)) is not None:
                meanings[name].add(f"defined in {relative}")
    return {name for name, what in meanings.items() if len(what) > 1}


def definition_dumps(root: Path = PACKAGE_DIR) -> dict[str, list[tuple[str, str]]]:
    """``{key: [(file, canonical dump), ...]}`` of the fingerprinted files under ``root``.

    A key is a top-level name — or ``<file>:<name>`` when the name is ambiguous (its meaning
    depends on the file: defined in several files, or imported as different things) or the
    definition uses an ambiguous name, since moving it would change what it means —,
    ``<file>:<module>`` (a module's other top-level statements, and the imports of other
    packages that bind an ambiguous name), :data:`IMPORTS_KEY` (the other imports of other
    packages, each binding once) or :data:`PACKAGE_IMPORTS_KEY` (the renames of package
    imports)."""
    files = _top_level(root)
    ambiguous = _ambiguous_names(files)
    dumps: dict[str, list[tuple[str, str]]] = defaultdict(list)
    renames: set[str] = set()
    for relative, body in files.items():
        normalise = _Normalise(relative, ambiguous)
        rest = []
        for node in normalise.visit(ast.Module(body=body, type_ignores=[])).body:
            if isinstance(node, (ast.Import, ast.ImportFrom)) and not _is_package_import(node):
                for bound, alias in _bound_names(node):
                    one = canonical_dump(type(node)(**{**vars(node), "names": [alias]}))
                    if bound in ambiguous:
                        rest.append(one)
                    else:
                        dumps[IMPORTS_KEY].append(("", one))
                continue
            name = _defined_name(node)
            if name is None:
                rest.append(canonical_dump(node))
                continue
            used = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} - {name}
            movable = name not in ambiguous and not used & ambiguous
            dumps[name if movable else f"{relative}:{name}"].append(
                (relative, canonical_dump(node)))
        if rest:
            dumps[f"{relative}:<module>"].append((relative, "\n".join(rest)))
        renames |= normalise.renames
    dumps[PACKAGE_IMPORTS_KEY] = [("", rename) for rename in renames]
    return {key: value for key, value in dumps.items() if value}


def definition_digests(root: Path = PACKAGE_DIR) -> dict[str, str]:
    """``{key: SHA-256}`` of :func:`definition_dumps`, one digest per key: over its dumps in
    order, or for :data:`IMPORTS_KEY` and :data:`PACKAGE_IMPORTS_KEY` over their sorted set
    (the same import in two files counts once)."""
    out = {}
    for key, dumps in definition_dumps(root).items():
        texts = ([d for _, d in dumps] if key not in (IMPORTS_KEY, PACKAGE_IMPORTS_KEY)
                 else sorted({d for _, d in dumps}))
        out[key] = hashlib.sha256("\n".join(texts).encode()).hexdigest()
    return out


def fingerprint_of(digests: dict[str, str]) -> str:
    """The fingerprint of a set of definition digests: 16 hex digits of a SHA-256 over the sorted
    ``key NUL digest`` lines."""
    text = "".join(f"{key}\0{digest}\n" for key, digest in sorted(digests.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:FINGERPRINT_LENGTH]


@functools.lru_cache(maxsize=1)
def harness_fingerprint() -> str:
    """The fingerprint of the installed harness code (computed once per process)."""
    return fingerprint_of(definition_digests())


def read_pins(path: Path = PIN_FILE) -> dict[str, dict]:
    """``{harness version: {"fingerprint": ..., "definitions": {key: digest}}}`` from the pin
    file (``{}`` when there is none; earlier versions keep only their fingerprint)."""
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return {}


def changed_definitions(pinned: dict[str, str], root: Path = PACKAGE_DIR) -> list[str]:
    """The keys whose digest differs from ``pinned`` (added, removed or changed), each with the
    files that define it now: ``["fit (train.py)", "OLD_NAME (removed)", ...]``."""
    dumps = definition_dumps(root)
    current = definition_digests(root)
    out = []
    for key in sorted(set(pinned) | set(current)):
        if pinned.get(key) == current.get(key):
            continue
        files = sorted({file for file, _ in dumps.get(key, []) if file})
        if key not in current:
            out.append(f"{key} (removed)")
        else:
            out.append(f"{key} ({', '.join(files)})" if files else key)
    return out


def pin_problem(version: str = __version__, root: Path = PACKAGE_DIR,
                path: Path = PIN_FILE) -> str:
    """'' when the code under ``root`` matches the pin of ``version``; else what changed and
    exactly what to do about it."""
    current = fingerprint_of(definition_digests(root))
    pin = read_pins(path).get(version)
    if pin is not None and pin.get("fingerprint") == current:
        return ""
    bump = f"python -m lossbench.fingerprint --bump <a version above {version}>"
    if pin is None:
        return (f"harness version {version} has no pinned fingerprint in {path.name}; if this "
                f"version's code is final, run `{bump}`")
    if "definitions" in pin:
        changed = changed_definitions(pin["definitions"], root)
        shown = (", ".join(changed[:8]) + (f" and {len(changed) - 8} more"
                                           if len(changed) > 8 else "")) or "unknown"
    else:
        shown = "unknown: the pin was made by an earlier fingerprint rule, without definitions"
    return (f"the result-relevant harness code changed since version {version} was pinned "
            f"(fingerprint {pin.get('fingerprint')} -> {current}; changed: {shown}), but the "
            f"harness version is still {version}: new records would share spec keys with "
            f"records made by the old code. Run `{bump}` (it sets the version in "
            f"bench/version.py and pyproject.toml and pins the new fingerprint in "
            f"bench/{path.name}) and commit the three files with your change")


def write_pin(version: str, root: Path = PACKAGE_DIR, path: Path = PIN_FILE) -> str:
    """Pin the current code as ``version``; earlier versions keep only their fingerprint."""
    digests = definition_digests(root)
    pins = {v: {"fingerprint": p["fingerprint"]} for v, p in read_pins(path).items()}
    pins[version] = {"fingerprint": fingerprint_of(digests), "definitions": digests}
    path.write_text(json.dumps(pins, indent=1, sort_keys=True) + "\n")
    return pins[version]["fingerprint"]


VERSION_FILES = {  # file (relative to the project root) -> the line holding the version
    "bench/version.py": re.compile(r'^__version__ = "([^"]+)"$', re.M),
    "pyproject.toml": re.compile(r'^version = "([^"]+)"$', re.M),
}


def bump(new_version: str, project_root: Path = PACKAGE_DIR.parent) -> str:
    """Set ``new_version`` in every :data:`VERSION_FILES` and pin the current code to it."""
    from .versions import is_harness_version, version_key

    if not is_harness_version(new_version):
        raise ValueError(f"version {new_version!r} is not of the form X.Y.Z (digits and dots)")
    if version_key(new_version) <= version_key(__version__):
        raise ValueError(f"version {new_version} is not above the current {__version__}")
    for name, pattern in VERSION_FILES.items():
        file = project_root / name
        text = file.read_text()
        if not pattern.search(text):
            raise ValueError(f"no version line in {file} (expected {pattern.pattern})")
        file.write_text(pattern.sub(lambda m: m.group(0).replace(m.group(1), new_version),
                                    text, count=1))
    return write_pin(new_version, project_root / "bench", project_root / "bench" / PIN_FILE.name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lossbench.fingerprint",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--bump", metavar="X.Y.Z",
                        help="set the harness version to X.Y.Z and pin the current sources")
    args = parser.parse_args(argv)
    if args.bump:
        try:
            print(f"harness version {args.bump}, fingerprint {bump(args.bump)}")
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        return 0
    problem = pin_problem()
    print(f"harness version {__version__}, fingerprint {harness_fingerprint()}: "
          + ("matches its pin" if not problem else problem))
    return 1 if problem else 0


if __name__ == "__main__":
    sys.exit(main())

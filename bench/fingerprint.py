"""Which harness code made a record: the fingerprint of the result-relevant sources, and its pin.

A run is keyed by its spec, and the spec names the harness by its version
(``RunSpec.harness_version`` = ``lossbench.__version__``), not by its code. So that a record
keyed by a version was made by one code, the sources that decide what a number means — the
trainer, the runner, the data, models and augmentations, the metrics, the suites
(:data:`HARNESS_SOURCES`) — are hashed into a **harness fingerprint**, stored on every record
(``harness_fingerprint``), and pinned per version in ``bench/harness_pin.json``. A test fails
when the sources no longer match the pin of the current version; the fix is one command,

    python -m lossbench.fingerprint --bump X.Y.Z

which sets the version in ``bench/__init__.py`` and ``pyproject.toml`` and pins the new
fingerprint, so every spec key changes with the code and no stored record is reused for it.
``python -m lossbench.fingerprint`` prints the fingerprint and whether it matches the pin.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import re
import sys
from pathlib import Path

from . import __version__

#: The result-relevant harness sources, as globs relative to the package folder (``bench/``).
HARNESS_SOURCES = ("train.py", "runner.py", "selection.py", "registry.py", "spec.py", "data.py",
                   "model_needs.py", "models.py", "augment.py", "throughput.py", "metrics/*.py",
                   "suites/*.py", "replay.py", "run_outputs.py")
PACKAGE_DIR = Path(__file__).resolve().parent
PIN_FILE = PACKAGE_DIR / "harness_pin.json"
FINGERPRINT_LENGTH = 16


def source_files(root: Path = PACKAGE_DIR) -> list[Path]:
    """The files :data:`HARNESS_SOURCES` names under ``root``, sorted."""
    return sorted({p for pattern in HARNESS_SOURCES for p in root.glob(pattern) if p.is_file()})


def file_digests(root: Path = PACKAGE_DIR) -> dict[str, str]:
    """``{relative path: SHA-256 of its text}`` of the harness sources (line endings
    normalised to ``\\n``, so a checkout with CRLF endings has the same fingerprint)."""
    return {p.relative_to(root).as_posix():
            hashlib.sha256(p.read_bytes().replace(b"\r\n", b"\n")).hexdigest()
            for p in source_files(root)}


def fingerprint_of(digests: dict[str, str]) -> str:
    """The fingerprint of a set of file digests: 16 hex digits of a SHA-256 over the sorted
    ``path NUL digest`` lines (so renaming a file changes it too)."""
    text = "".join(f"{path}\0{digest}\n" for path, digest in sorted(digests.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:FINGERPRINT_LENGTH]


@functools.lru_cache(maxsize=1)
def harness_fingerprint() -> str:
    """The fingerprint of the installed harness sources (computed once per process)."""
    return fingerprint_of(file_digests())


def read_pins(path: Path = PIN_FILE) -> dict[str, dict]:
    """``{harness version: {"fingerprint": ..., "files": {path: digest}}}`` from the pin file
    (``{}`` when there is none)."""
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return {}


def pin_problem(version: str = __version__, root: Path = PACKAGE_DIR,
                path: Path = PIN_FILE) -> str:
    """'' when the sources under ``root`` match the pin of ``version``; else what changed and
    exactly what to do about it."""
    digests = file_digests(root)
    current = fingerprint_of(digests)
    pin = read_pins(path).get(version)
    if pin is not None and pin.get("fingerprint") == current:
        return ""
    bump = f"python -m lossbench.fingerprint --bump <a version above {version}>"
    if pin is None:
        return (f"harness version {version} has no pinned fingerprint in {path.name}; if this "
                f"version's code is final, run `{bump}`")
    old = pin.get("files", {})
    changed = sorted(p for p in set(old) | set(digests) if old.get(p) != digests.get(p))
    shown = ", ".join(changed[:8]) + (f" and {len(changed) - 8} more" if len(changed) > 8 else "")
    return (f"the result-relevant harness sources changed since version {version} was pinned "
            f"(fingerprint {pin.get('fingerprint')} -> {current}; changed: "
            f"{shown or 'unknown'}), but the harness version is still {version}: new records "
            f"would share spec keys with records made by the old code. Run `{bump}` (it sets "
            f"the version in bench/__init__.py and pyproject.toml and pins the new fingerprint "
            f"in bench/{path.name}) and commit the three files with your change")


def write_pin(version: str, root: Path = PACKAGE_DIR, path: Path = PIN_FILE) -> str:
    """Pin the current sources as ``version``; earlier versions keep only their fingerprint."""
    digests = file_digests(root)
    pins = {v: {"fingerprint": p["fingerprint"]} for v, p in read_pins(path).items()}
    pins[version] = {"fingerprint": fingerprint_of(digests), "files": digests}
    path.write_text(json.dumps(pins, indent=1, sort_keys=True) + "\n")
    return pins[version]["fingerprint"]


VERSION_FILES = {  # file (relative to the project root) -> the line holding the version
    "bench/__init__.py": re.compile(r'^__version__ = "([^"]+)"$', re.M),
    "pyproject.toml": re.compile(r'^version = "([^"]+)"$', re.M),
}


def bump(new_version: str, project_root: Path = PACKAGE_DIR.parent) -> str:
    """Set ``new_version`` in every :data:`VERSION_FILES` and pin the current sources to it."""
    from .store import version_key

    if not re.fullmatch(r"\d+(\.\d+)*", new_version):
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

"""Developer sessions: ``nox -s tests`` (the default test run), ``lint``, ``slow``, ``bench``,
``leaderboard``. Each session installs the project the way the README says."""

from __future__ import annotations

import nox

nox.options.sessions = ["tests", "lint"]
nox.options.reuse_existing_virtualenvs = True


def install(session: nox.Session) -> None:
    session.install("-e", ".[test]")


@nox.session
def tests(session: nox.Session) -> None:
    """The default test run (what CI runs): everything not marked slow."""
    install(session)
    session.run("pytest", *session.posargs)


@nox.session
def slow(session: nox.Session) -> None:
    """Long-running tests (real training to the published regime, Ray cluster tests)."""
    install(session)
    session.run("pytest", "-m", "slow", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    session.install("ruff>=0.5")
    session.run("ruff", "check", "bench", "registry", "tests", "noxfile.py")


@nox.session
def bench(session: nox.Session) -> None:
    """pytest-benchmark micro-benchmarks: every built-in loss's forward+backward vs cross-entropy."""
    install(session)
    session.run("pytest", "benchmarks", "--benchmark-enable", "-p", "no:cacheprovider",
                "-o", "addopts=", *session.posargs)


@nox.session
def leaderboard(session: nox.Session) -> None:
    """Regenerate leaderboard.md from the committed results/."""
    install(session)
    session.run("lossbench", "leaderboard", "--results", "results", "--out", "leaderboard.md")

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
    """pytest-benchmark: each loss's forward+backward vs cross-entropy, and the leaderboard's
    render time on the committed results vs reading them."""
    install(session)
    session.run("pytest", "benchmarks", "--benchmark-enable", "-p", "no:cacheprovider",
                "-o", "addopts=", *session.posargs)


@nox.session
def ray(session: nox.Session) -> None:
    """The Ray executor on a local two-CPU Ray instance, plus the kill/resume test (slow ones)."""
    session.install("-e", ".[test,ray]")
    session.run("pytest", "-m", "slow", "tests/test_ray.py", "tests/test_resume.py",
                *session.posargs)


@nox.session
def nightly(session: nox.Session) -> None:
    """The nightly CI run of the built-ins: the project alone (no plugin: each distribution of
    plugins.txt runs in a job of its own and its records are merged with `lossbench merge`);
    every spec of the embedded default not yet in results/ runs (incremental), then `lossbench
    run` regenerates leaderboard.md (and the plots) from results/. Extra arguments go to
    `lossbench run`, e.g. `nox -s nightly -- --epochs 1 --results /tmp/r --leaderboard
    /tmp/lb.md` for a smoke run."""
    install(session)
    session.run("lossbench", "list")
    # exit status 1 = some run failed: recorded in results/ and shown on the leaderboard
    session.run("lossbench", "run", "--results", "results", "--leaderboard", "leaderboard.md",
                *session.posargs, success_codes=[0, 1])


@nox.session
def leaderboard(session: nox.Session) -> None:
    """Regenerate leaderboard.md from the committed results/."""
    install(session)
    session.run("lossbench", "leaderboard", "--results", "results", "--out", "leaderboard.md")

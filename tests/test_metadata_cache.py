"""The metadata cache: cards and suite task lists served without importing entries, and
invalidated by any change to the entry's package."""

from __future__ import annotations

import json
import os
import sys

import pytest

from lossbench import metadata_cache
from lossbench import registry as reg
from lossbench.cards import Card
from lossbench.isolated_metadata import forget_described
from lossbench.suites.description import suite_info

PLUGIN = '''
class MyLoss:
    """A tiny loss for the cache tests."""

    version = "{version}"
    suites = ("standard",)

    def __init__(self, margin: float = 0.5):
        self.margin = margin
'''


@pytest.fixture
def children(monkeypatch):
    """The requests of every card-reading child process started during the test."""
    from lossbench import sandbox

    started = []
    real = sandbox.run_children

    def counting(requests, *args, **kwargs):
        started.extend(requests)
        return real(requests, *args, **kwargs)

    monkeypatch.setattr(sandbox, "run_children", counting)
    return started


@pytest.fixture
def plugin(tmp_path, monkeypatch, children):
    """A plugin package ``cachetest_pkg`` on sys.path, a cache folder of its own, and a fresh
    Entry for it on every call of the returned function (as a new process would have). Its
    cards are read by a child process (a third-party entry is never imported here)."""
    pkg = tmp_path / "src" / "cachetest_pkg"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "losses.py").write_text(PLUGIN.format(version="1"))
    monkeypatch.syspath_prepend(str(tmp_path / "src"))
    monkeypatch.setenv("LOSSBENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("LOSSBENCH_METADATA_CACHE", raising=False)

    def fresh_entry() -> reg.Entry:
        for name in [m for m in sys.modules if m.startswith("cachetest_pkg")]:
            del sys.modules[name]
        metadata_cache.clear_memory()
        forget_described()
        return reg.Entry("my_loss", "loss", "cachetest_pkg.losses:MyLoss", "cachetest-pkg", "1.0",
                         from_entry_point=True)

    yield pkg, fresh_entry
    assert "cachetest_pkg.losses" not in sys.modules  # only ever imported by children
    metadata_cache.clear_memory()
    forget_described()


@pytest.mark.parametrize("kind", ["loss", "regularizer"])
def test_every_builtin_card_survives_the_round_trip_through_json(kind):
    for name in reg.registry_for(kind).names():
        card = reg.registry_for(kind).card(name)
        assert Card.from_dict(json.loads(json.dumps(card.to_dict()))) == card


def test_a_cached_card_is_served_without_importing_the_entry(plugin, children):
    _, fresh_entry = plugin
    first = fresh_entry().card()
    assert len(children) == 1  # the first read imports the target, in a child
    again = fresh_entry().card()
    assert len(children) == 1
    assert again == first and again.hparams == {"margin": 0.5} and again.suites == ("standard",)


def test_editing_the_entrys_package_invalidates_its_card(plugin):
    pkg, fresh_entry = plugin
    assert fresh_entry().card().version == "1"
    (pkg / "losses.py").write_text(PLUGIN.format(version="2") + "\n# edited\n")
    assert fresh_entry().card().version == "2"


def test_adding_a_file_to_the_package_invalidates_its_card(plugin, children):
    pkg, fresh_entry = plugin
    fresh_entry().card()
    (pkg / "extra.py").write_text("")
    fresh_entry().card()
    assert len(children) == 2  # re-read, not served from the cache


def test_a_corrupt_cache_file_is_an_empty_cache(plugin, tmp_path):
    _, fresh_entry = plugin
    fresh_entry().card()
    (tmp_path / "cache" / metadata_cache.CACHE_FILE).write_text("{not json")
    assert fresh_entry().card().version == "1"
    assert json.loads((tmp_path / "cache" / metadata_cache.CACHE_FILE).read_text())


def test_the_cache_can_be_turned_off(plugin, monkeypatch, tmp_path, children):
    _, fresh_entry = plugin
    monkeypatch.setenv("LOSSBENCH_METADATA_CACHE", "off")
    fresh_entry().card()
    fresh_entry().card()
    assert len(children) == 2
    assert not (tmp_path / "cache" / metadata_cache.CACHE_FILE).exists()


def test_an_unwritable_cache_folder_only_costs_speed(plugin, monkeypatch, tmp_path):
    _, fresh_entry = plugin
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv("LOSSBENCH_CACHE", str(blocker / "cache"))
    assert fresh_entry().card().version == "1"


def test_a_failing_entry_is_never_cached(plugin):
    pkg, fresh_entry = plugin
    (pkg / "losses.py").write_text("raise ImportError('missing dependency')\n")
    with pytest.raises(reg.EntryLoadError, match="missing dependency"):
        fresh_entry().card()
    with pytest.raises(reg.EntryLoadError, match="missing dependency"):
        fresh_entry().card()


def test_entries_registered_in_process_are_never_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("LOSSBENCH_CACHE", str(tmp_path))
    calls = []

    def loader():
        calls.append(1)
        return type("Inline", (), {"version": "3"})

    for _ in range(2):
        entry = reg.Entry("inline", "loss", "inline", "local", "", _loader=loader)
        assert entry.card().version == "3"
    assert calls == [1, 1]
    assert not (tmp_path / metadata_cache.CACHE_FILE).exists()


def test_suite_info_matches_the_loaded_suite():
    suite = reg.SUITES.load("noisy")
    info = suite_info("noisy")
    assert list(info.tasks) == list(suite.tasks)
    assert [t.name for t in info.default_tasks()] == [t.name for t in suite.default_tasks()]
    for name, task in suite.tasks.items():
        described = info.tasks[name]
        assert (described.version, described.embedded, described.in_default_sweep,
                described.supports_embedding) == (
            str(task.version), task.embedded, task.in_default_sweep, task.supports_embedding)


def test_the_fingerprint_changes_with_a_files_size_or_mtime(tmp_path, monkeypatch):
    mod = tmp_path / "fp_single_module.py"
    mod.write_text("x = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    metadata_cache.clear_memory()
    before = metadata_cache.source_fingerprint("fp_single_module")
    stat = mod.stat()
    os.utime(mod, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    metadata_cache.clear_memory()
    assert before is not None and metadata_cache.source_fingerprint("fp_single_module") != before
    metadata_cache.clear_memory()

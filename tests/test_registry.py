"""The registry: lazy discovery, cards from plain attributes, conflicts and clear errors."""

from __future__ import annotations

import pytest

from lossbench import card_reading
from lossbench import registry as reg
from lossbench.build import build, resolve_hparams
from lossbench.cards import Card
from lossbench.errors import EntryLoadError, UsageError


def card_from_target(obj, name: str, kind: str, origin: str, target: str) -> Card:
    """The card read from ``obj``, validated against the installed entries."""
    return card_reading.card_from_target(obj, name, kind, origin, target,
                                         registries=reg.REGISTRIES)


def card_problems(card: Card) -> list[str]:
    return card_reading.card_problems(card, reg.REGISTRIES)


def entry(name: str, target: str, dist: str = "thirdparty", loader=None) -> reg.Entry:
    return reg.Entry(name, "loss", target, dist, "1.0", _loader=loader)


@pytest.fixture
def fake_registry(monkeypatch):
    """A loss registry whose entry points are the ones a test puts in ``found``."""
    found: list[reg.Entry] = []
    monkeypatch.setattr(reg, "_entry_points", lambda kind, group: list(found))
    return reg.Registry("loss", "lossbench.losses"), found


def test_builtins_are_discovered_through_entry_points():
    names = reg.LOSSES.names()
    assert {"cross_entropy", "label_smoothing", "focal"} <= set(names)
    assert reg.LOSSES.get("focal").origin.startswith("lossbench ")


def test_listing_does_not_import_targets(fake_registry):
    registry, found = fake_registry
    calls = []
    found.append(entry("lazy", "x:y", loader=lambda: calls.append(1)))
    assert registry.names() == ["lazy"]
    assert calls == []


def test_unknown_name_suggests_close_matches():
    with pytest.raises(UsageError) as err:
        reg.LOSSES.get("focall")
    assert "'focall'" in str(err.value) and "did you mean 'focal'" in str(err.value)
    assert "cross_entropy" in str(err.value)


def test_wildcard_listing(fake_registry):
    registry, found = fake_registry
    found += [entry("focal_a", "m:a"), entry("focal_b", "m:b"), entry("gce", "m:c")]
    assert [e.name for e in registry.entries("focal*")] == ["focal_a", "focal_b"]


def test_import_error_is_reported_not_raised_by_listing(fake_registry):
    registry, found = fake_registry

    def broken():
        raise ImportError("No module named 'nonexistent_dep'")

    found += [entry("broken", "pkg.mod:Loss", loader=broken), entry("fine", "m:f",
                                                                      loader=lambda: object)]
    statuses = {e.name: e.status for e in registry.entries()}
    assert statuses["fine"] == "ok"
    assert "nonexistent_dep" in statuses["broken"] and "thirdparty 1.0" in statuses["broken"]
    with pytest.raises(EntryLoadError, match="failed to load"):
        registry.load("broken")


def test_third_party_cannot_shadow_a_builtin(fake_registry):
    registry, found = fake_registry
    found += [entry("focal", "evil:Focal", dist="evil"),
              entry("focal", "lossbench_registry.losses.focal:Focal", dist="lossbench",
                    loader=lambda: "builtin")]
    assert registry.load("focal") == "builtin"
    rejected = [e for e in registry.entries() if e.distribution == "evil"]
    assert len(rejected) == 1
    assert "conflicts with the built-in" in rejected[0].status
    assert "evil 1.0" in rejected[0].status


def test_two_third_party_entries_with_one_name_are_both_errors(fake_registry):
    registry, found = fake_registry
    found += [entry("dup", "a:A", dist="pkg-a", loader=lambda: 1),
              entry("dup", "b:B", dist="pkg-b", loader=lambda: 2)]
    with pytest.raises(EntryLoadError) as err:
        registry.load("dup")
    assert "pkg-a 1.0 (a:A)" in str(err.value) and "pkg-b 1.0 (b:B)" in str(err.value)
    assert all(e.status != "ok" for e in registry.entries())


def test_card_reads_plain_attributes():
    class MyLoss:
        """My loss: a one-line summary."""

        version = "3"
        paper = "Someone 2024"
        hparams = {"alpha": 0.5}
        search_space = {"alpha": {"low": 0.0, "high": 1.0}}
        suites = ("noisy",)
        accepts_soft_targets = True

        def __init__(self, alpha=0.5):
            self.alpha = alpha

    card = card_from_target(MyLoss, "mine", "loss", "pkg 1.0", "m:MyLoss")
    assert (card.version, card.paper, dict(card.hparams)) == ("3", "Someone 2024", {"alpha": 0.5})
    assert card.summary == "My loss: a one-line summary."
    assert card.suites == ("noisy",) and card.accepts_soft_targets
    assert card.applies_to("noisy") and not card.applies_to("standard")


def test_card_falls_back_to_signature_defaults_without_context_names():
    def factory(beta=0.3, *, num_classes=10):
        return None

    card = card_from_target(factory, "f", "loss", "pkg", "m:f")
    assert dict(card.hparams) == {"beta": 0.3}
    assert card.version == "0" and card.fidelity == "exact"


def test_unknown_hparam_names_the_valid_ones():
    card = reg.LOSSES.card("focal")
    with pytest.raises(UsageError, match="no hyperparameter 'gama'; valid: gamma"):
        resolve_hparams(card, {"gama": 1.0})
    assert resolve_hparams(card, {"gamma": 1.0}) == {"gamma": 1.0}


def test_build_passes_context_only_when_the_signature_names_it():
    seen = {}

    def needs_classes(scale=1.0, *, num_classes):
        seen.update(scale=scale, num_classes=num_classes)
        return "built"

    def takes_kwargs(**kwargs):
        seen["kwargs"] = kwargs
        return "built"

    ctx = {"num_classes": 7, "class_counts": [1, 2]}
    assert build(entry("a", "m:a", loader=lambda: needs_classes), {"scale": 2.0}, ctx)
    assert seen == {"scale": 2.0, "num_classes": 7}
    build(entry("b", "m:b", loader=lambda: takes_kwargs), {}, ctx)
    assert seen["kwargs"] == {}


def test_build_error_names_the_entry_and_arguments():
    def bad(gamma=1.0):
        raise ValueError("gamma must be >= 0")

    with pytest.raises(EntryLoadError, match=r"loss 'bad' could not be built .*gamma must be"):
        build(entry("bad", "m:bad", loader=lambda: bad), {"gamma": -1}, {})


CLASSIFICATION_SUITES = {"standard", "imbalanced", "noisy", "ood"}


def test_builtin_losses_declare_suites_of_their_own_kind():
    # Issue 12 item 8: every built-in declares where its paper evaluates it; classification
    # losses never go to the metric-learning suite, embedding losses only there. Cross-entropy
    # alone declares none: it is the baseline of every suite.
    for name in reg.LOSSES.names():
        entry = reg.LOSSES.get(name)
        if not entry.origin.startswith("lossbench "):
            continue
        card = reg.LOSSES.card(name)
        if card.objective == "embedding":
            assert card.suites == ("metric_learning",), name
        elif name == "cross_entropy":
            assert card.suites == (), name
        else:
            assert "standard" in card.suites and set(card.suites) <= CLASSIFICATION_SUITES, name


@pytest.mark.parametrize(("names", "suites"), [
    (("gce", "mae", "sum_exp", "ensloss", "sce", "ldr_kl", "aldr_kl"), {"noisy"}),
    (("focal", "focal_flsd53", "dual_focal", "confidence_penalty", "label_smoothing",
      "spherical_z_loss", "squentropy"), CLASSIFICATION_SUITES),
])
def test_builtin_losses_run_where_their_papers_evaluate_them(names, suites):
    for name in names:
        assert suites <= set(reg.LOSSES.card(name).suites), name


def test_a_card_reads_the_objective_and_the_name_it_had_before_harness_0_2():
    class New:
        objective = "embedding"

    class Legacy:
        kind = "embedding"  # the attribute's name before harness 0.2

    for target in (New, Legacy):
        card = card_from_target(target, "x", "loss", "pkg 1", "m:x")
        assert (card.kind, card.objective) == ("loss", "embedding")


def _alias_card(name: str, alias_of, kind: str = "loss") -> Card:
    return Card(name=name, kind=kind, version="1", origin="pkg 1", target="m:x",
                    alias_of=alias_of)


def test_balanced_softmax_is_declared_an_alias_of_logit_adjustment():
    card = reg.LOSSES.card("balanced_softmax")
    assert card.alias_of == "logit_adjustment"
    assert reg.LOSSES.card("logit_adjustment").alias_of is None
    assert Card.from_dict(card.to_dict()) == card  # records carry it (card_json)


def test_a_card_without_alias_of_reads_as_none():
    class Plain:
        pass

    assert card_from_target(Plain, "p", "loss", "pkg 1", "m:p").alias_of is None


def test_an_alias_naming_another_loss_is_valid():
    assert card_problems(_alias_card("my_ce", "cross_entropy")) == []


def test_an_alias_of_itself_is_refused():
    assert any("names the entry itself ('focal')" in p
               for p in card_problems(_alias_card("focal", "focal")))


def test_an_alias_of_an_unknown_entry_names_the_value_and_the_valid_names():
    problems = card_problems(_alias_card("mine", "logit_adjustmnt"))
    assert len(problems) == 1
    assert "'logit_adjustmnt'" in problems[0] and "not another registered loss" in problems[0]
    assert "logit_adjustment" in problems[0] and "cross_entropy" in problems[0]


def test_an_alias_must_name_an_entry_of_its_own_kind():
    problems = card_problems(_alias_card("my_reg", "cross_entropy", kind="regularizer"))
    assert any("'cross_entropy', which is not another registered regularizer" in p
               for p in problems)


def test_an_alias_of_an_alias_is_refused_naming_the_entry_to_use():
    problems = card_problems(_alias_card("mine", "balanced_softmax"))
    assert any("itself an alias of 'logit_adjustment': name 'logit_adjustment'" in p
               for p in problems)


def test_aliases_that_name_each_other_are_both_invalid(fake_registry, monkeypatch):
    registry, found = fake_registry
    monkeypatch.setitem(reg.REGISTRIES, "loss", registry)

    class A:
        alias_of = "b"

    class B:
        alias_of = "a"

    found += [entry("a", "m:A", loader=lambda: A), entry("b", "m:B", loader=lambda: B)]
    for name in ("a", "b"):
        with pytest.raises(EntryLoadError, match="alias"):
            registry.card(name)


def test_an_ill_typed_alias_is_refused():
    class Bad:
        alias_of = ["cross_entropy"]

    with pytest.raises(EntryLoadError, match="alias_of must be a string, got list"):
        card_from_target(Bad, "bad", "loss", "pkg 1", "m:Bad")

"""The pre-registered findings catalog (``bench/catalog.toml``): what a declaration must state,
and the names it may use. Loading is strict: a wrong declaration fails loudly, naming the finding,
the field, the bad value and the valid choices."""

from __future__ import annotations

import pytest

from lossbench.catalog import (
    CATALOG_FILE,
    MIN_RANKED,
    CatalogError,
    load_catalog,
    parse_catalog,
)
from lossbench.catalog_checks import check_catalog
from lossbench.comparable_runs import card_defaults
from lossbench.confirmation import checked_catalog, live_tasks
from lossbench.suites.declared_findings import EntryRef

HEADER = """schema = 1
design_seeds = [0, 1, 2, 3, 4]
confirmation_seeds = [100, 101, 102, 103, 104, 105, 106, 107, 108, 109]
alpha = 0.05
"""

FOCAL = """
[[finding]]
id = "focal-fl3"
suite = "standard"
task = "mnist1d"
a = "focal"
a_hparams = { gamma = 3.0 }
b = "cross_entropy"
b_hparams = {}
source = "Mukhoti et al. 2020, Table 1"
url = "https://arxiv.org/abs/2002.09437"
setting = "CIFAR-10, ResNet-50, FL-3"
proxy = "standard/mnist1d"
claim = "focal (gamma = 3) is better calibrated than CE"
primary = "ece"

[[finding.metric]]
name = "ece"
expect = "a_better"
a = 0.0148
b = 0.0435

[[finding.metric]]
name = "top1"
expect = "tie"
margin = 0.01
a = 0.9505
b = 0.9500
"""

RANKING = """
[[ranking]]
id = "toy-table"
suite = "standard"
task = "mnist1d"
metric = "ece"
source = "a table"
url = "https://example.org"
setting = "CIFAR-10"
proxy = "standard/mnist1d"
""" + "".join(f"""
[[ranking.entry]]
entry = "{name}"
hparams = {{}}
value = {0.01 * (i + 1)}
""" for i, name in enumerate(["cross_entropy", "focal", "label_smoothing", "poly1",
                              "focal_flsd53"]))


def parse(text: str):
    return parse_catalog(HEADER + text)


def checked(text: str):
    catalog = parse(text)
    check_catalog(catalog, live_tasks(), card_defaults)
    return catalog


# ---------------------------------------------------------------- the shipped catalog

def test_the_shipped_catalog_loads_and_every_name_in_it_is_registered():
    catalog = checked_catalog()
    assert catalog.path == str(CATALOG_FILE) and len(catalog.digest) == 12


def test_the_shipped_catalog_declares_at_least_24_findings_across_every_suite():
    catalog = load_catalog()
    assert len(catalog.findings) >= 24
    assert {f.suite for f in catalog.findings} >= {"standard", "imbalanced", "noisy", "ood",
                                                   "metric_learning"}


def test_every_classification_suite_has_a_rank_table_or_says_why_not():
    catalog = load_catalog()
    ranked = {r.suite for r in catalog.rankings}
    for suite in ("standard", "imbalanced", "noisy", "ood"):
        assert suite in ranked or catalog.unranked.get(suite, "").strip(), suite
    assert all(len(r.entries) >= MIN_RANKED for r in catalog.rankings)


def test_a_suite_listed_as_unranked_must_not_have_a_rank_table():
    text = FOCAL + RANKING + '\n[unranked]\nstandard = "none found"\n'
    with pytest.raises(CatalogError, match="listed in \\[unranked\\] but ranked"):
        parse(text)


def test_an_unranked_suite_needs_a_reason():
    with pytest.raises(CatalogError, match="maps a suite to the reason"):
        parse(FOCAL + '\n[unranked]\nnoisy = ""\n')


def test_design_and_confirmation_seeds_of_the_shipped_catalog_never_overlap():
    catalog = load_catalog()
    assert not set(catalog.design_seeds) & set(catalog.confirmation_seeds)
    assert len(catalog.confirmation_seeds) >= 10
    assert catalog.design_seeds == (0, 1, 2, 3, 4)  # the board's seeds


def test_every_shipped_finding_states_its_setting_and_a_primary_among_its_metrics():
    for f in load_catalog().findings:
        assert f.setting.strip() and f.proxy.strip() and f.source.strip(), f.id
        assert f.primary in {m.name for m in f.metrics}, f.id


# ---------------------------------------------------------------- structure

def test_a_well_formed_finding_parses_with_its_setting_and_metrics():
    f = checked(FOCAL).findings[0]
    assert (f.a, f.b) == (EntryRef("focal"), EntryRef("cross_entropy"))
    assert dict(f.a_hparams) == {"gamma": 3.0} and f.primary == "ece"
    assert [(m.name, m.expect) for m in f.metrics] == [("ece", "a_better"), ("top1", "tie")]
    assert f.primary_claim.published_effect(higher_is_better=False) == pytest.approx(0.0287)


def test_seeds_that_overlap_are_refused_naming_the_seeds():
    text = HEADER.replace("[100, 101", "[4, 101") + FOCAL
    with pytest.raises(CatalogError, match=r"design and confirmation seeds overlap on \[4\]"):
        parse_catalog(text)


def test_fewer_than_ten_confirmation_seeds_are_refused():
    text = HEADER.replace("100, 101, 102, 103, 104, 105, 106, 107, 108, 109", "100, 101") + FOCAL
    with pytest.raises(CatalogError, match="at least 10 confirmation seeds"):
        parse_catalog(text)


def test_a_missing_setting_is_refused_naming_the_finding_and_field():
    with pytest.raises(CatalogError, match="finding 'focal-fl3': 'setting' must be a non-empty"):
        parse(FOCAL.replace('setting = "CIFAR-10, ResNet-50, FL-3"\n', ""))


def test_hparams_must_be_stated_even_when_they_are_the_defaults():
    with pytest.raises(CatalogError, match="'b_hparams' is missing: state the hyperparameters"):
        parse(FOCAL.replace("b_hparams = {}\n", ""))


def test_a_tie_needs_a_margin():
    with pytest.raises(CatalogError, match="metric 'top1': 'margin' must be a finite number"):
        parse(FOCAL.replace("margin = 0.01\n", ""))


def test_an_unknown_expectation_is_named_with_the_valid_ones():
    with pytest.raises(CatalogError, match=r"(?s)unknown expect 'a_beter'.*a_better"):
        parse(FOCAL.replace('expect = "a_better"', 'expect = "a_beter"'))


def test_the_primary_must_be_a_declared_metric():
    with pytest.raises(CatalogError, match="unknown primary metric 'nll'"):
        parse(FOCAL.replace('primary = "ece"', 'primary = "nll"'))


def test_a_finding_without_metric_tables_is_refused():
    text = FOCAL[:FOCAL.index("[[finding.metric]]")]
    with pytest.raises(CatalogError, match="declare every metric the source reports"):
        parse(text)


def test_a_duplicate_id_is_refused():
    with pytest.raises(CatalogError, match="the id 'focal-fl3' is declared twice"):
        parse(FOCAL + FOCAL)


def test_a_same_entry_finding_needs_name_b_on_every_metric():
    text = FOCAL.replace('a = "focal"\na_hparams = { gamma = 3.0 }',
                         'a = "cross_entropy"\na_hparams = {}')
    with pytest.raises(CatalogError, match="every metric table needs name_b"):
        parse(text)


def test_a_rank_table_needs_five_entries():
    short = RANKING[:RANKING.rindex("[[ranking.entry]]")]
    with pytest.raises(CatalogError, match="at least 5 \\[\\[ranking.entry\\]\\] tables, got 4"):
        parse(FOCAL + short)


def test_invalid_toml_names_the_file():
    with pytest.raises(CatalogError, match="is not valid TOML"):
        parse_catalog("schema = [")


# ---------------------------------------------------------------- names

def test_an_unknown_entry_is_refused():
    with pytest.raises(CatalogError, match="the loss 'focall' is not registered"):
        checked(FOCAL.replace('a = "focal"', 'a = "focall"'))


def test_an_unknown_regularizer_is_refused():
    with pytest.raises(CatalogError, match="the regularizer 'mixupp' is not registered"):
        checked(FOCAL.replace('a = "focal"\na_hparams = { gamma = 3.0 }',
                              'a = "cross_entropy + mixupp"\na_hparams = {}'))


def test_a_hyperparameter_the_card_lacks_is_named_with_the_cards_own():
    with pytest.raises(CatalogError, match="'focal' has no hyperparameter 'gama'; its card's "
                                           "are: gamma"):
        checked(FOCAL.replace("gamma = 3.0", "gama = 3.0"))


def test_a_hyperparameter_typed_unlike_its_default_is_refused():
    with pytest.raises(CatalogError, match="gamma='3' is not typed like its default"):
        checked(FOCAL.replace("gamma = 3.0", 'gamma = "3"'))


def test_an_unknown_metric_is_named():
    with pytest.raises(CatalogError, match="unknown metric 'eec'"):
        checked(FOCAL.replace('name = "ece"', 'name = "eec"').replace('primary = "ece"',
                                                                        'primary = "eec"'))


def test_an_unknown_task_is_named_with_the_suites_tasks():
    with pytest.raises(CatalogError, match=r"(?s)unknown task of suite 'standard' 'mnist1'.*"
                                           r"digits, mnist1d"):
        checked(FOCAL.replace('task = "mnist1d"', 'task = "mnist1"'))


def test_a_rank_table_is_checked_like_a_finding():
    with pytest.raises(CatalogError, match="ranking 'toy-table': the loss 'poly2' is not"):
        checked(FOCAL + RANKING.replace('"poly1"', '"poly2"'))


def test_configurations_list_each_declared_setting_once_per_task():
    catalog = checked(FOCAL + RANKING)
    configs = catalog.configurations()[("standard", "mnist1d")]
    assert (EntryRef("focal"), {"gamma": 3.0}) in configs
    assert (EntryRef("focal"), {}) in configs  # the rank table's card-default focal
    assert configs.count((EntryRef("cross_entropy"), {})) == 1

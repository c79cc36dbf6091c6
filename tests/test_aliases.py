"""Aliases: one function under two names is one method.

``balanced_softmax`` is ``logit_adjustment`` at τ = 1 (its card says ``alias_of``); the board
shows them as one row where their records are bit-identical, and two entries whose records are
bit-identical without such a declaration fail this file's first test.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from lossbench.record_format import RUN_COLUMNS
from lossbench.registry import REGISTRIES
from lossbench.report import aliases as A
from lossbench.report import model as M
from lossbench.report.boards import build_task
from lossbench.report.configs import Tuning, config_keys
from lossbench.store import load_results

ROOT = Path(__file__).resolve().parents[1]


def card(name: str, alias_of: str | None = None, paper: str = "") -> dict:
    return {"name": name, "kind": "loss", "version": "1", "hparams": {}, "paper": paper,
            "fidelity": "exact", "objective": "classification", "alias_of": alias_of}


def runs_frame(rows: list[dict]) -> pd.DataFrame:
    """A wide records frame: one row per run, the run columns the report reads filled in."""
    out = []
    for i, r in enumerate(rows):
        base = {c: None for c in RUN_COLUMNS}
        base.update(spec_key=f"k{i:03d}", loss_version="1", loss_hparams="{}",
                    regularizer_hparams="{}", suite="standard", task="mnist1d",
                    task_version="2", options="{}", status="ok", started_at=f"2026-01-01T{i:05d}",
                    task_json=json.dumps({"headline": ["top1"]}))
        meta = r.pop("card", None) or card(r["loss"])
        base["card_json"] = json.dumps({"loss": meta, "regularizer": None})
        base.update(r)
        out.append(base)
    return pd.DataFrame(out)


def pair(alias_of: str | None = "la", differ: tuple[int, str] | None = None,
         seeds: tuple[int, ...] = (0, 1, 2)) -> pd.DataFrame:
    """Runs of ``la`` and ``bs`` on ``seeds`` with the same numbers (``bs`` declares
    ``alias_of``), except metric ``differ[1]`` of ``bs`` on seed ``differ[0]``."""
    rows = []
    for s in seeds:
        values = {"top1": 0.8 + s / 100, "ece": 0.05 + s / 1000, "train_seconds": 10.0 + s}
        rows.append({"loss": "la", "loss_hparams": '{"tau":1.0}', "seed": s, **values})
        mine = dict(values, train_seconds=20.0 + s)  # timings differ between two runs
        if differ and differ[0] == s:
            mine[differ[1]] += 1e-12
        rows.append({"loss": "bs", "seed": s, "card": card("bs", alias_of), **mine})
    return runs_frame(rows)


# ---------------------------------------------------------------- the committed records

def installed_aliases() -> dict[tuple[str, str], str]:
    """``{(kind, name): alias_of}`` of the installed losses and regularizers."""
    out = {}
    for kind in ("loss", "regularizer"):
        for name in REGISTRIES[kind].names():
            alias = REGISTRIES[kind].card(name).alias_of
            if alias:
                out[(kind, name)] = alias
    return out


@pytest.fixture(scope="module")
def committed() -> pd.DataFrame:
    if not any((ROOT / "results").glob("*.parquet")):
        pytest.skip("no committed results")
    return load_results(ROOT / "results")


def test_no_two_undeclared_entries_give_bit_identical_records(committed):
    """Every pair of entries whose committed runs share at least 3 seeds of one task, version
    and recipe with every quality metric bit-identical is declared an alias (``alias_of``).
    The committed records may predate a declaration, so the installed cards count too."""
    undeclared = A.undeclared_pairs(committed, {**A.stored_aliases(committed),
                                                **installed_aliases()})
    found = [f"{r.suite}/{r.task} v{r.task_version}: {r.a} and {r.b} (seeds {r.seeds})"
             for r in undeclared.itertuples()]
    assert found == [], "bit-identical records of entries not declared aliases (alias_of):\n" \
        + "\n".join(found)


def test_the_committed_balanced_softmax_runs_are_logit_adjustments(committed):
    """The declared alias holds in the records: on every task both ran, the same numbers."""
    pairs = A.identical_pairs(committed)
    names = {frozenset((r.a, r.b)) for r in pairs.itertuples()}
    assert names == {frozenset(('logit_adjustment {"tau":1.0}', "balanced_softmax"))}


# ---------------------------------------------------------------- the check, on tiny frames

def test_an_undeclared_identical_pair_is_reported():
    found = A.undeclared_pairs(pair(alias_of=None))
    assert list(zip(found["a"], found["b"], found["seeds"], strict=True)) == \
        [("bs", 'la {"tau":1.0}', [0, 1, 2])]


def test_a_declared_pair_is_not_reported():
    assert A.undeclared_pairs(pair(alias_of="la")).empty
    assert A.identical_pairs(pair(alias_of="la"))["declared"].tolist() == [True]


def test_a_declaration_given_by_the_caller_counts_like_a_stored_one():
    assert A.undeclared_pairs(pair(alias_of=None), {("loss", "bs"): "la"}).empty


def test_one_differing_metric_on_one_seed_is_not_identical():
    assert A.identical_pairs(pair(alias_of=None, differ=(1, "ece"))).empty


def test_timings_do_not_count():
    assert "train_seconds" not in A.quality_metrics(pair())
    assert not A.identical_pairs(pair(alias_of=None)).empty  # their train_seconds differ


def test_fewer_than_three_shared_seeds_prove_nothing():
    assert A.identical_pairs(pair(alias_of=None, seeds=(0, 1))).empty


def test_two_hyperparameter_sets_of_one_entry_are_not_an_alias_question():
    runs = runs_frame([{"loss": "la", "loss_hparams": json.dumps({"tau": t}), "seed": s,
                        "top1": 0.5} for t in (1.0, 2.0) for s in range(3)])
    assert A.identical_pairs(runs).empty


def test_runs_of_different_tasks_are_never_compared():
    runs = pair(alias_of=None)
    runs.loc[runs["loss"] == "bs", "task"] = "other"
    assert A.identical_pairs(runs).empty


# ---------------------------------------------------------------- one row on the board

def test_a_declared_alias_with_the_same_numbers_merges_into_its_entry():
    runs = pair(alias_of="la")
    keys = dict(zip(runs["loss"], config_keys(runs), strict=True))
    assert A.alias_merges(runs) == {keys["bs"]: keys["la"]}


def test_an_alias_whose_numbers_differ_keeps_its_own_row():
    assert A.alias_merges(pair(alias_of="la", differ=(2, "top1"))) == {}


def test_an_alias_run_on_other_seeds_keeps_its_own_row():
    runs = pair(alias_of="la")
    runs = runs[~((runs["loss"] == "la") & (runs["seed"] == 2))]
    assert A.alias_merges(runs) == {}


def test_an_undeclared_identical_pair_is_not_merged():
    assert A.alias_merges(pair(alias_of=None)) == {}


def test_the_merged_row_shows_both_names_and_keeps_the_entrys_numbers():
    runs = pair(alias_of="la")
    board = build_task("standard", "mnist1d", "2", runs, Tuning())
    (row,) = board.configs
    assert row.label == "la = bs" and row.first["loss"] == "la" and row.n_ok == 3
    assert [c["loss"]["name"] for c in row.alias_cards] == ["bs"]
    assert board.cells[(row.key, "top1")][0] == pytest.approx(0.81)


def test_the_summary_row_of_a_merged_alias_links_both_papers():
    from lossbench.report.summary_page import summary_matrix

    papers = {"la": "Menon et al. arXiv:2007.07314", "bs": "Ren et al. arXiv:2007.10740"}
    runs = pair(alias_of="la")
    runs["card_json"] = [json.dumps({"loss": card(name, "la" if name == "bs" else None,
                                                  paper=papers[name]), "regularizer": None})
                         for name in runs["loss"]]
    summary = M.build(runs, []).summary
    (row,) = summary.rows
    text = summary_matrix(summary)
    assert row.entry == "la = bs"
    assert "[paper][p-la], [paper][p-bs]" in text
    assert "[p-la]: https://arxiv.org/abs/2007.07314" in text
    assert "[p-bs]: https://arxiv.org/abs/2007.10740" in text


def test_the_site_row_of_a_merged_alias_links_both_papers():
    from lossbench.report import site

    papers = {"la": "Menon et al. arXiv:2007.07314", "bs": "Ren et al. arXiv:2007.10740"}
    runs = pair(alias_of="la")
    runs["card_json"] = [json.dumps({"loss": card(name, "la" if name == "bs" else None,
                                                  paper=papers[name]), "regularizer": None})
                         for name in runs["loss"]]
    page = site.index_page(M.build(runs, []))
    assert ('<a href="https://arxiv.org/abs/2007.07314">paper</a>, '
            '<a href="https://arxiv.org/abs/2007.10740">paper</a>') in page
    assert ">la = bs</a>" in page

"""``lossbench merge``: the records a third-party distribution's job made in its own folder join
``results/`` only when sound, of that distribution's own entries, and new."""

from __future__ import annotations

import json

import pytest

from lossbench.cli import main
from lossbench.errors import UsageError
from lossbench.integrity import verify
from lossbench.ledger import read_ledger
from lossbench.merging import merge_records, normalized
from lossbench.record import Record
from lossbench.spec import RunSpec
from lossbench.store import load_results, result_path, write_record

PLUGIN = "lossbench-polyloss"


def record(loss="poly_plugin", seed=0, distribution=f"{PLUGIN} 0.3.1", top1=0.9,
           regularizer=None, reg_distribution=None) -> Record:
    spec = RunSpec(loss=loss, loss_version="1", suite="standard", task="mnist1d",
                   task_version="2", seed=seed, regularizer=regularizer,
                   regularizer_version="1" if regularizer else None)
    return Record(spec, "ok", {"top1": top1}, "",
                  {"loss_distribution": distribution, "regularizer_distribution": reg_distribution})


@pytest.fixture
def folders(tmp_path):
    job, results = tmp_path / "job", tmp_path / "results"
    write_record(results, record(loss="cross_entropy", distribution="lossbench 0.3.0"))
    return job, results


def test_a_sound_record_of_the_jobs_own_entry_is_merged_and_vouched_for(folders):
    job, results = folders
    write_record(job, record())
    report = merge_records(job, results, PLUGIN)
    key = record().spec.key
    assert report.merged == [key] and report.refused == []
    assert result_path(results, key).read_bytes() == result_path(job, key).read_bytes()
    assert read_ledger(results).latest()[key].event == "merge"
    assert verify(results).ok
    assert set(load_results(results)["loss"]) == {"cross_entropy", "poly_plugin"}


def test_a_record_claiming_another_distribution_is_refused(folders):
    job, results = folders
    write_record(job, record(distribution="lossbench-other 1.0"))
    report = merge_records(job, results, PLUGIN)
    assert report.merged == []
    assert "is of distribution 'lossbench-other', not 'lossbench-polyloss'" in report.refused[0][1]


def test_a_record_of_built_ins_only_is_refused_even_when_it_claims_the_distribution(folders):
    job, results = folders
    write_record(job, record(loss="cross_entropy", seed=7, distribution=f"{PLUGIN} 0.3.1",
                             top1=0.99))
    report = merge_records(job, results, PLUGIN)
    assert report.merged == [] and "built-in entries only" in report.refused[0][1]


def test_a_record_never_replaces_a_stored_one(folders):
    job, results = folders
    write_record(results, record(top1=0.5))
    write_record(job, record(top1=0.99))
    report = merge_records(job, results, PLUGIN)
    assert report.merged == [] and "never replaces a record" in report.refused[0][1]
    assert load_results(results).set_index("loss").loc["poly_plugin", "top1"] == 0.5


def test_a_record_altered_in_the_jobs_folder_is_refused(folders):
    import pyarrow as pa
    import pyarrow.parquet as pq

    job, results = folders
    path = write_record(job, record())
    table = pq.read_table(path)
    values = pa.array([0.99] * len(table), pa.float64())
    pq.write_table(table.set_column(table.schema.get_field_index("value"), "value", values), path)
    report = merge_records(job, results, PLUGIN)
    assert report.merged == [] and report.refused[0][1].startswith("altered")


def test_a_built_in_loss_with_the_jobs_regularizer_is_merged(folders):
    job, results = folders
    write_record(job, record(loss="cross_entropy", distribution="lossbench 0.3.0",
                             regularizer="poly_reg", reg_distribution=f"{PLUGIN} 0.3.1"))
    assert len(merge_records(job, results, "lossbench_Polyloss").merged) == 1


def test_names_compare_as_pip_compares_them():
    assert normalized("LossBench_Poly.Loss") == "lossbench-poly-loss"


def test_lossbench_itself_is_never_merged(folders):
    job, results = folders
    job.mkdir()
    with pytest.raises(UsageError, match="lossbench itself"):
        merge_records(job, results, "lossbench")


def test_the_cli_prints_what_it_refused_and_exits_1(folders, capsys):
    job, results = folders
    write_record(job, record())
    write_record(job, record(seed=1, distribution="lossbench-other 1.0"))
    code = main(["merge", str(job), "--distribution", PLUGIN, "--results", str(results),
                 "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 1 and len(out["merged"]) == 1 and len(out["refused"]) == 1

"""The machine description in every record's provenance (``machine_json``, ``machine_id``): what
decides the floating-point path, and a short id that changes only with it."""

from __future__ import annotations

import json
import platform

import numpy as np
import torch

from lossbench.machine import (
    DECIDING_FIELDS,
    canonical,
    machine_id,
    machine_info,
    machine_provenance,
    numpy_blas,
    parse_cpuinfo,
    parse_torch_config,
    stored_machine,
)

CPUINFO = """processor\t: 0
vendor_id\t: GenuineIntel
cpu family\t: 6
model\t\t: 143
model name\t: Intel(R) Xeon(R) Platinum 8480+
stepping\t: 8
flags\t\t: fpu sse avx avx2 fma f16c avx512f avx512_bf16 amx_bf16 amx_tile

processor\t: 1
model name\t: another CPU the first block wins over
"""

TORCH_CONFIG = """PyTorch built with:
  - Intel(R) oneAPI Math Kernel Library Version 2024.2-Product Build 20240605 for Intel(R) 64
  - Intel(R) MKL-DNN v3.7.1 (Git Hash 8d263e693366ef8db40acc569cc7d8edf644556d)
  - Build settings: BLAS_INFO=mkl, BUILD_TYPE=Release, LAPACK_INFO=mkl, TORCH_VERSION=2.7.0,
"""


def test_the_cpu_is_read_from_the_first_processor_block_of_proc_cpuinfo():
    assert parse_cpuinfo(CPUINFO) == {
        "cpu_vendor": "GenuineIntel", "cpu_model": "Intel(R) Xeon(R) Platinum 8480+",
        "cpu_signature": "family 6 model 143 stepping 8",
        "cpu_flags": ["avx", "avx2", "fma", "f16c", "avx512f", "avx512_bf16", "amx_bf16",
                      "amx_tile"]}


def test_an_arm_cpuinfo_gives_its_features_and_no_signature():
    info = parse_cpuinfo("processor\t: 0\nFeatures\t: fp asimd sve\nCPU implementer\t: 0x41\n")
    assert info == {"cpu_vendor": "0x41", "cpu_flags": ["asimd", "sve"]}


def test_torch_build_libraries_are_read_from_its_config_text():
    assert parse_torch_config(TORCH_CONFIG) == {"torch_blas": "MKL 2024.2",
                                                "torch_lapack": "mkl",
                                                "torch_onednn": "oneDNN v3.7.1"}
    assert parse_torch_config("  - Build settings: BLAS_INFO=open, LAPACK_INFO=open,") == {
        "torch_blas": "open", "torch_lapack": "open"}
    assert parse_torch_config("") == {}


def test_numpy_blas_is_its_name_and_version():
    config = {"Build Dependencies": {"blas": {"name": "scipy-openblas", "found": True,
                                              "version": "0.3.28"}}}
    assert numpy_blas(config) == "scipy-openblas 0.3.28"
    assert numpy_blas({}) == ""


def test_this_machine_is_described_with_the_fields_that_decide_its_arithmetic():
    info = machine_info("cpu")
    assert info["arch"] == platform.machine()
    assert info["torch_version"] == torch.__version__
    assert info["numpy_version"] == np.__version__
    assert info["cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    assert info["torch_threads"] == torch.get_num_threads()
    assert info["float32_matmul_precision"] == torch.get_float32_matmul_precision()
    assert "gpu_model" not in info  # only a CUDA device has GPU fields
    json.dumps(info)  # every value is JSON


def test_the_thread_count_is_read_at_each_call_not_cached():
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = machine_info("cpu")
        torch.set_num_threads(2)
        two = machine_info("cpu")
    finally:
        torch.set_num_threads(before)
    assert (one["torch_threads"], two["torch_threads"]) == (1, 2)
    assert machine_id(one) == machine_id(two)  # the same machine at another thread count


def test_machine_json_is_canonical_and_reads_back():
    provenance = machine_provenance("cpu")
    text = provenance["machine_json"]
    assert text == json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"),
                              ensure_ascii=False)
    assert stored_machine(text) == machine_info("cpu")
    assert provenance["machine_id"] == machine_id(machine_info("cpu"))
    assert stored_machine(None) == stored_machine("not json") == stored_machine("[1]") == {}


def test_machine_id_is_12_hex_and_stable_across_calls():
    ids = {machine_id(machine_info("cpu")) for _ in range(3)}
    assert len(ids) == 1
    (only,) = ids
    assert len(only) == 12 and int(only, 16) >= 0


def test_machine_id_changes_with_each_deciding_field_and_not_with_the_others():
    fields = {"cpu_model": "AMD EPYC 7B13", "cpu_capability": "AVX2", "torch_blas": "MKL 2024.2",
              "torch_threads": 1, "logical_cores": 2, "python_version": "3.11.7"}
    base = machine_id(fields)
    assert machine_id({**fields, "cpu_model": "AMD EPYC 9B14"}) != base
    assert machine_id({**fields, "cpu_capability": "AVX512"}) != base
    assert machine_id({**fields, "torch_blas": "MKL 2025.0"}) != base
    assert machine_id({**fields, "cudnn_tf32": True}) != base  # a new deciding field
    assert machine_id({**fields, "torch_threads": 2, "logical_cores": 64,
                       "python_version": "3.12.1"}) == base
    assert machine_id(dict(reversed(list(fields.items())))) == base  # key order is irrelevant
    assert {"cpu_model", "cpu_capability", "torch_blas", "torch_onednn", "numpy_blas",
            "gpu_model", "cudnn_version", "cuda_matmul_tf32"} <= set(DECIDING_FIELDS)


def test_a_field_that_cannot_be_read_is_left_empty_not_raised(monkeypatch):
    from lossbench import machine

    machine._static.cache_clear()
    monkeypatch.setattr(torch.__config__, "show", lambda: 1 / 0)
    monkeypatch.setattr(torch, "get_float32_matmul_precision", lambda: 1 / 0)
    try:
        info = machine_info("cpu")
    finally:
        machine._static.cache_clear()
    assert "torch_blas" not in info and info["float32_matmul_precision"] == ""
    assert info["torch_version"] == torch.__version__


def test_an_unparsable_device_is_described_as_the_cpu():
    assert machine_info("no-such-device")["cpu_capability"] == machine_info("cpu")[
        "cpu_capability"]


def test_canonical_sorts_keys():
    assert canonical({"b": 1, "a": [2, 1]}) == '{"a":[2,1],"b":1}'


def test_every_record_carries_the_machine_in_its_provenance():
    from lossbench.record_format import record_table
    from lossbench.runner import failure_record
    from lossbench.spec import RunSpec

    spec = RunSpec(loss="cross_entropy", loss_version="1", suite="standard", task="mnist1d",
                   task_version="2", seed=0)
    row = record_table(failure_record(spec, "timeout", "killed")).to_pylist()[0]
    assert row["machine_id"] == machine_id(stored_machine(row["machine_json"]))
    assert stored_machine(row["machine_json"])["cpu_capability"] == machine_info("cpu")[
        "cpu_capability"]

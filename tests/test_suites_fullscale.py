"""Full-scale configs load tiny local copies written in the real formats (``save_to_disk``
folders, the CIFAR-N ``.pt`` label file, CIFAR-10-C ``.npy`` arrays) and train one step.

Nothing is downloaded: ``$LOSSBENCH_DATA`` points at the tiny copies. One task per data family runs
by default; the rest are marked slow.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from datasets import Dataset, DatasetDict, Features, Image, Value
from PIL import Image as PILImage

from lossbench.models import build_model
from lossbench.registry import SUITES
from lossbench.runner import execute
from lossbench.spec import RunSpec
from lossbench.suites import fullscale
from lossbench.train import TrainConfig, train

PER_CLASS = 6  # a 10 % stratified holdout then leaves one validation image per class


def _images(n: int, size: int, gen: np.random.Generator) -> list[PILImage.Image]:
    return [PILImage.fromarray(gen.integers(0, 256, (size, size, 3), dtype=np.uint8))
            for _ in range(n)]


def _split(labels: np.ndarray, size: int, gen, image="image", label="label", **extra):
    feats = {image: Image(), label: Value("int64"), **{k: Value("int64") for k in extra}}
    cols = {image: _images(len(labels), size, gen), label: labels.tolist(),
            **{k: v.tolist() for k, v in extra.items()}}
    return Dataset.from_dict(cols, features=Features(feats))


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("lossbench-data")
    gen = np.random.default_rng(0)
    y10 = np.repeat(np.arange(10), PER_CLASS)
    DatasetDict({"train": _split(y10, 32, gen, image="img"),
                 "test": _split(np.arange(10), 32, gen, image="img"),
                 }).save_to_disk(root / "cifar10")
    y100 = np.repeat(np.arange(100), PER_CLASS)
    DatasetDict({
        "train": _split(y100, 32, gen, image="img", label="fine_label", coarse_label=y100 // 5),
        "test": _split(np.arange(0, 100, 10), 32, gen, image="img", label="fine_label",
                       coarse_label=np.arange(0, 100, 10) // 5),
    }).save_to_disk(root / "cifar100")
    for name, size in (("svhn", 32), ("textures", 40)):
        DatasetDict({"test": _split(np.arange(5), size, gen)}).save_to_disk(root / name)
    (root / "cifar-n").mkdir()
    noisy10 = (y10 + (np.arange(len(y10)) % 3 == 0)) % 10
    torch.save({"clean_label": y10, "aggre_label": noisy10, "worse_label": noisy10,
                "random_label1": noisy10}, root / "cifar-n" / "CIFAR-10_human.pt")
    torch.save({"clean_label": y100, "noisy_label": (y100 + 1) % 100},
               root / "cifar-n" / "CIFAR-100_human.pt")
    (root / "CIFAR-10-C").mkdir()
    np.save(root / "CIFAR-10-C" / "labels.npy", np.tile(np.arange(2), 5))  # 2 per severity
    for corruption in fullscale.CIFAR10C_CORRUPTIONS:
        np.save(root / "CIFAR-10-C" / f"{corruption}.npy",
                gen.integers(0, 256, (10, 32, 32, 3), dtype=np.uint8))
    for name, classes in (("cub200", 200), ("cars196", 196)):
        y = np.repeat(np.arange(classes), PER_CLASS)
        half = len(y) // 2
        DatasetDict({"train": _split(y[:half], 16, gen),
                     "test": _split(y[half:], 16, gen)}).save_to_disk(root / name)
    return root


@pytest.fixture
def local_data(data_dir, monkeypatch):
    monkeypatch.setenv("LOSSBENCH_DATA", str(data_dir))
    return data_dir


# ResNet-18 with the CIFAR stem costs ~0.5 GFLOP per 32 px image: by default only one config runs.
FAST = {"cifar10-lt100"}
CIFAR_TASKS = [(s, t.name) for s in ("imbalanced", "noisy", "ood")
               for t in SUITES.load(s).tasks.values() if not t.embedded]


def _params() -> list:
    return [pytest.param(suite, task, marks=() if task in FAST else (pytest.mark.slow,),
                         id=f"{suite}/{task}") for suite, task in CIFAR_TASKS]


def test_full_scale_tasks_are_not_in_the_default_sweep_and_report_availability(tmp_path,
                                                                               monkeypatch):
    monkeypatch.setenv("LOSSBENCH_DATA", str(tmp_path))
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path))
    for suite, task in CIFAR_TASKS:
        t = SUITES.load(suite).task(task)
        assert not t.embedded and not t.available()


@pytest.mark.parametrize("suite,task", _params())
def test_cifar_config_loads_local_copy_and_trains_one_step(local_data, suite, task):
    t = SUITES.load(suite).task(task)
    assert t.available()
    assert t.model == "timm:resnet18_cifar" and t.train.optimizer == "sgd"
    data = t.make_data(0)
    assert data.x_train.shape[1:] == (3, 32, 32)
    spec = RunSpec("cross_entropy", "1", suite, task, t.version, 0,
                   options={"epochs": 1, "batch_size": len(data.x_train)})  # one step
    record = execute(spec)
    assert record.status == "ok", record.error
    shot_groups = [m for m in record.metrics if m.endswith("_shot")]
    for metric in t.headline:  # the tiny copy has other shot groups than the real data
        assert metric in record.metrics or (metric.endswith("_shot") and shot_groups), metric


def test_cifar_n_refuses_labels_in_another_order(local_data):
    y = np.repeat(np.arange(10), PER_CLASS)
    torch.save({"clean_label": y[::-1].copy(), "aggre_label": y},
               local_data / "cifar-n" / "CIFAR-10_human.pt")
    fullscale.cifar_n.cache_clear()
    try:
        with pytest.raises(ValueError, match="does not match"):
            fullscale.cifar_n("cifar10", "aggre_label", 0)
    finally:
        torch.save({"clean_label": y, "aggre_label": y, "worse_label": y, "random_label1": y},
                   local_data / "cifar-n" / "CIFAR-10_human.pt")
        fullscale.cifar_n.cache_clear()


def test_cifar100_asymmetric_noise_stays_within_superclasses():
    fine = np.arange(100)
    pairs = fullscale.cifar100_superclass_pairs(fine, fine // 5)
    assert all(src // 5 == dst // 5 and src != dst for src, dst in pairs.items())
    assert len(pairs) == 100


@pytest.mark.slow
@pytest.mark.parametrize("name", ["cub200", "cars196"])
def test_dml_config_splits_classes_and_trains_one_step(local_data, name):
    task = SUITES.load("metric_learning").task(name)
    assert task.available() and task.supports_embedding and task.model == "timm:resnet50"
    data = fullscale.dml_split(name, 0, size=32)  # the config's 224 px, shrunk for the CPU
    half = fullscale.NUM_CLASSES[name] // 2
    assert data.y_train.max() < half and data.y_test.max() == half - 1
    model = build_model(task.model, data.in_shape, task.embedding_size,
                        **{**task.model_kwargs, "pretrained": False})  # no weight download
    cfg = dataclasses.replace(task.train, epochs=1, batch_size=len(data.x_train))
    result = train(model, torch.nn.CrossEntropyLoss(), data.x_train[:8], data.y_train[:8],
                   dataclasses.replace(cfg, batch_size=8), num_classes=half, seed=0)
    assert isinstance(cfg, TrainConfig) and result.history["train_loss"]


def test_dml_split_holds_out_the_second_half_of_the_classes(local_data):
    data = fullscale.dml_split("cub200", 0, size=16)
    assert set(data.y_train.tolist()) == set(range(100))
    assert set(data.y_test.tolist()) == set(range(100))  # classes 100..199, relabelled
    assert len(data.y_test) == 100 * PER_CLASS


def test_a_full_scale_dependency_that_is_missing_names_the_extra_to_install(monkeypatch):
    import sys

    from lossbench.errors import MissingExtraError
    from lossbench.models import build_model

    monkeypatch.setitem(sys.modules, "timm", None)  # what an import of a missing module meets
    with pytest.raises(MissingExtraError, match=r"pip install 'lossbench\[fullscale\]'"):
        build_model("timm:resnet18", (3, 32, 32), 10)

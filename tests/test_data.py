"""Full-scale data loading through Hugging Face ``datasets`` from local copies (nothing is
downloaded): ``save_to_disk`` folders, Parquet shards, images to tensors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from datasets import Dataset, DatasetDict, Features, Image, Value
from PIL import Image as PILImage

from lossbench import data


def _images(n: int, size: int = 8, seed: int = 0) -> list[PILImage.Image]:
    gen = np.random.default_rng(seed)
    return [PILImage.fromarray(gen.integers(0, 256, (size, size, 3), dtype=np.uint8))
            for _ in range(n)]


def _dataset(n: int, size: int = 8) -> Dataset:
    features = Features({"img": Image(), "label": Value("int64")})
    return Dataset.from_dict({"img": _images(n, size), "label": list(range(n))}, features=features)


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("LOSSBENCH_DATA", str(tmp_path))
    return tmp_path


def test_load_split_reads_a_saved_dataset_dict(data_dir):
    DatasetDict({"train": _dataset(4), "test": _dataset(2)}).save_to_disk(data_dir / "toy")
    ds = data.load_split("owner/toy", "test", local_name="toy")
    assert len(ds) == 2 and ds.column_names == ["img", "label"]


def test_load_split_reads_one_saved_dataset_per_split(data_dir):
    _dataset(3).save_to_disk(data_dir / "toy" / "train")
    assert len(data.load_split("owner/toy", "train", local_name="toy")) == 3


def test_load_split_reads_hub_style_parquet_shards(data_dir):
    (data_dir / "toy" / "data").mkdir(parents=True)
    _dataset(5).to_parquet(data_dir / "toy" / "data" / "train-00000-of-00001.parquet")
    ds = data.load_split("owner/toy", "train", local_name="toy")
    assert len(ds) == 5 and ds[0]["label"] == 0


def test_load_split_names_the_missing_split(data_dir):
    DatasetDict({"train": _dataset(2)}).save_to_disk(data_dir / "toy")
    with pytest.raises(KeyError, match="no split 'test'"):
        data.load_split("owner/toy", "test", local_name="toy")


def test_local_copy_is_absent_without_the_folder(data_dir):
    assert data.local_copy("nothing-here") is None


def test_hf_cached_is_false_for_an_unknown_dataset(tmp_path, monkeypatch):
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path))
    assert not data.hf_cached("nobody/no-such-dataset")


def test_images_to_tensor_normalises_and_resizes():
    ds = _dataset(3, size=8)
    x = data.images_to_tensor(ds, "img", 4, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
    assert x.shape == (3, 3, 4, 4) and x.dtype == torch.float32
    assert x.min() >= -1 and x.max() <= 1
    same = data.images_to_tensor(ds, "img", 8, mean=(0, 0, 0), std=(1, 1, 1))
    first = np.asarray(ds[0]["img"], dtype=np.float32).transpose(2, 0, 1) / 255
    assert torch.allclose(same[0], torch.from_numpy(first))


def test_from_arrays_round_trips_through_to_tensors():
    x = np.arange(24, dtype=np.float32).reshape(6, 4)
    y = np.arange(6)
    xt, yt = data.to_tensors(data.from_arrays(x, y))
    assert torch.equal(xt, torch.from_numpy(x)) and torch.equal(yt, torch.from_numpy(y))

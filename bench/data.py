"""Data: every task's splits are Hugging Face ``datasets.Dataset`` objects.

The embedded data sets are generated offline (MNIST-1D through ``mnist1d.data.make_dataset`` with a
fixed seed — never ``get_dataset``, which downloads — and scikit-learn's bundled
``load_digits``) and
wrapped with ``Dataset.from_dict``; full-scale data sets are loaded by Hugging Face dataset id or
from a local ``save_to_disk`` / Parquet copy. One code path, :func:`to_tensors`, turns any of them
into tensors once per process.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .errors import import_extra

MNIST1D_DEFAULTS: dict[str, Any] = {
    # mnist1d.data.get_dataset_args() defaults (Greydanus & Kobak 2024), minus the download url.
    "num_samples": 5000,
    "train_split": 0.8,
    "template_len": 12,
    "padding": [36, 60],
    "scale_coeff": 0.4,
    "max_translation": 48,
    "corr_noise_scale": 0.25,
    "iid_noise_scale": 2e-2,
    "shear_scale": 0.75,
    "shuffle_seq": False,
    "final_seq_length": 40,
    "seed": 42,
}


#: The template sets the MNIST-1D generator can draw from (``mnist1d_arrays(template_set=...)``):
#: its ten digits (the default), or the 100 ordered pairs of them side by side.
TEMPLATE_SETS = ("digits", "digit-pairs")


def digit_pair_templates() -> dict[str, np.ndarray]:
    """MNIST-1D templates of 100 classes: digit templates ``a`` and ``b`` side by side (24
    points) for every ordered pair, class ``10·a + b``; the time axis spans the generator's
    range like the digits' own (``linspace(-5, 5) / 6``)."""
    from mnist1d.data import get_templates

    base = get_templates()["x"]
    x = np.stack([np.concatenate([base[a], base[b]]) for a in range(10) for b in range(10)])
    return {"x": x, "t": np.linspace(-5, 5, x.shape[1]) / 6.0, "y": np.arange(len(x))}


def cache_dir() -> Path:
    """Where generated data is cached: ``$LOSSBENCH_CACHE`` or ``~/.cache/lossbench``."""
    from .metadata_cache import cache_root

    return cache_root()


def _atomic_save_npz(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        np.savez(fh, **arrays)
    os.replace(tmp, path)


@functools.lru_cache(maxsize=8)
def _mnist1d_cached(key: str) -> dict[str, np.ndarray]:
    args = json.loads(key)
    path = cache_dir() / f"mnist1d-{hashlib.sha256(key.encode()).hexdigest()[:12]}.npz"
    if path.exists():
        try:
            with np.load(path) as z:
                return {k: z[k] for k in z.files}
        except (OSError, ValueError):
            pass  # a damaged cache file is regenerated below
    # make_dataset seeds numpy's and random's global generators; leave the caller's untouched.
    import random

    from mnist1d.data import make_dataset
    from mnist1d.utils import ObjectView

    template_set = args.pop("template_set", "digits")
    templates = digit_pair_templates() if template_set == "digit-pairs" else None
    np_state, py_state = np.random.get_state(), random.getstate()
    try:
        raw = make_dataset(ObjectView(dict(args)), template=templates)
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)
    arrays = {
        "x": raw["x"].astype(np.float32),
        "y": raw["y"].astype(np.int64),
        "x_test": raw["x_test"].astype(np.float32),
        "y_test": raw["y_test"].astype(np.int64),
    }
    try:
        _atomic_save_npz(path, arrays)
    except OSError:
        pass  # a read-only cache only costs regeneration time
    return arrays


def mnist1d_arrays(**overrides: Any) -> dict[str, np.ndarray]:
    """MNIST-1D generated offline: ``x``/``y`` (train split) and ``x_test``/``y_test``.

    ``overrides`` change the generator's arguments (e.g. a larger ``iid_noise_scale`` for a
    covariate-shifted copy), and ``template_set`` (one of :data:`TEMPLATE_SETS`) the templates
    it draws from; the result is cached in memory and on disk under :func:`cache_dir`.
    """
    unknown = set(overrides) - set(MNIST1D_DEFAULTS) - {"template_set"}
    if unknown:
        raise ValueError(
            f"unknown MNIST-1D argument(s) {sorted(unknown)}; valid: "
            f"{sorted([*MNIST1D_DEFAULTS, 'template_set'])}"
        )
    if overrides.get("template_set", "digits") not in TEMPLATE_SETS:
        raise ValueError(f"unknown template_set {overrides['template_set']!r}; valid: "
                         f"{', '.join(TEMPLATE_SETS)}")
    args = {**MNIST1D_DEFAULTS, **overrides}
    return _mnist1d_cached(json.dumps(args, sort_keys=True))


@functools.lru_cache(maxsize=2)
def digits_arrays() -> dict[str, np.ndarray]:
    """scikit-learn's bundled 8×8 digits (1,797 images), scaled to [0, 1], as ``x``/``y``."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return {"x": (bunch.data / 16.0).astype(np.float32), "y": bunch.target.astype(np.int64)}


def from_arrays(x: np.ndarray, y: np.ndarray, **columns: np.ndarray):
    """An in-memory ``datasets.Dataset`` with columns ``x``, ``label`` (and any extra columns).

    Multi-dimensional arrays become fixed-size list columns built directly in Arrow (no Python
    lists), so wrapping the embedded data sets costs milliseconds.
    """
    import pyarrow as pa
    from datasets import Dataset

    def column(v: np.ndarray) -> pa.Array:
        v = np.ascontiguousarray(v)
        arr = pa.array(v.reshape(-1))
        for size in reversed(v.shape[1:]):
            arr = pa.FixedSizeListArray.from_arrays(arr, size)
        return arr

    data = {"x": x, "label": y, **columns}
    return Dataset(pa.table({k: column(np.asarray(v)) for k, v in data.items()}))


def to_tensors(ds, x_col: str = "x", y_col: str = "label",
               dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
    """Convert a ``datasets.Dataset`` (columns ``x_col``, ``y_col``) to ``(X, y)`` tensors once."""
    table = ds.with_format("numpy", columns=[x_col, y_col])
    x = np.asarray(table[x_col])
    y = np.asarray(table[y_col])
    return torch.as_tensor(x, dtype=dtype), torch.as_tensor(y, dtype=torch.long)


# -- full-scale data: Hugging Face datasets by id, or local copies ---------------------------------

def data_root() -> Path | None:
    """``$LOSSBENCH_DATA``: a folder of local dataset copies (one sub-folder per dataset)."""
    root = os.environ.get("LOSSBENCH_DATA")
    return Path(root) if root else None


def local_copy(name: str) -> Path | None:
    """``$LOSSBENCH_DATA/<name>`` when it exists."""
    root = data_root()
    if root is None:
        return None
    path = root / name
    return path if path.exists() else None


def hf_cached(dataset_id: str) -> bool:
    """Whether the Hugging Face hub cache holds a snapshot of ``dataset_id`` (no network)."""
    from huggingface_hub.constants import HF_HUB_CACHE

    folder = Path(HF_HUB_CACHE) / ("datasets--" + dataset_id.replace("/", "--"))
    return (folder / "snapshots").is_dir() and any((folder / "snapshots").iterdir())


def _parquet_files(folder: Path, split: str) -> list[str]:
    """Parquet shards of ``split`` in a hub-style layout: ``<split>-*.parquet``,
    ``<split>/*.parquet`` or ``data/<split>-*.parquet`` under ``folder``."""
    patterns = [f"{split}-*.parquet", f"{split}.parquet", f"{split}/*.parquet",
                f"data/{split}-*.parquet", f"*/{split}-*.parquet"]
    for pattern in patterns:
        files = sorted(str(p) for p in folder.glob(pattern))
        if files:
            return files
    return []


def load_split(dataset_id: str, split: str, *, local_name: str, config: str | None = None):
    """One split of a dataset as a ``datasets.Dataset``.

    Looked up in order: ``$LOSSBENCH_DATA/<local_name>`` as a ``save_to_disk`` folder (a
    ``DatasetDict`` or a single ``Dataset``) or as a folder of Parquet shards; then
    ``datasets.load_dataset(dataset_id, config, split=split)``, which reads the Hugging Face cache
    and downloads on a miss (full-scale tasks only; embedded tasks never get here).
    """
    import datasets

    folder = local_copy(local_name)
    if folder is not None:
        if (folder / "dataset_dict.json").exists():
            dd = datasets.load_from_disk(str(folder))
            if split not in dd:
                raise KeyError(f"{folder} has no split {split!r}; it has {sorted(dd)}")
            return dd[split]
        if (folder / split / "dataset_info.json").exists():
            return datasets.load_from_disk(str(folder / split))
        files = _parquet_files(folder, split)
        if files:
            return datasets.load_dataset("parquet", data_files={split: files}, split=split)
        raise FileNotFoundError(
            f"{folder} is neither a save_to_disk folder with split {split!r} nor has Parquet "
            f"files for it (looked for {split}-*.parquet, {split}/*.parquet, "
            f"data/{split}-*.parquet)")
    return datasets.load_dataset(dataset_id, config, split=split)


def images_to_tensor(ds, column: str, size: int, mean: tuple[float, ...],
                     std: tuple[float, ...], batch: int = 1024) -> torch.Tensor:
    """Decode an image column to a normalised float tensor ``[N, 3, size, size]`` (RGB; images
    of another size are resized with bilinear filtering)."""
    Image = import_extra("PIL.Image", "fullscale", "decoding image columns")  # noqa: N806
    out = torch.empty((len(ds), 3, size, size), dtype=torch.float32)
    m = torch.tensor(mean).view(1, 3, 1, 1)
    s = torch.tensor(std).view(1, 3, 1, 1)
    for start in range(0, len(ds), batch):
        images = ds[start:start + batch][column]
        arrays = []
        for img in images:
            if not isinstance(img, Image.Image):
                img = Image.fromarray(np.asarray(img, dtype=np.uint8))
            img = img.convert("RGB")
            if img.size != (size, size):
                img = img.resize((size, size), Image.BILINEAR)
            arrays.append(np.asarray(img, dtype=np.uint8))
        chunk = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).float() / 255.0
        out[start:start + len(arrays)] = (chunk - m) / s
    return out

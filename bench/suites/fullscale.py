"""Full-scale (GPU) task configs: CIFAR-10/100-LT, CIFAR-10/100 synthetic noise, CIFAR-10N/100N,
CIFAR-10 vs SVHN / CIFAR-100 / Textures, CIFAR-10-C, CUB-200-2011 and Cars-196.

Data come through Hugging Face ``datasets`` (:func:`bench.data.load_split`): a local copy under
``$LOSSBENCH_DATA/<name>`` (``save_to_disk`` folder or Parquet shards) when present, else the hub id
(read from the HF cache, downloaded on a miss). Two sets are not on the hub in a canonical form and
are read from their original files under ``$LOSSBENCH_DATA``: the CIFAR-N human labels
(``cifar-n/CIFAR-10_human.pt``, ``cifar-n/CIFAR-100_human.pt`` from
github.com/UCSC-REAL/cifar-10-100n)
and CIFAR-10-C (``CIFAR-10-C/<corruption>.npy`` + ``labels.npy``, Hendrycks & Dietterich 2019).

These tasks are ``embedded=False`` (never in the default CPU sweep); they share the suites' metric
functions with the embedded tasks. Each records its published recipe in ``train`` and its
description. The CIFAR recipes apply the papers' augmentation (``augment="crop4+flip"``: pad 4,
random 32×32 crop, horizontal flip; :mod:`lossbench.augment`) to each training batch on the
device; they are task version 2 (version 1 trained without it). The metric-learning recipes
(CUB, Cars) do not augment yet (their papers use random resized crops), as their descriptions say.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from pathlib import Path

import numpy as np
import torch

from ..data import data_root, hf_cached, images_to_tensor, load_split, local_copy
from ..train import TrainConfig
from .base import Evaluate, Task, TaskData
from .corruption import (
    CIFAR10_PAIR_MAP,
    apply_transition,
    long_tail_counts,
    long_tail_indices,
    noisy_extra,
    pair_transition,
    symmetric_transition,
)
from .splits import rng, stratified_holdout

CIFAR_MEAN, CIFAR_STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
VAL_FRACTION = 0.1


@dataclasses.dataclass(frozen=True)
class Source:
    """A dataset: hub id (+ config), local folder name, image and label columns, splits."""

    hub_id: str
    local_name: str
    image: str = "image"
    label: str = "label"
    config: str | None = None
    train: str = "train"
    test: str = "test"

    def split(self, which: str):
        return load_split(self.hub_id, which, local_name=self.local_name, config=self.config)

    def available(self) -> bool:
        return local_copy(self.local_name) is not None or hf_cached(self.hub_id)


SOURCES = {
    "cifar10": Source("uoft-cs/cifar10", "cifar10", image="img"),
    "cifar100": Source("uoft-cs/cifar100", "cifar100", image="img", label="fine_label"),
    "svhn": Source("ufldl-stanford/svhn", "svhn", config="cropped_digits"),
    "textures": Source("tanganke/dtd", "textures"),
    "cub200": Source("Donghyun99/CUB-200-2011", "cub200"),
    "cars196": Source("tanganke/stanford_cars", "cars196"),
}
NUM_CLASSES = {"cifar10": 10, "cifar100": 100, "cub200": 200, "cars196": 196}


def _labels(ds, column: str) -> np.ndarray:
    return np.asarray(ds.with_format("numpy", columns=[column])[column], dtype=np.int64)


def _images(ds, source: Source, size: int, mean=CIFAR_MEAN, std=CIFAR_STD) -> torch.Tensor:
    return images_to_tensor(ds, source.image, size, mean, std)


def _splits_with_holdout(name: str, seed: int, size: int = 32):
    """Train pool (with a seeded 10 % stratified validation holdout) and test set of ``name``."""
    source = SOURCES[name]
    train = source.split(source.train)
    test = source.split(source.test)
    y = _labels(train, source.label)
    keep, hold = stratified_holdout(y, VAL_FRACTION, seed)
    return source, train, test, y, keep, hold


def _task_data(source: Source, train, test, y_train_all, train_idx, y_train, hold, size,
               num_classes, **extra) -> TaskData:
    return TaskData(
        x_train=_images(train.select(train_idx), source, size),
        y_train=torch.as_tensor(y_train, dtype=torch.long),
        x_val=_images(train.select(hold), source, size),
        y_val=torch.as_tensor(extra.pop("y_val", y_train_all[hold]), dtype=torch.long),
        x_test=_images(test, source, size),
        y_test=torch.as_tensor(_labels(test, source.label), dtype=torch.long),
        num_classes=num_classes, extra=extra)


# -- imbalanced -------------------------------------------------------------------------------

#: Cao et al. 2019 (LDAM-DRW, arXiv:1906.07413) CIFAR-LT recipe: SGD momentum 0.9, lr 0.1,
#: weight decay 2e-4, batch 128, 200 epochs (their step decay at 160/180 → cosine here).
CIFAR_LT_RECIPE = TrainConfig(epochs=200, batch_size=128, optimizer="sgd", lr=0.1,
                              weight_decay=2e-4, schedule="cosine", augment="crop4+flip")


#: Head-class size after the 10 % validation holdout (5,000 / 500 images per class before).
CIFAR_N_MAX = {"cifar10": 4500, "cifar100": 450}


@functools.lru_cache(maxsize=2)
def cifar_long_tail(name: str, rho: float, seed: int) -> TaskData:
    """CIFAR-{10,100}-LT: a 10 % balanced validation split is held out first, the rest is
    subsampled to ``n_c = ⌊n_max ρ^(-c/(C-1))⌋`` with n_max = 4,500 / 450; full balanced test."""
    source, train, test, y, keep, hold = _splits_with_holdout(name, seed)
    c = NUM_CLASSES[name]
    n_max = int(np.bincount(y[keep], minlength=c).min())
    lt = keep[long_tail_indices(y[keep], long_tail_counts(n_max, c, rho), rng(seed, "long-tail"))]
    return _task_data(source, train, test, y, lt, y[lt], hold, 32, c, imbalance_ratio=float(rho))


def tail_group(n_max: int, rho: float) -> str:
    """The shot group of the rarest class of a long tail (few, medium or many): the tail metric a
    task with this profile can report."""
    from ..metrics.classification import FEW_SHOT_BELOW, MANY_SHOT_ABOVE

    smallest = n_max / rho
    if smallest < FEW_SHOT_BELOW:
        return "few_shot"
    return "medium_shot" if smallest <= MANY_SHOT_ABOVE else "many_shot"


def imbalanced_tasks(evaluate: Evaluate) -> list[Task]:
    tasks = []
    for name in ("cifar10", "cifar100"):
        for rho in (100, 10):
            tasks.append(Task(
                name=f"{name}-lt{rho}", version="2", embedded=False,
                description=(f"{name.upper()}-LT rho={rho}, ResNet-18 (CIFAR stem), SGD lr 0.1 "
                             "wd 2e-4 batch 128, 200 epochs cosine (Cao et al. 2019); "
                             "augmentation pad-4 crop + flip"),
                make_data=functools.partial(cifar_long_tail, name, float(rho)),
                evaluate=evaluate, train=CIFAR_LT_RECIPE, model="timm:resnet18_cifar",
                available=SOURCES[name].available,
                headline=("balanced_accuracy", tail_group(CIFAR_N_MAX[name], rho), "ece"),
                model_selection="last_epoch"))
    return tasks


# -- noisy ------------------------------------------------------------------------------------

#: ResNet-18 CIFAR recipe for synthetic noise (schedule length of Ma et al. 2020, "Normalized Loss
#: Functions for Deep Learning with Noisy Labels", arXiv:2006.13554): SGD momentum 0.9, lr 0.1,
#: weight decay 5e-4, batch 128, 120 epochs cosine.
CIFAR_NOISY_RECIPE = TrainConfig(epochs=120, batch_size=128, optimizer="sgd", lr=0.1,
                                 weight_decay=5e-4, schedule="cosine", augment="crop4+flip")
#: CIFAR-N recipe of Wei et al. 2022 ("Learning with Noisy Labels Revisited", arXiv:2110.12088):
#: SGD lr 0.1, weight decay 5e-4, batch 128, 100 epochs (their step decay → cosine here).
CIFAR_N_RECIPE = dataclasses.replace(CIFAR_NOISY_RECIPE, epochs=100)


def cifar100_superclass_pairs(fine: np.ndarray, coarse: np.ndarray) -> dict[int, int]:
    """CIFAR-100 asymmetric noise: each class flips to the next class (circularly, in index
    order) within its super-class (Patrini et al. 2017)."""
    pairs = {}
    for sc in np.unique(coarse):
        members = sorted(set(fine[coarse == sc].tolist()))
        for i, f in enumerate(members):
            pairs[f] = members[(i + 1) % len(members)]
    return pairs


@functools.lru_cache(maxsize=2)
def cifar_noisy(name: str, kind: str, rate: float, seed: int) -> TaskData:
    """CIFAR-{10,100} with seeded synthetic noise on train and validation labels."""

    source, train, test, y, keep, hold = _splits_with_holdout(name, seed)
    c = NUM_CLASSES[name]
    if kind == "symmetric":
        t = symmetric_transition(c, rate)
    elif name == "cifar10":
        t = pair_transition(c, rate, CIFAR10_PAIR_MAP)
    else:
        t = pair_transition(c, rate, cifar100_superclass_pairs(y, _labels(train, "coarse_label")))
    y_noisy = apply_transition(y[keep], t, rng(seed, "label-noise", "train"))
    y_val = apply_transition(y[hold], t, rng(seed, "label-noise", "val"))
    return _task_data(source, train, test, y, keep, y_noisy, hold, 32, c, y_val=y_val,
                      **noisy_extra(y[keep], y_noisy, t))


CIFAR_N_FILES = {"cifar10": "CIFAR-10_human.pt", "cifar100": "CIFAR-100_human.pt"}


def cifar_n_file(name: str) -> Path | None:
    root = data_root()
    path = root / "cifar-n" / CIFAR_N_FILES[name] if root else None
    return path if path is not None and path.exists() else None


@functools.lru_cache(maxsize=2)
def cifar_n(name: str, label_set: str, seed: int) -> TaskData:
    """CIFAR-10N / CIFAR-100N: real human label noise (Wei et al. 2022) on the CIFAR training
    images, in the original training order (checked against the file's ``clean_label``)."""

    path = cifar_n_file(name)
    if path is None:
        raise FileNotFoundError(f"$LOSSBENCH_DATA/cifar-n/{CIFAR_N_FILES[name]} not found")
    labels = torch.load(path, weights_only=False)
    source, train, test, y, keep, hold = _splits_with_holdout(name, seed)
    clean = np.asarray(labels["clean_label"], dtype=np.int64)
    if len(clean) != len(y) or not np.array_equal(clean, y):
        raise ValueError(f"{path}: clean_label does not match the {name} training labels in "
                         "order; the human labels would be attached to the wrong images")
    noisy = np.asarray(labels[label_set], dtype=np.int64)
    c = NUM_CLASSES[name]
    t = np.zeros((c, c))
    np.add.at(t, (clean, noisy), 1.0)
    t /= t.sum(1, keepdims=True)
    return _task_data(source, train, test, y, keep, noisy[keep], hold, 32, c,
                      y_val=noisy[hold], **noisy_extra(y[keep], noisy[keep], t))


def noisy_tasks(evaluate: Evaluate) -> list[Task]:
    tasks = []
    for name in ("cifar10", "cifar100"):
        for kind, rate, tag in (("symmetric", 0.2, "sym20"), ("symmetric", 0.5, "sym50"),
                                ("symmetric", 0.8, "sym80"), ("pair", 0.4, "asym40")):
            tasks.append(Task(
                name=f"{name}-{tag}", version="2", embedded=False,
                description=(f"{name.upper()} {kind} label noise {rate:.0%} (train+val), "
                             "ResNet-18 (CIFAR stem), SGD lr 0.1 wd 5e-4 batch 128, 120 epochs "
                             "cosine; augmentation pad-4 crop + flip"),
                make_data=functools.partial(cifar_noisy, name, kind, rate),
                evaluate=evaluate, train=CIFAR_NOISY_RECIPE, model="timm:resnet18_cifar",
                available=SOURCES[name].available,
                headline=("top1_best_val", "top1", "noisy_fit"), model_selection="val_top1"))
    for name, label_set, tag in (("cifar10", "aggre_label", "cifar10n-aggre"),
                                 ("cifar10", "random_label1", "cifar10n-rand1"),
                                 ("cifar10", "worse_label", "cifar10n-worst"),
                                 ("cifar100", "noisy_label", "cifar100n-noisy")):
        tasks.append(Task(
            name=tag, version="2", embedded=False,
            description=(f"{name.upper()}N human labels '{label_set}' (Wei et al. 2022), "
                         "ResNet-18 (CIFAR stem), SGD lr 0.1 wd 5e-4 batch 128, 100 epochs "
                         "cosine; augmentation pad-4 crop + flip"),
            make_data=functools.partial(cifar_n, name, label_set),
            evaluate=evaluate, train=CIFAR_N_RECIPE, model="timm:resnet18_cifar",
            available=functools.partial(
                lambda n: SOURCES[n].available() and cifar_n_file(n) is not None, name),
            headline=("top1_best_val", "top1", "noisy_fit"), model_selection="val_top1"))
    return tasks


# -- ood --------------------------------------------------------------------------------------

#: OpenOOD v1.5 CIFAR-10 training recipe (Zhang et al. 2023, arXiv:2306.09301): ResNet-18,
#: SGD momentum 0.9, lr 0.1, weight decay 5e-4, batch 128, 100 epochs cosine.
CIFAR_OOD_RECIPE = TrainConfig(epochs=100, batch_size=128, optimizer="sgd", lr=0.1,
                               weight_decay=5e-4, schedule="cosine", augment="crop4+flip")
CIFAR10C_CORRUPTIONS = (
    "gaussian_noise", "shot_noise", "impulse_noise", "defocus_blur", "glass_blur", "motion_blur",
    "zoom_blur", "snow", "frost", "fog", "brightness", "contrast", "elastic_transform",
    "pixelate", "jpeg_compression",
)
CIFAR10C_SEVERITY = 5
CIFAR10C_PER_CORRUPTION = 2000


@functools.lru_cache(maxsize=2)
def cifar10_ood(seed: int) -> TaskData:
    """CIFAR-10 (ID) with SVHN test, CIFAR-100 test and Textures (DTD test) as OOD sets."""
    source, train, test, y, keep, hold = _splits_with_holdout("cifar10", seed)
    extra = {}
    for name in ("svhn", "cifar100", "textures"):
        ood = SOURCES[name]
        extra[f"x_{name}"] = _images(ood.split(ood.test), ood, 32)
    return _task_data(source, train, test, y, keep, y[keep], hold, 32, 10, **extra)


def cifar10c_dir() -> Path | None:
    return local_copy("CIFAR-10-C")


@functools.lru_cache(maxsize=2)
def cifar10_c(seed: int) -> TaskData:
    """CIFAR-10 with a CIFAR-10-C shifted test set: severity 5 of the 15 benchmark corruptions,
    2,000 images of each chosen by the seed (30,000 images)."""
    folder = cifar10c_dir()
    if folder is None:
        raise FileNotFoundError("$LOSSBENCH_DATA/CIFAR-10-C not found")
    source, train, test, y, keep, hold = _splits_with_holdout("cifar10", seed)
    labels = np.load(folder / "labels.npy")
    n = len(labels) // 5
    sl = slice((CIFAR10C_SEVERITY - 1) * n, CIFAR10C_SEVERITY * n)
    xs, ys = [], []
    gen = rng(seed, "cifar10-c")
    for corruption in CIFAR10C_CORRUPTIONS:
        images = np.load(folder / f"{corruption}.npy", mmap_mode="r")[sl]
        pick = np.sort(gen.choice(len(images), min(CIFAR10C_PER_CORRUPTION, len(images)),
                                  replace=False))
        chunk = torch.from_numpy(np.ascontiguousarray(images[pick])).permute(0, 3, 1, 2).float()
        mean = torch.tensor(CIFAR_MEAN).view(1, 3, 1, 1)
        std = torch.tensor(CIFAR_STD).view(1, 3, 1, 1)
        xs.append((chunk / 255.0 - mean) / std)
        ys.append(torch.as_tensor(labels[sl][pick], dtype=torch.long))
    return _task_data(source, train, test, y, keep, y[keep], hold, 32, 10,
                      x_shift=torch.cat(xs), y_shift=torch.cat(ys))


def ood_tasks(evaluate: Evaluate) -> list[Task]:
    recipe = ("ResNet-18 (CIFAR stem), SGD lr 0.1 wd 5e-4 batch 128, 100 epochs cosine "
              "(OpenOOD v1.5); augmentation pad-4 crop + flip")
    return [
        Task(name="cifar10-ood", version="2", embedded=False,
             description=f"CIFAR-10 (ID) vs SVHN / CIFAR-100 / Textures; {recipe}",
             make_data=cifar10_ood, evaluate=evaluate, train=CIFAR_OOD_RECIPE,
             model="timm:resnet18_cifar",
             available=lambda: all(SOURCES[n].available()
                                   for n in ("cifar10", "svhn", "cifar100", "textures")),
             headline=("top1", "cifar100_auroc_msp", "svhn_auroc_msp", "textures_auroc_msp"),
             model_selection="last_epoch"),
        Task(name="cifar10-c", version="2", embedded=False,
             description=(f"CIFAR-10 -> CIFAR-10-C severity {CIFAR10C_SEVERITY}, 15 corruptions "
                          f"x {CIFAR10C_PER_CORRUPTION}; {recipe}"),
             make_data=cifar10_c, evaluate=evaluate, train=CIFAR_OOD_RECIPE,
             model="timm:resnet18_cifar",
             available=lambda: SOURCES["cifar10"].available() and cifar10c_dir() is not None,
             headline=("top1", "shift_top1", "shift_ece"), model_selection="last_epoch"),
    ]


# -- metric learning --------------------------------------------------------------------------

#: Roth et al. 2020 ("Revisiting Training Strategies and Generalization Performance in Deep
#: Metric Learning", arXiv:2002.08473): ImageNet-pretrained ResNet-50, 224 px, Adam lr 1e-5,
#: weight decay 4e-4, batch 112, 150 epochs, 128-d embedding; batches of 2 samples per class
#: (their code's defaults: ``--data_sampler class_random --samples_per_class 2``).
DML_RECIPE = TrainConfig(epochs=150, batch_size=112, optimizer="adamw", lr=1e-5,
                         weight_decay=4e-4, schedule="constant", samples_per_class=2)
DML_IMAGE_SIZE = int(os.environ.get("LOSSBENCH_DML_IMAGE_SIZE", "224"))


@functools.lru_cache(maxsize=2)
def dml_split(name: str, seed: int, size: int = DML_IMAGE_SIZE) -> TaskData:
    """The standard zero-shot split (Oh Song et al. 2016): all images of the first half of the
    classes train (10 % held out for validation by the seed), the second half are retrieved."""
    import datasets

    source = SOURCES[name]
    pool = datasets.concatenate_datasets([source.split(source.train), source.split(source.test)])
    y = _labels(pool, source.label)
    half = NUM_CLASSES[name] // 2
    seen = np.flatnonzero(y < half)
    unseen = np.flatnonzero(y >= half)
    keep, hold = stratified_holdout(y[seen], VAL_FRACTION, seed)
    images = functools.partial(_images, source=source, size=size, mean=IMAGENET_MEAN,
                               std=IMAGENET_STD)
    return TaskData(
        x_train=images(pool.select(seen[keep])),
        y_train=torch.as_tensor(y[seen[keep]]),
        x_val=images(pool.select(seen[hold])),
        y_val=torch.as_tensor(y[seen[hold]]),
        x_test=images(pool.select(unseen)),
        y_test=torch.as_tensor(y[unseen] - half),
        num_classes=half)


def metric_learning_tasks(evaluate: Evaluate) -> list[Task]:
    return [
        # 3: test metrics of the checkpoint of best validation MAP@R (2: the last epoch);
        # 4: class-balanced batches, 2 samples per class (3: uniform random batches)
        Task(name=name, version="4", embedded=False,
             description=(f"{name}: train on classes 0-{NUM_CLASSES[name] // 2 - 1}, retrieve the "
                          "rest; ImageNet-pretrained ResNet-50 (timm), 224 px, 128-d embedding, "
                          "Adam lr 1e-5 wd 4e-4 batch 112, 150 epochs (Roth et al. 2020); "
                          "batches of 2 samples per class; augmentation not applied"),
             make_data=functools.partial(dml_split, name),
             evaluate=evaluate, train=DML_RECIPE, model="timm:resnet50",
             model_kwargs={"pretrained": True}, supports_embedding=True, embedding_size=128,
             available=SOURCES[name].available,
             headline=("p_at_1", "map_at_r", "r_precision", "nmi", "opis"),
             model_selection="val_map_at_r")
        for name in ("cub200", "cars196")
    ]


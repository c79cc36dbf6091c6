"""Batch augmentations: the CIFAR crop+flip, checked against a per-image reference loop."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from lossbench.augment import get_augmentation, horizontal_flip, random_crop_flip
from lossbench.suites import fullscale
from lossbench.train import TrainConfig, train


def reference_crop_flip(x: torch.Tensor, seed: int, pad: int = 4) -> torch.Tensor:
    """The same draws, one image at a time with slicing (the torchvision way)."""
    gen = torch.Generator().manual_seed(seed)
    n, _, h, w = x.shape
    offsets = torch.randint(0, 2 * pad + 1, (2, n), generator=gen)
    flip = torch.rand(n, generator=gen) < 0.5
    padded = F.pad(x, (pad,) * 4)
    out = []
    for i in range(n):
        top, left = int(offsets[0, i]), int(offsets[1, i])
        crop = padded[i, :, top:top + h, left:left + w]
        out.append(crop.flip(2) if flip[i] else crop)
    return torch.stack(out)


def test_crop_flip_equals_the_per_image_reference():
    x = torch.arange(6 * 3 * 5 * 7, dtype=torch.float32).reshape(6, 3, 5, 7)
    got = random_crop_flip(x, torch.Generator().manual_seed(3), pad=2)
    assert torch.equal(got, reference_crop_flip(x, 3, pad=2))


def test_crop_flip_keeps_shape_dtype_and_only_moves_or_zeroes_pixels():
    x = torch.randn(16, 3, 8, 8) + 10  # no pixel is 0
    out = random_crop_flip(x, torch.Generator().manual_seed(0))
    assert out.shape == x.shape and out.dtype == x.dtype and out.is_contiguous()
    kept = out[out != 0]
    assert torch.isin(kept, x).all()  # every non-padding value comes from the image


def test_crop_flip_is_deterministic_for_a_seed_and_varies_across_seeds():
    x = torch.randn(8, 3, 8, 8)
    a = random_crop_flip(x, torch.Generator().manual_seed(1))
    b = random_crop_flip(x, torch.Generator().manual_seed(1))
    c = random_crop_flip(x, torch.Generator().manual_seed(2))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_flip_flips_exactly_the_drawn_images():
    x = torch.randn(10, 1, 2, 3)
    flip = torch.rand(10, generator=torch.Generator().manual_seed(4)) < 0.5
    out = horizontal_flip(x, torch.Generator().manual_seed(4))
    for i in range(10):
        assert torch.equal(out[i], x[i].flip(2) if flip[i] else x[i])


def test_image_augmentations_reject_non_image_batches():
    with pytest.raises(ValueError, match=r"\(N, C, H, W\); got shape \(4, 40\)"):
        random_crop_flip(torch.zeros(4, 40), torch.Generator())


def test_an_unknown_augmentation_names_the_valid_ones():
    with pytest.raises(ValueError, match="unknown augmentation 'cutout'; valid: crop4\\+flip"):
        TrainConfig(augment="cutout")
    assert get_augmentation("crop4+flip") is random_crop_flip


def test_the_trainer_augments_each_batch_and_stays_deterministic():
    torch.manual_seed(0)
    x, y = torch.randn(12, 3, 8, 8), torch.randint(0, 2, (12,))
    seen = []

    def model_factory():
        torch.manual_seed(0)
        return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 8 * 8, 2))

    def loss(outputs, targets, inputs):
        seen.append(inputs.clone())
        return F.cross_entropy(outputs, targets)

    cfg = TrainConfig(epochs=1, batch_size=12, lr=1e-3, schedule="constant", augment="crop4+flip")
    first = train(model_factory(), loss, x, y, cfg, num_classes=2, seed=5)
    again = train(model_factory(), loss, x, y, cfg, num_classes=2, seed=5)
    # the loss saw cropped images (padding zeros in, border pixels out), not the raw batch
    assert all(not torch.equal(s.flatten().sort().values, x.flatten().sort().values)
               for s in seen)
    assert torch.equal(seen[0], seen[1])
    assert torch.equal(first.model[1].weight, again.model[1].weight)


def test_the_cifar_recipes_augment_and_are_task_version_2():
    for task in fullscale.imbalanced_tasks(None) + fullscale.noisy_tasks(None) + \
            fullscale.ood_tasks(None):
        assert task.train.augment == "crop4+flip" and task.version == "2", task.name

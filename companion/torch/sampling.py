"""Remedies for class imbalance (PyTorch): class-balanced batches and the augmentation used to
oversample."""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import WeightedRandomSampler
from torchvision.transforms import v2

from .. import checks
from ..data import ImageSet
from ..imbalance import balanced_weights


def balanced_sampler(data: ImageSet, seed: int = 0) -> WeightedRandomSampler:
    """Draws ``len(data)`` examples per epoch with replacement, every class equally likely
    (``fit(sampler=)``)."""
    checks.instance(data, ImageSet, "data", "an ImageSet")
    weights = torch.as_tensor(balanced_weights(data.labels), dtype=torch.double)
    return WeightedRandomSampler(
        weights,
        num_samples=len(data),
        replacement=True,
        generator=torch.Generator().manual_seed(seed),
    )


def augment(images: np.ndarray, seed: int = 0) -> np.ndarray:
    """Random horizontal flips and shifts of up to 10 % (torchvision), uint8 NHWC in and out
    (float pictures in [0, 1] or [0, 255] are converted to uint8 first)."""
    images = checks.images(images, convert=True)
    torch.manual_seed(seed)
    transform = v2.Compose(
        [v2.RandomHorizontalFlip(), v2.RandomAffine(degrees=0, translate=(0.1, 0.1))]
    )
    x = torch.from_numpy(np.asarray(images)).permute(0, 3, 1, 2)
    return torch.stack([transform(image) for image in x]).permute(0, 2, 3, 1).numpy()

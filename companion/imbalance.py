"""Framework-free pieces of the imbalance lab: an imbalanced binary task, undersampling, sample
weights."""

from __future__ import annotations

import numpy as np

from . import checks
from .data import ImageSet


def _data(data) -> ImageSet:
    if not isinstance(data, ImageSet):
        raise TypeError(f"expected an ImageSet, got {type(data).__name__}")
    return data


def binary_task(
    data: ImageSet, minority: int, ratio: int = 20, n_majority: int | None = None, seed: int = 0
) -> ImageSet:
    """Class ``minority`` (label 1) against all other classes (label 0), one minority image per
    ``ratio``.

    ``n_majority`` other-class images are drawn at random (default: all of them), then
    ``n_majority // ratio`` images of the minority class; the result is shuffled.
    """
    checks.integer(minority, "minority", 0, len(_data(data).class_names))
    checks.integer(ratio, "ratio", 1)
    if n_majority is not None:
        checks.integer(n_majority, "n_majority", 1)
    rng = np.random.default_rng(seed)
    others, ones = np.flatnonzero(data.labels != minority), np.flatnonzero(data.labels == minority)
    n_majority = len(others) if n_majority is None else n_majority
    n_minority = n_majority // ratio
    if n_majority > len(others) or n_minority > len(ones) or n_minority < 1:
        raise ValueError(
            f"cannot draw {n_majority} others and {n_minority} of class {minority}: "
            f"the data has {len(others)} and {len(ones)}"
        )
    index = rng.permutation(
        np.concatenate(
            [
                rng.choice(others, n_majority, replace=False),
                rng.choice(ones, n_minority, replace=False),
            ]
        )
    )
    binary = data.subset(index)
    binary.labels = (binary.labels == minority).astype(np.int64)
    binary.class_names = ["other", data.class_names[minority]]
    return binary


def undersample(data: ImageSet, seed: int = 0) -> ImageSet:
    """Keep every image of the rarest class and as many randomly chosen images of each other
    class."""
    counts = _data(data).counts()
    n = counts[counts > 0].min()
    rng = np.random.default_rng(seed)
    index = np.concatenate(
        [
            rng.choice(np.flatnonzero(data.labels == c), n, replace=False)
            for c in np.flatnonzero(counts)
        ]
    )
    return data.subset(rng.permutation(index))


def balanced_weights(labels) -> np.ndarray:
    """A sampling weight per example, 1 / (count of its class): every class is drawn equally
    often."""
    labels = checks.labels(labels)
    if len(labels) == 0 or labels.min() < 0:
        raise ValueError(
            f"labels: expected a non-empty array of class indices >= 0, got {labels.shape}"
        )
    return 1.0 / np.bincount(labels)[labels]


def oversample_index(labels, seed: int = 0) -> np.ndarray:
    """Indices of the extra copies (drawn with replacement) that bring every class up to the
    largest."""
    labels = checks.labels(labels)
    if len(labels) == 0 or labels.min() < 0:
        raise ValueError(
            f"labels: expected a non-empty array of class indices >= 0, got {labels.shape}"
        )
    counts = np.bincount(labels)
    rng = np.random.default_rng(seed)
    return np.concatenate(
        [
            rng.choice(np.flatnonzero(labels == c), counts.max() - counts[c], replace=True)
            for c in np.flatnonzero(counts)
        ]
    )


def oversample(data: ImageSet, augment=None, seed: int = 0) -> ImageSet:
    """``data`` plus copies of the smaller classes until every class is as large as the largest.

    ``augment(images, seed)`` (uint8 NHWC in and out, e.g. ``companion.torch.sampling.augment``)
    alters the copies so that the model does not see exactly the same minority images again.
    """
    if augment is not None and not callable(augment):
        raise TypeError(
            f"augment: expected a function augment(images, seed), got {checks.describe(augment)}"
        )
    extra = _data(data).subset(oversample_index(data.labels, seed))
    if augment is not None and len(extra):
        extra.images = checks.images(augment(extra.images, seed), "augment(images, seed)")
    index = np.random.default_rng(seed).permutation(len(data) + len(extra))
    return ImageSet(
        np.concatenate([data.images, extra.images])[index],
        np.concatenate([data.labels, extra.labels])[index],
        list(data.class_names),
    )


def step_budget(sizes: dict, batch_size: int, epochs: int, reference: str = "plain") -> dict:
    """Equal gradient steps for every set-up: the steps ``epochs`` epochs of ``reference`` take.

    ``sizes`` maps each set-up to its number of training images. Trained for ``epochs`` epochs
    each, a set-up of ``n`` images takes ``epochs * ceil(n / batch_size)`` steps, so a small
    (undersampled) set gets few steps and a large (oversampled) one many. Here every set-up gets
    ``steps_per_epoch = ceil(sizes[reference] / batch_size)`` steps per epoch (``fit(...,
    steps_per_epoch=)``). Returns, per set-up: ``images``, ``steps_by_epochs`` (what plain epochs
    would give), ``steps`` (the equal budget) and ``passes`` (how often it sees each image).
    """
    if not isinstance(sizes, dict) or not sizes:
        raise TypeError(
            f"sizes: expected a non-empty dict {{set-up: number of images}}, got "
            f"{checks.describe(sizes)}"
        )
    for name, n in sizes.items():
        checks.integer(n, f"sizes[{name!r}]", 1)
    checks.integer(batch_size, "batch_size", 1)
    checks.integer(epochs, "epochs", 1)
    if reference not in sizes:
        raise ValueError(f"reference: expected one of the set-ups {list(sizes)}, got {reference!r}")
    per_epoch = -(-sizes[reference] // batch_size)
    return {
        name: {
            "images": n,
            "steps_by_epochs": epochs * -(-n // batch_size),
            "steps": epochs * per_epoch,
            "steps_per_epoch": per_epoch,
            "passes": epochs * per_epoch * batch_size / n,
        }
        for name, n in sizes.items()
    }


def effect(mean: float, sd: float, ref_mean: float, ref_sd: float) -> str:
    """``"helps"``, ``"hurts"`` or ``"no clear effect"``: a difference of two means counts only
    when it exceeds the two standard deviations added together (the seeds' spread)."""
    values = [
        checks.number(v, name)
        for v, name in ((mean, "mean"), (sd, "sd"), (ref_mean, "ref_mean"), (ref_sd, "ref_sd"))
    ]
    if values[1] < 0 or values[3] < 0:
        raise ValueError(f"sd and ref_sd: expected standard deviations >= 0, got {sd} and {ref_sd}")
    if abs(values[0] - values[2]) <= values[1] + values[3] + 1e-12:  # equal: no effect
        return "no clear effect"
    return "helps" if values[0] > values[2] else "hurts"

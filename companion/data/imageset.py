"""The one container that crosses the framework boundary: uint8 NHWC images plus labels."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ..images import resize_images


@dataclass
class ImageSet:
    """Images (uint8, N x H x W x C), integer labels and the class names they index.

    ``boxes`` (N x 4, ``x0, y0, x1, y1`` in pixels, end exclusive) and ``masks`` (N x H x W, bool)
    are filled by data sets that have them (the synthetic shapes).
    """

    images: np.ndarray
    labels: np.ndarray
    class_names: list[str]
    boxes: np.ndarray | None = None
    masks: np.ndarray | None = None
    names: list[str] | None = None
    info: dict = field(default_factory=dict)

    def __post_init__(self):
        from .. import checks

        self.images = checks.array(
            self.images, "images", 4, "uint8 N x H x W x C images", empty=True
        )
        if self.images.dtype != np.uint8:
            raise ValueError(
                f"images must be uint8 N x H x W x C, got {checks.describe(self.images)}"
            )
        if isinstance(self.class_names, str) or not hasattr(self.class_names, "__len__"):
            raise TypeError(
                f"class_names: expected a list of names, got {checks.describe(self.class_names)}"
            )
        repeated = sorted({n for n in self.class_names if list(self.class_names).count(n) > 1})
        if repeated:  # two indices with one name: a confusion matrix or a lookup would merge them
            raise ValueError(f"class_names: expected each name once, got {repeated} twice or more")
        self.labels = checks.labels(self.labels, n=len(self.images))
        low, high = (self.labels.min(), self.labels.max()) if len(self.labels) else (0, -1)
        if low < -1 or high >= len(self.class_names):
            raise ValueError(
                f"labels: expected class indices in [0, {len(self.class_names)}) (one "
                f"per class name; -1 = unlabelled), got {low}..{high}"
            )

    def __len__(self):
        return len(self.images)

    def subset(self, index) -> "ImageSet":
        """The images at ``index`` (an index array or a boolean mask), with their boxes and
        masks."""
        from ..checks import array

        index = array(index, "index", 1, "an index array or a boolean mask", empty=True)
        if index.dtype == bool and len(index) != len(self):
            raise ValueError(
                f"index: expected a boolean mask of {len(self)} values, got {len(index)}"
            )
        if index.dtype != bool and len(index) and not np.issubdtype(index.dtype, np.integer):
            raise TypeError(f"index: expected integer indices or a boolean mask, got {index.dtype}")
        if (
            index.dtype != bool
            and len(index)
            and not (-len(self) <= index.min() and index.max() < len(self))
        ):
            raise IndexError(
                f"index: expected indices in [0, {len(self)}), got {index.min()}..{index.max()}"
            )
        index = index.astype(np.int64) if index.dtype != bool else index

        def take(a):
            return None if a is None else a[index]

        names = None if self.names is None else [self.names[i] for i in np.arange(len(self))[index]]
        return replace(
            self,
            images=self.images[index],
            labels=self.labels[index],
            boxes=take(self.boxes),
            masks=take(self.masks),
            names=names,
        )

    def per_class(self, n: int, seed: int = 0) -> "ImageSet":
        """At most ``n`` images of every class, drawn at random with ``seed``, in shuffled order."""
        from ..checks import integer

        integer(n, "n", 1)
        rng = np.random.default_rng(seed)
        picks = [
            rng.permutation(np.flatnonzero(self.labels == c))[:n]
            for c in range(len(self.class_names))
        ]
        return self.subset(rng.permutation(np.concatenate(picks)))

    def counts(self) -> np.ndarray:
        """Number of images of each class."""
        return np.bincount(self.labels[self.labels >= 0], minlength=len(self.class_names))


def inputs_and_labels(data) -> tuple[np.ndarray, np.ndarray]:
    """(inputs, labels) of an ImageSet or of an ``(x, y)`` pair such as cached features and
    labels."""
    if isinstance(data, ImageSet):
        return data.images, data.labels
    pair = isinstance(data, tuple) and len(data) == 2 and all(hasattr(d, "__len__") for d in data)
    if pair and len(data[0]) == len(data[1]):
        return np.asarray(data[0]), np.asarray(data[1], dtype=np.int64)
    raise TypeError(
        f"expected an ImageSet or an (inputs, labels) pair of one length, got {type(data).__name__}"
    )


def resized(data: ImageSet, size: int) -> ImageSet:
    """``data`` with its images resized (see ``resize_images``); boxes and masks are dropped."""
    if not isinstance(data, ImageSet):
        raise TypeError(f"resized takes an ImageSet, got {type(data).__name__}")
    return ImageSet(
        resize_images(data.images, size),
        data.labels,
        data.class_names,
        names=data.names,
        info=dict(data.info, image_size=size),
    )

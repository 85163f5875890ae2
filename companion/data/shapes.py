"""A synthetic, deterministic data set: one coloured shape on a textured background per image.

Every image comes with its class, the shape's bounding box and its pixel mask, which gives
localisation methods (CAM, Grad-CAM) a ground truth to be measured against.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..checks import integer
from .imageset import ImageSet

CLASS_NAMES = ["circle", "square", "triangle", "star"]
SPLIT_SEEDS = {"train": 0, "val": 1, "test": 2}


def _background(rng, size):
    """Smooth colour noise plus faint stripes: texture with no class evidence in it."""
    coarse = rng.integers(40, 200, size=(6, 6, 3)).astype(np.float32)
    smooth = cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC)
    fine = rng.normal(0, 12, size=(size, size, 3)).astype(np.float32)
    angle, freq = rng.uniform(0, np.pi), rng.uniform(0.2, 0.6)
    yy, xx = np.mgrid[:size, :size]
    stripes = 15 * np.sin(freq * (xx * np.cos(angle) + yy * np.sin(angle)))[..., None]
    return smooth + fine + stripes


def _star(center, radius):
    angles = np.pi / 2 + np.arange(10) * np.pi / 5
    radii = np.where(np.arange(10) % 2 == 0, radius, radius * 0.45)
    return np.stack([center[0] + radii * np.cos(angles), center[1] - radii * np.sin(angles)], 1)


def _shape_mask(kind, size, center, radius, angle):
    """A boolean mask of one shape of the given class."""
    mask = np.zeros((size, size), np.uint8)
    cx, cy = center
    if kind == "circle":
        cv2.circle(mask, (round(cx), round(cy)), round(radius), 1, -1)
        return mask.astype(bool)
    if kind == "square":
        corners = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]]) * radius / np.sqrt(2)
    elif kind == "triangle":
        a = -np.pi / 2 + np.arange(3) * 2 * np.pi / 3
        corners = radius * np.stack([np.cos(a), np.sin(a)], 1)
    else:
        corners = _star((0, 0), radius)
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    points = corners @ rot.T + [cx, cy]
    cv2.fillPoly(mask, [np.round(points).astype(np.int32)], 1)
    return mask.astype(bool)


def make_shape(rng, size, label):
    """One image (uint8 H x W x 3), its mask and its box ``(x0, y0, x1, y1)``."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"rng: expected a numpy Generator (np.random.default_rng), got {type(rng).__name__}"
        )
    integer(size, "size", 16)
    integer(label, "label", 0, len(CLASS_NAMES))
    radius = rng.uniform(0.14, 0.3) * size
    center = rng.uniform(radius + 1, size - radius - 1, size=2)
    mask = _shape_mask(CLASS_NAMES[label], size, center, radius, rng.uniform(0, 2 * np.pi))
    image = _background(rng, size)
    colour = rng.integers(0, 256, size=3).astype(np.float32)
    colour[rng.integers(3)] = rng.choice(
        [20.0, 235.0]
    )  # keep one channel far from the mid-grey ground
    image[mask] = colour + rng.normal(0, 8, size=(mask.sum(), 3))
    ys, xs = np.nonzero(mask)
    box = np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
    return np.clip(image, 0, 255).astype(np.uint8), mask, box


def load_shapes(
    split: str = "train", n: int = 1000, image_size: int = 64, seed: int = 0
) -> ImageSet:
    """``n`` images of ``image_size`` pixels with balanced classes; the same arguments give the same
    set."""
    if not isinstance(split, str) or split not in SPLIT_SEEDS:
        raise ValueError(
            f"unknown split {split!r} for shapes: expected one of {', '.join(SPLIT_SEEDS)}"
        )
    integer(n, "n", 1)
    integer(image_size, "image_size", 16)
    integer(seed, "seed", 0)
    rng = np.random.default_rng([seed, SPLIT_SEEDS[split]])
    labels = rng.permutation(np.arange(n) % len(CLASS_NAMES))
    images, masks, boxes = zip(*(make_shape(rng, image_size, label) for label in labels))
    return ImageSet(
        np.stack(images),
        labels,
        list(CLASS_NAMES),
        boxes=np.stack(boxes),
        masks=np.stack(masks),
        info={"source": f"synthetic shapes, seed {seed}, split {split}"},
    )

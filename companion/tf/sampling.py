"""Remedies for class imbalance (TensorFlow): class-balanced batches and the augmentation used to
oversample."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from .. import checks
from ..data import ImageSet
from .training import to_float


def balanced_dataset(
    data: ImageSet, batch_size: int, seed: int = 0, preprocess=to_float
) -> tf.data.Dataset:
    """``len(data) // batch_size`` batches per epoch, every class equally likely
    (``fit(dataset=)``).

    One endless shuffled stream per class, mixed by ``tf.data.Dataset.sample_from_datasets``.
    """
    checks.instance(data, ImageSet, "data", "an ImageSet")
    checks.integer(batch_size, "batch_size", 1)
    if len(data) == 0:
        raise ValueError("data: expected at least one example, got an empty ImageSet")
    classes = np.flatnonzero(data.counts())
    streams = [
        tf.data.Dataset.from_tensor_slices(
            (data.images[data.labels == c], data.labels[data.labels == c])
        )
        .shuffle(int(data.counts()[c]), seed=seed + int(c))
        .repeat()
        for c in classes
    ]
    mixed = tf.data.Dataset.sample_from_datasets(
        streams, weights=[1 / len(classes)] * len(classes), seed=seed
    )
    return (
        mixed.batch(batch_size)
        .take(max(len(data) // batch_size, 1))
        .map(lambda x, y: (preprocess(x), y))
        .prefetch(tf.data.AUTOTUNE)
    )


def augment(images: np.ndarray, seed: int = 0) -> np.ndarray:
    """Random horizontal flips and shifts of up to 10 % (Keras layers), uint8 NHWC in and out
    (float pictures in [0, 1] or [0, 255] are converted to uint8 first).

    Shifts use nearest-neighbour interpolation, as torchvision's ``RandomAffine`` does (it rounds
    the shift to whole pixels): bilinear shifts would blur every copy, and a model could then
    learn that a blurred garment is a shirt, which the sharp test images never show."""
    images = checks.images(images, convert=True)
    transform = keras.Sequential(
        [
            keras.layers.RandomFlip("horizontal", seed=seed),
            keras.layers.RandomTranslation(
                0.1, 0.1, fill_mode="constant", interpolation="nearest", seed=seed
            ),
        ]
    )
    out = np.concatenate(
        [
            transform(np.asarray(images[i : i + 512], np.float32), training=True)
            for i in range(0, len(images), 512)
        ]
    )
    return np.clip(np.round(out), 0, 255).astype(np.uint8)

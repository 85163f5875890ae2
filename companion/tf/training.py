"""Training with Keras ``fit`` on ``tf.data`` pipelines built from ImageSets."""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from ..data import ImageSet


def to_float(images) -> tf.Tensor:
    """uint8 N x H x W x C (array or tensor) -> float N x H x W x C in [0, 1]."""
    x = tf.convert_to_tensor(images)
    if x.shape.rank != 4 or x.dtype != tf.uint8:
        raise ValueError(f"expected uint8 N x H x W x C images, got {x.dtype.name} {tuple(x.shape)}")
    return tf.cast(x, tf.float32) / 255


def loader(data: ImageSet, batch_size: int, shuffle: bool = False, preprocess=to_float,
           seed: int = 0) -> tf.data.Dataset:
    """A ``tf.data`` pipeline of (preprocessed images, labels) batches."""
    if len(data) == 0:
        raise ValueError("cannot make batches of an empty data set")
    dataset = tf.data.Dataset.from_tensor_slices((data.images, data.labels))
    if shuffle:
        dataset = dataset.shuffle(len(data), seed=seed, reshuffle_each_iteration=True)
    return dataset.batch(batch_size).map(lambda x, y: (preprocess(x), y)).prefetch(tf.data.AUTOTUNE)


def predict(model: keras.Model, images: np.ndarray, preprocess=to_float, batch_size: int = 256) -> np.ndarray:
    """Model outputs (logits) for uint8 NHWC images, in inference mode, as float32 numpy."""
    return np.concatenate([model(preprocess(images[i:i + batch_size]), training=False).numpy()
                           for i in range(0, len(images), batch_size)])


def evaluate(model: keras.Model, data: ImageSet, preprocess=to_float, batch_size: int = 256) -> dict:
    """Cross-entropy loss and accuracy on ``data``."""
    logits = predict(model, data.images, preprocess, batch_size)
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(data.labels, logits)
    return {"loss": float(loss), "accuracy": float(np.mean(logits.argmax(1) == data.labels))}


def compile_classifier(model: keras.Model, lr: float = 1e-3, optimizer=None) -> keras.Model:
    """Compile for integer labels and logit outputs (Adam by default); run again after changing ``trainable``."""
    model.compile(optimizer=optimizer or keras.optimizers.Adam(lr),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def fit(model: keras.Model, train: ImageSet, val: ImageSet | None = None, epochs: int = 1,
        batch_size: int = 32, lr: float = 1e-3, preprocess=to_float, dataset: tf.data.Dataset | None = None,
        optimizer=None, callbacks=(), seed: int = 0, progress: bool = True) -> dict:
    """Compile and ``fit``; return per-epoch loss/accuracy (and val_ ones). ``dataset`` overrides ``train``."""
    compile_classifier(model, lr, optimizer)
    batches = dataset if dataset is not None else loader(train, batch_size, True, preprocess, seed)
    validation = loader(val, 256, False, preprocess) if val is not None else None
    history = model.fit(batches, validation_data=validation, epochs=epochs, callbacks=list(callbacks),
                        verbose=2 if progress else 0)
    return {k: [float(v) for v in vs] for k, vs in history.history.items()}

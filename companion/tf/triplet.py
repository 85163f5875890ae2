"""Triplet-loss Siamese retrieval in Keras: an ImageNet MobileNetV2 split into a frozen ``stem``
and a trainable ``top``, the triplet loss, a ``SiameseModel`` (keras-io's "Image similarity
estimation using a Siamese Network with a triplet loss"), semi-hard mining and the label-aware
ceiling.

Training runs the ``top`` on stem features cached once per image (Chapter 2's level-2 trick).
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from .. import checks, files
from .. import triplet as _spec
from ..triplet import CROP_FRACTION, EMBEDDING_DIM, MARGIN, TRAINABLE_FROM
from .backbones import (
    TORCH_BN_EPSILON,
    TORCH_BN_MOMENTUM,
    block_layer_name,
    count_params,
    mobilenet_v2,
    model_with_layers,
    preprocess,
)
from . import training
from .training import EpochLog, outputs, refuse_nonfinite
from .transfer import block_index

__all__ = [
    "positive_augment",
    "embedding_model",
    "trainable_summary",
    "count_params",
    "stem_features",
    "embed",
    "embed_cached",
    "DistanceLayer",
    "triplet_loss",
    "siamese_network",
    "SiameseModel",
    "fit_siamese",
    "evaluate_loss",
    "pairwise_distances",
    "semi_hard_negatives",
    "semi_hard_triplet_loss",
    "fit_supervised",
]


def _check_features(features, shape) -> np.ndarray:
    features = checks.array(
        features, "features", what="stem features", dtype=np.float32, empty=True
    )
    if features.ndim == 0 or len(features) == 0 or features.shape[1:] != tuple(shape):
        raise ValueError(
            f"expected non-empty N x {' x '.join(map(str, shape))} stem features, "
            f"got {features.shape}"
        )
    return features


def _embedding(model) -> keras.Model:
    return model_with_layers(model, {"stem", "top"}, "an embedding_model(...)")


# --- data ----------------------------------------------------------------------------------------
def _flip_and_contrast(args):
    image, seeds = args
    image = tf.image.stateless_random_flip_left_right(image, seeds[0])
    return tf.image.stateless_random_contrast(image, *_spec.CONTRAST, seeds[1])


def positive_augment(images, seed: int = 0, crop_fraction: float = CROP_FRACTION) -> np.ndarray:
    """The article's positives: the central ``crop_fraction`` of each side resized back (bilinear;
    1: no crop), a left-right flip with probability 0.5, a contrast factor uniform in ``CONTRAST``.

    uint8 N x H x W x C in and out; each image has its own stateless seeds drawn from ``seed``.
    """
    images = checks.images(images)
    crop_fraction = _spec.check_crop_fraction(crop_fraction)
    n, h, w = images.shape[:3]
    x = tf.image.central_crop(tf.constant(images, tf.float32), crop_fraction)
    x = tf.image.resize(x, (h, w), method="bilinear")
    seeds = tf.reshape(tf.random.experimental.stateless_split([seed, 0], 2 * n), (n, 2, 2))
    x = tf.map_fn(_flip_and_contrast, (x, seeds), fn_output_signature=tf.float32)
    return tf.cast(tf.round(tf.clip_by_value(x, 0, 255)), tf.uint8).numpy()


# --- the network ---------------------------------------------------------------------------------
def _head(features: keras.KerasTensor, embedding_dim: int, normalise: bool) -> keras.Sequential:
    """The article's head: Flatten -> Dense 512 + ReLU -> BN -> Dense 256 + ReLU -> BN -> Dense;
    then ``UnitNormalization`` (length 1) when ``normalise``."""
    bn = {"momentum": TORCH_BN_MOMENTUM, "epsilon": TORCH_BN_EPSILON}
    return keras.Sequential(
        [
            keras.Input(features.shape[1:]),
            keras.layers.Flatten(),
            keras.layers.Dense(512, activation="relu"),
            keras.layers.BatchNormalization(**bn),
            keras.layers.Dense(256, activation="relu"),
            keras.layers.BatchNormalization(**bn),
            keras.layers.Dense(embedding_dim, dtype="float32"),  # float32 embeddings
            *([keras.layers.UnitNormalization(dtype="float32")] if normalise else []),
        ],
        name="head",
    )


def embedding_model(
    pretrained: bool = True,
    image_size: int = 96,
    trainable_from: int = TRAINABLE_FROM,
    embedding_dim: int = EMBEDDING_DIM,
    normalise: bool = False,
) -> keras.Model:
    """MobileNetV2 (torchvision's blocks 0..18) + the article's head, as the sub-models ``stem``
    (blocks 0 .. trainable_from-1, frozen, inference-mode BatchNorm) and ``top`` (the rest + head);
    ``normalise``: embeddings of length 1 (FaceNet), else unnormalised (the article).

    ``stem`` and ``top`` share their layers with the MobileNetV2 clone; ``embedding = top(stem(x))``
    on ``backbones.preprocess``-ed images.
    """
    if not isinstance(trainable_from, int) or not 1 <= trainable_from <= 18:
        raise ValueError(
            f"trainable_from must be a MobileNetV2 block in 1..18, got {trainable_from!r}"
        )
    checks.flag(normalise, "normalise")
    if checks.integer(embedding_dim, "embedding_dim") < 1:
        raise ValueError(f"embedding_dim must be >= 1, got {embedding_dim}")
    trunk = mobilenet_v2(pretrained, image_size)
    split = trunk.get_layer(block_layer_name(trunk, trainable_from - 1)).output
    stem = keras.Model(trunk.inputs, split, name="stem")
    stem.trainable = False  # frozen Keras BatchNorm runs in inference mode, also inside fit
    features = trunk.get_layer("out_relu").output
    top = keras.Model(split, _head(features, embedding_dim, normalise)(features), name="top")
    inputs = keras.Input((image_size, image_size, 3), name="image")
    return keras.Model(inputs, top(stem(inputs)), name="embedding")


def trainable_summary(model: keras.Model) -> pd.DataFrame:
    """One row per MobileNetV2 block (``block_N``: torchvision's ``features[N]``, Keras layers
    ``block_{N-1}_*``) and one for the head: trainable (bool) and parameters (int)."""
    _embedding(model)
    rows = {}
    for part in ("stem", "top"):
        for layer in model.get_layer(part).layers:
            if layer.weights:
                name = "head" if layer.name == "head" else f"block_{block_index(layer.name)}"
                row = rows.setdefault(name, {"trainable": False, "parameters": 0})
                row["trainable"] |= count_params(layer, trainable_only=True) > 0
                row["parameters"] += count_params(layer)
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("part")


def _outputs(fn, x: np.ndarray, batch_size: int, preprocess_batch=None) -> np.ndarray:
    """``fn`` over the batches of a prefetching ``tf.data`` pipeline of ``x`` (each batch mapped
    by ``preprocess_batch``), as one traced graph, float32 numpy; a bar past 10 batches."""
    return outputs(fn, x, batch_size, preprocess_batch, progress=True)


def stem_features(model: keras.Model, images, batch_size: int = 64) -> np.ndarray:
    """The frozen stem's output (float32) for uint8 N x H x W x C images, in inference mode."""
    stem = _embedding(model).get_layer("stem")
    return _outputs(stem, checks.images(images), batch_size, preprocess)


def embed(model: keras.Model, images, batch_size: int = 64) -> np.ndarray:
    """Embeddings (float32 N x D) of uint8 images through stem and top, in inference mode."""
    _embedding(model)
    return _outputs(model, checks.images(images), batch_size, preprocess)


def embed_cached(model: keras.Model, features, batch_size: int = 256) -> np.ndarray:
    """Embeddings (float32 N x D) of cached stem features through the top only (inference mode)."""
    top = _embedding(model).get_layer("top")
    features = _check_features(features, top.input.shape[1:])
    return _outputs(top, features, batch_size)


# --- the triplet loss and the Siamese network -----------------------------------------------------
class DistanceLayer(keras.layers.Layer):
    """(d(anchor, positive), d(anchor, negative)): squared L2 distances over the last axis (the
    article), or plain L2 ones when ``squared=False``."""

    def __init__(self, squared: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.squared = squared

    def _distance(self, a, b):
        d = keras.ops.sum(keras.ops.square(a - b), axis=-1)
        return d if self.squared else keras.ops.sqrt(keras.ops.maximum(d, 1e-12))  # finite gradient

    def call(self, anchor, positive, negative):
        for t, name in ((anchor, "anchor"), (positive, "positive"), (negative, "negative")):
            checks.batch(t, name, what="B x D embeddings")
        _spec.check_triplet_shapes(anchor, positive, negative)
        return self._distance(anchor, positive), self._distance(anchor, negative)

    def get_config(self):
        return super().get_config() | {"squared": self.squared}


def triplet_loss(ap_distance, an_distance, margin: float = MARGIN) -> tf.Tensor:
    """Mean over the batch of ``max(ap - an + margin, 0)``."""
    _spec.check_margin(margin)
    ap, an = tf.convert_to_tensor(ap_distance), tf.convert_to_tensor(an_distance)
    if ap.shape.rank != 1 or ap.shape.as_list() != an.shape.as_list() or ap.shape[0] == 0:
        raise ValueError(
            f"expected two distance vectors of one non-empty length, got {ap.shape} and {an.shape}"
        )
    return tf.reduce_mean(tf.maximum(ap - an + margin, 0.0))


def siamese_network(top: keras.Model, joint: bool = True) -> keras.Model:
    """anchor, positive, negative stem features -> one shared ``top`` -> (ap, an) distances.

    ``joint``: one pass over the three batches stacked, so that in training BatchNorm normalises
    all of them with the same statistics, as the moving statistics of inference do; ``joint=False``
    is the article's three calls, each normalised with its own batch's.
    """
    checks.instance(top, keras.Model, "top", "a keras.Model (the embedding top)")
    checks.flag(joint, "joint")
    inputs = [
        keras.Input(top.input.shape[1:], name=name) for name in ("anchor", "positive", "negative")
    ]
    if joint:
        embeddings = keras.ops.split(top(keras.ops.concatenate(inputs, axis=0)), 3, axis=0)
    else:
        embeddings = [top(x) for x in inputs]
    distances = DistanceLayer(name="distance", dtype="float32")(*embeddings)
    return keras.Model(inputs, distances, name="siamese_network")


class SiameseModel(keras.Model):
    """Trains a ``siamese_network`` with the triplet loss in custom train/test steps (keras-io)."""

    def __init__(self, network: keras.Model, margin: float = MARGIN, **kwargs):
        super().__init__(**kwargs)
        _spec.check_margin(margin)
        checks.instance(network, keras.Model, "network", "a siamese_network(top)")
        self.network, self.margin = network, margin
        self.loss_tracker = keras.metrics.Mean(name="loss")

    def call(self, inputs, training=False):
        return self.network(inputs, training=training)

    def _loss(self, data, training):
        return triplet_loss(*self.network(data, training=training), self.margin)

    def train_step(self, data):
        with tf.GradientTape() as tape:
            loss = self._loss(data, training=True)
            scaled = self.optimizer.scale_loss(loss)  # mixed_float16: compile's loss scaling
        weights = self.network.trainable_weights
        self.optimizer.apply_gradients(zip(tape.gradient(scaled, weights), weights))
        self.loss_tracker.update_state(loss)
        return {"loss": self.loss_tracker.result()}

    def test_step(self, data):
        self.loss_tracker.update_state(self._loss(data, training=False))
        return {"loss": self.loss_tracker.result()}

    @property
    def metrics(self):
        return [self.loss_tracker]  # so that Keras resets it at every epoch


class _Checkpoint(keras.callbacks.Callback):
    """Writes the Siamese network's weights at every epoch end, atomically."""

    def __init__(self, path: Path):
        super().__init__()
        self.path = path

    def on_epoch_end(self, epoch, logs=None):
        refuse_nonfinite(self.model.network, self.path)
        files.atomic_write(self.path, self.model.network.save_weights, "checkpoint")


def _triplets(data, shape, name: str) -> tuple:
    if not isinstance(data, (tuple, list)) or len(data) != 3:
        raise ValueError(f"{name} must be an (anchor, positive, negative) tuple, got {type(data)}")
    a, p, n = (_check_features(x, shape) for x in data)
    if not len(a) == len(p) == len(n):
        raise ValueError(
            f"{name}: anchor, positive, negative lengths differ: {len(a)}, {len(p)}, {len(n)}"
        )
    return a, p, n


class _Score(keras.callbacks.Callback):
    """Adds ``val_<name>`` for each value of ``score()`` to the logs at every epoch end."""

    def __init__(self, score):
        super().__init__()
        self.score = score

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs.update({f"val_{k}": v for k, v in _spec.score_values(self.score).items()})


def fit_siamese(
    model: SiameseModel,
    train,
    val=None,
    epochs: int = 1,
    batch_size: int = 8,
    lr: float = 1e-4,
    seed: int = 0,
    checkpoint=None,
    progress: bool = True,
    resume=None,
    score=None,
) -> dict:
    """Adam at ``lr`` on shuffled batches of cached (anchor, positive, negative) stem features;
    returns per-epoch ``loss`` (``val_loss`` with ``val``) and ``seconds``. ``checkpoint``: a
    ``.weights.h5`` path that receives the network's weights at every epoch end; ``resume`` (an
    ``.npz`` path) continues an interrupted run (``training.Resume``). ``score`` (a function of
    no argument returning ``{name: number}``, e.g. a retrieval score of the network being
    trained) is called after every epoch, its values recorded as ``val_<name>``."""
    checks.instance(model, SiameseModel, "model", "a SiameseModel")
    _spec.check_score(score)
    checks.integer(epochs, "epochs", 0)
    checks.integer(batch_size, "batch_size", 1)
    shape = model.network.inputs[0].shape[1:]
    train = _triplets(train, shape, "train")
    callbacks = [EpochLog(), *([] if score is None else [_Score(score)])]
    if checkpoint is not None:  # checked now, not after the first epoch
        callbacks.append(_Checkpoint(files.checkpoint_target(checkpoint, ".weights.h5")))
    batches = (
        tf.data.Dataset.from_tensor_slices(train)
        .shuffle(len(train[0]), seed=seed, reshuffle_each_iteration=True)
        .batch(batch_size)
        .prefetch(tf.data.AUTOTUNE)
    )
    if val is not None:
        val = (
            tf.data.Dataset.from_tensor_slices(_triplets(val, shape, "val"))
            .batch(batch_size)
            .prefetch(tf.data.AUTOTUNE)
        )
    model.compile(optimizer=keras.optimizers.Adam(lr))
    settings = {"examples": len(train[0]), "batch_size": batch_size, "lr": lr, "seed": seed}
    return _fit(
        model,
        batches,
        val,
        epochs,
        callbacks,
        progress,
        resume,
        settings | {"margin": model.margin},
    )


def evaluate_loss(model: SiameseModel, data, batch_size: int = 8) -> float:
    """The mean triplet loss of ``model`` over (anchor, positive, negative) stem features, in
    inference mode: the loss of the network that search uses, whatever mode it trained in."""
    checks.instance(model, SiameseModel, "model", "a SiameseModel")
    checks.integer(batch_size, "batch_size", 1)
    data = _triplets(data, model.network.inputs[0].shape[1:], "data")
    total = 0.0
    for start in range(0, len(data[0]), batch_size):
        batch = [x[start : start + batch_size] for x in data]
        total += float(model._loss(batch, training=False)) * len(batch[0])
    return total / len(data[0])


def _fit(model, batches, val, epochs, callbacks, progress, resume, settings) -> dict:
    """``model.fit`` on the endless stream of ``batches`` (``training.epoch_stream``), resumed
    from ``resume`` when given; per-epoch history and the seconds of ``callbacks[0]``."""
    run = None
    if resume is not None:
        size = 3 * training.weight_bytes(model)  # the weights and Adam's two moments
        run = training.Resume(resume, settings, keep=callbacks[:1], size=size)
    batches, first, steps = training.epoch_stream(batches, run)
    history = model.fit(
        batches,
        validation_data=val,
        epochs=epochs,
        initial_epoch=first,
        steps_per_epoch=steps,
        callbacks=[*callbacks, *([run] if run else [])],
        shuffle=False,
        verbose=2 if progress else 0,
    )
    return {k: [float(v) for v in vs] for k, vs in training.run_history(history, run).items()} | {
        "seconds": callbacks[0].seconds
    }


# --- semi-hard mining and the label-aware ceiling -----------------------------------------------
def pairwise_distances(embeddings, squared: bool = True) -> tf.Tensor:
    """B x B (squared) L2 distances between the rows of ``embeddings``, >= 0, zero diagonal. The
    rows are centred first (distances do not change), so the |a|^2 - 2ab + |b|^2 expansion does
    not cancel away in float32 when the embeddings share a large offset."""
    e = tf.convert_to_tensor(
        checks.batch(embeddings, "embeddings", 2, "a non-empty B x D embedding matrix")
    )
    if e.shape.rank != 2 or e.shape[0] == 0:
        raise ValueError(f"expected a non-empty B x D embedding matrix, got {e.shape}")
    e = e - tf.reduce_mean(e, axis=0, keepdims=True)
    norms = tf.reduce_sum(tf.square(e), axis=1)
    d = tf.maximum(norms[:, None] - 2 * tf.matmul(e, e, transpose_b=True) + norms[None, :], 0.0)
    d = tf.linalg.set_diag(d, tf.zeros_like(norms))
    if squared:
        return d
    zero = tf.equal(d, 0.0)
    return tf.where(zero, 0.0, tf.sqrt(tf.where(zero, 1.0, d)))  # no NaN gradient at 0


def _labels(labels, size: int) -> tf.Tensor:
    labels = tf.reshape(tf.convert_to_tensor(labels), [-1])
    if labels.shape[0] is not None and size is not None and labels.shape[0] != size:
        raise ValueError(f"expected {size} labels, got {labels.shape[0]}")
    return labels


def semi_hard_negatives(distances, labels) -> tf.Tensor:
    """For each positive pair (a, p) the negative n with the smallest d(a, n) > d(a, p) (FaceNet's
    semi-hard); if none is farther, the farthest negative (TF Addons); -1 elsewhere. B x B int32."""
    d = tf.convert_to_tensor(checks.batch(distances, "distances", 2, "a B x B distance matrix"))
    if d.shape.rank != 2 or d.shape[0] != d.shape[1]:
        raise ValueError(f"expected a B x B distance matrix, got {d.shape}")
    labels = _labels(labels, d.shape[0])
    same = tf.equal(labels[:, None], labels[None, :])
    negative = tf.logical_not(same)[:, None, :]  # [a, p, n]: n is a negative of a
    farther = tf.logical_and(negative, d[:, None, :] > d[:, :, None])
    semi = tf.argmin(tf.where(farther, d[:, None, :], np.inf), axis=2, output_type=tf.int32)
    hardest = tf.argmax(tf.where(negative[:, 0], d, -np.inf), axis=1, output_type=tf.int32)
    mined = tf.where(tf.reduce_any(farther, axis=2), semi, hardest[:, None])
    positive = tf.logical_and(same, tf.logical_not(tf.eye(tf.shape(d)[0], dtype=tf.bool)))
    valid = tf.logical_and(positive, tf.reduce_any(negative, axis=2))
    return tf.where(valid, mined, -1)


def semi_hard_triplet_loss(labels, embeddings, margin: float = MARGIN) -> tf.Tensor:
    """Mean of ``max(d(a, p) - d(a, n) + margin, 0)`` (squared distances) over the positive pairs
    with a mined semi-hard negative; 0 when there are none. Keras order: (y_true, y_pred)."""
    _spec.check_margin(margin)
    d = pairwise_distances(embeddings)
    negatives = tf.stop_gradient(semi_hard_negatives(d, labels))
    valid = negatives >= 0
    an = tf.gather(d, tf.maximum(negatives, 0), axis=1, batch_dims=1)  # an[a, p] = d[a, n(a, p)]
    terms = tf.where(valid, tf.maximum(d - an + margin, 0.0), 0.0)
    return tf.reduce_sum(terms) / tf.maximum(tf.reduce_sum(tf.cast(valid, d.dtype)), 1.0)


def fit_supervised(
    top: keras.Model,
    train,
    val=None,
    epochs: int = 1,
    batch_size: int = 32,
    lr: float = 1e-4,
    margin: float = MARGIN,
    seed: int = 0,
    progress: bool = True,
    resume=None,
) -> dict:
    """The label-aware ceiling: ``top`` trained with ``semi_hard_triplet_loss`` on shuffled batches
    of ``(stem_features, labels)``; per-epoch ``loss`` (``val_loss`` with ``val``), ``seconds``;
    ``resume`` (an ``.npz`` path) continues an interrupted run (``training.Resume``)."""
    _spec.check_margin(margin)
    checks.instance(top, keras.Model, "top", "a keras.Model (the embedding top)")
    checks.integer(epochs, "epochs", 0)
    checks.integer(batch_size, "batch_size", 1)

    def datasets(data, name):
        if not isinstance(data, (tuple, list)) or len(data) != 2:
            raise ValueError(f"{name} must be a (stem_features, labels) pair, got {type(data)}")
        x, y = _check_features(data[0], top.input.shape[1:]), np.asarray(data[1])
        if y.shape != (len(x),):
            raise ValueError(f"{name}: expected {len(x)} labels, got shape {y.shape}")
        return tf.data.Dataset.from_tensor_slices((x, y))

    def loss(labels, embeddings):
        return semi_hard_triplet_loss(labels, embeddings, margin)

    batches = (
        datasets(train, "train")
        .shuffle(len(train[0]), seed=seed)
        .batch(batch_size)
        .prefetch(tf.data.AUTOTUNE)
    )
    val = None if val is None else datasets(val, "val").batch(batch_size).prefetch(tf.data.AUTOTUNE)
    top.compile(optimizer=keras.optimizers.Adam(lr), loss=loss)
    settings = {"examples": len(train[0]), "batch_size": batch_size, "lr": lr, "seed": seed}
    return _fit(
        top, batches, val, epochs, [EpochLog()], progress, resume, settings | {"margin": margin}
    )

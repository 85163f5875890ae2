"""SimCLR in TensorFlow/Keras: two-view augmentation (Keras preprocessing layers), encoders,
projection head, info-NCE, pretraining (a Keras model with its own ``train_step``, trained by
``fit``), checkpoints with the article's ``backbone.`` prefix handling, linear and kNN evaluation.

The same names and arguments as ``companion.torch.simclr``. Weights are named like torch's state
dicts, from the layer names: ``backbone.body.conv0.kernel``, ``backbone.fc.dense0.bias``...; a
checkpoint is an ``.npz`` of those named arrays (read with ``allow_pickle=False``).
"""

from __future__ import annotations

import math
import time
import zipfile
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from .. import checks, files
from .. import simclr as core
from ..data import ImageSet
from . import training
from .training import to_float

ARCHS = core.ARCHS
OTHER_FRAMEWORK = (".pt", ".pth", ".bin")
BN = {
    "momentum": 0.9,
    "epsilon": 1e-5,
}  # torch's BatchNorm constants (Keras keeps 0.9 of the old statistics)


def torch_conv_init() -> keras.initializers.Initializer:
    """torch's default convolution initialisation, uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)) (its
    kaiming_uniform with a = sqrt(5)), so both editions' encoders start from the same distribution
    (Keras' default is Glorot's)."""
    return keras.initializers.VarianceScaling(1 / 3, "fan_in", "uniform")


# --- augmentation -------------------------------------------------------------------------------
class RandomResizedCrop(keras.layers.Layer):
    """A random crop of ``scale`` of the area and aspect ratio 3/4..4/3 per image, resized to
    ``size`` (``tf.image.crop_and_resize``, bilinear); the identity when not training."""

    def __init__(self, size: int, scale=(0.2, 1.0), ratio=(3 / 4, 4 / 3), seed=None, **kwargs):
        checks.integer(size, "size", 1)
        for value, name, high in ((scale, "scale", 1), (ratio, "ratio", None)):
            pair = checks.array(
                value,
                name,
                1,
                f"a (low, high) pair in (0, {high or 'inf'}]",
                dtype=np.float64,
                finite=True,
            )
            if len(pair) != 2 or not 0 < pair[0] <= pair[1] or (high and pair[1] > high):
                raise ValueError(
                    f"{name}: expected a (low, high) pair in (0, {high or 'inf'}], got {value!r}"
                )
        super().__init__(**kwargs)
        self.size, self.scale, self.ratio = size, scale, ratio
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, x, training=True):
        if not training:
            return tf.image.resize(x, (self.size, self.size))
        n = tf.shape(x)[0]
        area = keras.random.uniform((n,), *self.scale, seed=self.seed_generator)
        log_ratio = keras.random.uniform(
            (n,), math.log(self.ratio[0]), math.log(self.ratio[1]), seed=self.seed_generator
        )
        w = tf.minimum(tf.sqrt(area * tf.exp(log_ratio)), 1.0)
        h = tf.minimum(tf.sqrt(area / tf.exp(log_ratio)), 1.0)
        y0 = keras.random.uniform((n,), seed=self.seed_generator) * (1 - h)
        x0 = keras.random.uniform((n,), seed=self.seed_generator) * (1 - w)
        boxes = tf.stack([y0, x0, y0 + h, x0 + w], axis=1)
        return tf.image.crop_and_resize(x, boxes, tf.range(n), (self.size, self.size))


class RandomApply(keras.layers.Layer):
    """Apply ``layer`` to each image with probability ``p`` (torchvision's ``RandomApply``)."""

    def __init__(self, layer, p: float, seed=None, **kwargs):
        if not callable(layer):
            raise TypeError(f"layer: expected a callable Keras layer, got {checks.describe(layer)}")
        checks.number(p, "p", 0, 1)
        super().__init__(**kwargs)
        self.layer, self.p = layer, p
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, x, training=True):
        if not training:
            return x
        chosen = keras.random.uniform((tf.shape(x)[0], 1, 1, 1), seed=self.seed_generator) < self.p
        return tf.where(chosen, self.layer(x, training=True), x)


def augmentation(
    image_size: int,
    channels: int = 3,
    min_scale: float = 0.2,
    strength: float = 0.5,
    blur: float = 0.5,
    seed: int = 0,
) -> keras.Sequential:
    """The SimCLR augmentation of float N x H x W x C images in [0, 1], vectorised over the batch
    with each image drawn on its own (Keras preprocessing layers, float32 under any policy; inside
    ``SimCLRModel.train_step`` they run in the traced step, on the GPU when there is one): random
    resized crop (area ``min_scale``..1) to ``image_size``, horizontal flip, colour jitter with
    probability 0.8 (brightness, contrast, and for colour images saturation and hue), grey-scale
    with probability 0.2 (colour images), Gaussian blur with probability ``blur``."""
    core.check_augmentation(image_size, channels, min_scale, strength, blur)
    checks.integer(seed, "seed", 0)
    s = strength
    f32 = {"dtype": "float32"}  # pixels stay float32 under a mixed-precision policy
    steps = [
        RandomResizedCrop(image_size, (min_scale, 1.0), seed=seed, name="crop", **f32),
        keras.layers.RandomFlip("horizontal", seed=seed + 1, name="flip", **f32),
    ]
    if s > 0:
        if channels == 3:
            jitter = keras.layers.RandomColorJitter(
                (0, 1), 0.8 * s, 0.8 * s, 0.8 * s, 0.2 * s, seed=seed + 2, **f32
            )
        else:
            jitter = keras.Sequential(
                [
                    keras.layers.RandomBrightness(0.8 * s, (0, 1), seed=seed + 2, **f32),
                    keras.layers.RandomContrast(0.8 * s, (0, 1), seed=seed + 3, **f32),
                ]
            )
        steps.append(RandomApply(jitter, 0.8, seed=seed + 4, name="jitter", **f32))
        if channels == 3:
            steps.append(keras.layers.RandomGrayscale(0.2, seed=seed + 5, name="grey", **f32))
    if blur > 0:
        kernel = max(3, image_size // 10 * 2 + 1)  # odd, about 10 % of the side, as in the paper
        blurred = keras.layers.RandomGaussianBlur(
            1.0, kernel, (0.1, 2.0), (0, 1), seed=seed + 6, **f32
        )
        steps.append(RandomApply(blurred, blur, seed=seed + 7, name="blur", **f32))
    return keras.Sequential(steps, name="augmentation")


def augment_batch(images, augment) -> tf.Tensor:
    """uint8 N x H x W x C images -> float N x H x W x C, each image augmented on its own."""
    x = to_float(images)
    if augment is not None and not callable(augment):
        raise TypeError(
            f"augment: expected a callable augmentation (or None), got {checks.describe(augment)}"
        )
    return x if augment is None else augment(x, training=True)


def two_views(images, augment, n_views: int = 2) -> tf.Tensor:
    """``n_views`` augmented views of every image, view after view: rows ``i`` and ``i + N`` are
    two views of image ``i`` (the order ``info_nce_loss`` expects)."""
    core.check_n_views(n_views)
    checks.batch(images, "images", 4, "uint8 N x H x W x C images")
    return tf.concat([augment_batch(images, augment) for _ in range(n_views)], axis=0)


# --- encoders and heads -------------------------------------------------------------------------
class Encoder(keras.Model):
    """``body`` (images -> feature vectors of ``feature_dim``) followed by ``fc``: the identity,
    the projection head (pretraining) or a linear classifier (evaluation)."""

    def __init__(self, body: keras.Model, feature_dim: int, fc=None, **kwargs):
        if not callable(body):
            raise TypeError(
                f"body: expected a Keras model (images -> feature vectors), got "
                f"{checks.describe(body)}"
            )
        checks.integer(feature_dim, "feature_dim", 1)
        if fc is not None and not callable(fc):
            raise TypeError(f"fc: expected a Keras layer (or None), got {checks.describe(fc)}")
        super().__init__(**kwargs)
        self.body, self.feature_dim = body, feature_dim
        self.fc = fc if fc is not None else keras.layers.Identity(name="fc")

    def call(self, x, training=False):
        return self.fc(self.body(x, training=training), training=training)


def _conv_bn(x, filters, stride, name, relu=True, kernel=3):
    if stride > 1 and kernel > 1:  # pad 1 on every side like torch, then a valid convolution
        x = keras.layers.ZeroPadding2D(kernel // 2, name=f"{name}_pad")(x)
    x = keras.layers.Conv2D(
        filters,
        kernel,
        stride,
        "valid" if stride > 1 else "same",
        use_bias=False,
        kernel_initializer=torch_conv_init(),
        name=f"{name}_conv",
    )(x)
    x = keras.layers.BatchNormalization(**BN, name=f"{name}_bn")(x)
    return keras.layers.ReLU(name=f"{name}_relu")(x) if relu else x


def _small_body(in_channels, width):
    inputs = keras.Input((None, None, in_channels))
    x = inputs
    for i, (filters, stride) in enumerate(
        [(width, 1), (2 * width, 2), (4 * width, 2), (4 * width, 2)]
    ):
        x = _conv_bn(x, filters, stride, f"layer{i}")
    return keras.Model(inputs, keras.layers.GlobalAveragePooling2D(name="pool")(x), name="body")


def _resnet18_body(in_channels, cifar: bool = False):
    """ResNet-18: torchvision's layout (7x7 stride-2 stem conv, BN, ReLU, 3x3 stride-2 max-pool),
    or with ``cifar`` SimCLR's small-image stem (3x3 stride 1, no max-pool); then four stages of
    two BasicBlocks (64, 128, 256, 512 channels) and global average pooling."""
    inputs = keras.Input((None, None, in_channels))
    if cifar:
        x = _conv_bn(inputs, 64, 1, "stem")
    else:
        x = _conv_bn(inputs, 64, 2, "stem", kernel=7)  # torch's padding 3, then a valid conv
        x = keras.layers.ZeroPadding2D(1, name="stem_pool_pad")(x)  # after a ReLU: as -inf pads
        x = keras.layers.MaxPooling2D(3, 2, name="stem_pool")(x)
    for stage, (filters, stride) in enumerate([(64, 1), (128, 2), (256, 2), (512, 2)], start=1):
        for block in range(2):
            name, s = f"layer{stage}_{block}", stride if block == 0 else 1
            y = _conv_bn(x, filters, s, f"{name}_a")
            y = _conv_bn(y, filters, 1, f"{name}_b", relu=False)
            if s != 1 or x.shape[-1] != filters:
                x = _conv_bn(x, filters, s, f"{name}_down", relu=False, kernel=1)
            x = keras.layers.ReLU(name=f"{name}_out")(keras.layers.Add(name=f"{name}_add")([x, y]))
    return keras.Model(inputs, keras.layers.GlobalAveragePooling2D(name="pool")(x), name="body")


def build_encoder(arch: str = "small", in_channels: int = 1, width: int = 32, fc=None) -> Encoder:
    """``small``: four 3x3 conv-BN-ReLU layers (``width``, 2, 4, 4 x ``width`` channels, strides
    1, 2, 2, 2) and global average pooling, 4 x ``width`` features; ``resnet18``: the stock
    ResNet-18 that the article (sthalles/SimCLR, torchvision's ``resnet18`` at 96 px) trains:
    7x7 stride-2 stem, 3x3 stride-2 max-pool, four stages of two BasicBlocks, 512 features
    (11,176,512 parameters for 3 channels, as torchvision's trunk without ``fc``);
    ``resnet18-cifar``: the same with SimCLR's CIFAR stem (3x3 stride 1, no max-pool).
    ``fc`` (default: the identity) is the layer on top."""
    core.check_encoder(arch, in_channels, width)
    body, dim = (
        (_small_body(in_channels, width), 4 * width)
        if arch == "small"
        else (_resnet18_body(in_channels, cifar=arch == "resnet18-cifar"), 512)
    )
    encoder = Encoder(body, dim, fc, name="backbone")
    encoder(tf.zeros((1, 16, 16, in_channels)))  # create every weight now
    return encoder


def projection_head(feature_dim: int, out_dim: int = 128) -> keras.Sequential:
    """SimCLR's projection head g: Dense, ReLU, Dense (``feature_dim`` -> ``feature_dim`` ->
    ``out_dim``)."""
    checks.integer(feature_dim, "feature_dim", 1)
    checks.integer(out_dim, "out_dim", 1)
    return keras.Sequential(
        [
            keras.layers.Dense(feature_dim, name="dense0"),
            keras.layers.ReLU(name="relu"),
            keras.layers.Dense(out_dim, name="dense1", dtype="float32"),  # info-NCE in float32
        ],
        name="fc",
    )


def linear_model(
    n_classes: int, arch: str = "small", in_channels: int = 1, width: int = 32
) -> Encoder:
    """An encoder with ``fc = Dense(n_classes)``: random weights until loaded or trained."""
    core.check_n_classes(n_classes)
    fc = keras.layers.Dense(n_classes, name="fc", dtype="float32")  # float32 logits
    return build_encoder(arch, in_channels, width, fc)


# --- info-NCE -----------------------------------------------------------------------------------
def info_nce_loss(features, batch_size: int, n_views: int = 2, temperature: float = 0.07):
    """``(logits, labels)`` as sthalles' ``info_nce_loss``, in TensorFlow: cross-entropy of the two
    is the loss. ``features`` is N x D with N = ``n_views`` x ``batch_size``, view after view."""
    shape = tuple(getattr(features, "shape", ()))
    if len(shape) != 2:
        raise ValueError(f"features must be a 2-D tensor (rows x dimensions), got shape {shape}")
    core.check_views(shape[0], batch_size, n_views)
    temperature = core.check_temperature(temperature)
    if tf.executing_eagerly() and not np.isfinite(np.asarray(features, np.float32)).all():
        raise ValueError(
            "features: expected finite values, got NaN or infinite ones (a diverged model?)"
        )
    features = tf.cast(features, tf.float32)  # float32 even from a mixed-precision model
    features = tf.math.l2_normalize(features, axis=1)
    similarity_matrix = tf.matmul(features, features, transpose_b=True)
    # positives first, then negatives, the diagonal left out: one gather does what the article's
    # masks do (info_nce_steps in companion.simclr shows them step by step)
    logits = tf.gather(similarity_matrix, core.logit_columns(batch_size, n_views), batch_dims=1)
    return logits / temperature, tf.zeros(batch_size * n_views, dtype=tf.int64)


def cross_entropy(logits, labels) -> tf.Tensor:
    """Mean cross-entropy of integer labels under logits (``CrossEntropyLoss`` in torch)."""
    if (
        tf.executing_eagerly()
    ):  # in a traced step the inputs are symbolic (checked by their callers)
        shape = tuple(getattr(logits, "shape", ()))
        if len(shape) != 2:
            raise ValueError(f"expected N x C logits and N labels, got logits of shape {shape}")
        checks.labels(np.asarray(labels), "labels", shape[1], shape[0])
    logits = tf.cast(logits, tf.float32)
    return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits))


# --- the pretraining model and checkpoints --------------------------------------------------------
class SimCLRModel(keras.Model):
    """sthalles' ResNetSimCLR: ``backbone`` is the encoder, its ``fc`` the projection head. Its
    ``train_step`` makes the views, computes the info-NCE loss and steps the optimizer, so
    ``fit`` pretrains it (see ``pretrain``)."""

    def __init__(
        self,
        arch: str = "small",
        in_channels: int = 1,
        width: int = 32,
        out_dim: int = 128,
        **kwargs,
    ):
        if arch not in ARCHS:
            raise ValueError(f"arch must be one of {ARCHS}, got {arch!r}")
        checks.integer(width, "width", 1)
        checks.integer(out_dim, "out_dim", 1)
        super().__init__(**kwargs)
        body_dim = 4 * width if arch == "small" else 512
        self.backbone = build_encoder(arch, in_channels, width, projection_head(body_dim, out_dim))
        self.config = {"arch": arch, "in_channels": in_channels, "width": width}
        self.augment, self.temperature, self.n_views = None, 0.07, 2
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.top1_tracker = keras.metrics.Mean(name="top1")

    def call(self, x, training=False):
        return self.backbone(x, training=training)

    @property
    def metrics(self):
        return [self.loss_tracker, self.top1_tracker]

    def train_step(self, images):
        batch_size = images.shape[0]
        views = two_views(images, self.augment, self.n_views)
        with tf.GradientTape() as tape:
            logits, labels = info_nce_loss(
                self(views, training=True), batch_size, self.n_views, self.temperature
            )
            loss = cross_entropy(logits, labels)
            scaled = self.optimizer.scale_loss(loss)  # mixed_float16: compile's loss scaling
        gradients = tape.gradient(scaled, self.trainable_variables)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_variables))
        self.loss_tracker.update_state(loss)
        # the positive (column 0) beats every negative: a tie is a miss, so a collapsed encoder
        # scores 0, not 1 (argmax would pick the first of equal logits, the positive)
        on_top = logits[:, 0] > tf.reduce_max(logits[:, 1:], axis=1)
        self.top1_tracker.update_state(tf.reduce_mean(tf.cast(on_top, tf.float32)))
        return {"loss": self.loss_tracker.result(), "top1": self.top1_tracker.result()}


def _named(layer, prefix: str = "") -> dict:
    """Every variable of ``layer``'s sub-layers by a dotted name built from the layer names."""
    out = {}
    for sub in getattr(layer, "layers", []):
        if getattr(sub, "layers", None):
            out |= _named(sub, f"{prefix}{sub.name}.")
        else:
            out |= {f"{prefix}{sub.name}.{v.name}": v for v in sub.weights}
    return out


def state_dict(model: keras.Model) -> dict:
    """The model's weights and BatchNorm statistics as ``{dotted name: numpy array}``."""
    checks.instance(model, keras.layers.Layer, "model", "a Keras model")
    return {name: np.array(v.numpy()) for name, v in _named(model).items()}


def save_checkpoint(model: keras.Model, path) -> Path:
    """``state_dict(model)`` as an ``.npz`` file, written atomically (temporary file, then
    rename)."""
    checks.instance(model, keras.layers.Layer, "model", "a Keras model")
    path = checks.path(path, "path")
    if path.suffix != ".npz":
        raise ValueError(f"TensorFlow checkpoints here end in .npz, got {path.name}")
    training.refuse_nonfinite(model, path)
    state = state_dict(model)
    return files.atomic_write(path, lambda tmp: np.savez(tmp, **state), "checkpoint")


def load_checkpoint(path) -> dict:
    """The named arrays of a ``save_checkpoint`` file (``allow_pickle=False``: arrays only)."""
    path = checks.path(path, "path")
    if path.suffix in OTHER_FRAMEWORK:
        raise ValueError(
            f"expected a TensorFlow .npz checkpoint, got {path.name}, which looks like a "
            f"PyTorch one: load it with companion.torch.simclr"
        )
    if not path.exists():
        raise FileNotFoundError(
            f"no checkpoint at {path}: check the path, or write it with pretrain(..., "
            f"checkpoint=...)"
        )
    try:
        with np.load(path, allow_pickle=False) as arrays:
            return {k: arrays[k] for k in arrays.files}
    except (OSError, EOFError, ValueError, zipfile.BadZipFile) as error:
        raise ValueError(
            f"expected an .npz of named arrays in {path.name}, could not read it: "
            f"{str(error).splitlines()[0]}"
        ) from None


class _Checkpoint(keras.callbacks.Callback):
    def __init__(self, path):
        super().__init__()
        self.path, self.seconds, self.start = path, [], 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self.start)
        if self.path is not None:
            save_checkpoint(self.model, self.path)

    def state_dict(self) -> tuple[dict, list]:
        return {"seconds": self.seconds}, []

    def load_state_dict(self, plain: dict, arrays: list) -> None:
        self.seconds = list(plain["seconds"])


SPREAD_IMAGES = 256  # the training images whose embeddings' spread each epoch records


class _Spread(keras.callbacks.Callback):
    """The ``spread`` of the projections of ``images`` (inference mode, no augmentation) after
    every epoch, into the logs; a collapse from the largest spread so far (before training
    included) warns (``core.warn_if_collapsed``)."""

    def __init__(self, model, images):
        super().__init__()
        self.images = images
        self.values = [self.measure(model)]

    def measure(self, model) -> float:
        projections = training.outputs(model.backbone, self.images, len(self.images), to_float)
        return core.spread(projections)

    def state_dict(self) -> tuple[dict, list]:
        return {"values": self.values}, []

    def load_state_dict(self, plain: dict, arrays: list) -> None:
        self.values = list(plain["values"])

    def on_epoch_end(self, epoch, logs=None):
        value = self.measure(self.model)
        if logs is not None:
            logs["spread"] = value
        core.warn_if_collapsed(value, epoch + 1, max(self.values))
        self.values.append(value)


def pretrain(
    model: SimCLRModel,
    images,
    epochs: int = 1,
    batch_size: int = 256,
    temperature: float = 0.07,
    augment=None,
    lr: float = 3e-4,
    weight_decay: float = 1e-4,
    n_views: int = 2,
    checkpoint=None,
    seed: int = 0,
    progress: bool = True,
    resume=None,
) -> dict:
    """Contrastive pretraining on unlabelled uint8 NHWC ``images`` with ``fit``: Adam on the
    info-NCE loss (``SimCLRModel.train_step``).

    Every epoch shuffles the images and drops the last incomplete batch (info-NCE needs the full
    batch). Returns per-epoch ``loss``, ``top1`` (how often the positive has the highest logit),
    ``spread`` (``core.spread`` of the projections of the first ``SPREAD_IMAGES`` images; a
    collapse warns) and ``seconds``; with ``checkpoint`` the model is written there atomically
    after every epoch.
    ``resume`` (an ``.npz`` path): the run continues from there after an interruption
    (``training.Resume``).
    """
    checks.instance(model, SimCLRModel, "model", "a SimCLRModel")
    images = core.pretraining_images(images, batch_size, epochs)
    checks.integer(n_views, "n_views", 2)
    model.temperature = core.check_temperature(temperature)
    model.augment = (
        augment
        if augment is not None
        else augmentation(images.shape[1], images.shape[-1], seed=seed)
    )
    model.n_views = n_views
    if checkpoint is not None:  # checked now, not after the first epoch
        checkpoint = files.checkpoint_target(checkpoint, ".npz")
    model.compile(optimizer=keras.optimizers.Adam(lr, weight_decay=weight_decay or None))
    dataset = (  # uint8 batches, prefetched; the views are made in the traced step
        tf.data.Dataset.from_tensor_slices(images)
        .shuffle(len(images), seed=seed)
        .batch(batch_size, drop_remainder=True)
        .prefetch(tf.data.AUTOTUNE)
    )
    log, spread = _Checkpoint(checkpoint), _Spread(model, images[:SPREAD_IMAGES])
    run = None
    if resume is not None:
        settings = {"images": len(images), "batch_size": batch_size, "temperature": temperature}
        settings |= {"lr": lr, "weight_decay": weight_decay, "n_views": n_views, "seed": seed}
        size = 3 * training.weight_bytes(model)  # the weights and Adam's two moments
        run = training.Resume(resume, settings, keep=[log, spread], size=size)
    dataset, first, steps = training.epoch_stream(dataset, run)
    history = model.fit(
        dataset,
        epochs=epochs,
        initial_epoch=first,
        steps_per_epoch=steps,
        verbose=2 if progress else 0,
        callbacks=[spread, log, *([run] if run else [])],
        shuffle=False,
    )
    history = training.run_history(history, run)
    return {name: [float(v) for v in history[name]] for name in ("loss", "top1", "spread")} | {
        "seconds": log.seconds
    }


def load_encoder(
    path, n_classes: int, arch: str = "small", in_channels: int = 1, width: int = 32
) -> Encoder:
    """The article's evaluator: a fresh encoder with ``fc = Dense(n_classes)``, loaded from a
    pretraining checkpoint whose ``backbone.`` prefix is stripped and whose projection head is
    dropped. Only ``fc`` keeps its fresh weights; missing or unexpected keys fail."""
    model = linear_model(n_classes, arch, in_channels, width)
    variables = {k: v for k, v in _named(model).items() if not k.startswith(core.HEAD_PREFIX)}
    state = core.strip_backbone(load_checkpoint(path))
    core.check_keys(variables, state)
    core.check_shapes(
        {k: tuple(v.shape) for k, v in variables.items()}, {k: v.shape for k, v in state.items()}
    )
    for name, variable in variables.items():
        variable.assign(state[name])
    return model


def reset_fc(model: Encoder, seed: int = 0) -> Encoder:
    """Give the dense ``fc`` fresh random weights (e.g. to probe a supervised encoder anew)."""
    if not isinstance(getattr(model, "fc", None), keras.layers.Dense):
        raise TypeError("expected an encoder with a Dense fc (see linear_model / load_encoder)")
    model.fc.kernel.assign(keras.initializers.GlorotUniform(seed)(model.fc.kernel.shape))
    model.fc.bias.assign(np.zeros(model.fc.bias.shape, np.float32))
    return model


def freeze_for_linear_eval(model: Encoder) -> list[str]:
    """Freeze everything but ``fc``; return the names of the weights still trained."""
    if not isinstance(getattr(model, "fc", None), keras.layers.Dense):
        raise TypeError("expected an encoder with a Dense fc (see linear_model / load_encoder)")
    model.body.trainable = False
    model.fc.trainable = True
    trainable = {id(v) for v in model.trainable_weights}
    return [name for name, v in _named(model).items() if id(v) in trainable]


# --- evaluation ----------------------------------------------------------------------------------
def extract_features(model: keras.Model, images, batch_size: int = 512) -> np.ndarray:
    """Encoder features (before ``fc``) of uint8 NHWC images, in inference mode and in batches."""
    encoder = model.backbone if isinstance(model, SimCLRModel) else model
    if not isinstance(encoder, Encoder):
        raise TypeError(f"expected an Encoder or a SimCLRModel, got {type(model).__name__}")
    checks.integer(batch_size, "batch_size", 1)
    if not tf.is_tensor(images):
        images = checks.array(images, "images", 4, "uint8 N x H x W x C images")
    checks.batch(images, "images", 4, "uint8 N x H x W x C images")
    return training.outputs(encoder.body, images, batch_size, to_float)


def projections(model: SimCLRModel, images, batch_size: int = 512) -> np.ndarray:
    """The projection head's outputs (what the info-NCE loss compares) of uint8 NHWC images, in
    inference mode and in batches, float32: the features ``extract_features`` takes before the
    head."""
    checks.instance(model, SimCLRModel, "model", "a SimCLRModel (encoder and projection head)")
    checks.integer(batch_size, "batch_size", 1)
    images = checks.array(images, "images", 4, "uint8 N x H x W x C images")
    checks.batch(images, "images", 4, "uint8 N x H x W x C images")
    return training.outputs(model.backbone, images, batch_size, to_float)


def _epoch_batches(x, y, epochs: int, batch_size: int, seed: int) -> tf.data.Dataset:
    """``epochs`` passes over ``(x, y)`` in batches, one after the other: each pass follows a
    permutation drawn from ``np.random.default_rng(seed)`` (one per epoch, in order), its last
    batch may be smaller, and no batch straddles two passes. ``fit`` reads one pass an epoch
    (``steps_per_epoch``)."""
    rng = np.random.default_rng(seed)
    orders = np.array([rng.permutation(len(x)) for _ in range(epochs)], np.int64)
    orders = orders.reshape(epochs, len(x))
    x, y = tf.constant(x), tf.constant(y)
    return (
        tf.data.Dataset.from_tensor_slices(orders)
        .flat_map(lambda order: tf.data.Dataset.from_tensor_slices(order).batch(batch_size))
        .map(lambda idx: (tf.gather(x, idx), tf.gather(y, idx)), tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )


def train_linear(
    fc: keras.layers.Dense,
    features,
    labels,
    epochs: int = 100,
    batch_size: int = 256,
    lr: float = 1e-3,
    weight_decay: float = 1e-4,
    seed: int = 0,
    standardize: bool = True,
    resume=None,
) -> dict:
    """Train the dense layer ``fc`` on fixed features with cross-entropy (Adam); per-epoch loss;
    ``resume`` (an ``.npz`` path) continues an interrupted run (``training.Resume``).

    With ``standardize`` the layer trains on features scaled to zero mean and unit variance (the
    training set's statistics), and the scaling is then folded into ``fc``'s weights, so ``fc``
    still takes the raw features: W' = W / s, b' = b - m W'.
    """
    checks.instance(fc, keras.layers.Dense, "fc", "a Keras Dense layer")
    checks.integer(epochs, "epochs", 0)
    checks.integer(batch_size, "batch_size", 1)
    features = checks.array(
        features, "features", 2, "N x D features", dtype=np.float32, finite=True
    )
    labels = checks.labels(labels, "labels", fc.units)
    x, y = np.asarray(features, np.float32), np.asarray(labels, np.int64)
    if x.ndim != 2 or len(x) != len(y) or (fc.built and fc.kernel.shape[0] != x.shape[1]):
        raise ValueError(
            f"expected N x D features matching fc and N labels, got {x.shape} and {y.shape}"
        )
    mean, std = (x.mean(0), np.maximum(x.std(0), 1e-6)) if standardize else (0.0, 1.0)
    x = ((x - mean) / std).astype(np.float32)
    if not fc.built:
        fc.build((None, x.shape[1]))
    model = keras.Sequential([keras.Input((x.shape[1],)), fc], name="linear")
    model.compile(
        optimizer=keras.optimizers.Adam(lr, weight_decay=weight_decay or None),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=False,  # the graph the hand-written step ran before (no XLA)
    )
    log, run = training.EpochLog(), None  # the log stops at a non-finite loss
    if resume is not None:
        settings = {"examples": len(x), "batch_size": batch_size, "lr": lr, "seed": seed}
        run = training.Resume(resume, settings | {"standardize": standardize}, keep=[log])
    batches, first, steps = training.epoch_stream(  # every epoch's batches, in turn
        _epoch_batches(x, y, epochs, batch_size, seed), run, math.ceil(len(x) / batch_size)
    )
    history = model.fit(
        batches,
        epochs=epochs,
        initial_epoch=first,
        steps_per_epoch=steps,
        shuffle=False,
        verbose=0,
        callbacks=[log, *([run] if run else [])],
    )
    losses = [float(v) for v in training.run_history(history, run).get("loss", [])]
    if standardize:
        kernel = fc.kernel.numpy() / std[:, None]
        fc.kernel.assign(kernel)
        fc.bias.assign(fc.bias.numpy() - mean @ kernel)
    return {"loss": losses}


def linear_evaluation(
    model: Encoder,
    train: ImageSet,
    test: ImageSet,
    epochs: int = 100,
    batch_size: int = 256,
    lr: float = 1e-3,
    weight_decay: float = 1e-4,
    seed: int = 0,
    standardize: bool = True,
) -> dict:
    """The linear evaluation protocol on a frozen encoder (``freeze_for_linear_eval`` first): train
    ``model.fc`` on the encoder's inference-mode features of ``train``, report top-1 and top-5 on
    ``test``. The frozen encoder's features never change, so they are computed once.
    Returns ``top1``, ``top5``, the fc ``history`` and the features (for kNN)."""
    checks.instance(
        model, Encoder, "model", "an Encoder with a Dense fc (see linear_model / load_encoder)"
    )
    if model.body.trainable or not model.fc.trainable:
        raise ValueError("expected only fc to be trainable (call freeze_for_linear_eval first)")
    checks.instance(train, ImageSet, "train", "an ImageSet")
    checks.instance(test, ImageSet, "test", "an ImageSet")
    keras.utils.set_random_seed(seed)
    features = {
        "train": extract_features(model, train.images),
        "test": extract_features(model, test.images),
    }
    history = train_linear(
        model.fc,
        features["train"],
        train.labels,
        epochs,
        batch_size,
        lr,
        weight_decay,
        seed,
        standardize,
    )
    logits = training.outputs(model.fc, features["test"], len(features["test"]))  # one batch
    return {**core.probe_scores(logits, test.labels), "history": history, "features": features}


def linear_probe(
    train_features,
    train_labels,
    test_features,
    test_labels,
    n_classes: int,
    epochs: int = 100,
    batch_size: int = 256,
    lr: float = 1e-3,
    weight_decay: float = 1e-4,
    seed: int = 0,
    standardize: bool = True,
) -> dict:
    """The same protocol on features computed elsewhere (e.g. the ImageNet MobileNetV2's)."""
    train_features, test_features = core.probe_features(train_features, test_features, n_classes)
    keras.utils.set_random_seed(seed)
    fc = keras.layers.Dense(n_classes, name="fc", dtype="float32")
    history = train_linear(
        fc, train_features, train_labels, epochs, batch_size, lr, weight_decay, seed, standardize
    )
    test_features = np.asarray(test_features, np.float32)
    logits = training.outputs(fc, test_features, len(test_features))  # one batch
    return {**core.probe_scores(logits, test_labels), "history": history}


class _Augmented(keras.Model):
    """``model`` behind an augmentation that acts only in training (for supervised training)."""

    def __init__(self, model, augment, **kwargs):
        super().__init__(**kwargs)
        self.model_, self.augment = model, augment

    def call(self, x, training=False):
        if training and self.augment is not None:
            x = self.augment(x, training=True)
        return self.model_(x, training=training)


def train_supervised(
    model: Encoder,
    train: ImageSet,
    epochs: int = 1,
    batch_size: int = 128,
    lr: float = 1e-3,
    augment=None,
    seed: int = 0,
    progress: bool = False,
    val: ImageSet | None = None,
    keep_best: bool = False,
) -> dict:
    """Train the whole encoder and its dense ``fc`` with labels (cross-entropy, Adam, ``fit``),
    each training image augmented by ``augment`` (e.g. ``augmentation(..., strength=0, blur=0)``);
    ``val`` (not augmented) is scored after every epoch, and ``keep_best`` restores the weights of
    its best accuracy at the end (``training.fit``)."""
    checks.instance(model, Encoder, "model", "an Encoder (see linear_model)")
    checks.instance(train, ImageSet, "train", "an ImageSet")
    if augment is not None and not callable(augment):
        raise TypeError(
            f"augment: expected a callable augmentation (or None), got {checks.describe(augment)}"
        )
    model.trainable = True
    keras.utils.set_random_seed(seed)
    return training.fit(
        _Augmented(model, augment, name="augmented"),
        train,
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        seed=seed,
        progress=progress,
        val=val,
        keep_best=keep_best,
    )


def predict_top1(model: Encoder, test: ImageSet) -> float:
    """Top-1 accuracy of the whole model (encoder + fc) on ``test``, in inference mode."""
    checks.instance(model, keras.Model, "model", "a Keras model (an Encoder)")
    checks.instance(test, ImageSet, "test", "an ImageSet")
    if not len(test):
        raise ValueError("test: expected a non-empty ImageSet, got 0 images")
    return training.evaluate(model, test)["accuracy"]

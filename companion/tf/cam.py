"""Where a CNN looks (TensorFlow/Keras): CAM, Grad-CAM, guided backpropagation, guided Grad-CAM,
filter patterns.

The same names, arguments and results as ``companion.torch.cam``. ``BaseCAM`` runs one forward pass
of a two-output Keras model (the named layer and the logits) under a ``GradientTape`` and one
backward pass over a whole batch; each method overrides ``channel_weights``. Guided backpropagation
runs a copy of the model that shares its layers and inserts a ``tf.custom_gradient`` after each
ReLU: the model itself is never modified.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from .. import checks, saliency
from .activations import check_layers, layer_names
from .training import to_float


def _score(logits: tf.Tensor, classes) -> tuple[tf.Tensor, tf.Tensor]:
    """The summed logits of the target classes (one backward pass serves the whole batch)."""
    targets = saliency.target_classes(classes, *logits.shape)
    targets = tf.argmax(logits, 1) if targets is None else tf.constant(targets)
    return tf.reduce_sum(tf.gather(logits, targets, axis=1, batch_dims=1)), targets


def _functional(model: keras.Model) -> keras.Model:
    """The model as a functional graph (a built Sequential model becomes one; layers are shared)."""
    return keras.Model(model.inputs[0], model.outputs[0])


def _check_maps(model, layer: str, output) -> None:
    """A CAM needs maps: N x h x w x C outputs, which convolutional layers give."""
    saliency.check_cam_layer(
        layer,
        output.shape,
        "N x h x w x C",
        lambda: layer_names(model, (keras.layers.Conv2D, keras.layers.ReLU)),
    )


class BaseCAM:
    """Map of ``layer``: the sum over its channels of weight x activation (then ReLU where
    ``relu``)."""

    needs_gradients = True
    relu = True

    def __init__(self, model: keras.Model, layer: str, preprocess=to_float):
        self.model, self.layer, self.preprocess = model, checks.text(layer, "layer"), preprocess
        output = check_layers(model, [layer])[layer].output
        _check_maps(model, layer, output)
        saliency.check_preprocess(preprocess)
        self.probe = keras.Model(model.inputs[0], [output, model.outputs[0]])

    def channel_weights(self, activations, gradients, classes) -> tf.Tensor:
        """N x K weights of the K channels of ``activations`` (N x h x w x K)."""
        raise NotImplementedError

    def __call__(self, images: np.ndarray, classes=None) -> np.ndarray:
        """Maps (float32 N x h x w) for the top class, one class for all, or one class per image."""
        checks.image_batch(images)
        x = tf.convert_to_tensor(self.preprocess(images))
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            tape.watch(x)  # records the graph even where the model's weights are frozen
            activations, logits = self.probe(x, training=False)
            score, targets = _score(logits, classes)
        gradients = tape.gradient(score, activations) if self.needs_gradients else None
        weights = self.channel_weights(activations, gradients, targets)
        maps = tf.einsum("nk,nhwk->nhw", weights, activations)
        return (tf.nn.relu(maps) if self.relu else maps).numpy()


class CAM(BaseCAM):
    """Zhou et al. (2016): the classifier's weights of the class; ``layer`` must feed global average
    pooling."""

    needs_gradients = False
    relu = False

    def __init__(self, model, layer, preprocess=to_float):
        super().__init__(model, layer, preprocess)
        self.classifier = saliency.cam_classifier(
            [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)], "Dense"
        )

    def channel_weights(self, activations, gradients, classes):
        kernel = self.classifier.kernel
        saliency.check_cam_channels(self.layer, activations.shape[-1], kernel.shape[0])
        return tf.gather(tf.transpose(kernel), classes)


class GradCAM(BaseCAM):
    """Selvaraju et al. (2017): alpha_k = spatial mean of d score / d A_k, then ReLU of the weighted
    sum."""

    def channel_weights(self, activations, gradients, classes):
        return tf.reduce_mean(gradients, axis=(1, 2))


def cam(model, images, layer: str, classes=None, preprocess=to_float) -> np.ndarray:
    """CAM maps (float32 N x h x w, may be negative) of ``layer``, the one before pooling."""
    return CAM(model, layer, preprocess)(images, classes)


def grad_cam(model, images, layer: str, classes=None, preprocess=to_float) -> np.ndarray:
    """Grad-CAM maps (float32 N x h x w, >= 0) of any convolutional ``layer``."""
    return GradCAM(model, layer, preprocess)(images, classes)


@tf.custom_gradient
def _positive_gradient(x):
    """Identity forward; backward lets only positive gradients through."""
    return tf.identity(x), tf.nn.relu


class _PositiveGradient(keras.layers.Layer):
    def call(self, x):
        return _positive_gradient(x)


def _is_relu(layer) -> bool:
    return isinstance(layer, keras.layers.ReLU) or (
        isinstance(layer, keras.layers.Activation)
        and layer.activation in (keras.activations.relu, keras.activations.relu6)
    )


def _guided_copy(model: keras.Model) -> keras.Model:
    """A graph that reuses the model's layers, with a positive-gradient gate after every ReLU."""

    def call(layer, *args, **kwargs):
        out = layer(*args, **kwargs)
        return _PositiveGradient()(out) if _is_relu(layer) else out

    return keras.models.clone_model(
        _functional(model), clone_function=lambda layer: layer, call_function=call
    )


def guided_backprop(model, images, classes=None, preprocess=to_float) -> np.ndarray:
    """Springenberg et al. (2015): gradient of the class score w.r.t. the input (float32 N x H x W x
    C)
    where every ReLU / ReLU6 passes gradient only where its input is in its linear range and the
    gradient arriving from above is positive.

    A ``tf.custom_gradient`` gate after each ReLU layer clamps the incoming gradient at 0; the
    layer's
    own derivative then masks it by its forward input ((0, inf) for ReLU, (0, 6) for ReLU6).
    """
    checks.instance(model, keras.Model, "model", "a keras.Model")
    checks.image_batch(images)
    guided = _guided_copy(model)
    x = tf.convert_to_tensor(preprocess(images))
    with tf.GradientTape(watch_accessed_variables=False) as tape:
        tape.watch(x)
        score, _ = _score(guided(x, training=False), classes)
    return tape.gradient(score, x).numpy()


def guided_grad_cam(model, images, layer: str, classes=None, preprocess=to_float) -> np.ndarray:
    """Guided backpropagation times the normalised Grad-CAM map resized to the input (N x H x W x
    C)."""
    guided = guided_backprop(model, images, classes, preprocess)
    maps = saliency.resize(
        saliency.normalise(grad_cam(model, images, layer, classes, preprocess)), guided.shape[1:3]
    )
    return guided * maps[..., None]


def filter_pattern(
    model,
    layer: str,
    filters,
    size: int = 128,
    steps: int = 30,
    lr: float = 0.05,
    jitter: int = 8,
    mean=(0.0, 0.0, 0.0),
    std=(1.0, 1.0, 1.0),
    seed: int = 0,
) -> np.ndarray:
    """Pictures (float32 N x size x size x 3, pixel scale [0, 1]) that maximise the mean response of
    each of ``filters`` of ``layer``, by gradient ascent on the input from grey noise.

    Each step shifts the picture by a random offset of up to ``jitter`` pixels (a regulariser
    against
    high-frequency noise) and moves it by ``lr`` times the RMS-normalised gradient. The network runs
    only up to ``layer``; ``mean``/``std`` are the model's input normalisation. A Keras model built
    for
    one input size only takes pictures of that size. The random numbers come from numpy, as in
    torch.
    """
    filters = saliency.filter_request(layer, filters, size, steps, jitter)
    output = check_layers(model, [layer])[layer].output
    _check_maps(model, layer, output)
    trunk = keras.Model(model.inputs[0], output)
    expected = tuple(trunk.inputs[0].shape[1:3])
    if None not in expected and expected != (size, size):
        raise ValueError(
            f"this model takes {expected[0]} x {expected[1]} pictures, got size={size}"
        )
    channels = trunk.output.shape[-1]
    saliency.check_filters(layer, filters, channels)
    rng = np.random.default_rng(seed)
    x = tf.constant(
        0.5 + 0.05 * rng.standard_normal((len(filters), size, size, 3)).astype(np.float32)
    )
    mean, std = tf.constant(mean, tf.float32), tf.constant(std, tf.float32)
    index = tf.stack([tf.range(len(filters)), tf.constant(filters)], 1)
    for dy, dx in rng.integers(-jitter, jitter + 1, size=(steps, 2)):
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            tape.watch(x)
            out = trunk((tf.roll(x, (int(dy), int(dx)), (1, 2)) - mean) / std, training=False)
            score = tf.reduce_sum(tf.gather_nd(tf.reduce_mean(out, axis=(1, 2)), index))
        grad = tape.gradient(score, x)
        grad = grad / (tf.sqrt(tf.reduce_mean(grad**2, axis=(1, 2, 3), keepdims=True)) + 1e-8)
        x = tf.clip_by_value(x + lr * grad, 0, 1)
    return x.numpy()

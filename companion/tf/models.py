"""Small networks of Chapter 1 (TensorFlow/Keras): stacked linear layers and a small CNN for 28 x 28
images."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from ..conv import check_conv, check_small_cnn, check_stacked_linear, two_linear


def stacked_linear(
    n_in: int, n_hidden: int, n_out: int, relu: bool = False, seed: int = 0
) -> keras.Sequential:
    """Two linear (Dense) layers, with a ReLU between them only if ``relu``."""
    check_stacked_linear(n_in, n_hidden, n_out)
    keras.utils.set_random_seed(seed)
    middle = [keras.layers.ReLU(name="relu")] if relu else []
    return keras.Sequential(
        [
            keras.Input((n_in,)),
            keras.layers.Dense(n_hidden, name="fc1"),
            *middle,
            keras.layers.Dense(n_out, name="fc2", dtype="float32"),
        ]
    )


def as_one_linear(model: keras.Sequential) -> tuple[np.ndarray, np.ndarray]:
    """Kernel W (n_in x n_out) and bias b with ``x @ W + b`` equal to the two linear layers'
    output."""
    layers = two_linear(model.layers if isinstance(model, keras.Sequential) else None)
    (w1, b1), (w2, b2) = (
        [np.asarray(v, dtype=np.float64) for v in layer.get_weights()] for layer in layers
    )
    return w1 @ w2, b1 @ w2 + b2


def small_cnn(
    n_classes: int = 10, in_channels: int = 1, widths=(32, 64, 128), seed: int = 0
) -> keras.Sequential:
    """Blocks of 3x3 convolution (padding 1), BatchNorm, ReLU and 2x2 max pooling, then one linear
    layer.

    Layers are named ``conv1``, ``bn1``, ``relu1``, ``pool1``, ... and ``fc``, as in the PyTorch
    edition.
    For 28 x 28 inputs the three pools leave 3 x 3 maps. BatchNorm uses PyTorch's defaults (Keras
    momentum
    0.9 is torch's 0.1, epsilon 1e-5): with Keras's 0.99 the running statistics of a short training
    run
    stay close to their initial values and the model misclassifies in inference mode.
    """
    widths = check_small_cnn(n_classes, in_channels, widths)
    keras.utils.set_random_seed(seed)
    layers = [keras.Input((28, 28, in_channels))]
    for i, width in enumerate(widths, 1):
        layers += [
            keras.layers.Conv2D(width, 3, padding="same", use_bias=False, name=f"conv{i}"),
            keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5, name=f"bn{i}"),  # = torch's
            keras.layers.ReLU(name=f"relu{i}"),
            keras.layers.MaxPooling2D(2, name=f"pool{i}"),
        ]
    layers += [
        keras.layers.Flatten(name="flatten"),
        keras.layers.Dense(n_classes, name="fc", dtype="float32"),
    ]
    return keras.Sequential(layers, name="small_cnn")


def conv2d(x, w, b=None, stride: int = 1, padding: int = 0) -> np.ndarray:
    """``tf.nn.conv2d`` on numpy NHWC images and a KH x KW x C_in x C_out kernel (explicit zero
    padding)."""
    x, w = check_conv(x, w, b, stride, padding)  # the numpy reference's checks: same errors
    x, w = x.astype(np.float32), w.astype(np.float32)
    pads = [[0, 0], [padding, padding], [padding, padding], [0, 0]]
    out = tf.nn.conv2d(x, w, strides=stride, padding=pads)
    return (out if b is None else out + np.asarray(b, dtype=np.float32)).numpy()

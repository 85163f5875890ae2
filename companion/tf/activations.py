"""What each layer computes: a multi-output Keras model over named layers (TensorFlow/Keras)."""

from __future__ import annotations

import keras
import numpy as np

from .. import checks
from .training import to_float


def layer_names(model: keras.Model, kind: type | tuple = keras.layers.Conv2D) -> list[str]:
    """Names of the layers of type ``kind``, in forward order."""
    checks.instance(model, keras.Model, "model", "a keras.Model")
    kinds = checks.layer_kinds(kind, "keras.layers.Conv2D")
    return [layer.name for layer in model.layers if isinstance(layer, kinds)]


def check_layers(model: keras.Model, names) -> dict:
    """The layers called ``names``; an unknown name is an error that lists the valid ones."""
    checks.instance(model, keras.Model, "model", "a keras.Model")
    return checks.known_layers(names, {layer.name: layer for layer in model.layers})


def layer_activations(
    model: keras.Model, images: np.ndarray, names=None, preprocess=to_float
) -> dict:
    """Outputs of the named layers (default: every Conv2D) for uint8 NHWC images, as float32
    NHWC."""
    names = checks.names(names) if names is not None else layer_names(model)
    checks.image_batch(images)
    layers = check_layers(model, names)
    probe = keras.Model(model.inputs, [layers[n].output for n in names])
    outputs = probe(preprocess(images), training=False)
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    return {n: np.asarray(o) for n, o in zip(names, outputs)}

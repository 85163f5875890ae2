"""A small CNN with a global-average-pooling head for the synthetic shapes (Keras), so CAM
applies."""

from __future__ import annotations

import keras

from .. import saliency
from .activations import check_layers

BLOCKS = saliency.SHAPES_NET_BLOCKS  # the layers of ``shapes_net``, as in the other edition


def shapes_net(n_classes: int = 4, width: int = 16) -> keras.Model:
    """conv-BN-ReLU blocks (3x3, two 2x2 max-pools), then GAP and one dense layer; any picture size.

    Layer names (``conv1``, ``relu1``, ..., ``relu4``, ``gap``, ``fc``) are the same in the PyTorch
    edition, and so are BatchNorm's epsilon and momentum; ``relu4`` feeds the pooling, so it is the
    layer for CAM. A 64-pixel picture gives 16 x 16 maps there.
    """
    saliency.check_shapes_net(n_classes, width)
    inputs = keras.Input((None, None, 3))
    x = inputs
    for name, factor, pool in BLOCKS:
        x = keras.layers.Conv2D(
            factor * width, 3, padding="same", use_bias=False, name=f"conv{name}"
        )(x)
        x = keras.layers.BatchNormalization(epsilon=1e-5, momentum=0.9, name=f"bn{name}")(x)
        x = keras.layers.ReLU(name=f"relu{name}")(x)
        if pool:
            x = keras.layers.MaxPooling2D(2, name=f"pool{name}")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    return keras.Model(
        inputs, keras.layers.Dense(n_classes, name="fc", dtype="float32")(x), name="shapes_net"
    )


def randomise(model: keras.Model, names, seed: int = 0) -> keras.Model:
    """Re-initialise, in place, the weights of the named layers (the cascading sanity check)."""
    layers = check_layers(model, names)
    saliency.check_reinitialisable(
        [n for n, layer in layers.items() if not layer.weights], "weights"
    )
    keras.utils.set_random_seed(seed)
    for layer in layers.values():
        fresh = layer.__class__.from_config(layer.get_config())
        fresh.build(layer.input.shape)
        layer.set_weights(fresh.get_weights())
    return model

"""Transfer learning in Keras: backbone + new head, the four levels, cached features, DenseNet
anatomy."""

from __future__ import annotations

import re

import keras
import numpy as np
import pandas as pd

from .. import checks, data
from .. import transfer as core
from ..transfer import UNFREEZE_AT
from .backbones import count_params, mobilenet_v2, model_with_layers, preprocess
from .training import outputs


def new_head(n_classes: int, n_features: int = 1280, dropout: float = 0.2) -> keras.Sequential:
    """A fresh classifier head: dropout, then a dense layer from ``n_features`` to ``n_classes``
    logits."""
    checks.integer(n_classes, "n_classes", 1)
    checks.integer(n_features, "n_features", 1)
    checks.number(dropout, "dropout", 0, 1)
    return keras.Sequential(
        [
            keras.Input((n_features,)),
            keras.layers.Dropout(dropout),
            keras.layers.Dense(n_classes, name="logits", dtype="float32"),  # float32 logits
        ],
        name="head",
    )


def transfer_model(
    n_classes: int, pretrained: bool = True, dropout: float = 0.2, image_size: int = 96
) -> keras.Model:
    """MobileNetV2's trunk (``features``, ImageNet weights when ``pretrained``) -> ``pool`` ->
    ``head``.

    The ``head`` (dropout + dense, logits) is a model of its own, so it can also train on cached
    features.
    A frozen Keras BatchNorm layer (``trainable = False``) runs in inference mode, also inside
    ``fit``;
    trainable ones update their moving statistics as torchvision's do (see
    ``backbones.mobilenet_v2``).
    """
    checks.integer(n_classes, "n_classes", 1)
    trunk = mobilenet_v2(pretrained, image_size)
    features = keras.Model(trunk.inputs, trunk.get_layer("out_relu").output, name="features")
    head = new_head(n_classes, features.output.shape[-1], dropout)
    inputs = keras.Input((image_size, image_size, 3))
    pooled = keras.layers.GlobalAveragePooling2D(name="pool")(features(inputs))
    return keras.Model(inputs, head(pooled), name="transfer_mobilenet_v2")


def imagenet_classifier() -> keras.layers.Layer:
    """The pretrained 1000-class ImageNet head (level 1): pooled features in, ImageNet logits
    out."""
    return mobilenet_v2(image_size=32).get_layer("predictions")


def _transfer(model) -> keras.Model:
    return model_with_layers(model, {"features", "pool", "head"}, "a transfer_model(...)")


def _densenet(model) -> keras.Model:
    return model_with_layers(model, {"conv1_conv"}, "a Keras DenseNet (densenet(121))")


def block_index(layer_name: str) -> int:
    """torchvision's ``features`` block (0..18) that a Keras MobileNetV2 layer belongs to."""
    checks.text(layer_name, "layer_name")
    if match := re.match(r"block_(\d+)_", layer_name):
        return int(match.group(1)) + 1
    if layer_name.startswith("expanded_conv"):
        return 1
    if layer_name.startswith(("Conv1", "bn_Conv1")):
        return 0
    if layer_name in ("Conv_1", "Conv_1_bn", "out_relu"):
        return 18
    raise ValueError(f"{layer_name!r} is not a MobileNetV2 layer")


def set_level(
    model: keras.Model, level: int, unfreeze_at: int = UNFREEZE_AT, freeze_batchnorm: bool = False
) -> int:
    """Freeze for a transfer level and return the trainable parameter count; ``compile`` again
    afterwards.

    1: nothing trains; 2: the head only; 3: the head and trunk blocks ``unfreeze_at``...; 4:
    everything.
    ``freeze_batchnorm`` keeps every BatchNorm layer of the trunk frozen (``trainable = False``), so
    it
    runs in inference mode, also inside ``fit``: the fine-tuning recipe's setting.
    """
    _transfer(model)
    core.check_level(level, freeze_batchnorm)
    if not 0 <= checks.integer(unfreeze_at, "unfreeze_at") <= 18:
        raise ValueError(f"unfreeze_at must be a block index in 0..18, got {unfreeze_at}")
    features = model.get_layer("features")
    features.trainable = level >= 3  # a nested model's flag gates its layers' own flags
    for layer in features.layers[1:]:  # after the InputLayer
        layer.trainable = level == 4 or (level == 3 and block_index(layer.name) >= unfreeze_at)
        if freeze_batchnorm and isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False
    model.get_layer("head").trainable = level >= 2
    return count_params(model, trainable_only=True)


def extract_features(model: keras.Model, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Pooled trunk features (float32 N x D) of uint8 NHWC images, in inference mode: compute once,
    reuse."""
    _transfer(model)
    images = checks.images(images)
    checks.integer(batch_size, "batch_size", 1)
    embed = keras.Model(model.inputs, model.get_layer("pool").output)
    return outputs(embed, images, batch_size, preprocess)  # a prefetching tf.data pipeline


def replace_classifier(model: keras.Model, n_classes: int) -> keras.Model:
    """A model whose last dense layer (a ``keras.applications`` classifier) is replaced for
    ``n_classes``."""
    checks.instance(model, keras.Model, "model", "a keras.applications classifier")
    checks.integer(n_classes, "n_classes", 1)
    last = model.layers[-1]
    if not isinstance(last, keras.layers.Dense):
        raise ValueError(
            f"{model.name} does not end in a Dense layer (it ends in {type(last).__name__})"
        )
    return keras.Model(
        model.inputs,
        keras.layers.Dense(n_classes, name="classifier", dtype="float32")(last.input),
        name=f"{model.name}_{n_classes}",
    )


def densenet(
    depth: int = 121, pretrained: bool = False, include_top: bool = True, image_size: int = 224
) -> keras.Model:
    """``keras.applications`` DenseNet-``depth`` (121, 169 or 201), without weights unless
    ``pretrained``.

    ``pretrained`` loads Keras's own ImageNet weights file, downloaded once through the
    companion's verified downloader (``companion.data.keras_densenet_weights``: checksum, retry,
    resume, ``$COMPANION_MIRROR``): online only, or from a mirror.
    """
    builders = {
        121: keras.applications.DenseNet121,
        169: keras.applications.DenseNet169,
        201: keras.applications.DenseNet201,
    }
    core.check_densenet(depth, pretrained)
    if not include_top:
        checks.integer(image_size, "image_size", 32)
    weights = str(data.keras_densenet_weights(depth, include_top)) if pretrained else None
    if include_top:
        return builders[depth](weights=weights)
    return builders[depth](
        weights=weights, include_top=False, input_shape=(image_size, image_size, 3)
    )


def densenet_transfer(
    n_classes: int,
    depth: int = 121,
    pretrained: bool = True,
    dropout: float = 0.2,
    image_size: int = 224,
) -> keras.Model:
    """DenseNet's trunk (``features``, ImageNet weights when ``pretrained``: online only) ->
    ``pool``
    -> ``head``, laid out like ``transfer_model`` so ``extract_features`` and the head work the
    same."""
    checks.integer(n_classes, "n_classes", 1)
    trunk = densenet(depth, pretrained, include_top=False, image_size=image_size)
    features = keras.Model(trunk.inputs, trunk.output, name="features")
    head = new_head(n_classes, features.output.shape[-1], dropout)
    inputs = keras.Input((image_size, image_size, 3))
    pooled = keras.layers.GlobalAveragePooling2D(name="pool")(features(inputs))
    return keras.Model(inputs, head(pooled), name=f"transfer_densenet{depth}")


def _block_layers(model: keras.Model, block: int) -> list[str]:
    """Names of the layers' first BatchNorm in dense block ``block`` (1-based; Keras names it
    conv{block+1})."""
    _densenet(model)
    checks.integer(block, "block")
    names = [
        layer.name
        for layer in model.layers
        if re.fullmatch(rf"conv{block + 1}_block\d+_0_bn", layer.name)
    ]
    if not names:
        raise ValueError(f"block must be in 1..4 (a DenseNet's dense blocks), got {block}")
    return names


def dense_block_inputs(model: keras.Model, block: int) -> list[int]:
    """How many earlier outputs each layer of dense block ``block`` (1-based) concatenates, read off
    its shapes."""
    channels = [model.get_layer(n).input.shape[-1] for n in _block_layers(model, block)]
    growth = model.get_layer(f"conv{block + 1}_block1_2_conv").output.shape[-1]
    return [(c - channels[0]) // growth + 1 for c in channels]


def layer_channels(model: keras.Model, block: int) -> list[int]:
    """Channels of the concatenated feature map after each layer of dense block ``block``
    (1-based)."""
    return [
        model.get_layer(n.replace("_0_bn", "_concat")).output.shape[-1]
        for n in _block_layers(model, block)
    ]


def block_connections(model: keras.Model, block: int) -> int:
    """Direct connections in dense block ``block``, counted from the built model (compare
    ``dense_connections``)."""
    return sum(dense_block_inputs(model, block))


def densenet_anatomy(model: keras.Model) -> pd.DataFrame:
    """One row per stage of a Keras DenseNet: layers, output channels, connections."""
    _densenet(model)
    rows = [
        {
            "stage": "stem (conv0 + pool0)",
            "layers": 1,
            "channels": model.get_layer("pool1").output.shape[-1],
            "connections": 0,
        }
    ]
    block = 1
    while any(layer.name.startswith(f"conv{block + 1}_block1_") for layer in model.layers):
        rows.append(
            {
                "stage": f"denseblock{block}",
                "layers": len(_block_layers(model, block)),
                "channels": layer_channels(model, block)[-1],
                "connections": block_connections(model, block),
            }
        )
        if f"pool{block + 1}_conv" in [layer.name for layer in model.layers]:
            rows.append(
                {
                    "stage": f"transition{block}",
                    "layers": 1,
                    "channels": model.get_layer(f"pool{block + 1}_pool").output.shape[-1],
                    "connections": 0,
                }
            )
        block += 1
    return pd.DataFrame(rows).set_index("stage")


def parameter_counts() -> dict[str, int]:
    """Parameters of DenseNet121, DenseNet169, ResNet50 and MobileNetV2 (``keras.applications``, no
    weights)."""
    builders = {
        "DenseNet121": keras.applications.DenseNet121,
        "DenseNet169": keras.applications.DenseNet169,
        "ResNet50": keras.applications.ResNet50,
        "MobileNetV2": keras.applications.MobileNetV2,
    }
    return {name: count_params(build(weights=None)) for name, build in builders.items()}

"""ImageNet MobileNetV2 for Keras, with weights ported from torchvision's checkpoint."""

from __future__ import annotations

from collections import defaultdict

import keras
import numpy as np
import tensorflow as tf

from .. import checks, files
from ..weights import verified_keras_port
from .training import outputs, to_float

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
TORCH_BN_EPSILON = 1e-5
TORCH_BN_MOMENTUM = 0.9  # Keras keeps this share of the moving statistics per step; torch 1 - 0.1


def _torch_config(layer):
    """Clone a layer with torch's conventions: BatchNorm epsilon 1e-5 and momentum 0.1, symmetric
    padding.

    With Keras' momentum (0.999 here) a short fine-tuning leaves the moving statistics at their
    start
    (ImageNet's, or 0 and 1 from scratch), and inference-mode predictions go wrong.
    """
    config = layer.get_config()
    if isinstance(layer, keras.layers.BatchNormalization):
        config["epsilon"] = TORCH_BN_EPSILON
        config["momentum"] = TORCH_BN_MOMENTUM
    elif isinstance(layer, keras.layers.ZeroPadding2D):
        config["padding"] = ((1, 1), (1, 1))
    elif layer.name == "Conv1":
        config["padding"] = "valid"
    elif layer.name == "predictions":
        config["dtype"] = "float32"  # float32 logits under a mixed-precision policy
    return layer.__class__.from_config(config)


def _torch_call(layer, *args, **kwargs):
    """Pad symmetrically in front of the first convolution, as torch's ``padding=1`` does."""
    if layer.name == "Conv1":
        return layer(keras.layers.ZeroPadding2D(1, name="Conv1_pad")(args[0]))
    return layer(*args, **kwargs)


def mobilenet_v2(pretrained: bool = True, image_size: int = 224) -> keras.Model:
    """keras.applications.MobileNetV2 returning logits, with the ImageNet weights when
    ``pretrained``.

    Keras pads stride-2 convolutions asymmetrically and uses other BatchNorm constants; the clone
    computes what torchvision computes, so the ported weights give torch's outputs.
    """
    if not isinstance(pretrained, bool):
        raise TypeError(f"pretrained must be True or False, got {checks.describe(pretrained)}")
    checks.integer(image_size, "image_size", 32)
    keras_model = keras.applications.MobileNetV2(
        input_shape=(image_size, image_size, 3), weights=None, classifier_activation=None
    )
    model = keras.models.clone_model(
        keras_model, clone_function=_torch_config, call_function=_torch_call
    )
    if pretrained:
        model.load_weights(verified_keras_port())  # missing or corrupt: named, with the fix
    return model


def preprocess(images) -> tf.Tensor:
    """uint8 N x H x W x C pictures (array or tensor) -> normalised float N x H x W x 3.

    torchvision's normalisation, since the weights come from there; usable inside ``tf.data``.
    """
    x = to_float(images)
    if x.shape[-1] not in (None, 1, 3, 4):
        raise ValueError(f"images: expected 1, 3 or 4 channels, got shape {tuple(x.shape)}")
    if x.shape[-1] == 4:
        x = x[..., :3]  # alpha dropped, as companion.images.to_rgb_batch does
    if x.shape[-1] == 1:
        x = tf.image.grayscale_to_rgb(x)
    return (x - tf.constant(MEAN)) / tf.constant(STD)


def model_with_layers(model, names: set[str], expected: str) -> keras.Model:
    """``model`` if it is a keras.Model with layers of all these ``names``; else a TypeError that
    says the ``expected`` kind of model."""
    if not isinstance(names, (set, frozenset)) or not all(isinstance(n, str) for n in names):
        raise TypeError(f"names: expected a set of layer names, got {checks.describe(names)}")
    have = {layer.name for layer in model.layers} if isinstance(model, keras.Model) else set()
    if not names <= have:
        raise TypeError(f"model: expected {expected}, got {checks.describe(model)}")
    return model


def _mobilenet(model) -> keras.Model:
    return model_with_layers(model, {"out_relu"}, "a MobileNetV2 (mobilenet_v2())")


def feature_extractor(model: keras.Model) -> keras.Model:
    """The convolutional trunk: N x H x W x 3 -> N x H/32 x W/32 x 1280 feature maps."""
    _mobilenet(model)
    return keras.Model(
        model.inputs, model.get_layer("out_relu").output, name="mobilenet_v2_features"
    )


def predict_proba(model: keras.Model, images: np.ndarray, batch_size: int = 32) -> np.ndarray:
    """Softmax class probabilities (float32 N x classes) for uint8 NHWC images, in inference
    mode."""
    checks.instance(model, keras.Model, "model", "a keras.Model")
    images = checks.images(images)
    checks.integer(batch_size, "batch_size", 1)
    return outputs(
        lambda x: tf.nn.softmax(tf.cast(model(x, training=False), tf.float32)),
        images,
        batch_size,
        preprocess,
    )


def count_params(model: keras.Model, trainable_only: bool = False) -> int:
    """Number of (trainable) parameters; like torch, BatchNorm moving statistics are not
    parameters."""
    checks.instance(model, keras.layers.Layer, "model", "a keras.Model or layer")
    weights = (
        model.trainable_weights
        if trainable_only
        else [w for w in model.weights if not w.path.endswith(("moving_mean", "moving_variance"))]
    )
    return int(sum(np.prod(w.shape) for w in weights))


def port_mobilenet_v2(npz_path, out_path) -> None:
    """Load weights exported by ``companion.torch.backbones.export_mobilenet_v2`` and save them."""
    fix = "run `python -m companion assets`, which exports it first"
    npz_path = checks.existing_file(npz_path, "npz_path", fix)
    if not str(checks.path(out_path, "out_path")).endswith(".weights.h5"):
        raise ValueError(f"out_path: expected a path ending in .weights.h5, got {out_path}")
    try:
        arrays = np.load(npz_path)
        keys = arrays.files  # reads the zip's index: a truncated file fails here
    except Exception as err:  # not a zip, truncated: numpy raises several kinds
        raise ValueError(
            checks.file_error(
                npz_path, f"is not a readable .npz ({type(err).__name__})", f"delete it and {fix}"
            )
        ) from None
    grouped = defaultdict(dict)
    for key in keys:
        layer, j = key.split("_")
        grouped[int(layer)][int(j)] = arrays[key]
    model = mobilenet_v2(pretrained=False)
    layers = [layer for layer in model.layers if layer.weights]
    if len(layers) != len(grouped):
        raise ValueError(
            f"torch export has {len(grouped)} layers with weights, Keras MobileNetV2 has "
            f"{len(layers)}"
        )
    for i, layer in enumerate(layers):
        new = [grouped[i][j] for j in sorted(grouped[i])]
        old = layer.get_weights()
        if [w.shape for w in new] != [w.shape for w in old]:
            raise ValueError(
                f"layer {layer.name}: shapes {[w.shape for w in new]} != {[w.shape for w in old]}"
            )
        layer.set_weights(new)
    files.atomic_write(out_path, model.save_weights, "Keras weights")


def block_layer_name(model: keras.Model, block: int) -> str:
    """The Keras layer that ends torchvision's ``features[block]`` (0 = stem ... 18 = last 1x1
    conv)."""
    _mobilenet(model)
    if not 0 <= checks.integer(block, "block") <= 18:
        raise ValueError(f"block must be in 0..18, got {block}")
    if block in (0, 18):
        return {0: "Conv1_relu", 18: "out_relu"}[block]
    prefix = "expanded_conv" if block == 1 else f"block_{block - 1}"
    names = {layer.name for layer in model.layers}
    return f"{prefix}_add" if f"{prefix}_add" in names else f"{prefix}_project_BN"


def block_output(
    model: keras.Model, images: np.ndarray, block: int, batch_size: int | None = None
) -> np.ndarray:
    """Feature maps after MobileNetV2 block ``block`` (0 = stem ... 18 = last 1x1 conv), float32
    NHWC, in batches of ``batch_size`` (default: all images in one)."""
    layer = model.get_layer(block_layer_name(model, block))
    images = checks.images(images)
    size = len(images) if batch_size is None else checks.integer(batch_size, "batch_size", 1)
    return outputs(keras.Model(model.inputs, layer.output), images, size, preprocess)

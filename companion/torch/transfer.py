"""Transfer learning in PyTorch: backbone + new head, the four levels, cached features, DenseNet
anatomy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from torch import nn
from torchvision import models

from .. import checks
from .. import transfer as core
from ..transfer import UNFREEZE_AT
from .backbones import count_params, mobilenet_v2, preprocess
from . import training
from .training import freeze_frozen_batchnorm


def new_head(n_classes: int, n_features: int = 1280, dropout: float = 0.2) -> nn.Sequential:
    """A fresh classifier head: dropout, then a linear layer from ``n_features`` to ``n_classes``
    logits."""
    checks.integer(n_classes, "n_classes", 1)
    checks.integer(n_features, "n_features", 1)
    checks.number(dropout, "dropout", 0, 1)
    return nn.Sequential(nn.Dropout(dropout), nn.Linear(n_features, n_classes))


class TransferNet(nn.Module):
    """``features`` (a pretrained trunk) -> global average pool -> ``head`` (dropout + linear).

    In training mode, BatchNorm layers whose parameters are all frozen stay in eval mode, so a
    frozen
    part keeps its running statistics (as Keras does for frozen BatchNorm layers).
    """

    def __init__(self, features: nn.Module, n_features: int, n_classes: int, dropout: float = 0.2):
        checks.instance(features, nn.Module, "features", "a torch.nn.Module (a pretrained trunk)")
        super().__init__()
        self.features = features
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = new_head(n_classes, n_features, dropout)

    def forward(self, x):
        return self.head(self.pool(self.features(x)))

    def train(self, mode: bool = True):
        super().train(mode)
        return freeze_frozen_batchnorm(self)


def transfer_model(n_classes: int, pretrained: bool = True, dropout: float = 0.2) -> TransferNet:
    """MobileNetV2's trunk (ImageNet weights when ``pretrained``) with a new head for
    ``n_classes``."""
    checks.integer(n_classes, "n_classes", 1)
    trunk = mobilenet_v2(pretrained)
    return TransferNet(trunk.features, trunk.last_channel, n_classes, dropout)


def imagenet_classifier() -> nn.Module:
    """The pretrained 1000-class ImageNet head (level 1): pooled features in, ImageNet logits
    out."""
    return mobilenet_v2().classifier.eval()


def set_level(
    model: TransferNet, level: int, unfreeze_at: int = UNFREEZE_AT, freeze_batchnorm: bool = False
) -> int:
    """Freeze for a transfer level and return the trainable parameter count.

    1: nothing trains; 2: the head only; 3: the head and trunk blocks ``unfreeze_at``...; 4:
    everything.
    ``freeze_batchnorm`` keeps every BatchNorm layer of the trunk frozen (scale, shift and running
    statistics): ``TransferNet.train`` then leaves them in eval mode, the fine-tuning recipe's
    setting.
    """
    checks.instance(model, TransferNet, "model", "a TransferNet (transfer_model(...))")
    core.check_level(level, freeze_batchnorm)
    if checks.integer(unfreeze_at, "unfreeze_at") < 0 or not 0 <= unfreeze_at < len(model.features):
        raise ValueError(
            f"unfreeze_at must be a block index in 0..{len(model.features) - 1}, got {unfreeze_at}"
        )
    for i, block in enumerate(model.features):
        block.requires_grad_(level == 4 or (level == 3 and i >= unfreeze_at))
    if freeze_batchnorm:
        for m in model.features.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.requires_grad_(False)
    model.head.requires_grad_(level >= 2)
    return count_params(model, trainable_only=True)


@torch.no_grad()
def extract_features(model: TransferNet, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Pooled trunk features (float32 N x D) of uint8 NHWC images, in eval mode: compute once,
    reuse. Computed on ``device()``; the model stays where it was."""
    checks.instance(model, TransferNet, "model", "a TransferNet (transfer_model(...))")
    images = checks.images(images)
    checks.integer(batch_size, "batch_size", 1)
    model.eval()
    return training.infer(
        model, lambda x: model.pool(model.features(x)), images, batch_size, preprocess
    )


def replace_classifier(model: nn.Module, n_classes: int) -> nn.Module:
    """Swap the last linear layer of a torchvision classifier (DenseNet, ResNet, MobileNet) for
    ``n_classes``."""
    checks.instance(model, nn.Module, "model", "a torchvision classifier")
    checks.integer(n_classes, "n_classes", 1)
    for name in ("classifier", "fc"):
        head = getattr(model, name, None)
        if isinstance(head, nn.Linear):
            setattr(model, name, nn.Linear(head.in_features, n_classes))
            return model
        if isinstance(head, nn.Sequential) and isinstance(head[-1], nn.Linear):
            head[-1] = nn.Linear(head[-1].in_features, n_classes)
            return model
    raise ValueError(f"{type(model).__name__} has no linear `classifier` or `fc` to replace")


def densenet(depth: int = 121, pretrained: bool = False) -> nn.Module:
    """torchvision's DenseNet-``depth`` (121, 169 or 201), without weights unless ``pretrained``.

    ``pretrained`` asks torchvision for its ImageNet weights enum
    (``DenseNet121_Weights.IMAGENET1K_V1``),
    which downloads them once: online only.
    """
    builders = {
        121: (models.densenet121, models.DenseNet121_Weights),
        169: (models.densenet169, models.DenseNet169_Weights),
        201: (models.densenet201, models.DenseNet201_Weights),
    }
    core.check_densenet(depth, pretrained)
    build, weights = builders[depth]
    return build(weights=weights.IMAGENET1K_V1 if pretrained else None)


def densenet_transfer(
    n_classes: int, depth: int = 121, pretrained: bool = True, dropout: float = 0.2
) -> TransferNet:
    """DenseNet's trunk (ImageNet weights when ``pretrained``: online only) with a new head.

    The trunk ends with the ReLU torchvision's ``DenseNet.forward`` applies before pooling, so the
    pooled features are those its own classifier reads.
    """
    checks.integer(n_classes, "n_classes", 1)
    net = densenet(depth, pretrained)
    return TransferNet(
        nn.Sequential(net.features, nn.ReLU()), net.classifier.in_features, n_classes, dropout
    )


def _blocks(model: nn.Module) -> list[nn.Module]:
    if not hasattr(getattr(model, "features", None), "conv0"):
        raise TypeError(
            f"model: expected a torchvision DenseNet (densenet(121)), got {checks.describe(model)}"
        )
    return [m for name, m in model.features.named_children() if name.startswith("denseblock")]


def dense_block_inputs(model: nn.Module, block: int) -> list[int]:
    """How many earlier outputs each layer of dense block ``block`` (1-based) concatenates, read off
    its weights."""
    blocks = _blocks(model)
    if not 1 <= checks.integer(block, "block") <= len(blocks):
        raise ValueError(f"block must be in 1..{len(blocks)}, got {block}")
    layers = list(blocks[block - 1].children())
    first, growth = layers[0].norm1.num_features, layers[0].conv2.out_channels
    return [(layer.norm1.num_features - first) // growth + 1 for layer in layers]


def layer_channels(model: nn.Module, block: int) -> list[int]:
    """Channels of the concatenated feature map after each layer of dense block ``block``
    (1-based)."""
    blocks = _blocks(model)
    if not 1 <= checks.integer(block, "block") <= len(blocks):
        raise ValueError(f"block must be in 1..{len(blocks)}, got {block}")
    return [
        layer.norm1.num_features + layer.conv2.out_channels
        for layer in blocks[block - 1].children()
    ]


def block_connections(model: nn.Module, block: int) -> int:
    """Direct connections in dense block ``block``, counted from the built model (compare
    ``dense_connections``)."""
    return sum(dense_block_inputs(model, block))


def densenet_anatomy(model: nn.Module) -> pd.DataFrame:
    """One row per stage of a torchvision DenseNet: layers, output channels, connections."""
    _blocks(model)
    rows, channels = [], model.features.conv0.out_channels
    rows.append(
        {"stage": "stem (conv0 + pool0)", "layers": 1, "channels": channels, "connections": 0}
    )
    for name, module in model.features.named_children():
        if name.startswith("denseblock"):
            layers = list(module.children())
            channels = layers[-1].norm1.num_features + layers[-1].conv2.out_channels
            rows.append(
                {
                    "stage": name,
                    "layers": len(layers),
                    "channels": channels,
                    "connections": block_connections(model, int(name[-1])),
                }
            )
        elif name.startswith("transition"):
            channels = module.conv.out_channels
            rows.append({"stage": name, "layers": 1, "channels": channels, "connections": 0})
    return pd.DataFrame(rows).set_index("stage")


def parameter_counts() -> dict[str, int]:
    """Parameters of DenseNet121, DenseNet169, ResNet50 and MobileNetV2 (torchvision, built without
    weights)."""
    builders = {
        "DenseNet121": models.densenet121,
        "DenseNet169": models.densenet169,
        "ResNet50": models.resnet50,
        "MobileNetV2": models.mobilenet_v2,
    }
    return {
        name: sum(p.numel() for p in build(weights=None).parameters())
        for name, build in builders.items()
    }

"""A small CNN with a global-average-pooling head for the synthetic shapes (PyTorch), so CAM
applies."""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from .. import saliency
from .activations import check_layers

BLOCKS = saliency.SHAPES_NET_BLOCKS  # the layers of ``shapes_net``, as in the other edition


def shapes_net(n_classes: int = 4, width: int = 16) -> nn.Sequential:
    """conv-BN-ReLU blocks (3x3, two 2x2 max-pools), then GAP and one linear layer.

    Layer names (``conv1``, ``relu1``, ..., ``relu4``, ``gap``, ``fc``) are the same in the Keras
    edition; ``relu4`` feeds the pooling, so it is the layer for CAM. A 64-pixel picture gives
    16 x 16 maps there.
    """
    saliency.check_shapes_net(n_classes, width)
    layers, channels = OrderedDict(), 3
    for name, factor, pool in BLOCKS:
        layers[f"conv{name}"] = nn.Conv2d(channels, factor * width, 3, padding=1, bias=False)
        layers[f"bn{name}"] = nn.BatchNorm2d(factor * width)
        layers[f"relu{name}"] = nn.ReLU()
        if pool:
            layers[f"pool{name}"] = nn.MaxPool2d(2)
        channels = factor * width
    layers["gap"] = nn.AdaptiveAvgPool2d(1)
    layers["flatten"] = nn.Flatten()
    layers["fc"] = nn.Linear(channels, n_classes)
    return nn.Sequential(layers)


def randomise(model: nn.Module, names, seed: int = 0) -> nn.Module:
    """Re-initialise, in place, the parameters of the named layers (the cascading sanity check)."""
    torch.manual_seed(seed)
    layers = check_layers(model, names)
    saliency.check_reinitialisable(
        [n for n, m in layers.items() if not hasattr(m, "reset_parameters")], "parameters"
    )
    for module in layers.values():
        module.reset_parameters()
    return model

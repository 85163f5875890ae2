"""A small CNN with a global-average-pooling head for the synthetic shapes (PyTorch), so CAM
applies."""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from .. import checks
from .activations import check_layers

# : the layers of ``shapes_net``: (name, output channels as a multiple of ``width``, max-pool after
# it)
BLOCKS = (("1", 1, True), ("2", 2, True), ("3", 4, False), ("4", 4, False))


def shapes_net(n_classes: int = 4, width: int = 16) -> nn.Sequential:
    """conv-BN-ReLU blocks (3x3, two 2x2 max-pools), then GAP and one linear layer.

    Layer names (``conv1``, ``relu1``, ..., ``relu4``, ``gap``, ``fc``) are the same in the Keras
    edition; ``relu4`` feeds the pooling, so it is the layer for CAM. A 64-pixel picture gives
    16 x 16 maps there.
    """
    if checks.integer(n_classes, "n_classes") < 2 or checks.integer(width, "width") < 1:
        raise ValueError(f"need n_classes >= 2 and width >= 1, got {n_classes}, {width}")
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
    fixed = [n for n, m in layers.items() if not hasattr(m, "reset_parameters")]
    if fixed:
        raise ValueError(
            f"layers {fixed} have no parameters to re-initialise: expected layers "
            "with weights (conv, bn, fc)"
        )
    for module in layers.values():
        module.reset_parameters()
    return model

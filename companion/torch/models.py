"""Small networks of Chapter 1 (PyTorch): stacked linear layers and a small CNN for 28 x 28
images."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import torch
from torch import nn

from ..conv import check_conv, check_small_cnn, check_stacked_linear, two_linear


def stacked_linear(
    n_in: int, n_hidden: int, n_out: int, relu: bool = False, seed: int = 0
) -> nn.Sequential:
    """Two linear layers, with a ReLU between them only if ``relu``."""
    check_stacked_linear(n_in, n_hidden, n_out)
    torch.manual_seed(seed)
    middle = [("relu", nn.ReLU())] if relu else []
    return nn.Sequential(
        OrderedDict(
            [("fc1", nn.Linear(n_in, n_hidden)), *middle, ("fc2", nn.Linear(n_hidden, n_out))]
        )
    )


def as_one_linear(model: nn.Sequential) -> tuple[np.ndarray, np.ndarray]:
    """Kernel W (n_in x n_out) and bias b with ``x @ W + b`` equal to the two linear layers'
    output."""
    layers = two_linear(list(model) if isinstance(model, nn.Sequential) else None)
    fc1, fc2 = (m.weight.detach().double().numpy() for m in layers)
    b1, b2 = (m.bias.detach().double().numpy() for m in layers)
    return (fc2 @ fc1).T, fc2 @ b1 + b2


def small_cnn(
    n_classes: int = 10, in_channels: int = 1, widths=(32, 64, 128), seed: int = 0
) -> nn.Sequential:
    """Blocks of 3x3 convolution (padding 1), BatchNorm, ReLU and 2x2 max pooling, then one linear
    layer.

    Layers are named ``conv1``, ``bn1``, ``relu1``, ``pool1``, ... and ``fc``, as in the Keras
    edition.
    For 28 x 28 inputs the three pools leave 3 x 3 maps.
    """
    widths = check_small_cnn(n_classes, in_channels, widths)
    torch.manual_seed(seed)
    layers, channels = [], in_channels
    for i, width in enumerate(widths, 1):
        layers += [
            (f"conv{i}", nn.Conv2d(channels, width, 3, padding=1, bias=False)),
            (f"bn{i}", nn.BatchNorm2d(width)),
            (f"relu{i}", nn.ReLU()),
            (f"pool{i}", nn.MaxPool2d(2)),
        ]
        channels = width
    side = 28 // 2 ** len(widths)
    layers += [("flatten", nn.Flatten()), ("fc", nn.Linear(channels * side * side, n_classes))]
    return nn.Sequential(OrderedDict(layers))


def conv2d(x, w, b=None, stride: int = 1, padding: int = 0) -> np.ndarray:
    """``torch.nn.functional.conv2d`` on numpy NHWC images and a KH x KW x C_in x C_out kernel."""
    x, w = check_conv(x, w, b, stride, padding)  # the numpy reference's checks: same errors
    x, w = x.astype(np.float32), w.astype(np.float32)
    out = nn.functional.conv2d(
        torch.from_numpy(x).permute(0, 3, 1, 2),
        torch.from_numpy(w).permute(3, 2, 0, 1),
        None if b is None else torch.as_tensor(b, dtype=torch.float32),
        stride=stride,
        padding=padding,
    )
    return out.permute(0, 2, 3, 1).numpy()

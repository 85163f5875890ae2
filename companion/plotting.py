"""Figures shared by the chapters (matplotlib, framework-free).

Functions return a ``matplotlib.figure.Figure`` that pyplot does not manage: a notebook shows it
once by ending a cell with it, and nothing piles up in pyplot's figure list.
"""
from __future__ import annotations

import math

import numpy as np
from matplotlib.figure import Figure


def _grid(n: int, ncols: int, size: float):
    ncols = min(ncols, n)
    nrows = math.ceil(n / ncols)
    fig = Figure(figsize=(size * ncols, size * nrows), layout="tight")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    return fig, axes.flat


def show_images(images, titles=None, ncols: int = 8, size: float = 2.0, cmap="gray"):
    """A grid of uint8 NHWC pictures (or float 2-D maps), optionally titled."""
    fig, axes = _grid(len(images), ncols, size)
    for i, (ax, image) in enumerate(zip(axes, images)):
        image = np.asarray(image)
        ax.imshow(image.squeeze(-1) if image.ndim == 3 and image.shape[-1] == 1 else image, cmap=cmap)
        if titles is not None:
            ax.set_title(str(titles[i]), fontsize=9)
    return fig


def show_feature_maps(maps: np.ndarray, n: int = 16, ncols: int = 8, size: float = 1.5, title=None):
    """The first ``n`` channels of one H x W x C feature map, each scaled to its own range."""
    maps = np.asarray(maps)
    if maps.ndim != 3:
        raise ValueError(f"expected one H x W x C feature map, got shape {maps.shape}")
    n = min(n, maps.shape[-1])
    fig = show_images([maps[..., c] for c in range(n)], [f"ch {c}" for c in range(n)], ncols, size, "viridis")
    if title:
        fig.suptitle(title)
    return fig

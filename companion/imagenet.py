"""The 1000 ImageNet class names (torchvision's spelling), shipped as a text file: no framework
needed."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import numpy as np


@lru_cache(maxsize=1)
def imagenet_classes() -> list[str]:
    """Class names indexed like the outputs of the ImageNet backbones."""
    text = resources.files("companion.data").joinpath("imagenet_classes.txt").read_text()
    return text.splitlines()


def top_k(probabilities: np.ndarray, k: int = 5) -> list[list[tuple[str, float]]]:
    """For each row of class probabilities, the ``k`` most likely ``(class name, probability)``."""
    from .checks import array, integer

    probabilities = array(
        probabilities, "probabilities", 2, "N x 1000 ImageNet probabilities", finite=True
    )
    integer(k, "k", 1, 1001)
    if probabilities.shape[1] != 1000:
        raise ValueError(
            f"expected N x 1000 ImageNet probabilities, got shape {probabilities.shape}"
        )
    names = imagenet_classes()
    order = np.argsort(-probabilities, axis=1)[:, :k]
    return [[(names[i], float(row[i])) for i in idx] for row, idx in zip(probabilities, order)]

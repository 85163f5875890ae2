"""The article's toy recogniser: tiny "person" and "dog" images and a search over +-1 weights.

A neuron's response is the dot product of its weights with the (mean-subtracted) image; among all
weight vectors with entries -1 or +1, the one that fires hardest has the sign pattern of the image.
"""

from __future__ import annotations

import itertools

import numpy as np

from . import checks

# Grey levels 0..255; the patterns follow the article (after removing the mean, "person" 2x2 is
# [[-, +], [+, -]] and "dog" 2x2 is [[+, -], [-, +]]).
TOY_IMAGES = {
    "person 2x2": np.array([[40, 210], [190, 30]]),
    "dog 2x2": np.array([[200, 50], [60, 220]]),
    "person 3x3": np.array([[20, 230, 30], [200, 220, 190], [210, 20, 200]]),
    "dog 3x3": np.array([[220, 30, 210], [190, 200, 180], [40, 210, 30]]),
}


def center(image) -> np.ndarray:
    """The image as floats minus its mean brightness (the article's preprocessing)."""
    image = checks.array(image, "image", 2, "an H x W grey image", np.float64, finite=True)
    return image - image.mean()


def sign_weights(n: int) -> np.ndarray:
    """All 2**n weight vectors with entries -1 or +1, one per row."""
    if checks.integer(n, "n (the number of weights)") < 1 or n > 16:
        raise ValueError(f"expected 1 <= n <= 16 weights, got {n}")
    return np.array(list(itertools.product((-1, 1), repeat=n)), dtype=np.float64)


def best_weights(image) -> tuple[np.ndarray, np.ndarray]:
    """Search every +-1 weight vector: the one with the largest response, reshaped like the image,
    and the responses of all candidates (in ``sign_weights`` order)."""
    x = center(image)
    if x.size > 16:
        raise ValueError(
            f"image: expected at most 16 pixels (2**16 candidates), got shape {x.shape}"
        )
    candidates = sign_weights(x.size)
    responses = candidates @ x.ravel()
    return candidates[responses.argmax()].reshape(x.shape), responses


def responses_table(images: dict = TOY_IMAGES) -> dict:
    """Response of each image's best weights (rows) to every image (columns), for same-sized
    images."""
    if not isinstance(images, dict) or not images:
        raise TypeError(
            f"images: expected a non-empty dict {{name: H x W image}}, got "
            f"{checks.describe(images)}"
        )
    best = {name: best_weights(image)[0] for name, image in images.items()}
    return {
        row: {
            col: float((w * center(img)).sum())
            for col, img in images.items()
            if img.shape == w.shape
        }
        for row, w in best.items()
    }

"""From a saliency map to a mask, contours and a box, and ways to compare maps (framework-free).

Maps are float arrays: one H x W map or a batch N x H x W. The CAM methods of
``companion.torch.cam``
and ``companion.tf.cam`` return maps at the resolution of the layer they look at; these helpers
normalise them, bring them to the picture's size, threshold them (a fraction of the maximum, or
Otsu's method) and draw the results on the picture with OpenCV.
"""

from __future__ import annotations

import cv2
import numpy as np
from scipy.stats import spearmanr

from . import checks


def target_classes(classes, n_images: int, n_classes: int):
    """Class index per image as an int64 array, or ``None`` for each image's top class.

    ``classes`` is ``None``, one index for every image, or a sequence of ``n_images`` indices.
    """
    if classes is None:
        return None
    checks.integer(n_images, "n_images", 1)
    checks.integer(n_classes, "n_classes", 1)
    classes = np.full(n_images, classes) if np.ndim(classes) == 0 else np.asarray(classes)
    if classes.shape != (n_images,) or not np.issubdtype(classes.dtype, np.integer):
        raise ValueError(f"expected one class index or {n_images} of them, got {classes!r}")
    if classes.min() < 0 or classes.max() >= n_classes:
        raise ValueError(f"class indices must be in [0, {n_classes}), got {classes.tolist()}")
    return classes.astype(np.int64)


def _batch(maps, name: str = "maps") -> np.ndarray:
    return checks.maps(maps, name)  # NaN is refused: it would make every comparison False


def _single(a, what: str = "map") -> np.ndarray:
    return checks.array(a, what, 2, f"one H x W {what}", finite=True)


def normalise(maps) -> np.ndarray:
    """Negative values cut to 0, then each map divided by its maximum (all-zero maps stay 0)."""
    maps = np.maximum(_batch(maps), 0)
    peak = maps.max(axis=(1, 2), keepdims=True)
    return np.divide(maps, peak, out=np.zeros_like(maps), where=peak > 0)


def resize(maps, size) -> np.ndarray:
    """Maps resized bilinearly to ``size`` (an int for square, or ``(height, width)``)."""
    maps = _batch(maps)
    h, w = (size, size) if np.isscalar(size) else tuple(size) if np.shape(size) == (2,) else (0, 0)
    checks.integer(h, "size (height)", 1)
    checks.integer(w, "size (width)", 1)
    return np.stack([cv2.resize(m, (int(w), int(h)), interpolation=cv2.INTER_LINEAR) for m in maps])


def to_mask(saliency, threshold=0.15) -> np.ndarray:
    """Boolean mask of one map: values >= ``threshold`` x its maximum, or Otsu's threshold
    (``"otsu"``)."""
    saliency = np.maximum(_single(saliency).astype(np.float32), 0)
    if not (isinstance(threshold, str) and threshold == "otsu") and (
        isinstance(threshold, bool)
        or not isinstance(threshold, (int, float))
        or not 0 < threshold <= 1
    ):
        raise ValueError(f"threshold must be a fraction in (0, 1] or 'otsu', got {threshold!r}")
    peak = saliency.max()
    if peak <= 0:
        return np.zeros(saliency.shape, bool)
    if threshold == "otsu":
        grey = np.round(255 * saliency / peak).astype(np.uint8)
        _, mask = cv2.threshold(grey, 0, 1, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
        return mask.astype(bool)
    return saliency >= threshold * peak


def contours(mask) -> list[np.ndarray]:
    """Outer contours of a boolean mask (``cv2.findContours``), each K x 1 x 2 (x, y) points."""
    mask = _single(mask, "mask").astype(bool).astype(np.uint8)
    found, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    return list(found)


def largest_box(mask) -> np.ndarray:
    """Box ``(x0, y0, x1, y1)`` (end exclusive) of the largest 8-connected component; zeros if
    empty."""
    mask = _single(mask, "mask").astype(bool).astype(np.uint8)
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if n < 2:
        return np.zeros(4, np.int64)
    x, y, w, h, _ = stats[1 + np.argmax(stats[1:, cv2.CC_STAT_AREA])]
    return np.array([x, y, x + w, y + h], np.int64)


def boxes_from_maps(maps, size, threshold=0.15) -> np.ndarray:
    """N x 4 boxes: each map resized to ``size``, thresholded, and its largest component boxed."""
    return np.stack([largest_box(to_mask(m, threshold)) for m in resize(maps, size)])


def rank_correlation(a, b) -> np.ndarray:
    """Spearman rank correlation of each pair of maps ``a[i]``, ``b[i]`` (over all pixels)."""
    a, b = _batch(a, "a"), _batch(b, "b")
    if a.shape != b.shape:
        raise ValueError(f"expected two batches of maps of one shape, got {a.shape} and {b.shape}")
    return np.array([spearmanr(x.ravel(), y.ravel()).statistic for x, y in zip(a, b)])


def heatmap(saliency, image_size=None) -> np.ndarray:
    """One map as a uint8 H x W x 3 RGB picture in the viridis colour map, dark purple (low) to
    yellow (high), which readers with colour-vision deficiency read too (normalised, optionally
    resized)."""
    saliency = normalise(_single(saliency)[None])
    if image_size is not None:
        saliency = resize(saliency, image_size)
    coloured = cv2.applyColorMap(np.round(255 * saliency[0]).astype(np.uint8), cv2.COLORMAP_VIRIDIS)
    return cv2.cvtColor(coloured, cv2.COLOR_BGR2RGB)


def overlay(image, saliency, alpha: float = 0.5) -> np.ndarray:
    """A uint8 RGB picture with the map, resized to it and coloured, blended on top (float
    pictures in [0, 1] or [0, 255] are converted to uint8 first)."""
    image = _picture(image)
    checks.number(alpha, "alpha", 0, 1)
    return cv2.addWeighted(image, 1 - alpha, heatmap(saliency, image.shape[:2]), alpha, 0)


def _picture(image) -> np.ndarray:
    image = checks.array(image, "image", 3, "an H x W x 3 picture")
    if image.shape[2] != 3:
        raise ValueError(f"image: expected an H x W x 3 RGB picture, got shape {image.shape}")
    return checks.to_uint8(image, "image")


def draw_localisation(image, mask=None, box=None, truth=None) -> np.ndarray:
    """A copy of the picture with the mask's contours (yellow), a box (red) and a true box (green).

    Float pictures in [0, 1] or [0, 255] are converted to uint8 first.
    """
    image = np.ascontiguousarray(_picture(image).copy())
    for b, name in ((box, "box"), (truth, "truth")):
        if b is not None:
            checks.array(b, name, 1, "a box (x0, y0, x1, y1)", finite=True)
            if np.shape(b) != (4,):
                raise ValueError(
                    f"{name}: expected a box (x0, y0, x1, y1), got shape {np.shape(b)}"
                )
    if mask is not None and np.shape(mask) != image.shape[:2]:
        raise ValueError(
            f"mask: expected an H x W mask of the picture's size {image.shape[:2]}, "
            f"got shape {np.shape(mask)}"
        )
    thickness = max(1, round(min(image.shape[:2]) / 112))  # 1 pixel on small pictures, 2 at 224
    if mask is not None:
        cv2.drawContours(image, contours(mask), -1, (255, 255, 0), thickness)
    for b, colour in ((box, (255, 0, 0)), (truth, (0, 255, 0))):
        if b is not None:
            x0, y0, x1, y1 = (int(v) for v in b)
            cv2.rectangle(image, (x0, y0), (x1 - 1, y1 - 1), colour, thickness)
    return image


def to_picture(arrays, centre: bool = False) -> np.ndarray:
    """Float N x H x W x C arrays (input gradients, filter patterns) as uint8 pictures.

    Each array is divided by 3 standard deviations and mapped so that 0 (or, with ``centre``, its
    mean) is mid-grey; values beyond +-3 std are clipped.
    """
    a = checks.array(arrays, "arrays", 4, "N x H x W x C arrays", dtype=np.float32, finite=True)
    if centre:
        a = a - a.mean(axis=(1, 2, 3), keepdims=True)
    std = a.std(axis=(1, 2, 3), keepdims=True)
    a = np.divide(a, 3 * std, out=np.zeros_like(a), where=std > 0)
    return np.round(255 * np.clip(0.5 + 0.5 * a, 0, 1)).astype(np.uint8)


def gradient_magnitude(gradients) -> np.ndarray:
    """Input gradients N x H x W x C -> N x H x W maps: the largest absolute value over channels."""
    g = checks.array(
        gradients, "gradients", 4, "N x H x W x C gradients", dtype=np.float32, finite=True
    )
    return np.abs(g).max(axis=-1)


# --- the checks of both editions' CAM methods and shapes_net (companion.<edition>.cam) ---------
def check_preprocess(preprocess):
    """``preprocess`` if it is callable: the function that turns the images into model input."""
    if not callable(preprocess):
        raise TypeError(
            f"preprocess: expected a function of the images, got {checks.describe(preprocess)}"
        )
    return preprocess


def check_cam_layer(layer: str, shape, layout: str, suggest) -> None:
    """A CAM needs maps: a layer with 4-D outputs (``layout``, such as ``N x C x h x w``);
    ``suggest()`` names the model's convolutional layers (called only to say what would do)."""
    if len(shape) != 4:
        raise ValueError(
            f"layer {layer!r} gives outputs of shape {tuple(shape)}: "
            f"expected a convolutional layer with {layout} maps, e.g. {', '.join(suggest()[-6:])}"
        )


def cam_classifier(linear: list, kind: str):
    """The last of the model's linear layers ``linear`` (a ``kind``, Linear or Dense): CAM weighs
    the channels by its weights."""
    if not linear:
        raise ValueError(
            f"CAM needs a model that ends in global average pooling and a {kind} layer"
        )
    return linear[-1]


def check_cam_channels(layer: str, channels: int, classifier_inputs: int) -> None:
    """CAM's layer feeds the pooling: its channels are the classifier's inputs."""
    if classifier_inputs != channels:
        raise ValueError(
            f"layer {layer!r} has {channels} channels but the classifier "
            f"takes {classifier_inputs}: CAM needs the layer right before pooling"
        )


def filter_request(layer: str, filters, size: int, steps: int, jitter: int) -> list[int]:
    """The arguments of ``filter_pattern``: a layer name and at least one filter index (as a list
    of ints); pictures of at least 8 pixels, no negative step count or jitter."""
    filters = [checks.integer(f, "filters") for f in np.atleast_1d(filters).tolist()]
    if not filters:
        raise ValueError("filters: expected at least one filter index")
    checks.integer(size, "size", 8)
    checks.integer(steps, "steps", 0)
    checks.integer(jitter, "jitter", 0)
    checks.text(layer, "layer")
    return filters


def check_filters(layer: str, filters: list[int], channels: int) -> None:
    """Filter indices in ``[0, channels)``, the layer's output channels."""
    if min(filters) < 0 or max(filters) >= channels:
        raise ValueError(f"layer {layer!r} has {channels} filters, got indices {filters}")


#: the layers of ``shapes_net`` in both editions: (name, output channels as a multiple of
#: ``width``, max-pool after it)
SHAPES_NET_BLOCKS = (("1", 1, True), ("2", 2, True), ("3", 4, False), ("4", 4, False))


def check_shapes_net(n_classes: int, width: int) -> None:
    """Arguments of ``shapes_net``: at least 2 classes and a width of 1 or more."""
    if checks.integer(n_classes, "n_classes") < 2 or checks.integer(width, "width") < 1:
        raise ValueError(f"need n_classes >= 2 and width >= 1, got {n_classes}, {width}")


def check_reinitialisable(fixed: list, what: str) -> None:
    """``randomise`` re-initialises layers with weights: ``fixed`` names those without ``what``
    (parameters, weights) to re-initialise."""
    if fixed:
        raise ValueError(
            f"layers {fixed} have no {what} to re-initialise: expected layers with "
            "weights (conv, bn, fc)"
        )

"""Framework-free image helpers: the resizing both editions share, so their inputs are identical."""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from . import checks


def _pil_array(image: Image.Image) -> np.ndarray:
    """A PIL image's pixels: 16-bit and float modes as they are (``to_uint8`` scales them), the
    rest through RGB."""
    if image.mode.startswith("I;16") or image.mode in ("I", "F"):
        a = np.asarray(image)
        if image.mode == "I" and a.size and (a.min() < 0 or a.max() > 65535):
            raise ValueError(
                f"expected 8- or 16-bit pixels, got 32-bit values {a.min()}..{a.max()}"
            )
        return a.astype(np.uint16) if image.mode == "I" else a
    return np.asarray(image.convert("RGB"))


def as_rgb_uint8(image) -> np.ndarray:
    """An H x W x 3 uint8 copy of a PIL image or an array (grey images get three equal channels).

    16-bit pixels are scaled by 255 / 65535, float pixels in [0, 1] by 255 (in [0, 255] rounded);
    an alpha channel is dropped.
    """
    if isinstance(image, Image.Image):
        array = _pil_array(image)
    else:
        array = checks.array(image, "picture", what="an H x W x C picture", empty=True)
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3 or array.shape[2] not in (1, 3, 4) or 0 in array.shape:
        raise ValueError(f"expected an H x W x C picture (C = 1, 3 or 4), got shape {array.shape}")
    array = checks.to_uint8(array, "picture")
    if array.shape[2] == 1:
        array = np.repeat(array, 3, axis=2)
    return np.ascontiguousarray(array[..., :3])


def center_crop_resize(image, size: int, crop_fraction: float = 224 / 256) -> np.ndarray:
    """ImageNet-style evaluation view: resize the short side to ``size / crop_fraction``, crop
    ``size``."""
    checks.integer(size, "size", 1)
    checks.number(crop_fraction, "crop_fraction", 1e-3, 1)
    image = Image.fromarray(as_rgb_uint8(image))
    short = round(size / crop_fraction)
    w, h = image.size
    scale = short / min(w, h)
    image = image.resize(
        (max(short, round(w * scale)), max(short, round(h * scale))), Image.BILINEAR
    )
    w, h = image.size
    left, top = (w - size) // 2, (h - size) // 2
    return np.asarray(image.crop((left, top, left + size, top + size)))


def to_rgb_batch(images: np.ndarray) -> np.ndarray:
    """N x H x W x C batches as N x H x W x 3: grey (C = 1) repeated, alpha (C = 4) dropped."""
    images = checks.array(images, "images", 4, "an N x H x W x C batch", empty=True)
    if images.shape[-1] not in (1, 3, 4):
        raise ValueError(f"images: expected 1, 3 or 4 channels, got shape {images.shape}")
    if images.shape[-1] == 4:
        return images[..., :3]
    return images if images.shape[-1] == 3 else np.repeat(images, 3, axis=-1)


def resize_images(images: np.ndarray, size: int) -> np.ndarray:
    """uint8 N x H x W x C images resized to ``size`` x ``size`` (OpenCV, bilinear); channels are
    kept."""
    images = checks.images(images, empty=True, channels=range(1, 5))
    checks.integer(size, "size", 1)
    out = np.empty((len(images), size, size, images.shape[-1]), np.uint8)
    for i, image in enumerate(images):
        out[i] = cv2.resize(image, (size, size), interpolation=cv2.INTER_LINEAR).reshape(
            size, size, -1
        )
    return out

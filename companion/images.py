"""Framework-free image helpers: the resizing both editions share, so their inputs are identical."""
from __future__ import annotations

import numpy as np
from PIL import Image


def as_rgb_uint8(image) -> np.ndarray:
    """An H x W x 3 uint8 copy of a PIL image or an array (grey images get three equal channels)."""
    array = np.asarray(image.convert("RGB") if isinstance(image, Image.Image) else image)
    if array.dtype != np.uint8:
        raise ValueError(f"expected uint8 pixels, got {array.dtype}")
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3 or array.shape[2] not in (1, 3, 4):
        raise ValueError(f"expected an H x W x C picture, got shape {array.shape}")
    if array.shape[2] == 1:
        array = np.repeat(array, 3, axis=2)
    return np.ascontiguousarray(array[..., :3])


def center_crop_resize(image, size: int, crop_fraction: float = 224 / 256) -> np.ndarray:
    """ImageNet-style evaluation view: resize the short side to ``size / crop_fraction``, crop ``size``."""
    if size <= 0:
        raise ValueError(f"size must be positive, got {size}")
    image = Image.fromarray(as_rgb_uint8(image))
    short = round(size / crop_fraction)
    w, h = image.size
    scale = short / min(w, h)
    image = image.resize((max(short, round(w * scale)), max(short, round(h * scale))), Image.BILINEAR)
    w, h = image.size
    left, top = (w - size) // 2, (h - size) // 2
    return np.asarray(image.crop((left, top, left + size, top + size)))


def to_rgb_batch(images: np.ndarray) -> np.ndarray:
    """Grey N x H x W x 1 batches become N x H x W x 3 (ImageNet backbones want colour)."""
    if images.ndim != 4:
        raise ValueError(f"expected an N x H x W x C batch, got shape {images.shape}")
    return images if images.shape[-1] == 3 else np.repeat(images, 3, axis=-1)

"""Image folders with one sub-folder per class, robust to the junk real folders collect."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from .. import checks
from ..images import as_rgb_uint8, center_crop_resize
from .imageset import ImageSet

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"}


def _is_image_name(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")


def scan_folder(root) -> tuple[list[str], list[tuple[Path, int]], list[Path]]:
    """Class names, ``(image path, label)`` pairs and the junk files skipped, without reading
    images."""
    root = checks.path(root, "root")
    if not root.is_dir():
        raise FileNotFoundError(
            f"image folder {root} does not exist: expected a folder of <class name>/<image files>"
        )
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise ValueError(
            f"{root} has no class sub-folders: expected {root}/<class name>/<image files>"
        )
    items, junk = [], [p for p in root.iterdir() if p.is_file()]
    for label, name in enumerate(classes):
        files = sorted(p for p in (root / name).rglob("*") if p.is_file())
        images = [p for p in files if _is_image_name(p)]
        junk += [p for p in files if not _is_image_name(p)]
        if not images:
            raise ValueError(
                f"class folder {root / name} holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})"
            )
        items += [(p, label) for p in images]
    return classes, items, junk


def _read(path: Path, image_size: int | None) -> np.ndarray:
    with Image.open(path) as image:
        image.load()
        return center_crop_resize(image, image_size, 1.0) if image_size else as_rgb_uint8(image)


def load_folder(root, image_size: int | None = None, skip_unreadable: bool = False) -> ImageSet:
    """Every image under ``root/<class>/``, centre-cropped to ``image_size`` when given.

    Non-image files (``.DS_Store``, ``Thumbs.db``, notes) are skipped with one warning; an empty
    class folder is an error; an unreadable image is an error unless ``skip_unreadable``.
    """
    if image_size is not None:
        checks.integer(image_size, "image_size", 1)
    classes, items, junk = scan_folder(root)
    if junk:
        shown = ", ".join(p.name for p in junk[:4]) + (", ..." if len(junk) > 4 else "")
        warnings.warn(f"skipped {len(junk)} non-image file(s) in {root}: {shown}", stacklevel=2)
    images, labels, names, bad = [], [], [], []
    for path, label in items:
        try:
            images.append(_read(path, image_size))
        except (UnidentifiedImageError, OSError, ValueError) as err:
            if not skip_unreadable:
                message = f"cannot read image {path}: {err} (pass skip_unreadable=True to skip it)"
                raise ValueError(checks.one_line(message)) from None
            bad.append(path)
            continue
        labels.append(label)
        names.append(str(path.relative_to(root)))
    if bad:
        warnings.warn(
            f"skipped {len(bad)} unreadable image(s): {', '.join(p.name for p in bad[:4])}",
            stacklevel=2,
        )
    empty = [name for label, name in enumerate(classes) if label not in labels]
    if empty:
        raise ValueError(f"class folder(s) {empty} in {root} hold no readable images")
    shapes = {im.shape for im in images}
    if len(shapes) > 1:
        raise ValueError(f"images in {root} differ in size ({len(shapes)} sizes): pass image_size=")
    return ImageSet(
        np.stack(images), np.array(labels), classes, names=names, info={"source": str(root)}
    )


def write_folder(data: ImageSet, root) -> Path:
    """Write ``data`` as ``root/<class>/<index>.png`` so that ``load_folder`` reads it back."""
    if not isinstance(data, ImageSet):
        raise TypeError(f"write_folder takes an ImageSet, got {type(data).__name__}")
    root = checks.path(root, "root")
    for i, (image, label) in enumerate(zip(data.images, data.labels)):
        folder = root / data.class_names[label].replace("/", "-")
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image.squeeze(-1) if image.shape[-1] == 1 else image).save(
            folder / f"{i:05d}.png"
        )
    return root

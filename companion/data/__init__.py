"""Data sets as framework-free ``ImageSet``s (uint8 NHWC + labels); ``load`` is the one entry
point."""

from __future__ import annotations

import inspect

from ..files import sha256sum
from .fetch import cache_dir, download, fetch_archive, fetch_file, safe_extract
from .fashion import load_fashion_mnist
from .folder import load_folder, scan_folder, write_folder
from .imageset import ImageSet, inputs_and_labels, resized
from .online import keras_densenet_weights, load_stl10, load_tf_flowers, skipped_offline
from .photos import PHOTOS, load_sample_photos, photo
from .shapes import load_shapes

# name -> (loader, splits, offline?)
REGISTRY = {
    "fashion-mnist": (load_fashion_mnist, ("train", "test"), True),
    "shapes": (load_shapes, ("train", "val", "test"), True),
    "sample-photos": (lambda split="all", **kw: load_sample_photos(**kw), ("all",), True),
    "tf-flowers": (load_tf_flowers, ("train", "test"), False),
    "stl10": (load_stl10, ("train", "test", "unlabeled"), False),
}


def load(name: str, split: str | None = None, **options) -> ImageSet:
    """Load data set ``name`` (see ``REGISTRY``); ``split`` defaults to the first one it has."""
    if not isinstance(name, str) or name not in REGISTRY:
        raise ValueError(f"unknown dataset {name!r}: expected one of {', '.join(REGISTRY)}")
    loader, splits, _ = REGISTRY[name]
    split = split or splits[0]
    if not isinstance(split, str) or split not in splits:
        raise ValueError(
            f"dataset {name!r} has no split {split!r}: expected one of {', '.join(splits)}"
        )
    accepted = inspect.signature(loader).parameters
    unknown = (
        set(options) - set(accepted)
        if not any(p.kind == p.VAR_KEYWORD for p in accepted.values())
        else set()
    )
    if unknown:
        raise TypeError(f"load({name!r}) got unexpected option(s) {sorted(unknown)}")
    return loader(split=split, **options)


__all__ = [
    "ImageSet",
    "inputs_and_labels",
    "resized",
    "REGISTRY",
    "load",
    "load_fashion_mnist",
    "load_shapes",
    "load_sample_photos",
    "load_folder",
    "scan_folder",
    "write_folder",
    "load_tf_flowers",
    "load_stl10",
    "photo",
    "PHOTOS",
    "cache_dir",
    "download",
    "fetch_archive",
    "fetch_file",
    "skipped_offline",
    "keras_densenet_weights",
    "safe_extract",
    "sha256sum",
]

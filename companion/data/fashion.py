"""Fashion-MNIST from the idx files of Debian's ``dataset-fashion-mnist`` (or a verified
download)."""

from __future__ import annotations

import gzip
import hashlib
import os
from pathlib import Path

import numpy as np

from .. import checks
from .fetch import cache_dir, download
from .imageset import ImageSet

CLASS_NAMES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
# sha256 of the *decompressed* idx files: Debian recompressed the .gz, the bytes inside are
# upstream's.
FILES = {
    "train": {
        "train-images-idx3-ubyte.gz": (
            "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"
        ),
        "train-labels-idx1-ubyte.gz": (
            "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"
        ),
    },
    "test": {
        "t10k-images-idx3-ubyte.gz": (
            "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"
        ),
        "t10k-labels-idx1-ubyte.gz": (
            "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"
        ),
    },
}
HOW_TO_GET = "install it with `sudo apt-get install dataset-fashion-mnist` (or run `make setup`)"


def data_dir() -> Path | None:
    """The first folder holding all four idx files: $FASHION_MNIST_DIR, Debian's, then our cache."""
    candidates = [os.environ.get("FASHION_MNIST_DIR"), DEBIAN_DIR, cache_dir() / "fashion-mnist"]
    names = [n for split in FILES.values() for n in split]
    for folder in candidates:
        if folder and all((Path(folder) / n).exists() for n in names):
            return Path(folder)
    return None


def read_idx(path: Path, sha256: str | None = None) -> np.ndarray:
    """An idx file as a numpy array, optionally checking the sha256 of its decompressed bytes."""
    path = checks.existing_file(path, "idx file", HOW_TO_GET)
    try:
        with gzip.open(path) as f:
            raw = f.read()
    except (OSError, EOFError) as err:
        raise ValueError(
            checks.file_error(
                path, f"is not a readable gzip file ({err})", f"delete it and {HOW_TO_GET}"
            )
        ) from None
    if sha256 and hashlib.sha256(raw).hexdigest() != sha256:
        raise ValueError(f"{path} is corrupt (sha256 mismatch); delete it and {HOW_TO_GET}")
    try:
        ndim = raw[3]
        shape = np.frombuffer(raw, ">u4", count=ndim, offset=4).astype(int)
        return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(shape)
    except (IndexError, ValueError):
        raise ValueError(
            checks.file_error(
                path, "is not an idx file (truncated?)", f"delete it and {HOW_TO_GET}"
            )
        ) from None


def load_fashion_mnist(split: str, verify: bool = False, allow_download: bool = True) -> ImageSet:
    """The ``train`` (60 000) or ``test`` (10 000) split as 28 x 28 x 1 uint8 images."""
    if not isinstance(split, str) or split not in FILES:
        raise ValueError(f"unknown split {split!r} for fashion-mnist: expected 'train' or 'test'")
    folder = data_dir()
    if folder is None:
        if not allow_download:
            raise FileNotFoundError(f"Fashion-MNIST is not installed: {HOW_TO_GET}")
        folder = cache_dir() / "fashion-mnist"
        for name in (n for s in FILES.values() for n in s):
            download(URL + name, folder / name, sha256=None, offline_hint=HOW_TO_GET)
        verify = True  # a download is checked against the known content
    images_file, labels_file = FILES[split]
    images = read_idx(folder / images_file, FILES[split][images_file] if verify else None)
    labels = read_idx(folder / labels_file, FILES[split][labels_file] if verify else None)
    return ImageSet(images[..., None], labels, list(CLASS_NAMES), info={"source": str(folder)})

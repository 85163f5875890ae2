"""Real colour-photo data sets that need the network once: verified by sha256, extracted safely."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import checks, dry_run
from .fetch import fetch_archive, fetch_file
from .folder import load_folder
from .imageset import ImageSet

FLOWERS = dict(
    url="http://download.tensorflow.org/example_images/flower_photos.tgz",
    sha256="4c54ace7911aaffe13a365c34f650e71dd5bf1be0a58b464e5a7183e3e595d9c",
)
STL10 = dict(
    url="http://ai.stanford.edu/~acoates/stl10/stl10_binary.tar.gz",
    sha256="f31fd99273a1acb8609c8db427cebb1de3f71de77758cdc0e22956e1289b9866",
)
OFFLINE_HINT = "use 'shapes' (synthetic, any size) or 'fashion-mnist', which need no network"
KERAS_WEIGHTS = "https://storage.googleapis.com/tensorflow/keras-applications/densenet/"
# keras.applications' DenseNet ImageNet weights, (depth, include_top) -> (file, Keras's md5)
KERAS_DENSENET = {
    (121, True): (
        "densenet121_weights_tf_dim_ordering_tf_kernels.h5",
        "9d60b8095a5708f2dcce2bca79d332c7",
    ),
    (169, True): (
        "densenet169_weights_tf_dim_ordering_tf_kernels.h5",
        "d699b8f76981ab1b30698df4c175e90b",
    ),
    (201, True): (
        "densenet201_weights_tf_dim_ordering_tf_kernels.h5",
        "1ceb130c1ea1b78c3bf6114dbdfd8807",
    ),
    (121, False): (
        "densenet121_weights_tf_dim_ordering_tf_kernels_notop.h5",
        "30ee3e1110167f948a6b9946edeeb738",
    ),
    (169, False): (
        "densenet169_weights_tf_dim_ordering_tf_kernels_notop.h5",
        "b8c4d4c20dd625c148057b9ff1c1176b",
    ),
    (201, False): (
        "densenet201_weights_tf_dim_ordering_tf_kernels_notop.h5",
        "c13680b51ded0fb44dff2d8f86ac8bb1",
    ),
}


def keras_densenet_weights(depth: int, include_top: bool) -> Path:
    """The ImageNet weights file of Keras's DenseNet-``depth``, downloaded once (verified by
    Keras's md5; through ``$COMPANION_MIRROR`` when set): ``keras.applications`` takes the path as
    ``weights=``."""
    checks.instance(include_top, bool, "include_top", "True or False")
    if isinstance(depth, bool) or (depth, include_top) not in KERAS_DENSENET:
        raise ValueError(f"DenseNet depth must be 121, 169 or 201, got {depth!r}")
    name, md5 = KERAS_DENSENET[depth, include_top]
    hint = "DenseNet without weights (pretrained=False) needs no network"
    return fetch_file(KERAS_WEIGHTS + name, md5, hint)


def skipped_offline(what: str, err: ConnectionError) -> None:
    """Say that ``what`` was skipped because a download failed; in a gpu dry run, which serves
    every download locally, that is an error rather than a skip."""
    checks.text(what, "what")
    checks.instance(err, Exception, "err", "the exception of the failed download")
    if dry_run():
        raise RuntimeError(f"{what}: a gpu dry run serves every download, yet: {err}")
    print(f"{what}: skipped, offline ({err})")


def load_tf_flowers(
    split: str = "train", image_size: int = 224, test_fraction: float = 0.2, seed: int = 0
):
    """The 3 670 TensorFlow flower photos (5 classes), split deterministically into train and
    test."""
    if not isinstance(split, str) or split not in ("train", "test"):
        raise ValueError(f"unknown split {split!r} for tf-flowers: expected 'train' or 'test'")
    checks.integer(image_size, "image_size", 1)
    if not 0 < checks.number(test_fraction, "test_fraction") < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    folder = fetch_archive(FLOWERS["url"], FLOWERS["sha256"], "tf-flowers", OFFLINE_HINT)
    data = load_folder(folder / "flower_photos", image_size=image_size)
    order = np.random.default_rng(seed).permutation(len(data))
    n_test = round(test_fraction * len(data))
    return data.subset(np.sort(order[:n_test] if split == "test" else order[n_test:]))


def load_stl10(split: str = "train") -> ImageSet:
    """STL-10 at 96 x 96: ``train`` (5 000), ``test`` (8 000) or ``unlabeled`` (100 000, label
    -1)."""
    if not isinstance(split, str) or split not in ("train", "test", "unlabeled"):
        raise ValueError(
            f"unknown split {split!r} for stl10: expected 'train', 'test' or 'unlabeled'"
        )
    folder = fetch_archive(STL10["url"], STL10["sha256"], "stl10", OFFLINE_HINT) / "stl10_binary"
    raw = np.fromfile(folder / f"{split}_X.bin", dtype=np.uint8)
    images = raw.reshape(-1, 3, 96, 96).transpose(0, 3, 2, 1)  # stored column-major
    labels = (
        np.fromfile(folder / f"{split}_y.bin", dtype=np.uint8).astype(np.int64) - 1
        if split != "unlabeled"
        else np.full(len(images), -1)
    )
    names = (folder / "class_names.txt").read_text().split()
    return ImageSet(np.ascontiguousarray(images), labels, names)

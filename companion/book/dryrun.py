"""``make gpu-dryrun``: the gpu profile's code path, proven on a machine without a GPU.

Every notebook runs through the real entry points (``python -m companion run --profile gpu
--shard i/n``, then ``python -m companion build``) with the gpu profile's choices (data sets,
architectures, image sizes, which models train) and only its compute knobs shrunk
(``COMPANION_DRYRUN=1``, see ``companion.Profile.compute``). The online data sets are local
stand-ins in their real on-disk formats, served over HTTP on 127.0.0.1 through the mirror
setting, so download, checksum, safe extraction and the cache all run; random weights stand in
for the hubs' ImageNet weights; every other address goes to a proxy that refuses, so a download
the dry run does not serve fails instead of reaching the network.

    python -m companion.book.dryrun [--shards 4] [--only 02] [--out _build/gpu-dryrun]
"""

from __future__ import annotations

import argparse
import functools
import http.server
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image

from .. import DRY_RUN_ENV, checks
from ..data.fetch import CHECKSUMS_ENV, MIRROR_ENV, cache_dir, check_url
from ..data.online import KERAS_DENSENET
from ..files import sha256sum
from ..weights import torch_checkpoint

# tf-flowers' real class counts (3 670 photos), so a split that asks more than a class has fails
FLOWER_COUNTS = {"daisy": 633, "dandelion": 898, "roses": 641, "sunflowers": 699, "tulips": 799}
STL10_CLASSES = "airplane bird car cat deer dog horse monkey ship truck".split()
# images a class (the real: 500 and 800); the gpu profile carves 1,000 labelled validation images
# from train (Chapter 4's N_VAL) and still draws 1 % label subsets of every class from the rest
STL10_SPLITS = {"train": 300, "test": 30}
STL10_UNLABELED = 600  # (the real: 100 000)
TORCH_DENSENET = "densenet121-a639ec97.pth"  # the file torchvision's DenseNet121 weights load
REFUSING_PROXY = "http://127.0.0.1:9"  # nothing listens on the discard port
FAKES_VERSION = "2"  # bump when a stand-in changes: the next dry run makes them again


def _stl10_images(n: int, labels: np.ndarray) -> np.ndarray:
    """``n`` 96 x 96 STL10 stand-ins, uint8 N x H x W x C: red counts the row, green the column,
    blue the class, so a loader that transposes or mixes the channels shows it."""
    rows = np.arange(96, dtype=np.uint8)[:, None] * 2
    image = np.empty((n, 96, 96, 3), np.uint8)
    image[..., 0] = rows
    image[..., 1] = rows.T
    image[..., 2] = (np.asarray(labels, np.uint8) * 25)[:, None, None]
    return image


def _stl10_bytes(images: np.ndarray) -> bytes:
    """STL10's binary layout: each image channel by channel, each channel column by column."""
    return np.ascontiguousarray(images.transpose(0, 3, 2, 1)).tobytes()


def _add(tar: tarfile.TarFile, name: str, payload: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime = len(payload), 0
    tar.addfile(info, io.BytesIO(payload))


def _archive_path(path) -> Path:
    path = checks.path(path, "path")
    if path.is_dir() or not path.parent.is_dir():
        raise FileNotFoundError(f"{path}: expected an archive path in an existing folder")
    return path


def write_stl10(path: Path) -> Path:
    """``stl10_binary.tar.gz`` as Stanford serves it, with few images (``STL10_SPLITS``)."""
    path = _archive_path(path)
    with tarfile.open(path, "w:gz", compresslevel=1) as tar:
        for split, per_class in STL10_SPLITS.items():
            labels = np.repeat(np.arange(10), per_class)
            _add(
                tar, f"stl10_binary/{split}_X.bin", _stl10_bytes(_stl10_images(len(labels), labels))
            )
            _add(tar, f"stl10_binary/{split}_y.bin", (labels + 1).astype(np.uint8).tobytes())
        unlabeled = _stl10_images(STL10_UNLABELED, np.zeros(STL10_UNLABELED, np.uint8))
        _add(tar, "stl10_binary/unlabeled_X.bin", _stl10_bytes(unlabeled))
        _add(tar, "stl10_binary/class_names.txt", "\n".join(STL10_CLASSES).encode() + b"\n")
        _add(tar, "stl10_binary/fold_indices.txt", b"0 1 2\n")
    return path


def _flower_photo(rng: np.random.Generator, label: int) -> bytes:
    """A tiny JPEG in a random aspect ratio, its colour leaning to its class."""
    height, width = rng.integers(20, 48, size=2)
    base = np.array([40 + 40 * label, 200 - 30 * label, 90], np.float64)
    pixels = np.clip(base + rng.normal(0, 30, (height, width, 3)), 0, 255).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="JPEG", quality=80)
    return out.getvalue()


def write_flowers(path: Path, seed: int = 0) -> Path:
    """``flower_photos.tgz`` as TensorFlow serves it: one folder a class with the real counts."""
    path, seed = _archive_path(path), checks.integer(seed, "seed", 0)
    rng = np.random.default_rng(seed)
    with tarfile.open(path, "w:gz", compresslevel=1) as tar:
        _add(tar, "flower_photos/LICENSE.txt", b"Stand-in photos for the gpu dry run.\n")
        for label, (name, count) in enumerate(FLOWER_COUNTS.items()):
            for i in range(count):
                _add(tar, f"flower_photos/{name}/{i:04d}.jpg", _flower_photo(rng, label))
    return path


def _framework_script(code: str) -> None:
    """Run ``code`` in a fresh interpreter: one framework a process."""
    subprocess.run(
        [sys.executable, "-c", code], check=True, env=os.environ | {"PYTHONHASHSEED": "0"}
    )


def _write_torch_densenet(path: Path) -> Path:
    """Random DenseNet121 weights under the file name torchvision downloads."""
    _framework_script(
        "import torch, torchvision; torch.manual_seed(0); "
        f"torch.save(torchvision.models.densenet121().state_dict(), {str(path)!r})"
    )
    return path


def _write_keras_densenets(folder: Path) -> list[Path]:
    """Random DenseNet121 weights (with and without the top) in Keras's published h5 layout."""
    paths = [folder / KERAS_DENSENET[121, top][0] for top in (True, False)]
    _framework_script(
        "import os; os.environ['TF_CPP_MIN_LOG_LEVEL'] = '3'\n"
        "import h5py, keras\n"
        "from keras.src.legacy.saving import legacy_h5_format\n"
        "keras.utils.set_random_seed(0)\n"
        f"for top, path in zip((True, False), {[str(p) for p in paths]!r}):\n"
        "    model = keras.applications.DenseNet121(weights=None, include_top=top)\n"
        "    with h5py.File(path, 'w') as f:\n"
        "        legacy_h5_format.save_weights_to_hdf5_group(f, model)\n"
    )
    return paths


def make_fakes(folder: Path) -> dict[str, str]:
    """Write the stand-ins served by the mirror (once: kept while ``FAKES_VERSION`` holds);
    return ``{file name: sha256}``, the mirror's checksums."""
    folder = checks.path(folder, "folder")
    served, checksums, version = folder / "served", folder / "checksums.json", folder / "version"
    if version.exists() and version.read_text() == FAKES_VERSION and checksums.exists():
        return json.loads(checksums.read_text())
    shutil.rmtree(folder / "cache", ignore_errors=True)  # what the old stand-ins unpacked to
    served.mkdir(parents=True, exist_ok=True)
    (folder / "torch" / "hub" / "checkpoints").mkdir(parents=True, exist_ok=True)
    files = [
        write_stl10(served / "stl10_binary.tar.gz"),
        write_flowers(served / "flower_photos.tgz"),
    ]
    files += _write_keras_densenets(served)
    _write_torch_densenet(folder / "torch" / "hub" / "checkpoints" / TORCH_DENSENET)
    digests = {p.name: sha256sum(p) for p in files}
    checksums.write_text(json.dumps(digests, indent=1))
    version.write_text(FAKES_VERSION)
    return digests


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # the downloads show their own progress
        pass


def serve(folder: Path) -> http.server.ThreadingHTTPServer:
    """Serve ``folder`` over HTTP on 127.0.0.1 (a free port) from a background thread."""
    folder = checks.path(folder, "folder")
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: expected a folder of files to serve")
    handler = functools.partial(_Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _link_assets(real_cache: Path, dry_cache: Path, torch_home: Path) -> None:
    """The offline assets (MobileNetV2 weights, their Keras port, Fashion-MNIST) seen from the dry
    run's own cache, so its stand-ins never land in the real one."""
    for source in real_cache.iterdir():
        if source.is_file() and not source.name.endswith((".lock", ".partial")):
            target = dry_cache / source.name
            if not target.exists():
                target.symlink_to(source)
    checkpoint = torch_home / "hub" / "checkpoints" / torch_checkpoint().name
    checkpoint.parent.mkdir(parents=True, exist_ok=True)
    if torch_checkpoint().exists() and not checkpoint.exists():
        checkpoint.symlink_to(torch_checkpoint())


def dry_environment(folder: Path, mirror: str) -> dict[str, str]:
    """The environment of a dry run: the dry profile, the mirror and its checksums, caches of
    its own, and a refusing proxy for every address but 127.0.0.1."""
    folder, mirror = checks.path(folder, "folder"), check_url(mirror)
    cache, torch_home, keras_home = folder / "cache", folder / "torch", folder / "keras"
    for path in (cache, keras_home):
        path.mkdir(parents=True, exist_ok=True)
    _link_assets(cache_dir(), cache, torch_home)
    proxies = {name: REFUSING_PROXY for name in ("http_proxy", "https_proxy")}
    proxies |= {name.upper(): value for name, value in proxies.items()}
    return {
        DRY_RUN_ENV: "1",
        MIRROR_ENV: mirror,
        CHECKSUMS_ENV: str(folder / "checksums.json"),
        "COMPANION_CACHE": str(cache),
        "TORCH_HOME": str(torch_home),
        "KERAS_HOME": str(keras_home),
        **proxies,
        "no_proxy": "127.0.0.1,localhost",
        "NO_PROXY": "127.0.0.1,localhost",
    }


def _companion(args: list[str], env: dict) -> tuple[int, float]:
    start = time.perf_counter()
    code = subprocess.run([sys.executable, "-m", "companion", *args], env=os.environ | env)
    return code.returncode, round(time.perf_counter() - start, 1)


def dry_run(out: Path, shards: int = 4, only: str | None = None, build: bool = True) -> int:
    """Run every shard, then the build, as a GPU runner would; 0 when all of them passed."""
    out = checks.path(out, "out").resolve()
    checks.integer(shards, "shards", 1)
    if only is not None:
        checks.text(only, "only")
    checks.instance(build, bool, "build", "True or False")
    executed = out / "executed"
    make_fakes(out)
    server = serve(out / "served")
    env = dry_environment(out, f"http://127.0.0.1:{server.server_port}/")
    steps = {}
    try:
        select = ["--only", only] if only else []
        for i in range(1, shards + 1):
            shard = [] if only else ["--shard", f"{i}/{shards}"]
            args = ["run", "--profile", "gpu", *shard, *select, "--out", str(executed)]
            steps[f"shard {i}/{shards}" if not only else f"--only {only}"] = _companion(args, env)
            if only:
                break
        if build:
            steps["build"] = _companion(["build", "--out", str(executed)], env)
    finally:
        server.shutdown()
    for name, (code, seconds) in steps.items():
        print(f"gpu dry run, {name}: {'ok' if code == 0 else f'FAILED (exit {code})'}, {seconds} s")
    (out / "dryrun.json").write_text(json.dumps(steps, indent=1))
    return 0 if all(code == 0 for code, _ in steps.values()) else 1


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m companion.book.dryrun", description=__doc__)
    parser.add_argument("--shards", type=int, default=4, help="shards, as the GPU workflow runs")
    parser.add_argument("--only", help="only notebooks whose path contains this (no shards)")
    parser.add_argument("--out", default="_build/gpu-dryrun", help="stand-ins, caches, copies")
    parser.add_argument("--no-build", action="store_true", help="skip the book build step")
    args = parser.parse_args(argv)
    return dry_run(Path(args.out), args.shards, args.only, not args.no_build)


if __name__ == "__main__":
    sys.exit(main())

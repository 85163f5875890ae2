"""Files written whole and files verified (framework-free): every file the project writes goes
through ``atomic_write``; every checked download or asset through ``verify_sha256``."""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path

from . import checks


def _temporary_name(path: Path) -> Path:
    """A name beside ``path``, unique to this writer, that keeps every suffix of ``path``
    (``x.weights.h5`` -> ``x.1234-9f3a.part.weights.h5``): Keras and numpy choose a format by the
    suffix, and two writers of one path never share a temporary file."""
    name = path.name
    stem, dot, suffixes = name.partition(".") if not name.startswith(".") else (name, "", "")
    return path.with_name(f"{stem}.{os.getpid()}-{secrets.token_hex(4)}.part{dot}{suffixes}")


def atomic_write(path, write: Callable[[Path], object], what: str = "file") -> Path:
    """Call ``write(tmp)`` on a temporary path beside ``path`` (``_temporary_name``), then rename it
    to ``path`` (``os.replace``): a reader sees the old file or the whole new one, never a part."""
    path = checks.path(path, "path")
    if not callable(write):
        raise TypeError(
            f"write: expected a function of the temporary path, got {checks.describe(write)}"
        )
    if not path.parent.is_dir():
        raise FileNotFoundError(
            f"folder {path.parent} does not exist: expected a {what} path in an existing folder"
        )
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder: expected a {what} path (a file name)")
    tmp = _temporary_name(path)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def checkpoint_target(path, suffix: str = "", size: int = 0) -> Path:
    """``path`` checked before a run's first step as the checkpoint it will write after an
    epoch: ends in ``suffix`` (the format the framework reads), is not a folder, sits in an
    existing folder this process can write, and that folder's disk has room for ``size`` bytes
    (an estimate; 0 skips the check) twice over (the new file is written beside the old one);
    else one line naming the path and the fix. Temporary files left there by a killed writer of
    ``path`` are removed (``remove_stale_parts``)."""
    path = checks.path(path, "checkpoint")
    checks.instance(suffix, str, "suffix", "a file suffix such as '.keras' (or '')")
    checks.integer(size, "size", 0)
    if not path.name.endswith(suffix):
        raise ValueError(f"checkpoint {path}: expected a path ending in {suffix}")
    if path.is_dir():
        raise IsADirectoryError(f"checkpoint {path} is a folder: expected a file path in it")
    if not path.parent.is_dir():
        raise FileNotFoundError(
            f"checkpoint {path}: folder {path.parent} does not exist: create it "
            f"(mkdir -p {path.parent}) or choose another path"
        )
    if not os.access(path.parent, os.W_OK):
        raise PermissionError(
            f"checkpoint {path}: folder {path.parent} is not writable: choose a folder you own"
        )
    free = shutil.disk_usage(path.parent).free
    if free < 2 * size:
        raise OSError(
            f"checkpoint {path}: {free / 2**20:.0f} MiB free in {path.parent}, about "
            f"{2 * size / 2**20:.0f} MiB needed: free some space or choose another folder"
        )
    remove_stale_parts(path)
    return path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def remove_stale_parts(path) -> list[Path]:
    """Remove the temporary files of ``path`` (``_temporary_name``) whose writer process is gone
    (killed during a write); those of a live writer stay. Returns the removed paths."""
    path = checks.path(path, "path")
    stem = path.name.partition(".")[0] if not path.name.startswith(".") else path.name
    pattern = re.compile(re.escape(stem) + r"\.(\d+)-[0-9a-f]{8}\.part(\..*)?$")
    removed = []
    if path.parent.is_dir():
        for part in path.parent.iterdir():
            match = pattern.fullmatch(part.name)
            if match and part.is_file() and not _alive(int(match.group(1))):
                part.unlink(missing_ok=True)
                removed.append(part)
    return removed


def diverged(where: str, what: str) -> FloatingPointError:
    """The one-line error that stops a diverged run: ``what`` is not finite at ``where`` (an epoch
    and step, or a checkpoint path); nothing is written over the last good checkpoint."""
    return FloatingPointError(
        checks.one_line(
            f"{what} at {where} is not finite: training stopped and the last good checkpoint "
            "stays; expected finite values (try a lower learning rate)"
        )
    )


def sha256sum(path: Path, chunk: int = 1 << 20) -> str:
    """The sha256 hex digest of a file."""
    path = checks.existing_file(path, "file to hash")
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


_VERIFIED: dict = {}


def verify_sha256(file, expected: str, fix: str) -> Path:
    """Check ``file`` against its sha256, once per (size, mtime) in this process; a wrong or
    missing file is an error that names it and says ``fix``."""
    file = checks.path(file, "file")
    if not file.is_file():
        raise FileNotFoundError(checks.file_error(file, "is missing", fix))
    stat = file.stat()
    key = (str(file.resolve()), stat.st_size, stat.st_mtime_ns)
    if _VERIFIED.get(key) != expected:
        if sha256sum(file) != expected:
            raise ValueError(
                checks.file_error(file, "is corrupt or was replaced (sha256 mismatch)", fix)
            )
        _VERIFIED[key] = expected
    return file

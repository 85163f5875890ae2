"""Writing files so that an interrupted run never leaves half a file (framework-free)."""
from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from . import checks


def atomic_write(path, write: Callable[[Path], object], what: str = "file") -> Path:
    """Call ``write(tmp)`` on a temporary path beside ``path``, then rename it to ``path``
    (``os.replace``): a reader sees the old file or the whole new one, never a part. The temporary
    name keeps the suffix (``x.part.keras``), which Keras and numpy read to choose a format."""
    path = checks.path(path, "path")
    if not callable(write):
        raise TypeError("write: expected a function of the temporary path, got "
                        f"{checks.describe(write)}")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"folder {path.parent} does not exist: expected a {what} path in "
                                "an existing folder")
    tmp = path.with_name(f"{path.stem}.part{path.suffix}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path

"""Verified downloads and safe archive extraction, failing fast when offline."""

from __future__ import annotations

import os
import shutil
import socket
import tarfile
import tempfile
import urllib.parse
import urllib.request
from pathlib import Path

from tqdm.auto import tqdm

from .. import checks
from ..files import atomic_write, sha256sum


def cache_dir() -> Path:
    """Where downloads and converted assets live: ``$COMPANION_CACHE`` or ``~/.cache/companion``."""
    path = Path(os.environ.get("COMPANION_CACHE", Path.home() / ".cache" / "companion"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def check_online(url: str, timeout: float = 3.0, offline_hint: str = "") -> None:
    """Raise ``ConnectionError`` at once (not after a long retry) when ``url``'s host is
    unreachable."""
    parts = urllib.parse.urlsplit(checks.text(url, "url"))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"url: expected an http(s)://host/... address, got {url!r}")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.create_connection((parts.hostname, port), timeout=timeout).close()
    except OSError as err:
        hint = f" Offline alternative: {offline_hint}" if offline_hint else ""
        raise ConnectionError(
            f"cannot reach {parts.hostname} to download {url} ({err}).{hint}"
        ) from None


def download(url: str, dest: Path, sha256: str | None, offline_hint: str = "") -> Path:
    """Download ``url`` to ``dest`` atomically, verifying ``sha256``; an existing good file is
    kept."""
    dest = checks.path(dest, "dest")
    if sha256 is not None and (not isinstance(sha256, str) or len(sha256) != 64):
        raise ValueError(f"sha256: expected 64 hex digits or None, got {sha256!r}")
    if dest.exists() and (sha256 is None or sha256sum(dest) == sha256):
        return dest
    check_online(url, offline_hint=offline_hint)
    dest.parent.mkdir(parents=True, exist_ok=True)

    def fetch(tmp: Path) -> None:
        with urllib.request.urlopen(url, timeout=30) as response, open(tmp, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc=dest.name) as bar:
                for block in iter(lambda: response.read(1 << 20), b""):
                    out.write(block)
                    bar.update(len(block))
        if sha256 is not None and (got := sha256sum(tmp)) != sha256:
            raise ValueError(f"{url}: sha256 {got} does not match the expected {sha256}")

    atomic_write(dest, fetch, "download")
    return dest


def safe_extract(archive: Path, dest: Path) -> Path:
    """Extract a tar archive, refusing members that would land outside ``dest`` or are
    links/devices."""
    archive = checks.existing_file(archive, "archive")
    dest = checks.path(dest, "dest")
    try:
        tar = tarfile.open(archive)
        tar.getmembers()  # reads the whole index: a truncated archive fails here, before extracting
    except (tarfile.TarError, EOFError, OSError):
        raise ValueError(
            checks.file_error(
                archive,
                "is not a readable tar archive (truncated?)",
                "delete it and download it again",
            )
        ) from None
    dest.mkdir(parents=True, exist_ok=True)
    with tar:
        tar.extractall(dest, filter="data")  # PEP 706: blocks absolute paths, '..', unsafe links
    return dest


def fetch_archive(url: str, sha256: str, name: str, offline_hint: str) -> Path:
    """Download and extract an archive once into the cache; return the extraction folder."""
    checks.text(url, "url")
    checks.text(name, "name")
    folder = cache_dir() / name
    done = folder / ".complete"
    if done.exists():
        return folder
    archive = download(
        url, cache_dir() / Path(urllib.parse.urlsplit(url).path).name, sha256, offline_hint
    )
    tmp = Path(tempfile.mkdtemp(dir=cache_dir(), prefix=name + "."))
    try:
        safe_extract(archive, tmp)
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(tmp, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    done.touch()
    return folder

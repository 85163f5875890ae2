"""Verified downloads and safe archive extraction: through urllib (so the proxy settings apply),
resumed and retried when a transfer breaks, failing fast when the host cannot be reached, and
safe for several processes sharing one cache."""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import os
import shutil
import tarfile
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from tqdm.auto import tqdm

from .. import checks

try:  # POSIX; elsewhere the cache is not shared between processes
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

MIRROR_ENV = "COMPANION_MIRROR"  # a base URL that serves every download by its file name
CHECKSUMS_ENV = "COMPANION_CHECKSUMS"  # with a mirror: a JSON file {file name: digest}
RETRIES = 3  # attempts of a transfer that breaks after it started
TIMEOUT = 30  # seconds without data before an attempt is given up


def cache_dir() -> Path:
    """Where downloads and converted assets live: ``$COMPANION_CACHE`` or ``~/.cache/companion``."""
    path = Path(os.environ.get("COMPANION_CACHE", Path.home() / ".cache" / "companion"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def check_url(url: str) -> str:
    """``url`` if it is an http(s)://host/... address."""
    parts = urllib.parse.urlsplit(checks.text(url, "url"))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"url: expected an http(s)://host/... address, got {url!r}")
    return url


def _check_digest(digest) -> str | None:
    """``digest`` if it is a sha256 (64 hex digits) or md5 (32, Keras's published hashes)."""
    ok = digest is None or (
        isinstance(digest, str)
        and len(digest) in (32, 64)
        and all(c in "0123456789abcdef" for c in digest)
    )
    if not ok:
        raise ValueError(f"sha256: expected 64 hex digits (or md5's 32), or None, got {digest!r}")
    return digest


def _digest(path: Path, like: str) -> str:
    """The hex digest of ``path`` with the algorithm of ``like`` (sha256, or md5 for 32 digits)."""
    digest = hashlib.md5() if len(like) == 32 else hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _mirrored(url: str, digest: str | None) -> tuple[str, str | None]:
    """Where ``url`` is fetched from and the digest expected there: with ``$COMPANION_MIRROR``,
    the mirror's copy of the same file name, verified against ``$COMPANION_CHECKSUMS`` when that
    names it (a mirror of stand-in files, as the gpu dry run serves)."""
    mirror = os.environ.get(MIRROR_ENV)
    if not mirror:
        return url, digest
    name = Path(urllib.parse.urlsplit(url).path).name
    table = os.environ.get(CHECKSUMS_ENV)
    if table:
        try:
            digest = json.loads(Path(table).read_text()).get(name, digest)
        except (OSError, ValueError) as err:
            raise ValueError(
                f"${CHECKSUMS_ENV}={table}: expected a JSON file of file name -> digest ({err})"
            ) from None
    return check_url(mirror.rstrip("/") + "/" + name), digest


@contextlib.contextmanager
def _cache_lock(name: str):
    """Hold ``<cache>/<name>.lock`` exclusively: one process at a time downloads or extracts a
    file of the cache, the others wait and then find it done."""
    with open(cache_dir() / f"{name}.lock", "a") as handle:
        if fcntl is not None:
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _offline(url: str, err, offline_hint: str) -> ConnectionError:
    hint = f" Offline alternative: {offline_hint}" if offline_hint else ""
    host = urllib.parse.urlsplit(url).hostname
    return ConnectionError(f"cannot reach {host} to download {url} ({err}).{hint}")


def _transfer(url: str, partial: Path, desc: str) -> None:
    """Append ``url``'s bytes to ``partial``, asking only for what it lacks (an HTTP range)."""
    have = partial.stat().st_size if partial.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        response = urllib.request.urlopen(request, timeout=TIMEOUT)
    except urllib.error.HTTPError as err:
        if err.code == 416:  # the partial file is already whole (or longer): start over
            partial.unlink()
        raise
    with response:
        resumed = response.status == 206
        total = int(response.headers.get("Content-Length") or 0) + (have if resumed else 0)
        with (
            open(partial, "ab" if resumed else "wb") as out,
            tqdm(
                total=total or None,
                initial=have if resumed else 0,
                unit="B",
                unit_scale=True,
                desc=desc,
            ) as bar,
        ):
            for block in iter(lambda: response.read(1 << 20), b""):
                out.write(block)
                bar.update(len(block))
    if total and partial.stat().st_size < total:
        raise http.client.IncompleteRead(b"", total - partial.stat().st_size)


def download(url: str, dest: Path, sha256: str | None, offline_hint: str = "") -> Path:
    """Download ``url`` to ``dest``, verified against ``sha256`` (or Keras's md5); an existing
    good file is kept. A transfer that breaks is resumed, up to ``RETRIES`` attempts; a host
    that cannot be reached fails at once with ``ConnectionError``."""
    dest = checks.path(dest, "dest")
    check_url(url)
    source, digest = _mirrored(url, _check_digest(sha256))
    if dest.exists() and (digest is None or _digest(dest, digest) == digest):
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".partial")
    with _cache_lock(dest.name) if dest.parent == cache_dir() else contextlib.nullcontext():
        if dest.exists() and (digest is None or _digest(dest, digest) == digest):
            return dest  # another process finished it while this one waited
        for attempt in range(1, RETRIES + 1):
            try:
                _transfer(source, partial, dest.name)
                break
            except urllib.error.HTTPError as err:
                retry = err.code >= 500 or err.code == 416  # server trouble, or start over
                if not retry or attempt == RETRIES:
                    raise ConnectionError(f"{source}: HTTP {err.code} {err.reason}") from None
            except urllib.error.URLError as err:  # no connection at all: offline
                raise _offline(source, err.reason, offline_hint) from None
            except (OSError, http.client.HTTPException) as err:  # broke midway: resume
                if attempt == RETRIES:
                    raise _offline(source, f"{RETRIES} attempts failed: {err}", offline_hint)
            time.sleep(attempt)
        if digest is not None and (got := _digest(partial, digest)) != digest:
            partial.unlink()
            raise ValueError(f"{source}: digest {got} does not match the expected {digest}")
        os.replace(partial, dest)  # atomic: readers see no file or the whole, verified one
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
    """Download and extract an archive once into the cache; return the extraction folder. The
    folder appears whole (renamed into place with its ``.complete`` mark) or not at all, and a
    folder another process reads is never deleted."""
    checks.text(url, "url")
    checks.text(name, "name")
    folder = cache_dir() / name
    done = folder / ".complete"
    if done.exists():
        return folder
    archive = download(
        url, cache_dir() / Path(urllib.parse.urlsplit(url).path).name, sha256, offline_hint
    )
    with _cache_lock(name):
        if done.exists():  # extracted by another process while this one waited
            return folder
        tmp = Path(tempfile.mkdtemp(dir=cache_dir(), prefix=name + "."))
        try:
            safe_extract(archive, tmp)
            (tmp / ".complete").touch()
            if folder.exists():  # an incomplete folder from a killed run: nobody reads it
                shutil.rmtree(folder)
            os.replace(tmp, folder)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return folder


def fetch_file(url: str, digest: str, offline_hint: str) -> Path:
    """Download one file (weights) once into the cache, verified; return its path."""
    name = Path(urllib.parse.urlsplit(check_url(url)).path).name
    return download(url, cache_dir() / name, digest, offline_hint)

"""Input checks shared by the core and both editions (framework-free).

Each check returns the cleaned value or raises one line that says what was expected and what was
given; an error about a file names the file and says how to fix it.
"""

from __future__ import annotations

import numbers
import os
from pathlib import Path

import numpy as np


def describe(x) -> str:
    """A short description of a value for error messages: dtype and shape of arrays, else type."""
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        dtype = getattr(x.dtype, "name", x.dtype)
        return f"{dtype} {tuple(x.shape)}"
    text = " ".join(repr(x).split())
    return f"{type(x).__name__} {text[:40] + '...' if len(text) > 40 else text}"


def one_line(text: str) -> str:
    """``text`` squeezed to a single line (messages from libraries may span several)."""
    return " ".join(str(text).split())


def integer(x, name: str, low: int | None = None, high: int | None = None) -> int:
    """``x`` as an int (not a bool or a float) in ``[low, high)``; ``None`` bounds are open."""
    if isinstance(x, bool) or not isinstance(x, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {describe(x)}")
    x = int(x)
    if (low is not None and x < low) or (high is not None and x >= high):
        span = f"[{'-inf' if low is None else low}, {'inf' if high is None else high})"
        raise ValueError(f"{name} must be an integer in {span}, got {x}")
    return x


def number(x, name: str, low: float | None = None, high: float | None = None) -> float:
    """``x`` as a finite float in ``[low, high]``."""
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise TypeError(f"{name} must be a finite number, got {describe(x)}")
    if not np.isfinite(x):
        raise ValueError(f"{name} must be a finite number, got {x}")
    if (low is not None and x < low) or (high is not None and x > high):
        span = f"[{'-inf' if low is None else low}, {'inf' if high is None else high}]"
        raise ValueError(f"{name} must be in {span}, got {x}")
    return float(x)


def flag(x, name: str) -> bool:
    """``x`` as a bool (numpy's included): True or False, not a number or a string."""
    if not isinstance(x, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {describe(x)}")
    return bool(x)


def text(x, name: str) -> str:
    """``x`` as a non-empty string."""
    if not isinstance(x, str):
        raise TypeError(f"{name} must be a non-empty string, got {describe(x)}")
    if not x:
        raise ValueError(f"{name} must be a non-empty string, got ''")
    return x


def array(
    x,
    name: str,
    ndim: int | None = None,
    what: str = "",
    dtype=None,
    empty: bool = False,
    finite: bool = False,
) -> np.ndarray:
    """``x`` as a numpy array of rank ``ndim`` (described as ``what``), optionally cast to
    ``dtype``, non-empty unless ``empty``, and free of NaN/inf when ``finite``."""
    what = what or (f"a {ndim}-D array" if ndim is not None else "an array")
    if isinstance(x, (str, bytes, dict, set)) or x is None:
        raise TypeError(f"{name}: expected {what}, got {describe(x)}")
    try:
        a = np.asarray(x) if dtype is None else np.asarray(x, dtype=dtype)
    except (TypeError, ValueError):
        raise TypeError(f"{name}: expected {what} of numbers, got {describe(x)}") from None
    if a.dtype == object or a.dtype.kind in "USV":
        raise TypeError(f"{name}: expected {what} of numbers, got {describe(a)}")
    if ndim is not None and a.ndim != ndim:
        raise ValueError(f"{name}: expected {what}, got shape {a.shape}")
    if not empty and a.size == 0:
        raise ValueError(
            f"{name}: expected a non-empty "
            f"{what.removeprefix('a ').removeprefix('an ')}, "
            f"got shape {a.shape}"
        )
    if finite and a.dtype.kind in "fc" and not np.isfinite(a).all():
        raise ValueError(
            f"{name}: expected finite values, got {int((~np.isfinite(a)).sum())} NaN "
            "or "
            f"infinite value(s) (a diverged model or a division by zero?)"
        )
    return a


def labels(
    y, name: str = "labels", n_classes: int | None = None, n: int | None = None
) -> np.ndarray:
    """Integer class indices (1-D, int64) in ``[0, n_classes)``, ``n`` of them when given."""
    y = array(y, name, 1, "a 1-D array of class indices", empty=True)
    if y.size and not np.issubdtype(y.dtype, np.integer):
        if y.dtype.kind != "f" or not np.all(np.isfinite(y)) or not np.all(y == np.round(y)):
            raise TypeError(f"{name}: expected integer class indices, got {describe(y)}")
    if n is not None and len(y) != n:
        raise ValueError(f"{name}: expected {n} labels (one per example), got {len(y)}")
    if n_classes is not None and len(y) and (y.min() < 0 or y.max() >= n_classes):
        raise ValueError(
            f"{name}: expected class indices in [0, {n_classes}), "
            f"got {int(y.min())}..{int(y.max())}"
        )
    return y.astype(np.int64)


def to_uint8(a: np.ndarray, name: str = "images") -> np.ndarray:
    """Pixels as uint8: uint8 as they are, 16-bit scaled by 255 / 65535, floats in [0, 1] scaled by
    255, floats in [0, 255] rounded; anything else (NaN, negative, other ranges) is refused."""
    a = np.asarray(a)
    if a.dtype == np.uint8:
        return a
    if a.dtype == bool:
        return a.astype(np.uint8) * 255
    if a.size == 0:
        return a.astype(np.uint8)
    if a.dtype.kind in "iu":
        low, high = int(a.min()), int(a.max())
        if a.dtype.itemsize == 1 or (low >= 0 and high <= 255 and a.dtype != np.uint16):
            if low < 0:
                raise ValueError(f"{name}: expected pixels in [0, 255], got {low}..{high}")
            return a.astype(np.uint8)
        if low >= 0 and high <= 65535:  # 16-bit (uint16, or PIL's int32 mode "I")
            return np.round(a / 257).astype(np.uint8)
        raise ValueError(
            f"{name}: expected 8- or 16-bit pixels, got {a.dtype} values {low}..{high}"
        )
    if a.dtype.kind == "f":
        if not np.isfinite(a).all():
            raise ValueError(f"{name}: expected finite pixel values, got NaN or infinite ones")
        low, high = float(a.min()), float(a.max())
        if low < 0 or high > 255:
            raise ValueError(
                f"{name}: expected float pixels in [0, 1] or [0, 255], got {low:.3g}..{high:.3g}"
            )
        return np.round(a * 255 if high <= 1 else a).astype(np.uint8)
    raise TypeError(f"{name}: expected uint8, 16-bit or float pixels, got {a.dtype}")


def images(
    x, name: str = "images", convert: bool = False, channels=(1, 3, 4), empty: bool = False
) -> np.ndarray:
    """An N x H x W x C batch of pictures: uint8 only, or any of ``to_uint8``'s kinds with
    ``convert``; C in ``channels``; non-empty unless ``empty``."""
    what = "N x H x W x C pictures" if convert else "uint8 N x H x W x C pictures"
    a = array(x, name, 4, what, empty=empty)
    if a.shape[-1] not in channels:
        raise ValueError(
            f"{name}: expected {' or '.join(map(str, channels))} channels, got shape {a.shape}"
        )
    if convert:
        return to_uint8(a, name)
    if a.dtype != np.uint8:
        raise ValueError(f"{name}: expected uint8 N x H x W x C pictures, got {describe(a)}")
    return a


def maps(x, name: str = "maps", ndim: int = 3) -> np.ndarray:
    """Finite float32 saliency maps: N x H x W (``ndim`` 3) or one H x W map (``ndim`` 2)."""
    what = "a batch of maps N x H x W" if ndim == 3 else "one H x W map"
    return array(x, name, ndim, what, dtype=np.float32, finite=True)


def conv_geometry(n: int, kernel: int, stride: int = 1, padding: int = 0) -> int:
    """Output side of a convolution or pooling over ``n`` pixels; refuses what does not fit."""
    for value, label, low in (
        (n, "input side", 1),
        (kernel, "kernel", 1),
        (stride, "stride", 1),
        (padding, "padding", 0),
    ):
        integer(value, label, low)
    if n + 2 * padding < kernel:
        raise ValueError(
            f"a {kernel}-wide kernel does not fit a {n}-wide input padded by "
            f"{padding}: "
            f"expected kernel <= {n + 2 * padding}"
        )
    return (n + 2 * padding - kernel) // stride + 1


def path(x, name: str = "path") -> Path:
    """``x`` as a ``Path`` (a str or os.PathLike)."""
    if not isinstance(x, (str, os.PathLike)):
        raise TypeError(f"{name} must be a file path (str or Path), got {describe(x)}")
    if not str(x):
        raise ValueError(f"{name} must be a file path (str or Path), got ''")
    return Path(x)


def existing_file(x, name: str = "file", fix: str = "") -> Path:
    """A path that exists and is a file; ``fix`` says how to make it (default: check the path)."""
    p = path(x, name)
    if not p.is_file():
        fix = fix or f"check the path (relative paths start at {Path.cwd()})"
        raise FileNotFoundError(f"{name} {p} does not exist or is not a file: {fix}")
    return p


def file_error(file, problem: str, fix: str) -> str:
    """The one-line message of an unusable file: which file, what is wrong, how to fix it."""
    return one_line(f"{file} {problem}: {fix}")


def instance(x, kind, name: str, what: str):
    """``x`` if it is a ``kind`` (a class or a tuple of them), else a TypeError naming ``what``."""
    if not isinstance(x, kind):
        raise TypeError(f"{name}: expected {what}, got {describe(x)}")
    return x


def batch(x, name: str = "images", ndim: int | None = None, what: str = "") -> object:
    """An array or tensor (anything with a shape) of rank ``ndim`` holding at least one example;
    returned as it is, without a copy or a conversion."""
    what = what or (f"a {ndim}-D batch" if ndim else "a batch")
    shape = getattr(x, "shape", None)
    if shape is None or isinstance(x, (str, bytes)):
        raise TypeError(f"{name}: expected {what} (an array or tensor), got {describe(x)}")
    if ndim is not None and len(shape) != ndim:
        raise ValueError(f"{name}: expected {what}, got shape {tuple(shape)}")
    if len(shape) == 0 or shape[0] == 0:
        raise ValueError(
            f"{name}: expected {what} of at least one example, got shape {tuple(shape)}"
        )
    return x


def _strings(x, name: str, what: str) -> list[str]:
    """A list of strings (one string alone is refused: it would be read letter by letter)."""
    if isinstance(x, str) or not hasattr(x, "__iter__"):
        raise TypeError(f"{name}: expected a list of {what}, got {describe(x)}")
    x = list(x)
    if not all(isinstance(s, str) for s in x):
        raise TypeError(f"{name}: expected a list of {what} (strings), got {describe(x)}")
    return x


def names(x, name: str = "names") -> list[str]:
    """A list of layer names."""
    return _strings(x, name, "layer names")


def notebook_paths(x, name: str = "paths") -> list[str]:
    """A list of notebook paths."""
    return _strings(x, name, "notebook paths")


CHECKPOINT_FIX = "delete it and re-run the training that writes it (fit(..., checkpoint=...))"


def image_batch(x, name: str = "images") -> object:
    """An N x H x W x C batch of pictures for a model (an array or tensor with at least one
    example), returned as it is: what CAM and layer activations take in both editions."""
    return batch(x, name, 4, "an N x H x W x C batch")


def layer_kinds(kind, example: str) -> tuple:
    """``kind`` (a layer class, or a non-empty tuple of them) as a tuple; ``example`` names one
    class of the framework for the message."""
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if not kinds or not all(isinstance(k, type) for k in kinds):
        raise TypeError(f"kind: expected a layer class such as {example}, got {describe(kind)}")
    return kinds


def known_layers(wanted, layers: dict) -> dict:
    """The entries of ``layers`` (name -> layer) called ``wanted`` (a list of names); an unknown
    name is an error that lists the valid ones."""
    wanted = names(wanted)
    unknown = [n for n in wanted if n not in layers]
    if unknown:
        raise ValueError(f"unknown layer(s) {unknown}; valid names: {', '.join(layers)}")
    return {n: layers[n] for n in wanted}

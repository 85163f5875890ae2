"""A numpy reference for what a convolution layer computes (framework-free).

Layouts follow Keras: images N x H x W x C, kernels KH x KW x C_in x C_out. Like every deep-learning
framework, "convolution" here is cross-correlation: the kernel is not flipped.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .checks import array, conv_geometry, integer


def output_size(n: int, kernel: int, stride: int = 1, padding: int = 0) -> int:
    """Side of the output: floor((n + 2 * padding - kernel) / stride) + 1."""
    return conv_geometry(n, kernel, stride, padding)


def check_conv(x, w, b=None, stride: int = 1, padding: int = 0):
    """Images N x H x W x C and a kernel KH x KW x C x C_out that fit them (both editions)."""
    x = array(x, "x", 4, "images N x H x W x C")
    w = array(w, "w", 4, "a kernel KH x KW x C_in x C_out")
    if w.shape[2] != x.shape[3]:
        raise ValueError(
            f"w: expected a kernel KH x KW x {x.shape[3]} x C_out (KH x KW x C x "
            f"C_out for C-channel images), got shape {w.shape}"
        )
    for side, k in zip(x.shape[1:3], w.shape[:2]):
        conv_geometry(side, k, stride, padding)
    if b is not None and np.shape(b) not in ((w.shape[3],), ()):
        raise ValueError(
            f"b: expected {w.shape[3]} biases (one per output channel), got shape {np.shape(b)}"
        )
    return x, w


def conv2d(x, w, b=None, stride: int = 1, padding: int = 0) -> np.ndarray:
    """Slide every filter over the zero-padded images; each output channel sums over all input
    channels."""
    x, w = check_conv(x, w, b, stride, padding)
    kh, kw = w.shape[:2]
    x = np.pad(x, ((0, 0), (padding, padding), (padding, padding), (0, 0)))
    patches = sliding_window_view(x, (kh, kw), axis=(1, 2))[
        :, ::stride, ::stride
    ]  # N, OH, OW, C, KH, KW
    out = np.einsum("nhwcij,ijco->nhwo", patches, w)
    return out if b is None else out + np.asarray(b)


def conv_matrix(w, in_shape, stride: int = 1, padding: int = 0) -> np.ndarray:
    """The convolution as a (mostly zero) matrix M: ``M @ x.ravel() == conv2d(x[None], w,
    ...).ravel()``.

    ``in_shape`` is H x W x C of one image; rows follow the output's H x W x C_out order.
    """
    w = array(w, "w", 4, "a kernel KH x KW x C_in x C_out")
    if np.shape(in_shape) != (3,):
        raise ValueError(f"in_shape: expected (H, W, C) of one image, got {in_shape!r}")
    h, wd, c = (integer(v, "in_shape", 1) for v in in_shape)
    kh, kw, cin, cout = w.shape
    if cin != c:
        raise ValueError(f"kernel has {cin} input channels but the image has {c}")
    oh, ow = output_size(h, kh, stride, padding), output_size(wd, kw, stride, padding)
    m = np.zeros((oh, ow, cout, h, wd, c), dtype=w.dtype)
    for i in range(oh):
        for j in range(ow):
            for di in range(kh):
                for dj in range(kw):
                    y, x = i * stride + di - padding, j * stride + dj - padding
                    if 0 <= y < h and 0 <= x < wd:  # taps on the zero padding contribute nothing
                        m[i, j, :, y, x, :] = w[di, dj].T
    return m.reshape(oh * ow * cout, h * wd * c)


def pool2d(x, size: int = 2, stride: int | None = None, mode: str = "max") -> np.ndarray:
    """Max (or average) over ``size`` x ``size`` windows of N x H x W x C maps, per channel."""
    x = array(x, "x", 4, "maps N x H x W x C")
    if mode not in ("max", "avg"):
        raise ValueError(f"mode must be 'max' or 'avg', got {mode!r}")
    stride = size if stride is None else stride
    for side in x.shape[1:3]:
        conv_geometry(side, size, stride)
    windows = sliding_window_view(x, (size, size), axis=(1, 2))[:, ::stride, ::stride]
    return windows.max(axis=(-2, -1)) if mode == "max" else windows.mean(axis=(-2, -1))


def shift_change(image, kernel, shift: int = 1, size: int = 2) -> dict:
    """How much a one-pixel shift of ``image`` (H x W x C) changes the convolution and its max
    pooling.

    Each change is the mean absolute difference divided by the mean absolute value before the shift
    (the image moves ``shift`` pixels to the right, filling with zeros); ReLU comes before pooling.
    """
    image = array(image, "image", 3, "one H x W x C image", dtype=np.float64)
    kernel = array(kernel, "kernel", 4, "a kernel KH x KW x C_in x C_out")
    integer(size, "size", 1)
    if not isinstance(shift, (int, np.integer)) or not 0 < shift < image.shape[1]:
        raise ValueError(
            f"expected one H x W x C image and 0 < shift < W, got {image.shape} and {shift}"
        )
    shifted = np.zeros_like(image)
    shifted[:, shift:] = image[:, :-shift]
    conv = [
        np.maximum(conv2d(a[None], kernel, padding=kernel.shape[0] // 2), 0)
        for a in (image, shifted)
    ]
    pooled = [pool2d(c, size) for c in conv]

    def change(a, b):
        return float(np.abs(a - b).mean() / max(np.abs(a).mean(), 1e-12))

    return {"conv": change(*conv), "pooled": change(*pooled)}


# --- Chapter 1's networks: the checks of both editions' companion.<edition>.models -------------
def check_stacked_linear(n_in: int, n_hidden: int, n_out: int) -> None:
    """Sizes of ``stacked_linear``: three integers >= 1."""
    for value, name in ((n_in, "n_in"), (n_hidden, "n_hidden"), (n_out, "n_out")):
        integer(value, name, 1)


def two_linear(layers) -> list:
    """The two layers of ``stacked_linear(..., relu=False)``; ``layers`` is ``None`` for a model
    that is not a sequence of layers."""
    if layers is None or len(layers) != 2:
        raise ValueError(
            "expected stacked_linear(..., relu=False): two linear layers and nothing between"
        )
    return list(layers)


def check_small_cnn(n_classes: int, in_channels: int, widths) -> tuple:
    """Arguments of ``small_cnn``: at least 2 classes, 1 input channel or more, and one to four
    block widths (28 pixels are halved by each block); the widths come back as a tuple."""
    few = isinstance(widths, (str, int)) or not len(widths)
    if integer(n_classes, "n_classes") < 2 or few:
        raise ValueError(
            f"expected n_classes >= 2 and at least one width, got {n_classes} and {widths}"
        )
    integer(in_channels, "in_channels", 1)
    for width in widths:
        integer(width, "widths", 1)
    if len(widths) > 4:
        raise ValueError(
            f"widths: expected at most 4 blocks (28 px halved each time), got {len(widths)}"
        )
    return tuple(widths)

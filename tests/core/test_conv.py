"""The numpy reference convolution against plain loops, hand-worked values and its matrix form."""

import numpy as np
import pytest

from companion import conv

COMBOS = [(1, 0), (1, 1), (2, 0), (2, 1), (3, 2)]  # (stride, padding)


def loop_conv(x, w, stride, padding):
    """The definition, one output value at a time."""
    n, h, wd, c = x.shape
    kh, kw, _, co = w.shape
    xp = np.zeros((n, h + 2 * padding, wd + 2 * padding, c))
    xp[:, padding : padding + h, padding : padding + wd] = x
    oh, ow = (h + 2 * padding - kh) // stride + 1, (wd + 2 * padding - kw) // stride + 1
    out = np.zeros((n, oh, ow, co))
    for b in range(n):
        for i in range(oh):
            for j in range(ow):
                for o in range(co):
                    patch = xp[b, i * stride : i * stride + kh, j * stride : j * stride + kw]
                    out[b, i, j, o] = (patch * w[..., o]).sum()
    return out


@pytest.mark.parametrize("stride,padding", COMBOS)
def test_conv2d_equals_loops(stride, padding):
    rng = np.random.default_rng(0)
    x, w = rng.normal(size=(2, 7, 8, 3)), rng.normal(size=(3, 3, 3, 4))
    np.testing.assert_allclose(
        conv.conv2d(x, w, stride=stride, padding=padding),
        loop_conv(x, w, stride, padding),
        atol=1e-12,
    )


def test_conv2d_by_hand():
    # 3x3 image, 2x2 kernel [[1, 0], [0, -1]]: each output = top-left minus bottom-right of its
    # window
    x = np.arange(9.0).reshape(1, 3, 3, 1)
    w = np.array([[1.0, 0.0], [0.0, -1.0]]).reshape(2, 2, 1, 1)
    np.testing.assert_array_equal(conv.conv2d(x, w)[0, ..., 0], [[-4, -4], [-4, -4]])
    np.testing.assert_array_equal(conv.conv2d(x, w, b=[10.0])[0, ..., 0], [[6, 6], [6, 6]])
    # input channels are summed: a channel of ones under an all-ones 2x2 kernel adds 4 to the -4
    x2 = np.concatenate([x, np.ones_like(x)], axis=-1)
    w2 = np.concatenate([w, np.ones((2, 2, 1, 1))], axis=2)
    np.testing.assert_array_equal(conv.conv2d(x2, w2)[0, ..., 0], [[0, 0], [0, 0]])


def test_one_filter_per_output_channel():
    x = np.ones((1, 4, 4, 3))
    w = np.stack([np.full((3, 3, 3), k) for k in (1.0, 2.0)], axis=-1)
    out = conv.conv2d(x, w)
    assert out.shape == (1, 2, 2, 2)
    np.testing.assert_array_equal(out[0, 0, 0], [27, 54])  # 3 x 3 x 3 taps of 1, times 1 and 2


@pytest.mark.parametrize("stride,padding", COMBOS)
def test_conv_matrix_equals_conv(stride, padding):
    rng = np.random.default_rng(1)
    x, w = rng.normal(size=(6, 7, 2)), rng.normal(size=(3, 3, 2, 3))
    m = conv.conv_matrix(w, x.shape, stride, padding)
    np.testing.assert_allclose(
        m @ x.ravel(), conv.conv2d(x[None], w, stride=stride, padding=padding).ravel(), atol=1e-12
    )


def test_conv_matrix_is_sparse():
    # 5x5 image, 3x3 kernel, no padding: 9 outputs, each uses 9 of the 25 pixels
    m = conv.conv_matrix(np.ones((3, 3, 1, 1)), (5, 5, 1))
    assert m.shape == (9, 25) and (m != 0).sum() == 81


@pytest.mark.parametrize(
    "n,k,s,p,expected",
    [
        (28, 3, 1, 1, 28),
        (28, 3, 2, 1, 14),
        (32, 5, 1, 0, 28),
        (7, 3, 2, 0, 3),
        (224, 7, 2, 3, 112),
        (5, 5, 1, 0, 1),
    ],
)
def test_output_size(n, k, s, p, expected):
    assert conv.output_size(n, k, s, p) == expected
    assert (
        conv.conv2d(np.zeros((1, n, n, 1)), np.zeros((k, k, 1, 1)), stride=s, padding=p).shape[1]
        == expected
    )


def test_stride_two_keeps_a_quarter():
    assert (
        conv.conv2d(np.zeros((1, 16, 16, 1)), np.zeros((3, 3, 1, 1)), stride=2, padding=1).size
        == 16 * 16 // 4
    )


def test_pool2d_by_hand():
    x = np.array([[1, 2, 0, 0], [3, 4, 0, 5], [0, 0, 1, 1], [6, 0, 1, 1]], float).reshape(
        1, 4, 4, 1
    )
    np.testing.assert_array_equal(conv.pool2d(x)[0, ..., 0], [[4, 5], [6, 1]])
    np.testing.assert_array_equal(conv.pool2d(x, mode="avg")[0, ..., 0], [[2.5, 1.25], [1.5, 1]])


def test_shift_inside_a_pooling_window_leaves_max_pool_unchanged():
    image = np.zeros((8, 8, 1))
    image[4, 2] = (
        1.0  # a dot in column 2 moves to column 3: same 2x2 window after a 1x1 identity filter
    )
    change = conv.shift_change(image, np.ones((1, 1, 1, 1)))
    assert change == {"conv": 2.0, "pooled": 0.0}


def test_errors_say_what_was_expected():
    with pytest.raises(ValueError, match="N x H x W x C"):
        conv.conv2d(np.zeros((4, 4)), np.zeros((3, 3, 1, 1)))
    with pytest.raises(ValueError, match="KH x KW x 3"):
        conv.conv2d(np.zeros((1, 4, 4, 3)), np.zeros((3, 3, 1, 1)))
    with pytest.raises(ValueError, match="does not fit"):
        conv.output_size(2, 5)

"""The numpy reference convolution equals torch's (multi-channel, several strides and paddings)."""
import numpy as np
import pytest
import torch

from companion import conv
from companion.torch import models

COMBOS = [(1, 0, 1, 4), (1, 1, 3, 8), (2, 1, 3, 5), (2, 0, 2, 3), (3, 2, 4, 2)]  # stride, padding, C_in, C_out


@pytest.mark.parametrize("stride,padding,c_in,c_out", COMBOS)
def test_numpy_conv_equals_torch(stride, padding, c_in, c_out):
    rng = np.random.default_rng(stride * 10 + padding)
    x = rng.normal(size=(2, 9, 10, c_in)).astype(np.float32)
    w, b = rng.normal(size=(3, 3, c_in, c_out)).astype(np.float32), rng.normal(size=c_out).astype(np.float32)
    ours = conv.conv2d(x, w, b, stride=stride, padding=padding)
    theirs = models.conv2d(x, w, b, stride=stride, padding=padding)
    assert theirs.shape == ours.shape
    assert np.abs(ours - theirs).max() < 1e-5


def test_numpy_pool_equals_torch():
    x = np.random.default_rng(0).normal(size=(2, 8, 8, 3)).astype(np.float32)
    theirs = torch.nn.functional.max_pool2d(torch.from_numpy(x).permute(0, 3, 1, 2), 2).permute(0, 2, 3, 1)
    np.testing.assert_array_equal(conv.pool2d(x), theirs.numpy())


def test_conv2d_checks_shapes():
    with pytest.raises(ValueError, match="KH x KW x C x C_out"):
        models.conv2d(np.zeros((1, 4, 4, 2)), np.zeros((3, 3, 1, 1)))

"""The numpy reference convolution equals torch's (multi-channel, several strides and paddings)."""

import numpy as np
import pytest
import torch

from cases import CONV_COMBOS, check_conv2d_equals_numpy
from companion import conv
from companion.torch import models


@pytest.mark.parametrize("stride,padding,c_in,c_out", CONV_COMBOS)
def test_numpy_conv_equals_torch(stride, padding, c_in, c_out):
    check_conv2d_equals_numpy(models.conv2d, stride, padding, c_in, c_out)


def test_numpy_pool_equals_torch():
    x = np.random.default_rng(0).normal(size=(2, 8, 8, 3)).astype(np.float32)
    theirs = torch.nn.functional.max_pool2d(torch.from_numpy(x).permute(0, 3, 1, 2), 2).permute(
        0, 2, 3, 1
    )
    np.testing.assert_array_equal(conv.pool2d(x), theirs.numpy())


def test_conv2d_checks_shapes():
    with pytest.raises(ValueError, match="KH x KW x C x C_out"):
        models.conv2d(np.zeros((1, 4, 4, 2)), np.zeros((3, 3, 1, 1)))

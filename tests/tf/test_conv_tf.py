"""The numpy reference convolution equals TensorFlow's (multi-channel, several strides and
paddings)."""

import numpy as np
import pytest
import tensorflow as tf

from cases import CONV_COMBOS, check_conv2d_equals_numpy
from companion import conv
from companion.tf import models


@pytest.mark.parametrize("stride,padding,c_in,c_out", CONV_COMBOS)
def test_numpy_conv_equals_tensorflow(stride, padding, c_in, c_out):
    check_conv2d_equals_numpy(models.conv2d, stride, padding, c_in, c_out)


def test_keras_same_padding_at_stride_one_is_padding_one():
    x = np.random.default_rng(0).normal(size=(1, 6, 6, 2)).astype(np.float32)
    w = np.random.default_rng(1).normal(size=(3, 3, 2, 3)).astype(np.float32)
    layer = tf.keras.layers.Conv2D(3, 3, padding="same", use_bias=False)
    layer.build(x.shape)
    layer.set_weights([w])
    assert np.abs(layer(x).numpy() - conv.conv2d(x, w, padding=1)).max() < 1e-5


def test_numpy_pool_equals_tensorflow():
    x = np.random.default_rng(0).normal(size=(2, 8, 8, 3)).astype(np.float32)
    np.testing.assert_array_equal(conv.pool2d(x), tf.nn.max_pool2d(x, 2, 2, "VALID").numpy())


def test_conv2d_checks_shapes():
    with pytest.raises(ValueError, match="KH x KW x C x C_out"):
        models.conv2d(np.zeros((1, 4, 4, 2)), np.zeros((3, 3, 1, 1)))

"""CAM, Grad-CAM, guided backprop (TensorFlow/Keras): hand-worked maps, and the same maps as
PyTorch.

The hand-set network and its maps are worked out in tests/cases.py.
The cross-framework test runs the torch exporter in its own process and reads its .npz file.
"""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import companion.tf  # noqa: F401  (TensorFlow only in this process)
import keras
import tensorflow as tf

import cases
from cases import X
from companion import saliency
from companion.tf import cam
from companion.tf.shapes_net import randomise, shapes_net

TORCH_TESTS = Path(__file__).parents[1] / "torch"


def as_tensor(images):
    """Float NHWC numpy -> tensor, no scaling (the hand-set input has negative values)."""
    return tf.constant(np.asarray(images, np.float32))


def tiny_net():
    inputs = keras.Input((2, 2, 1))
    x = keras.layers.Conv2D(2, 1, use_bias=False, name="conv1")(inputs)
    x = keras.layers.ReLU(6.0, name="relu1")(x)
    x = keras.layers.Conv2D(2, 1, use_bias=False, name="conv2")(x)
    x = keras.layers.ReLU(name="relu2")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    net = keras.Model(inputs, keras.layers.Dense(2, use_bias=False, name="fc")(x))
    net.get_layer("conv1").set_weights([np.array([1.0, -1.0]).reshape(1, 1, 1, 2)])
    net.get_layer("conv2").set_weights(
        [np.array([[1.0, -1.0], [2.0, 1.0]]).reshape(1, 1, 2, 2)]
    )  # in x out
    net.get_layer("fc").set_weights([np.array([[1.0, -2.0], [-1.0, 4.0]])])  # in x out
    return net


def test_hand_worked_cam_and_grad_cam():
    cases.check_hand_worked_cam_and_grad_cam(cam, tiny_net(), as_tensor)


def test_hand_worked_guided_backprop_handles_relu6():
    net = tiny_net()
    cases.check_hand_worked_guided_backprop(cam, net, as_tensor)
    x = as_tensor(X)
    with tf.GradientTape() as tape:  # plain backprop, for contrast
        tape.watch(x)
        y = net(x)[0, 0]
    np.testing.assert_allclose(tape.gradient(y, x)[0, ..., 0], [[0.25, -0.25], [0, 0.25]])


def test_model_left_unchanged_and_errors():
    net = tiny_net()
    before = [w.copy() for w in net.get_weights()]
    layers = list(net.layers)
    cam.guided_backprop(net, X, 0, as_tensor)
    cam.grad_cam(net, X, "relu1", 0, as_tensor)
    assert net.layers == layers
    assert all(np.array_equal(a, b) for a, b in zip(before, net.get_weights()))
    np.testing.assert_allclose(net(as_tensor(X)).numpy(), [[2.75, -5.0]])
    with pytest.raises(ValueError, match="valid names: .*conv1, relu1"):
        cam.grad_cam(net, X, "conv9", 0, as_tensor)
    with pytest.raises(ValueError, match=r"class indices must be in \[0, 2\)"):
        cam.grad_cam(net, X, "relu2", 2, as_tensor)
    with pytest.raises(ValueError, match="class indices"):
        cam.guided_backprop(net, X, [-1], as_tensor)


def test_cam_equals_normalised_grad_cam_on_gap_linear_model():
    keras.utils.set_random_seed(0)
    cases.check_cam_equals_normalised_grad_cam(cam, saliency, shapes_net(width=4))


def test_batch_of_eight_matches_images_alone():
    keras.utils.set_random_seed(1)
    cases.check_batch_of_eight_matches_images_alone(cam, shapes_net(width=4))


def test_filter_pattern_raises_the_filter_response():
    keras.utils.set_random_seed(0)
    net = shapes_net(width=4)
    out = cam.filter_pattern(net, "conv2", [0, 3], size=24, steps=20, lr=0.1, jitter=2)
    assert out.shape == (2, 24, 24, 3) and out.min() >= 0 and out.max() <= 1
    start = cam.filter_pattern(net, "conv2", [0, 3], size=24, steps=0)
    trunk = keras.Model(net.inputs[0], net.get_layer("conv2").output)
    response = lambda x: tf.reduce_mean(trunk(x), (1, 2)).numpy()[[0, 1], [0, 3]]  # noqa: E731
    assert (response(out) > response(start) + 0.05).all()
    with pytest.raises(ValueError, match="has 8 filters"):
        cam.filter_pattern(net, "conv2", [8], size=24, steps=1)


def test_randomise_changes_only_the_named_layers():
    net = shapes_net(width=4)
    before = {layer.name: [w.copy() for w in layer.get_weights()] for layer in net.layers}
    randomise(net, ["conv4", "fc"], seed=3)
    changed = {
        layer.name
        for layer in net.layers
        if any(not np.array_equal(a, b) for a, b in zip(before[layer.name], layer.get_weights()))
    }
    assert changed == {"conv4", "fc"}


@pytest.fixture(scope="module")
def torch_reference(tmp_path_factory):
    """Maps computed by PyTorch in a separate process (torch and TF never share one)."""
    path = tmp_path_factory.mktemp("torch") / "reference.npz"
    code = (
        f"import sys; sys.path[:0] = {[str(TORCH_TESTS), str(TORCH_TESTS.parent)]!r}; "
        f"import test_cam_torch as t; t.export_reference({str(path)!r})"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=300)
    return dict(np.load(path))


def test_same_hand_set_maps_as_torch(torch_reference):
    ref = torch_reference
    np.testing.assert_allclose(
        ref["hand_cam"], [cam.cam(tiny_net(), X, "relu2", c, as_tensor)[0] for c in (0, 1)]
    )
    np.testing.assert_allclose(
        ref["hand_grad_cam"], cam.grad_cam(tiny_net(), X, "relu1", 0, as_tensor)
    )
    np.testing.assert_allclose(ref["hand_guided"], cam.guided_backprop(tiny_net(), X, 0, as_tensor))


def test_same_weights_give_the_same_maps_as_torch(torch_reference):
    ref = torch_reference
    net = shapes_net(width=4)
    for layer in net.layers:
        keys = sorted(k for k in ref if k.startswith(f"w_{layer.name}_"))
        if keys:
            layer.set_weights([ref[k] for k in keys])
    images, classes = ref["images"], ref["classes"]
    np.testing.assert_allclose(
        cam.cam(net, images, "relu4", classes), ref["cam"], rtol=1e-4, atol=1e-5
    )
    np.testing.assert_allclose(
        cam.grad_cam(net, images, "relu2", classes), ref["grad_cam_relu2"], rtol=1e-4, atol=1e-6
    )
    np.testing.assert_allclose(
        cam.grad_cam(net, images, "relu4"), ref["grad_cam_relu4"], rtol=1e-4, atol=1e-6
    )
    np.testing.assert_allclose(
        cam.guided_backprop(net, images, classes), ref["guided"], rtol=1e-4, atol=1e-6
    )
    pattern = cam.filter_pattern(net, "conv3", [1, 5], size=20, steps=5, lr=0.1, jitter=2)
    np.testing.assert_allclose(pattern, ref["pattern"], atol=1e-4)


def test_frozen_model_still_gives_grad_cam():
    net = tiny_net()
    net.trainable = False
    cases.check_frozen_model_still_gives_grad_cam(cam, net, as_tensor)

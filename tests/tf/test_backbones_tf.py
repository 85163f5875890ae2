import subprocess
import sys

import keras
import numpy as np
import pytest

from companion.data import load
from companion.tf.activations import layer_activations
from companion.tf.backbones import (
    block_output,
    count_params,
    feature_extractor,
    mobilenet_v2,
    predict_proba,
    preprocess,
)

TORCH_REFERENCE = """
import numpy as np, sys
from companion.data import load
from companion.torch.backbones import mobilenet_v2, predict_proba, count_params, block_output
model = mobilenet_v2()
photos = load("sample-photos")
np.savez(sys.argv[1], proba=predict_proba(model, photos.images), n_params=count_params(model),
         block3=block_output(model, photos.images[:1], 3))
"""


@pytest.fixture(scope="module")
def model():
    return mobilenet_v2()


@pytest.fixture(scope="module")
def torch_reference(tmp_path_factory):
    """What the torch edition computes, from a separate process (the frameworks never share one)."""
    path = tmp_path_factory.mktemp("ref") / "torch.npz"
    subprocess.run(
        [sys.executable, "-c", TORCH_REFERENCE, str(path)], check=True, capture_output=True
    )
    return np.load(path)


def test_port_gives_torchs_probabilities_and_top1(model, torch_reference):
    proba = predict_proba(model, load("sample-photos").images)
    np.testing.assert_array_equal(proba.argmax(1), torch_reference["proba"].argmax(1))
    np.testing.assert_allclose(proba, torch_reference["proba"], atol=1e-4)


def test_same_parameter_count_and_feature_maps_as_torch(model, torch_reference):
    assert count_params(model) == int(torch_reference["n_params"])
    block3 = block_output(model, load("sample-photos").images[:1], 3)
    np.testing.assert_allclose(block3, torch_reference["block3"], atol=1e-3)


def test_preprocess_is_torchvisions_normalisation():
    images = np.random.default_rng(0).integers(0, 256, (2, 5, 7, 1), dtype=np.uint8)
    mean, std = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])
    expected = (np.repeat(images, 3, -1) / 255 - mean) / std  # grey becomes three equal channels
    np.testing.assert_allclose(preprocess(images).numpy(), expected, atol=1e-6)
    with pytest.raises(ValueError, match="uint8 N x H x W x C"):
        preprocess(images.astype(np.float32))


def test_feature_extractor_and_activations(model):
    image = load("sample-photos", names=["chelsea"]).images
    assert feature_extractor(model)(preprocess(image)).shape == (1, 7, 7, 1280)
    assert layer_activations(model, image, ["Conv1"])["Conv1"].shape == (1, 112, 112, 32)
    with pytest.raises(ValueError, match="valid names: .*Conv1"):
        layer_activations(model, image, ["conv99"])
    assert isinstance(model, keras.Model)

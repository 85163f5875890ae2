"""Chapter 1 networks and imbalance remedies (TensorFlow/Keras)."""

import numpy as np
import pytest

from cases import augmented_bars
from companion.data import ImageSet
from companion.tf import activations, models, sampling


def test_two_linear_layers_are_one_linear_layer():
    x = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    model = models.stacked_linear(4, 6, 3)
    w, b = models.as_one_linear(model)
    assert w.shape == (4, 3)
    np.testing.assert_allclose(model(x).numpy(), x @ w + b, atol=1e-5)


def test_a_relu_between_breaks_the_collapse():
    model = models.stacked_linear(4, 6, 3, relu=True)
    with pytest.raises(ValueError, match="nothing between"):
        models.as_one_linear(model)
    plain = models.stacked_linear(4, 6, 3)
    x = np.random.default_rng(0).normal(size=(50, 4)).astype(np.float32)
    assert not np.allclose(
        model(x).numpy(), plain(x).numpy()
    )  # same weights (same seed), different function


def test_small_cnn_shapes_and_layer_names():
    model = models.small_cnn(n_classes=10)
    images = np.zeros((3, 28, 28, 1), np.uint8)
    assert model(np.zeros((3, 28, 28, 1), np.float32)).shape == (3, 10)
    assert activations.layer_names(model) == ["conv1", "conv2", "conv3"]
    maps = activations.layer_activations(model, images, ["relu1", "relu2", "relu3"])
    assert [m.shape for m in maps.values()] == [(3, 28, 28, 32), (3, 14, 14, 64), (3, 7, 7, 128)]
    assert models.small_cnn(2, widths=(8, 16))(np.zeros((1, 28, 28, 1), np.float32)).shape == (1, 2)


def test_balanced_dataset_draws_classes_equally():
    data = ImageSet(np.zeros((1000, 1, 1, 1), np.uint8), np.array([0] * 950 + [1] * 50), ["a", "b"])
    batches = list(sampling.balanced_dataset(data, batch_size=50, seed=0))
    drawn = np.concatenate([y.numpy() for _, y in batches])
    assert len(batches) == 20 and len(drawn) == 1000 and 0.45 < drawn.mean() < 0.55
    assert batches[0][0].dtype.name == "float32"


def test_augment_shifts_and_flips_but_keeps_the_object():
    images, out = augmented_bars(sampling.augment)
    np.testing.assert_allclose(
        out.sum(axis=(1, 2, 3)), images.sum(axis=(1, 2, 3)), rtol=0.02
    )  # interpolated


def test_batchnorm_matches_torch_defaults():
    bn = models.small_cnn().get_layer("bn1")
    assert bn.momentum == pytest.approx(0.9) and bn.epsilon == pytest.approx(1e-5)

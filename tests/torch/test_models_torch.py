"""Chapter 1 networks and imbalance remedies (PyTorch)."""

import numpy as np
import pytest
import torch

from cases import augmented_bars
from companion.data import ImageSet
from companion.torch import activations, models, sampling


def test_two_linear_layers_are_one_linear_layer():
    x = np.random.default_rng(0).normal(size=(5, 4))
    model = models.stacked_linear(4, 6, 3).double()
    w, b = models.as_one_linear(model)
    assert w.shape == (4, 3)
    np.testing.assert_allclose(model(torch.from_numpy(x)).detach().numpy(), x @ w + b, atol=1e-12)


def test_a_relu_between_breaks_the_collapse():
    model = models.stacked_linear(4, 6, 3, relu=True).double()
    with pytest.raises(ValueError, match="nothing between"):
        models.as_one_linear(model)
    plain = models.stacked_linear(4, 6, 3).double()
    x = torch.from_numpy(np.random.default_rng(0).normal(size=(50, 4)))
    assert not torch.allclose(model(x), plain(x))  # same weights (same seed), different function


def test_small_cnn_shapes_and_layer_names():
    model = models.small_cnn(n_classes=10)
    images = np.zeros((3, 28, 28, 1), np.uint8)
    assert model(torch.zeros(3, 1, 28, 28)).shape == (3, 10)
    assert activations.layer_names(model) == ["conv1", "conv2", "conv3"]
    maps = activations.layer_activations(model, images, ["relu1", "relu2", "relu3"])
    assert [m.shape for m in maps.values()] == [(3, 28, 28, 32), (3, 14, 14, 64), (3, 7, 7, 128)]
    assert models.small_cnn(2, widths=(8, 16))(torch.zeros(1, 1, 28, 28)).shape == (1, 2)


def test_balanced_sampler_draws_classes_equally():
    data = ImageSet(np.zeros((1000, 1, 1, 1), np.uint8), np.array([0] * 950 + [1] * 50), ["a", "b"])
    drawn = data.labels[list(sampling.balanced_sampler(data, seed=0))]
    assert (
        len(drawn) == 1000 and 0.45 < drawn.mean() < 0.55
    )  # 50 % +- 5 standard deviations (1.6 %)


def test_augment_shifts_and_flips_but_keeps_the_object():
    images, out = augmented_bars(sampling.augment)
    np.testing.assert_array_equal(
        out.sum(axis=(1, 2, 3)), images.sum(axis=(1, 2, 3))
    )  # integer shifts

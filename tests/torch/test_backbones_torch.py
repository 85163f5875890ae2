import numpy as np
import pytest
import torch
from torchvision.models import MobileNet_V2_Weights
from torchvision.transforms import v2

from companion.data import load
from companion.imagenet import imagenet_classes
from companion.torch.activations import layer_activations, layer_names
from companion.torch.backbones import (
    block_output,
    count_params,
    mobilenet_v2,
    predict_proba,
    preprocess,
)

CATS = range(281, 286)  # ImageNet's five domestic-cat classes


@pytest.fixture(scope="module")
def model():
    return mobilenet_v2()


def test_class_names_are_torchvisions():
    assert imagenet_classes() == MobileNet_V2_Weights.IMAGENET1K_V1.meta["categories"]


def test_preprocess_matches_torchvision_normalisation():
    images = np.random.default_rng(0).integers(0, 256, (2, 5, 7, 3), dtype=np.uint8)
    reference = v2.Normalize(
        MobileNet_V2_Weights.IMAGENET1K_V1.transforms().mean,
        MobileNet_V2_Weights.IMAGENET1K_V1.transforms().std,
    )(torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255)
    torch.testing.assert_close(preprocess(images), reference)
    with pytest.raises(ValueError, match="uint8 N x H x W x C"):
        preprocess(images[0])


def test_pretrained_model_recognises_the_cat_and_the_espresso(model):
    photos = load("sample-photos", names=["chelsea", "coffee"])
    top1 = predict_proba(model, photos.images).argmax(1)
    assert top1[0] in CATS and imagenet_classes()[top1[1]] == "espresso"
    assert count_params(model) == 3_504_872  # MobileNetV2 1.0, as published by torchvision


def test_feature_maps_shrink_with_depth(model):
    image = load("sample-photos", names=["chelsea"], image_size=224).images
    assert block_output(model, image, 3).shape == (1, 56, 56, 24)
    assert block_output(model, image, 18).shape == (1, 7, 7, 1280)
    with pytest.raises(ValueError, match="0..18"):
        block_output(model, image, 19)


def test_layer_activations_leave_no_hooks(model):
    image = load("sample-photos", names=["chelsea"], image_size=64).images
    names = layer_names(model)[:2]
    maps = layer_activations(model, image, names)
    assert maps[names[0]].shape == (1, 32, 32, 32)
    assert all(not m._forward_hooks for m in model.modules())
    with pytest.raises(ValueError, match="valid names: features"):
        layer_activations(model, image, ["conv99"])

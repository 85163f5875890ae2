"""Chapter 2 (PyTorch): transfer levels, frozen backbones, cached features, DenseNet anatomy."""

import numpy as np
import pytest
import torch

from companion.torch import transfer
from companion.torch.backbones import count_params, preprocess
from companion.torch.training import fit, predict
from cases import random_imageset
from companion.transfer import DENSENET_BLOCKS, dense_connections, densenet_channels

HEAD = 1280 * 10 + 10  # new linear head: 1280 features -> 10 classes
MOBILENET_V2 = (
    3_504_872  # torchvision's published count, with the 1000-class head (1280 x 1000 + 1000)
)


def test_trainable_counts_follow_the_architecture():
    model = transfer.transfer_model(10, pretrained=False)
    assert transfer.set_level(model, 1) == 0
    assert transfer.set_level(model, 2) == HEAD
    last_block = (
        320 * 1280 + 2 * 1280
    )  # block 18: 1x1 conv 320 -> 1280 without bias, BatchNorm gamma and beta
    assert transfer.set_level(model, 3, unfreeze_at=18) == HEAD + last_block
    assert transfer.set_level(model, 4) == MOBILENET_V2 - (1280 * 1000 + 1000) + HEAD
    with pytest.raises(ValueError, match="level must be"):
        transfer.set_level(model, 5)
    with pytest.raises(ValueError, match="unfreeze_at"):
        transfer.set_level(model, 3, unfreeze_at=19)


def _state(module):
    return {k: v.clone() for k, v in module.state_dict().items()}


def test_level_2_leaves_every_backbone_weight_bit_identical():
    torch.manual_seed(0)
    model = transfer.transfer_model(10)
    transfer.set_level(model, 2)
    before, head = _state(model.features), _state(model.head)
    fit(
        model,
        random_imageset(),
        epochs=2,
        batch_size=5,
        lr=1e-2,
        preprocess=preprocess,
        progress=False,
    )
    after = model.features.state_dict()
    assert all(
        torch.equal(before[k], after[k]) for k in before
    )  # weights and BatchNorm running statistics
    assert not torch.equal(head["1.weight"], model.head.state_dict()["1.weight"])


def test_level_3_trains_only_the_top_blocks():
    torch.manual_seed(0)
    model = transfer.transfer_model(10)
    transfer.set_level(model, 3, unfreeze_at=18)
    before = _state(model.features)
    fit(
        model,
        random_imageset(),
        epochs=1,
        batch_size=5,
        lr=1e-2,
        preprocess=preprocess,
        progress=False,
    )
    after = model.features.state_dict()
    changed = {k.split(".")[0] for k in before if not torch.equal(before[k], after[k])}
    assert changed == {"18"}


def test_cached_features_feed_the_head_like_the_whole_model():
    torch.manual_seed(0)
    model = transfer.transfer_model(10)
    images = random_imageset(6).images
    features = transfer.extract_features(model, images, batch_size=4)
    assert features.shape == (6, 1280) and features.dtype == np.float32
    np.testing.assert_allclose(
        predict(model.head, features, preprocess=None),
        predict(model, images, preprocess=preprocess),
        atol=1e-5,
    )


@pytest.mark.parametrize("depth", [121, 169])
def test_densenet_blocks_channels_and_connections(depth):
    model = transfer.densenet(depth)
    anatomy = transfer.densenet_anatomy(model)
    blocks = DENSENET_BLOCKS[depth]
    assert list(anatomy["channels"]) == [c for _, c in densenet_channels(blocks)]
    for b, layers in enumerate(blocks, 1):
        assert transfer.dense_block_inputs(model, b) == list(range(1, layers + 1))
        assert transfer.block_connections(model, b) == dense_connections(layers)
    assert transfer.layer_channels(model, 1) == [64 + 32 * i for i in range(1, 7)]


def test_densenet121_block3_has_300_connections():
    assert transfer.block_connections(transfer.densenet(121), 3) == 24 * 25 // 2 == 300


def test_parameter_counts_match_published_numbers():
    assert transfer.parameter_counts() == {
        "DenseNet121": 7_978_856,
        "DenseNet169": 14_149_480,
        "ResNet50": 25_557_032,
        "MobileNetV2": MOBILENET_V2,
    }


def test_replace_classifier():
    dense = transfer.replace_classifier(transfer.densenet(121), 7)
    assert (dense.classifier.in_features, dense.classifier.out_features) == (1024, 7)
    from torchvision.models import mobilenet_v2, resnet18

    assert transfer.replace_classifier(resnet18(), 3).fc.out_features == 3
    assert transfer.replace_classifier(mobilenet_v2(), 4).classifier[-1].out_features == 4
    with pytest.raises(ValueError, match="no linear"):
        transfer.replace_classifier(torch.nn.Conv2d(1, 1, 1), 2)


def test_recipe_freezes_batchnorm_scale_shift_and_statistics():
    torch.manual_seed(0)
    model = transfer.transfer_model(10)
    bn = [m for m in model.features.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    bn_params = sum(p.numel() for m in bn for p in m.parameters())  # gamma and beta: 2 x channels
    assert bn_params == 2 * sum(m.num_features for m in bn)
    assert (
        transfer.set_level(model, 4, freeze_batchnorm=True)
        == transfer.set_level(model, 4) - bn_params
    )
    transfer.set_level(model, 4, freeze_batchnorm=True)
    before = [_state(m) for m in bn]
    conv = model.features[18][0].weight.detach().clone()
    fit(
        model,
        random_imageset(),
        epochs=1,
        batch_size=5,
        lr=1e-2,
        preprocess=preprocess,
        progress=False,
    )
    assert all(torch.equal(b[k], m.state_dict()[k]) for b, m in zip(before, bn) for k in b)
    assert not torch.equal(conv, model.features[18][0].weight)  # the convolutions did train


def test_densenet_transfer_reads_the_features_torchvision_classifies():
    torch.manual_seed(0)
    net = transfer.densenet(121).eval()
    model = transfer.densenet_transfer(5, pretrained=False).eval()
    model.features[0].load_state_dict(net.features.state_dict())
    x = preprocess(random_imageset(2, size=64).images)
    with torch.no_grad():  # torchvision's forward: features, ReLU, average pool, classifier
        ours = model.pool(model.features(x))
        theirs = torch.nn.functional.adaptive_avg_pool2d(torch.relu(net.features(x)), 1).flatten(1)
    torch.testing.assert_close(ours, theirs)
    assert transfer.extract_features(model, random_imageset(3, size=64).images).shape == (3, 1024)
    assert count_params(model.head, trainable_only=True) == 1024 * 5 + 5

"""Chapter 2 (Keras): transfer levels, frozen backbones and BatchNorm, cached features, DenseNet
anatomy."""

import keras
import numpy as np
import pytest

from companion.tf import transfer
from companion.tf.backbones import count_params, preprocess
from companion.tf.training import fit, predict
from cases import random_imageset
from companion.transfer import DENSENET_BLOCKS, dense_connections, densenet_channels

HEAD = 1280 * 10 + 10  # new dense head: 1280 features -> 10 classes
MOBILENET_V2 = (
    3_504_872  # published count with the 1000-class head (BatchNorm moving statistics excluded)
)


def _weights(layer):
    return [w.numpy().copy() for w in layer.weights]


def test_trainable_counts_follow_the_architecture():
    model = transfer.transfer_model(10, pretrained=False, image_size=32)
    assert transfer.set_level(model, 1) == 0
    assert transfer.set_level(model, 2) == HEAD
    last_block = (
        320 * 1280 + 2 * 1280
    )  # 1x1 conv 320 -> 1280 without bias, BatchNorm gamma and beta
    assert transfer.set_level(model, 3, unfreeze_at=18) == HEAD + last_block
    assert transfer.set_level(model, 3) == 1_218_890  # the same count as the PyTorch edition
    assert transfer.set_level(model, 4) == MOBILENET_V2 - (1280 * 1000 + 1000) + HEAD
    with pytest.raises(ValueError, match="level must be"):
        transfer.set_level(model, 0)
    assert transfer.set_level(model, 2) == count_params(model, trainable_only=True) == HEAD


def test_new_heads_have_the_chapters_parameter_counts():
    """The chapter's exercise: a dense head from d features to n classes has d n + n parameters."""
    assert count_params(transfer.new_head(5), trainable_only=True) == 1280 * 5 + 5
    assert count_params(transfer.new_head(5, n_features=1024), trainable_only=True) == 1024 * 5 + 5


def _changed(layers, before):
    return {
        layer.name
        for layer in layers
        if not all(np.array_equal(a, b.numpy()) for a, b in zip(before[layer.name], layer.weights))
    }


def test_level_3_then_level_2_train_only_what_they_should():
    model = transfer.transfer_model(10, image_size=32)
    layers = [layer for layer in model.get_layer("features").layers if layer.weights]
    transfer.set_level(model, 3, unfreeze_at=18)
    before = {layer.name: _weights(layer) for layer in layers}
    fit(
        model,
        random_imageset(),
        epochs=1,
        batch_size=5,
        lr=1e-2,
        preprocess=preprocess,
        progress=False,
    )
    assert _changed(layers, before) == {"Conv_1", "Conv_1_bn"}  # block 18 only
    transfer.set_level(model, 2)  # fit compiles again, so the change of `trainable` takes effect
    before, head = (
        {layer.name: _weights(layer) for layer in layers},
        _weights(model.get_layer("head")),
    )
    fit(
        model,
        random_imageset(),
        epochs=2,
        batch_size=5,
        lr=1e-2,
        preprocess=preprocess,
        progress=False,
    )
    assert _changed(layers, before) == set()  # every weight and moving statistic bit-identical
    assert not np.array_equal(head[0], model.get_layer("head").weights[0].numpy())


def test_frozen_batchnorm_runs_in_inference_mode():
    model = transfer.transfer_model(10, image_size=32)
    x = preprocess(random_imageset(8).images)
    pool = keras.Model(model.inputs, model.get_layer("pool").output)
    transfer.set_level(model, 2)
    np.testing.assert_array_equal(pool(x, training=True).numpy(), pool(x, training=False).numpy())
    transfer.set_level(model, 4)  # trainable BatchNorm uses batch statistics in training mode
    assert not np.allclose(
        pool(x, training=True).numpy(), pool(x, training=False).numpy(), atol=1e-3
    )


def test_cached_features_feed_the_head_like_the_whole_model():
    model = transfer.transfer_model(10, image_size=32)
    images = random_imageset(6).images
    features = transfer.extract_features(model, images, batch_size=4)
    assert features.shape == (6, 1280) and features.dtype == np.float32
    np.testing.assert_allclose(
        predict(model.get_layer("head"), features, preprocess=None),
        predict(model, images, preprocess=preprocess),
        atol=1e-5,
    )


def test_block_index_follows_torchvision_numbering():
    assert [
        transfer.block_index(n)
        for n in (
            "Conv1",
            "expanded_conv_project",
            "block_1_expand",
            "block_16_project_BN",
            "Conv_1_bn",
        )
    ] == [0, 1, 2, 17, 18]
    with pytest.raises(ValueError):
        transfer.block_index("predictions")


def test_densenet121_blocks_channels_and_connections():
    model = transfer.densenet(121)
    assert list(transfer.densenet_anatomy(model)["channels"]) == [c for _, c in densenet_channels()]
    for b, layers in enumerate(DENSENET_BLOCKS[121], 1):
        assert transfer.dense_block_inputs(model, b) == list(range(1, layers + 1))
        assert transfer.block_connections(model, b) == dense_connections(layers)
    assert transfer.block_connections(model, 3) == 300
    assert transfer.layer_channels(model, 1) == [64 + 32 * i for i in range(1, 7)]
    replaced = transfer.replace_classifier(model, 7)
    assert replaced.output.shape[-1] == 7 and replaced.layers[-1].kernel.shape == (1024, 7)


def test_parameter_counts_match_published_numbers():
    # Keras' ResNet50 convolutions have biases: 25,636,712 in Keras' table, less 2 x 26,560 moving
    # statistics
    assert transfer.parameter_counts() == {
        "DenseNet121": 7_978_856,
        "DenseNet169": 14_149_480,
        "ResNet50": 25_636_712 - 2 * 26_560,
        "MobileNetV2": MOBILENET_V2,
    }


def test_trainable_batchnorm_moves_its_statistics_like_torch():
    model = transfer.transfer_model(10, pretrained=False, image_size=32)
    transfer.set_level(model, 4)
    features = model.get_layer("features")
    data = random_imageset(5)
    conv = keras.Model(features.inputs, features.get_layer("Conv1").output)(
        preprocess(data.images)
    ).numpy()
    fit(
        model, data, epochs=1, batch_size=5, lr=1e-3, preprocess=preprocess, progress=False
    )  # one step
    # from the initial moving mean 0: 0.9 * 0 + 0.1 * the batch mean of the stem convolution's
    # output
    np.testing.assert_allclose(
        features.get_layer("bn_Conv1").moving_mean.numpy(),
        0.1 * conv.mean((0, 1, 2)),
        rtol=1e-4,
        atol=1e-7,
    )


def test_recipe_freezes_batchnorm_so_it_runs_in_inference_mode():
    model = transfer.transfer_model(10, image_size=32)
    bn = [
        layer
        for layer in model.get_layer("features").layers
        if isinstance(layer, keras.layers.BatchNormalization)
    ]
    bn_params = 2 * sum(layer.gamma.shape[0] for layer in bn)  # gamma and beta
    assert (
        transfer.set_level(model, 4, freeze_batchnorm=True)
        == transfer.set_level(model, 4) - bn_params
    )
    transfer.set_level(model, 4, freeze_batchnorm=True)
    x = preprocess(random_imageset(8).images)
    pool = keras.Model(model.inputs, model.get_layer("pool").output)
    np.testing.assert_array_equal(pool(x, training=True).numpy(), pool(x, training=False).numpy())
    before = {layer.name: _weights(layer) for layer in bn}
    conv = model.get_layer("features").get_layer("Conv_1").kernel.numpy().copy()
    fit(
        model,
        random_imageset(),
        epochs=1,
        batch_size=5,
        lr=1e-2,
        preprocess=preprocess,
        progress=False,
    )
    assert _changed(bn, before) == set()  # scale, shift and moving statistics
    assert not np.array_equal(conv, model.get_layer("features").get_layer("Conv_1").kernel.numpy())


def test_densenet_transfer_has_the_transfer_layout():
    model = transfer.densenet_transfer(5, pretrained=False, image_size=64)
    assert transfer.extract_features(model, random_imageset(3, size=64).images).shape == (3, 1024)
    assert transfer.set_level(model, 2) == 1024 * 5 + 5
    assert model.get_layer("features").output.shape[1:] == (2, 2, 1024)

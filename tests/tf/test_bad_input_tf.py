"""Bad input is never silent (TensorFlow/Keras edition): every public function, given bad input,
raises one line that says what it expected (tables of cases; the harness is tests/bad_input.py)."""

import pkgutil
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

import companion.tf  # TensorFlow only in this process; sets the Keras backend first
import keras
import tensorflow as tf

from bad_input import call, case, check, uncovered
from companion import weights
from companion.data import ImageSet, load
from companion.book.runner import environment
from companion.tf import (
    activations,
    backbones,
    cam,
    models,
    sampling,
    shapes_net,
    simclr,
    training,
    transfer,
    triplet,
)

TMP = Path(tempfile.mkdtemp(prefix="bad-input-tf-"))
MISSING = TMP / "missing.keras"
NO_DIR = TMP / "no-such-folder" / "x.keras"
RNG = np.random.default_rng(0)
IMGS = RNG.integers(0, 256, (2, 32, 32, 3), dtype=np.uint8)
IMG, HOT = IMGS[0], np.full((2, 32, 32, 3), 300.0)
DATA = load("shapes", n=4, image_size=32)
NINE = ImageSet(IMGS, [0, 7], [str(i) for i in range(9)])  # labels beyond a 4-class model's outputs
keras.utils.set_random_seed(0)
NET = shapes_net.shapes_net(4, width=2)
TWO_CLASS = shapes_net.shapes_net(2, width=2)
MNET = backbones.mobilenet_v2(pretrained=False, image_size=32)
TNET = transfer.transfer_model(2, pretrained=False, image_size=32)
DENSE = transfer.densenet(121)
EMB = triplet.embedding_model(pretrained=False, image_size=32)
STEM = triplet.stem_features(EMB, np.zeros((4, 32, 32, 3), np.uint8))
TOP = EMB.get_layer("top")
SIAMESE = triplet.SiameseModel(triplet.siamese_network(TOP))
CONV_ONLY = keras.Sequential([keras.Input((4, 4, 3)), keras.layers.Conv2D(2, 1)])
A = tf.zeros((4, 8))
CKPT, OTHER, CUT = TMP / "net.keras", TMP / "other.keras", TMP / "cut.keras"
training.save_checkpoint(NET, CKPT)
training.save_checkpoint(TWO_CLASS, OTHER)
CUT.write_bytes(CKPT.read_bytes()[:300])
NOT_NPZ = TMP / "cut.npz"
NOT_NPZ.write_bytes(b"PK\x03\x04 cut")
X, W = np.zeros((1, 4, 4, 1)), np.ones((3, 3, 1, 2))
T, V, F = TypeError, ValueError, FileNotFoundError
CAMS = (cam.BaseCAM, cam.CAM, cam.GradCAM)
SIM = simclr.SimCLRModel(width=2)
ENC = simclr.linear_model(2, width=2)
FROZEN = simclr.linear_model(2, width=2)
simclr.freeze_for_linear_eval(FROZEN)
GREY = RNG.integers(0, 256, (4, 16, 16, 1), dtype=np.uint8)
GREY_SET = ImageSet(GREY, [0, 1, 0, 1], ["a", "b"])
UNEXPECTED = TMP / "unexpected.npz"  # a pretraining checkpoint with a key the encoder lacks
np.savez(UNEXPECTED, **{"backbone.body.extra.kernel": np.zeros(1)})
OTHER_NPZ = TMP / "other.npz"  # not a SimCLR checkpoint: no 'backbone.' prefix
np.savez(OTHER_NPZ, **{"body.conv0.kernel": np.zeros(1)})
FEATS = np.ones((8, 3), np.float32)
NAN_FEATS = FEATS.copy()
NAN_FEATS[0, 0] = np.nan


def nan(a):
    a = np.array(a, dtype=float)
    a.flat[0] = np.nan
    return a


def replaced_port():
    """MobileNetV2 with ImageNet weights from a Keras port cut in half (in a cache of its own)."""
    cache = TMP / "cache"
    cache.mkdir(exist_ok=True)
    real = weights.keras_port()
    (cache / real.name).write_bytes(real.read_bytes()[: real.stat().st_size // 2])
    shutil.copyfile(real.with_suffix(".sha256"), cache / real.with_suffix(".sha256").name)
    with environment({"COMPANION_CACHE": str(cache)}):
        return backbones.mobilenet_v2(image_size=32)


def missing_port():
    with environment({"COMPANION_CACHE": str(TMP / "empty-cache")}):
        return backbones.mobilenet_v2(image_size=32)


CASES = [
    # sampling
    case(sampling.balanced_dataset, "x", 8, error=T, expected="an ImageSet"),
    case(sampling.balanced_dataset, DATA, 0, expected="batch_size must be an integer in [1"),
    case(sampling.balanced_dataset, DATA.subset([]), 8, expected="at least one example"),
    case(sampling.augment, HOT, expected="[0, 1] or [0, 255]"),
    case(sampling.augment, IMG, expected="N x H x W x C"),
    case(sampling.augment, "x", error=T, expected="N x H x W x C"),
    # activations
    case(activations.layer_names, "x", error=T, expected="a keras.Model"),
    case(activations.layer_names, NET, "Conv2D", error=T, expected="a layer class"),
    case(activations.layer_names, None, error=T, expected="a keras.Model"),
    case(activations.check_layers, NET, ["nope"], expected="valid names"),
    case(activations.check_layers, NET, "conv1", error=T, expected="a list of layer names"),
    case(activations.check_layers, "x", ["conv1"], error=T, expected="a keras.Model"),
    case(activations.layer_activations, NET, IMGS / 255, expected="uint8"),
    case(activations.layer_activations, NET, IMGS, ["nope"], expected="valid names"),
    case(activations.layer_activations, NET, IMGS[:0], expected="at least one example"),
    case(activations.layer_activations, NET, IMGS, "conv1", error=T, expected="list of layer"),
    # shapes_net
    case(shapes_net.shapes_net, 1, expected="n_classes >= 2"),
    case(shapes_net.shapes_net, 4, 0, expected="width >= 1"),
    case(shapes_net.shapes_net, 4.5, error=T, expected="must be an integer"),
    case(shapes_net.randomise, NET, ["relu1"], expected="expected layers with weights"),
    case(shapes_net.randomise, NET, ["nope"], expected="valid names"),
    case(shapes_net.randomise, NET, "conv1", error=T, expected="list of layer names"),
    # models
    case(models.stacked_linear, 0, 2, 2, expected="n_in must be an integer in [1"),
    case(models.stacked_linear, 2.5, 2, 2, error=T, expected="must be an integer"),
    case(models.stacked_linear, 2, 2, -1, expected="n_out must be an integer in [1"),
    case(
        models.as_one_linear,
        models.stacked_linear(2, 2, 2, relu=True),
        expected="two linear layers",
    ),
    case(models.as_one_linear, "x", expected="two linear layers"),
    case(models.as_one_linear, NET, expected="two linear layers"),
    case(models.small_cnn, 1, expected="n_classes >= 2"),
    case(models.small_cnn, 10, widths=(), expected="at least one width"),
    case(models.small_cnn, 10, widths=(8,) * 5, expected="at most 4 blocks"),
    case(models.small_cnn, 10, 0, expected="in_channels must be an integer in [1"),
    case(models.conv2d, X[0], W, expected="images N x H x W x C"),
    case(models.conv2d, X, np.ones((5, 5, 1, 1)), expected="kernel <= 4"),
    case(models.conv2d, X, W, stride=0, expected="stride must be an integer in [1"),
    case(models.conv2d, X, W, padding=-1, expected="padding must be an integer in [0"),
    # backbones
    case(
        backbones.model_with_layers,
        None,
        {"out_relu"},
        "a MobileNetV2",
        error=T,
        expected="model: expected a MobileNetV2, got NoneType",
    ),
    case(
        backbones.model_with_layers,
        MNET,
        {"head"},
        "a transfer_model(...)",
        error=T,
        expected="model: expected a transfer_model(...), got Functional",
    ),
    case(
        backbones.model_with_layers,
        MNET,
        ["out_relu"],
        "a MobileNetV2",
        error=T,
        expected="names: expected a set of layer names",
    ),
    case(backbones.mobilenet_v2, "yes", error=T, expected="True or False"),
    case(backbones.mobilenet_v2, False, 16, expected="image_size must be an integer in [32"),
    call(
        backbones.mobilenet_v2,
        replaced_port,
        V,
        "is corrupt or was replaced (sha256 mismatch): "
        "delete it and run `python -m companion assets`",
    ),
    call(
        backbones.mobilenet_v2, missing_port, FileNotFoundError, "run `python -m companion assets`"
    ),
    case(backbones.preprocess, IMGS / 255, expected="uint8"),
    case(backbones.preprocess, IMG, expected="uint8 N x H x W x C"),
    case(backbones.preprocess, np.zeros((1, 2, 2, 2), np.uint8), expected="1, 3 or 4 channels"),
    case(backbones.feature_extractor, "x", error=T, expected="a MobileNetV2"),
    case(backbones.feature_extractor, NET, error=T, expected="a MobileNetV2"),
    case(backbones.feature_extractor, None, error=T, expected="a MobileNetV2"),
    case(backbones.predict_proba, MNET, IMGS[:0], expected="non-empty"),
    case(backbones.predict_proba, MNET, IMGS / 255, expected="uint8"),
    case(backbones.predict_proba, "x", IMGS, error=T, expected="a keras.Model"),
    case(backbones.predict_proba, MNET, IMGS, 0, expected="batch_size must be an integer in [1"),
    case(backbones.count_params, "x", error=T, expected="a keras.Model or layer"),
    case(backbones.count_params, None, error=T, expected="a keras.Model or layer"),
    case(backbones.count_params, [NET], error=T, expected="a keras.Model or layer"),
    case(
        backbones.port_mobilenet_v2,
        TMP / "missing.npz",
        TMP / "x.weights.h5",
        error=F,
        expected="python -m companion assets",
    ),
    case(backbones.port_mobilenet_v2, NOT_NPZ, TMP / "x.weights.h5", expected="not a readable"),
    case(backbones.port_mobilenet_v2, NOT_NPZ, TMP / "x.h5", expected="ending in .weights.h5"),
    case(backbones.block_layer_name, MNET, 19, expected="block must be in 0..18"),
    case(backbones.block_layer_name, MNET, 1.5, error=T, expected="must be an integer"),
    case(backbones.block_layer_name, NET, 1, error=T, expected="a MobileNetV2"),
    case(backbones.block_output, MNET, IMGS, 19, expected="block must be in 0..18"),
    case(backbones.block_output, MNET, IMGS / 255, 1, expected="uint8"),
    case(backbones.block_output, NET, IMGS, 1, error=T, expected="a MobileNetV2"),
    # training
    case(training.to_float, IMGS / 255, expected="uint8"),
    case(training.to_float, IMG, expected="uint8 N x H x W x C"),
    case(training.to_float, "x", error=T, expected="uint8 N x H x W x C"),
    case(training.loader, DATA, 0, expected="batch_size must be an integer in [1"),
    case(training.loader, DATA.subset([]), 8, expected="at least one example"),
    case(training.loader, "x", 8, error=T, expected="an ImageSet or an (inputs, labels) pair"),
    case(training.predict, NET, IMGS[:0], expected="at least one example"),
    case(training.predict, "x", IMGS, error=T, expected="a keras.Model or layer"),
    case(training.predict, NET, IMGS, batch_size=0, expected="batch_size must be an integer in [1"),
    case(training.predict, NET, "x", error=T, expected="an array or tensor"),
    case(training.evaluate, NET, DATA.subset([]), expected="at least one example"),
    case(training.evaluate, NET, NINE, expected="class indices in [0, 4)"),
    case(training.evaluate, NET, "x", error=T, expected="an ImageSet or an (inputs, labels) pair"),
    case(training.compile_classifier, "x", error=T, expected="a keras.Model"),
    case(training.compile_classifier, NET, 0, expected="lr must be > 0"),
    case(training.compile_classifier, NET, "x", error=T, expected="lr must be a finite number"),
    case(training.save_checkpoint, NET, NO_DIR, error=F, expected="existing folder"),
    case(training.save_checkpoint, "x", CKPT, error=T, expected="a keras.Model"),
    case(training.save_checkpoint, NET, TMP / "x.h5", expected="end in .keras"),
    case(
        training.load_checkpoint, NET, CUT, expected="cut.keras is not a readable Keras checkpoint"
    ),
    case(training.load_checkpoint, NET, MISSING, error=F, expected="does not exist"),
    case(training.load_checkpoint, NET, OTHER, expected="other.keras does not fit this model"),
    case(training.load_checkpoint, "x", CKPT, error=T, expected="a keras.Model"),
    case(training.Validation, "x", error=T, expected="an ImageSet or an (inputs, labels) pair"),
    case(training.Validation, DATA, every=-1, expected="every must be an integer in [0"),
    case(training.Validation, DATA, min_epoch=1.5, error=T, expected="must be an integer"),
    case(
        training.fit, NET, NINE, progress=False, expected="train labels: expected class indices in"
    ),
    case(training.fit, NET, DATA, epochs=-1, expected="epochs must be an integer in [0"),
    case(training.fit, NET, DATA, trainer="adam", error=T, expected="a TrainerSpec"),
    case(training.fit, NET, DATA, keep_best=True, expected="need a validation set"),
    case(
        training.fit,
        NET,
        DATA,
        steps_per_epoch=0,
        expected="steps_per_epoch must be an integer in [1",
    ),
    case(
        training.fit,
        NET,
        DATA,
        steps_per_epoch=2.5,
        error=T,
        expected="steps_per_epoch must be an integer",
    ),
    # cam
    *[case(kind, NET, "nope", expected="valid names") for kind in CAMS],
    *[case(kind, NET, 3, error=T, expected="non-empty string") for kind in CAMS],
    *[case(kind, NET, "fc", expected="expected a convolutional layer") for kind in CAMS],
    case(cam.CAM, CONV_ONLY, CONV_ONLY.layers[0].name, expected="ends in global average pooling"),
    case(cam.cam, NET, IMGS[:0], "relu4", expected="at least one example"),
    case(cam.cam, NET, IMGS, "relu4", 9, expected="class indices must be in [0, 4)"),
    case(cam.cam, NET, IMGS, "relu2", expected="the layer right before pooling"),
    case(cam.grad_cam, NET, IMGS, "fc", expected="expected a convolutional layer"),
    case(cam.grad_cam, NET, IMGS[:0], "relu4", expected="at least one example"),
    case(cam.grad_cam, NET, IMGS, "relu4", [0], expected="one class index or 2"),
    case(cam.grad_cam, NET, IMGS / 255, "relu4", expected="uint8"),
    case(cam.guided_backprop, NET, IMGS[:0], expected="at least one example"),
    case(cam.guided_backprop, NET, IMGS, 7, expected="class indices must be in [0, 4)"),
    case(cam.guided_backprop, "x", IMGS, error=T, expected="a keras.Model"),
    case(cam.guided_grad_cam, NET, IMGS, "fc", expected="expected a convolutional layer"),
    case(cam.guided_grad_cam, NET, IMGS[:0], "relu4", expected="at least one example"),
    case(cam.guided_grad_cam, NET, IMGS, "nope", expected="valid names"),
    case(cam.filter_pattern, NET, "conv1", 99, steps=1, expected="has 2 filters"),
    case(cam.filter_pattern, NET, "fc", 0, steps=1, expected="expected a convolutional layer"),
    case(cam.filter_pattern, NET, "conv1", 0, size=0, expected="size must be an integer in [8"),
    case(cam.filter_pattern, NET, "conv1", [], expected="at least one filter"),
    # transfer
    case(transfer.new_head, 0, expected="n_classes must be an integer in [1"),
    case(transfer.new_head, 2, 0, expected="n_features must be an integer in [1"),
    case(transfer.new_head, 2, dropout=2, expected="dropout must be in [0, 1]"),
    case(transfer.transfer_model, 0, expected="n_classes must be an integer in [1"),
    case(transfer.transfer_model, 2.5, error=T, expected="must be an integer"),
    case(transfer.transfer_model, 2, "no", error=T, expected="True or False"),
    case(transfer.trainable_params, "x", error=T, expected="a keras.Model"),
    case(transfer.trainable_params, None, error=T, expected="a keras.Model"),
    case(transfer.trainable_params, [NET], error=T, expected="a keras.Model"),
    case(transfer.block_index, "conv1", expected="not a MobileNetV2 layer"),
    case(transfer.block_index, 3, error=T, expected="non-empty string"),
    case(transfer.block_index, "", expected="non-empty string"),
    case(transfer.set_level, TNET, 5, expected="one of (1, 2, 3, 4)"),
    case(transfer.set_level, TNET, 3, 99, expected="unfreeze_at must be a block index"),
    case(transfer.set_level, NET, 2, error=T, expected="a transfer_model(...)"),
    case(transfer.set_level, TNET, 4, freeze_batchnorm="yes", error=T, expected="True or False"),
    case(transfer.extract_features, TNET, IMGS[:0], expected="non-empty"),
    case(transfer.extract_features, TNET, IMGS / 255, expected="uint8"),
    case(transfer.extract_features, NET, IMGS, error=T, expected="a transfer_model(...)"),
    case(transfer.replace_classifier, CONV_ONLY, 2, expected="does not end in a Dense layer"),
    case(transfer.replace_classifier, NET, 0, expected="n_classes must be an integer in [1"),
    case(transfer.replace_classifier, "x", 2, error=T, expected="a keras.applications classifier"),
    case(transfer.densenet, 100, expected="one of [121, 169, 201]"),
    case(transfer.densenet, 121, "yes", error=T, expected="True or False"),
    case(transfer.densenet_transfer, 0, expected="n_classes must be an integer in [1"),
    case(transfer.densenet_transfer, 2, 100, expected="one of [121, 169, 201]"),
    case(
        transfer.densenet_transfer,
        2,
        121,
        False,
        image_size=8,
        expected="image_size must be an integer in [32",
    ),
    case(transfer.densenet, "121", expected="one of [121, 169, 201]"),
    case(transfer.densenet, True, expected="one of [121, 169, 201]"),
    *[
        c
        for f in (transfer.dense_block_inputs, transfer.layer_channels, transfer.block_connections)
        for c in (
            case(f, DENSE, 9, expected="block must be in 1..4"),
            case(f, NET, 1, error=T, expected="a Keras DenseNet"),
            case(f, DENSE, 1.5, error=T, expected="must be an integer"),
        )
    ],
    case(transfer.densenet_anatomy, NET, error=T, expected="a Keras DenseNet"),
    case(transfer.densenet_anatomy, "x", error=T, expected="a Keras DenseNet"),
    case(transfer.densenet_anatomy, None, error=T, expected="a Keras DenseNet"),
    # triplet
    case(triplet.positive_augment, IMGS / 255, expected="uint8"),
    case(triplet.positive_augment, IMG, expected="uint8 N x H x W x C"),
    case(triplet.positive_augment, IMGS[:0], expected="non-empty"),
    case(triplet.embedding_model, False, trainable_from=0, expected="block in 1..18"),
    case(triplet.embedding_model, False, 16, expected="image_size must be an integer in [32"),
    case(triplet.embedding_model, False, 32, embedding_dim=0, expected="embedding_dim must be"),
    case(triplet.trainable_summary, "x", error=T, expected="an embedding_model(...)"),
    case(triplet.trainable_summary, NET, error=T, expected="an embedding_model(...)"),
    case(triplet.trainable_summary, None, error=T, expected="an embedding_model(...)"),
    case(triplet.stem_features, EMB, IMGS / 255, expected="uint8"),
    case(triplet.stem_features, EMB, IMGS[:0], expected="non-empty"),
    case(triplet.stem_features, "x", IMGS, error=T, expected="an embedding_model(...)"),
    case(triplet.embed, EMB, IMGS / 255, expected="uint8"),
    case(triplet.embed, EMB, IMG, expected="uint8 N x H x W x C"),
    case(triplet.embed, "x", IMGS, error=T, expected="an embedding_model(...)"),
    case(triplet.embed_cached, EMB, np.zeros((2, 3)), expected="stem features"),
    case(triplet.embed_cached, EMB, STEM[:0], expected="non-empty"),
    case(triplet.embed_cached, "x", STEM, error=T, expected="an embedding_model(...)"),
    case(triplet.DistanceLayer().call, A, A[0], A, expected="of one shape B x D"),
    case(triplet.DistanceLayer().call, A, A[:3], A, expected="of one shape B x D"),
    case(triplet.DistanceLayer().call, "x", A, A, error=T, expected="B x D embeddings"),
    case(triplet.triplet_loss, "x", [1.0], expected="two distance vectors"),
    case(triplet.triplet_loss, tf.zeros(4), tf.zeros(3), expected="of one non-empty length"),
    case(triplet.triplet_loss, tf.zeros(4), tf.zeros(4), -1, expected="margin must be >= 0"),
    case(triplet.siamese_network, "x", error=T, expected="the embedding top"),
    case(triplet.siamese_network, None, error=T, expected="the embedding top"),
    case(triplet.siamese_network, NET.layers[1], error=T, expected="the embedding top"),
    case(triplet.SiameseModel, "x", error=T, expected="a siamese_network(top)"),
    case(triplet.SiameseModel, SIAMESE.network, -1, expected="margin must be >= 0"),
    case(
        triplet.SiameseModel,
        SIAMESE.network,
        "m",
        error=T,
        expected="margin must be a finite number",
    ),
    case(triplet.fit_siamese, SIAMESE, (STEM, STEM), expected="(anchor, positive, negative) tuple"),
    case(triplet.fit_siamese, SIAMESE, (STEM, STEM, STEM[:1]), expected="lengths differ"),
    case(triplet.fit_siamese, "x", (STEM,) * 3, error=T, expected="a SiameseModel"),
    case(
        triplet.fit_siamese,
        SIAMESE,
        (STEM,) * 3,
        epochs=-1,
        expected="epochs must be an integer in [0",
    ),
    case(triplet.pairwise_distances, "x", error=T, expected="B x D embedding matrix"),
    case(triplet.pairwise_distances, tf.zeros((0, 2)), expected="at least one example"),
    case(triplet.pairwise_distances, tf.zeros(2), expected="B x D embedding matrix"),
    case(triplet.semi_hard_negatives, "x", [0, 1], error=T, expected="B x B distance matrix"),
    case(triplet.semi_hard_negatives, tf.zeros((2, 3)), [0, 1], expected="B x B distance matrix"),
    case(triplet.semi_hard_negatives, tf.zeros((2, 2)), [0], expected="expected 2 labels"),
    case(triplet.semi_hard_triplet_loss, [0, 1], "x", error=T, expected="B x D embedding matrix"),
    case(triplet.semi_hard_triplet_loss, [0], tf.zeros((2, 2)), expected="expected 2 labels"),
    case(triplet.semi_hard_triplet_loss, [0, 1], tf.zeros((2, 2)), -1, expected="margin must be"),
    case(triplet.fit_supervised, TOP, (STEM,), expected="(stem_features, labels) pair"),
    case(triplet.fit_supervised, TOP, (STEM, [0]), expected="expected 4 labels"),
    case(triplet.fit_supervised, "x", (STEM, [0, 0, 1, 1]), error=T, expected="the embedding top"),
    case(triplet.fit_supervised, TOP, (STEM, [0, 0, 1, 1]), margin=-1, expected="margin must be"),
    # simclr (Chapter 4)
    case(simclr.RandomResizedCrop, 0, expected="size must be an integer in [1, inf)"),
    case(simclr.RandomResizedCrop, 16, (0.5, 2.0), expected="scale: expected a (low, high) pair"),
    case(
        simclr.RandomResizedCrop, 16, "ab", error=T, expected="scale: expected a (low, high) pair"
    ),
    case(
        simclr.RandomResizedCrop,
        16,
        (0.2, 1.0),
        (2.0, 1.0),
        expected="ratio: expected a (low, high)",
    ),
    case(simclr.RandomApply, "layer", 0.5, error=T, expected="callable Keras layer"),
    case(simclr.RandomApply, keras.layers.Identity(), 2.0, expected="p must be in [0, 1]"),
    case(
        simclr.RandomApply,
        keras.layers.Identity(),
        "x",
        error=T,
        expected="p must be a finite number",
    ),
    case(simclr.augmentation, 4, expected="image_size >= 8"),
    case(simclr.augmentation, 16, 2, expected="1 or 3 channels"),
    case(simclr.augmentation, "16", error=T, expected="image_size must be an integer"),
    case(simclr.augmentation, 16, 1, 2.0, expected="min_scale must be in"),
    case(simclr.augment_batch, IMG, None, expected="uint8 N x H x W x C images"),
    case(simclr.augment_batch, "x", None, error=T, expected="uint8 N x H x W x C images"),
    case(simclr.augment_batch, GREY, 5, error=T, expected="callable augmentation"),
    case(simclr.two_views, GREY, None, 1, expected="n_views must be >= 2"),
    case(simclr.two_views, GREY, None, 2.5, error=T, expected="n_views must be an integer"),
    case(simclr.two_views, GREY[:0], None, expected="at least one example"),
    case(simclr.two_views, GREY, 5, error=T, expected="callable augmentation"),
    case(simclr.Encoder, "body", 8, error=T, expected="a Keras model"),
    case(
        simclr.Encoder, keras.layers.Flatten(), 0, expected="feature_dim must be an integer in [1"
    ),
    case(simclr.Encoder, keras.layers.Flatten(), 8, "fc", error=T, expected="a Keras layer"),
    case(simclr.build_encoder, "vgg", expected="arch must be one of"),
    case(simclr.build_encoder, "small", 2, expected="in_channels must be 1 or 3"),
    case(simclr.build_encoder, "small", 1, 0, expected="width must be an integer in [1, inf)"),
    case(simclr.projection_head, 0, expected="feature_dim must be an integer in [1, inf)"),
    case(simclr.projection_head, 8, 0, expected="out_dim must be an integer in [1, inf)"),
    case(simclr.projection_head, 8.5, error=T, expected="feature_dim must be an integer"),
    case(simclr.linear_model, 1, expected="n_classes must be >= 2"),
    case(simclr.linear_model, "2", error=T, expected="n_classes must be an integer"),
    case(simclr.linear_model, 2, "vgg", expected="arch must be one of"),
    case(simclr.info_nce_loss, tf.zeros((7, 3)), 4, expected="4 x 2 = 8 rows, got 7"),
    case(simclr.info_nce_loss, FEATS, 4, 2, 0.0, expected="temperature must be a number > 0"),
    case(simclr.info_nce_loss, FEATS[0], 4, expected="2-D tensor"),
    case(simclr.info_nce_loss, NAN_FEATS, 4, expected="finite values"),
    case(simclr.cross_entropy, tf.zeros((2, 3)), [0, 3], expected="class indices in [0, 3)"),
    case(simclr.cross_entropy, tf.zeros(3), [0], expected="N x C logits"),
    case(simclr.cross_entropy, tf.zeros((2, 3)), [0], expected="expected 2 labels"),
    case(simclr.cross_entropy, tf.zeros((2, 3)), [0.5, 1.0], error=T, expected="integer class"),
    case(simclr.SimCLRModel, "vgg", expected="arch must be one of"),
    case(simclr.SimCLRModel, "small", 2, expected="in_channels must be 1 or 3"),
    case(simclr.SimCLRModel, "small", 1, "x", error=T, expected="width must be an integer"),
    case(simclr.SimCLRModel, "small", 1, 4, 0, expected="out_dim must be an integer in [1, inf)"),
    case(simclr.state_dict, None, error=T, expected="a Keras model"),
    case(simclr.state_dict, "model", error=T, expected="a Keras model"),
    case(simclr.state_dict, {"a": 1}, error=T, expected="a Keras model"),
    case(simclr.save_checkpoint, ENC, TMP / "net.pt", expected="end in .npz"),
    case(simclr.save_checkpoint, "net", TMP / "net.npz", error=T, expected="a Keras model"),
    case(simclr.save_checkpoint, ENC, 5, error=T, expected="file path"),
    case(simclr.load_checkpoint, TMP / "missing.npz", error=F, expected="no checkpoint at"),
    case(simclr.load_checkpoint, NOT_NPZ, expected="could not read it"),
    case(simclr.load_checkpoint, TMP / "x.pt", expected="PyTorch"),
    case(simclr.load_checkpoint, 5, error=T, expected="file path"),
    case(simclr.pretrain, SIM, GREY, batch_size=8, expected="at least batch_size = 8"),
    case(simclr.pretrain, SIM, GREY[0], batch_size=2, expected="uint8 N x H x W x C images"),
    case(simclr.pretrain, SIM, GREY, batch_size=2, temperature=0, expected="a number > 0"),
    case(simclr.pretrain, NET, GREY, batch_size=2, error=T, expected="a SimCLRModel"),
    case(simclr.pretrain, SIM, GREY, batch_size=1, expected="batch_size must be an integer in [2"),
    case(
        simclr.load_encoder,
        UNEXPECTED,
        2,
        width=2,
        expected="unexpected keys ['body.extra.kernel']",
    ),
    case(simclr.load_encoder, TMP / "missing.npz", 2, error=F, expected="no checkpoint at"),
    case(simclr.load_encoder, NOT_NPZ, 2, expected="could not read it"),
    case(simclr.load_encoder, OTHER_NPZ, 2, width=2, expected="start with 'backbone.'"),
    case(simclr.reset_fc, None, error=T, expected="Dense fc"),
    case(simclr.reset_fc, simclr.build_encoder(width=2), error=T, expected="Dense fc"),
    case(simclr.reset_fc, keras.layers.Dense(2), error=T, expected="Dense fc"),
    case(simclr.freeze_for_linear_eval, None, error=T, expected="Dense fc"),
    case(
        simclr.freeze_for_linear_eval, simclr.build_encoder(width=2), error=T, expected="Dense fc"
    ),
    case(simclr.freeze_for_linear_eval, "model", error=T, expected="Dense fc"),
    case(simclr.extract_features, NET, GREY, error=T, expected="an Encoder or a SimCLRModel"),
    case(simclr.extract_features, ENC, GREY[0], expected="N x H x W x C images"),
    case(simclr.extract_features, ENC, GREY[:0], expected="non-empty"),
    case(simclr.extract_features, ENC, GREY, 0, expected="batch_size must be an integer in [1"),
    case(
        simclr.train_linear, keras.layers.Dense(2), np.ones((4, 3)), [0, 1, 2, 0], expected="[0, 2)"
    ),
    case(
        simclr.train_linear,
        keras.layers.Dense(2),
        np.ones(4),
        [0, 1, 1, 0],
        expected="N x D features",
    ),
    case(
        simclr.train_linear,
        keras.layers.Dense(2),
        nan(np.ones((4, 3))),
        [0, 1, 1, 0],
        expected="finite",
    ),
    case(simclr.train_linear, "fc", np.ones((4, 3)), [0, 1, 1, 0], error=T, expected="Dense layer"),
    case(simclr.linear_evaluation, ENC, GREY_SET, GREY_SET, expected="freeze_for_linear_eval"),
    case(simclr.linear_evaluation, FROZEN, GREY, GREY_SET, error=T, expected="an ImageSet"),
    case(simclr.linear_evaluation, NET, GREY_SET, GREY_SET, error=T, expected="an Encoder"),
    case(
        simclr.linear_probe,
        np.ones((4, 3)),
        [0, 1, 1, 0],
        np.ones((2, 3)),
        [0, 1],
        1,
        expected="n_classes must be an integer in [2",
    ),
    case(
        simclr.linear_probe,
        np.ones(4),
        [0, 1, 1, 0],
        np.ones((2, 3)),
        [0, 1],
        2,
        expected="N x D features",
    ),
    case(
        simclr.linear_probe,
        nan(np.ones((4, 3))),
        [0, 1, 1, 0],
        np.ones((2, 3)),
        [0, 1],
        2,
        expected="finite",
    ),
    case(
        simclr.linear_probe,
        np.ones((4, 3)),
        [0, 1, 5, 0],
        np.ones((2, 3)),
        [0, 1],
        2,
        expected="[0, 2)",
    ),
    case(simclr.train_supervised, NET, GREY_SET, error=T, expected="an Encoder"),
    case(simclr.train_supervised, ENC, GREY, error=T, expected="an ImageSet"),
    case(
        simclr.train_supervised, ENC, GREY_SET, augment=5, error=T, expected="callable augmentation"
    ),
    case(simclr.predict_top1, "model", GREY_SET, error=T, expected="a Keras model"),
    case(simclr.predict_top1, ENC, GREY, error=T, expected="an ImageSet"),
    case(simclr.predict_top1, ENC, GREY_SET.subset([]), expected="non-empty"),
]

TF_MODULES = sorted(m.name for m in pkgutil.walk_packages(companion.tf.__path__, "companion.tf."))


@pytest.fixture(scope="module", autouse=True)
def _cleanup():
    yield
    shutil.rmtree(TMP, ignore_errors=True)


@pytest.mark.parametrize(
    "c", CASES, ids=[f"{c.name.removeprefix('companion.tf.')}-{i}" for i, c in enumerate(CASES)]
)
def test_bad_input_raises_one_line_naming_what_was_expected(c):
    check(c)


def test_every_public_function_has_three_bad_input_cases():
    assert not uncovered(CASES, TF_MODULES, {})


def test_float_pictures_are_augmented_as_pictures_not_black():
    pictures = RNG.random((3, 16, 16, 3))
    as_uint8 = np.round(pictures * 255).astype(np.uint8)
    out = sampling.augment(pictures, seed=1)
    assert out.dtype == np.uint8 and out.mean() > 50  # was 0 or 1 everywhere: black
    np.testing.assert_array_equal(out, sampling.augment(as_uint8, seed=1))


def test_four_channel_pictures_lose_alpha_in_preprocess():
    rgba = np.concatenate([IMGS, np.full((2, 32, 32, 1), 255, np.uint8)], -1)
    np.testing.assert_allclose(backbones.preprocess(rgba), backbones.preprocess(IMGS))

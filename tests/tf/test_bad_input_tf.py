"""Bad input is never silent (TensorFlow/Keras edition): every public function, given bad input,
raises one line that says what it expected. The cases both editions share are in
tests/edition_cases.py; this file builds the Keras objects they need and adds the cases only Keras
has (the harness is tests/bad_input.py)."""

import shutil
import tempfile
from pathlib import Path

import numpy as np

import companion.tf  # TensorFlow only in this process; sets the Keras backend first
import keras
import tensorflow as tf

from bad_input import case
from companion import weights
from companion.book.runner import environment
from companion.tf import (
    backbones,
    cam,
    sampling,
    shapes_net,
    simclr,
    training,
    transfer,
    triplet,
)
from edition_cases import (
    Edition,
    built_with,
    F,
    T,
    check_float_pictures_are_augmented_as_pictures,
    inputs,
    shared_cases,
    suite,
    with_alpha,
)

TMP = Path(tempfile.mkdtemp(prefix="bad-input-tf-"))
D = inputs(image_size=32)
IMGS, IMG, DATA, GREY = D.imgs, D.img, D.data, D.grey
keras.utils.set_random_seed(0)
NET = shapes_net.shapes_net(4, width=2)
MNET = backbones.mobilenet_v2(pretrained=False, image_size=32)
TNET = transfer.transfer_model(2, pretrained=False, image_size=32)
EMB = triplet.embedding_model(pretrained=False, image_size=32)
STEM = triplet.stem_features(EMB, np.zeros((4, 32, 32, 3), np.uint8))
TOP = EMB.get_layer("top")
SIAMESE = triplet.SiameseModel(triplet.siamese_network(TOP))
CONV_ONLY = keras.Sequential([keras.Input((4, 4, 3)), keras.layers.Conv2D(2, 1)])
A = tf.zeros((4, 8))
CKPT, OTHER, CUT = TMP / "net.keras", TMP / "other.keras", TMP / "cut.keras"
training.save_checkpoint(NET, CKPT)
training.save_checkpoint(shapes_net.shapes_net(2, width=2), OTHER)
CUT.write_bytes(CKPT.read_bytes()[:300])
NOT_NPZ = TMP / "cut.npz"
NOT_NPZ.write_bytes(b"PK\x03\x04 cut")
UNEXPECTED = TMP / "unexpected.npz"  # a pretraining checkpoint with a key the encoder lacks
np.savez(UNEXPECTED, **{"backbone.body.extra.kernel": np.zeros(1)})
OTHER_NPZ = TMP / "other.npz"  # not a SimCLR checkpoint: no 'backbone.' prefix
np.savez(OTHER_NPZ, **{"body.conv0.kernel": np.zeros(1)})
FEATS = np.ones((8, 3), np.float32)
NAN_FEATS = FEATS.copy()
NAN_FEATS[0, 0] = np.nan
FROZEN = simclr.linear_model(2, width=2)
simclr.freeze_for_linear_eval(FROZEN)


def replaced_port():
    """MobileNetV2 with ImageNet weights from a Keras port cut in half (in a cache of its own)."""
    cache = TMP / "cache"
    cache.mkdir(exist_ok=True)
    real = weights.keras_port()
    (cache / real.name).write_bytes(real.read_bytes()[: real.stat().st_size // 2])
    shutil.copyfile(real.with_suffix(".sha256"), cache / real.with_suffix(".sha256").name)
    with environment({"COMPANION_CACHE": str(cache)}):
        return backbones.mobilenet_v2(image_size=32)


KERAS = Edition(
    package=companion.tf,
    data=D,
    tmp=TMP,
    net=NET,
    mnet=MNET,
    tnet=TNET,
    dense=transfer.densenet(121),
    emb=EMB,
    stem=STEM,
    top=TOP,
    siamese=SIAMESE,
    conv_only=CONV_ONLY,
    conv_only_layer=CONV_ONLY.layers[0].name,
    sim=simclr.SimCLRModel(width=2),
    enc=simclr.linear_model(2, width=2),
    frozen=FROZEN,
    feats=FEATS,
    nan_feats=NAN_FEATS,
    zeros=lambda *shape: tf.zeros(shape),
    linear_head=lambda: keras.layers.Dense(2),
    fc_layer=keras.layers.Dense(2),
    ckpt=CKPT,
    other=OTHER,
    missing=TMP / "missing.keras",
    no_dir=TMP / "no-such-folder" / "x.keras",
    simclr_ext=".npz",
    foreign_ext=".pt",
    foreign_name="PyTorch",
    simclr_cut=NOT_NPZ,
    unexpected=UNEXPECTED,
    unexpected_key="body.extra.kernel",
    not_simclr=OTHER_NPZ,
    corrupt_weights=replaced_port,
    missing_weights=built_with(
        {"COMPANION_CACHE": str(TMP / "empty-cache")}, lambda: backbones.mobilenet_v2(image_size=32)
    ),
    module="a keras.Model",
    module_or_layer="a keras.Model or layer",
    conv_class="Conv2D",
    valid_names="valid names",
    linear="Dense",
    densenet="a Keras DenseNet",
    transfer_net="a transfer_model(...)",
    embedding="an embedding_model(...)",
    fc="Dense fc",
    head="Dense layer",
    simclr_module="a Keras model",
)

KERAS_ONLY = [
    case(training.refuse_nonfinite, "x", KERAS.ckpt, error=T, expected="Keras model or layer"),
    case(training.refuse_nonfinite, None, KERAS.ckpt, error=T, expected="Keras model or layer"),
    case(training.refuse_nonfinite, KERAS.net, 3, error=T, expected="file path"),
    # sampling
    case(sampling.balanced_dataset, "x", 8, error=T, expected="an ImageSet"),
    case(sampling.balanced_dataset, DATA, 0, expected="batch_size must be an integer in [1"),
    case(sampling.balanced_dataset, DATA.subset([]), 8, expected="at least one example"),
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
    case(backbones.mobilenet_v2, False, 16, expected="image_size must be an integer in [32"),
    case(backbones.preprocess, np.zeros((1, 2, 2, 2), np.uint8), expected="1, 3 or 4 channels"),
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
    # training
    case(training.compile_classifier, "x", error=T, expected="a keras.Model"),
    case(training.compile_classifier, NET, 0, expected="lr must be > 0"),
    case(training.compile_classifier, NET, "x", error=T, expected="lr must be a finite number"),
    case(training.save_checkpoint, NET, TMP / "x.h5", expected="end in .keras"),
    case(
        training.load_checkpoint, NET, CUT, expected="cut.keras is not a readable Keras checkpoint"
    ),
    case(training.Validation, "x", error=T, expected="an ImageSet or an (inputs, labels) pair"),
    case(training.Resume, TMP / "run.pt", {}, expected="a path ending in .npz"),
    case(training.Resume, TMP / "run.npz", "x", error=T, expected="a dict of the run's settings"),
    case(
        training.Resume, TMP / "run.npz", {}, ["x"], error=T, expected="callbacks with state_dict"
    ),
    case(training.Resume, CUT, {}, expected="a path ending in .npz"),
    case(training.read_run, CKPT, expected="net.keras is not a Resume run state"),
    case(training.read_run, CUT, expected="cut.keras is not a readable run state"),
    case(training.read_run, TMP / "none.npz", error=FileNotFoundError, expected="resume=path"),
    case(training.read_run, 3, error=T, expected="file path"),
    case(training.weight_bytes, "model", error=T, expected="a Keras model or layer"),
    case(training.weight_bytes, None, error=T, expected="a Keras model or layer"),
    case(training.weight_bytes, [NET], error=T, expected="a Keras model or layer"),
    case(training.epoch_stream, [1], error=T, expected="a tf.data.Dataset"),
    case(training.epoch_stream, tf.data.Dataset.range(3).repeat(), expected="a finite, non-empty"),
    case(training.epoch_stream, tf.data.Dataset.range(3), "r", error=T, expected="Resume"),
    case(training.epoch_stream, tf.data.Dataset.range(3), None, 0, expected="steps must be"),
    case(training.run_history, None, "r", error=T, expected="a Keras History"),
    case(training.run_history, "h", None, error=T, expected="a Keras History"),
    case(training.run_history, None, None, error=T, expected="a Keras History"),
    case(training.Validation, DATA, every=-1, expected="every must be an integer in [0"),
    case(training.Validation, DATA, min_epoch=1.5, error=T, expected="must be an integer"),
    case(training.use_mixed_precision, "float16", expected="policy must be one of"),
    case(training.use_mixed_precision, None, expected="policy must be one of"),
    case(training.use_mixed_precision, "float32", expected="policy must be one of"),
    case(training.batches, IMGS, 0, expected="batch_size must be an integer in [1"),
    case(training.batches, "x", 2, error=T, expected="a batch"),
    case(training.batches, IMGS, 2, "x", error=T, expected="preprocess: expected a function"),
    case(training.outputs, "x", IMGS, 2, error=T, expected="a Keras model or a function"),
    case(training.outputs, NET, IMGS[:0], 2, expected="at least one example"),
    case(training.outputs, NET, IMGS, 1.5, error=T, expected="must be an integer"),
    # cam: Keras builds the probe of the layer at once, so a bad layer is refused at construction
    *[
        case(kind, NET, "fc", expected="expected a convolutional layer")
        for kind in (cam.BaseCAM, cam.CAM, cam.GradCAM)
    ],
    # transfer
    case(transfer.block_index, "conv1", expected="not a MobileNetV2 layer"),
    case(transfer.block_index, 3, error=T, expected="non-empty string"),
    case(transfer.block_index, "", expected="non-empty string"),
    case(transfer.replace_classifier, CONV_ONLY, 2, expected="does not end in a Dense layer"),
    case(transfer.replace_classifier, NET, 0, expected="n_classes must be an integer in [1"),
    case(transfer.replace_classifier, "x", 2, error=T, expected="a keras.applications classifier"),
    case(
        transfer.densenet_transfer,
        2,
        121,
        False,
        image_size=8,
        expected="image_size must be an integer in [32",
    ),
    # triplet
    case(triplet.embedding_model, False, trainable_from=0, expected="block in 1..18"),
    case(triplet.embedding_model, False, 16, expected="image_size must be an integer in [32"),
    case(triplet.embedding_model, False, 32, embedding_dim=0, expected="embedding_dim must be"),
    case(triplet.embed_cached, EMB, np.zeros((2, 3)), expected="stem features"),
    case(triplet.embed_cached, EMB, STEM[:0], expected="non-empty"),
    case(triplet.embed_cached, "x", STEM, error=T, expected="an embedding_model(...)"),
    case(triplet.DistanceLayer().call, A, A[0], A, expected="of one shape B x D"),
    case(triplet.DistanceLayer().call, A, A[:3], A, expected="of one shape B x D"),
    case(triplet.DistanceLayer().call, "x", A, A, error=T, expected="B x D embeddings"),
    case(triplet.triplet_loss, "x", [1.0], expected="two distance vectors"),
    case(triplet.triplet_loss, tf.zeros(4), tf.zeros(3), expected="of one non-empty length"),
    *[
        case(triplet.siamese_network, bad, error=T, expected="the embedding top")
        for bad in ("x", None, NET.layers[1])
    ],
    case(triplet.fit_siamese, SIAMESE, (STEM,) * 3, score="x", error=T, expected="score: expected"),
    case(triplet.fit_siamese, SIAMESE, (STEM, STEM, STEM[:1]), expected="lengths differ"),
    case(triplet.fit_siamese, "x", (STEM,) * 3, error=T, expected="a SiameseModel"),
    case(triplet.evaluate_loss, "x", (STEM,) * 3, error=T, expected="a SiameseModel"),
    case(triplet.evaluate_loss, SIAMESE, (STEM, STEM, STEM[:1]), expected="lengths differ"),
    case(triplet.evaluate_loss, SIAMESE, (STEM,) * 3, 0, expected="batch_size"),
    case(
        triplet.fit_siamese, SIAMESE, (STEM,) * 3, epochs=-1, expected="epochs must be an integer"
    ),
    case(triplet.pairwise_distances, "x", error=T, expected="B x D embedding matrix"),
    case(triplet.pairwise_distances, tf.zeros((0, 2)), expected="at least one example"),
    case(triplet.pairwise_distances, tf.zeros(2), expected="B x D embedding matrix"),
    case(triplet.semi_hard_negatives, "x", [0, 1], error=T, expected="B x B distance matrix"),
    case(triplet.semi_hard_triplet_loss, [0, 1], "x", error=T, expected="B x D embedding matrix"),
    case(triplet.fit_supervised, TOP, (STEM,), expected="(stem_features, labels) pair"),
    case(triplet.fit_supervised, "x", (STEM, [0, 0, 1, 1]), error=T, expected="the embedding top"),
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
    case(simclr.Encoder, "body", 8, error=T, expected="a Keras model"),
    case(
        simclr.Encoder, keras.layers.Flatten(), 0, expected="feature_dim must be an integer in [1"
    ),
    case(simclr.Encoder, keras.layers.Flatten(), 8, "fc", error=T, expected="a Keras layer"),
    case(simclr.cross_entropy, tf.zeros((2, 3)), [0, 3], expected="class indices in [0, 3)"),
    case(simclr.cross_entropy, tf.zeros(3), [0], expected="N x C logits"),
    case(simclr.cross_entropy, tf.zeros((2, 3)), [0], expected="expected 2 labels"),
    case(simclr.cross_entropy, tf.zeros((2, 3)), [0.5, 1.0], error=T, expected="integer class"),
    case(simclr.SimCLRModel, "small", 1, "x", error=T, expected="width must be an integer"),
    *[
        case(simclr.state_dict, bad, error=T, expected="a Keras model")
        for bad in (None, "model", {"a": 1})
    ],
    case(
        simclr.train_linear,
        keras.layers.Dense(2),
        np.ones(4),
        [0, 1, 1, 0],
        expected="N x D features",
    ),
]
CASES = shared_cases(KERAS) + KERAS_ONLY

(
    _cleanup,
    test_bad_input_raises_one_line_naming_what_was_expected,
    test_every_public_function_has_three_bad_input_cases,
) = suite(CASES, companion.tf, TMP)


def test_float_pictures_are_augmented_as_pictures_not_black():
    check_float_pictures_are_augmented_as_pictures(sampling.augment, D.rng)


def test_four_channel_pictures_lose_alpha_in_preprocess():
    np.testing.assert_allclose(backbones.preprocess(with_alpha(IMGS)), backbones.preprocess(IMGS))

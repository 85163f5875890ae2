"""companion.tf.simclr against the numpy reference, hand-derived values, the torch edition (through
an .npz written by a torch subprocess) and the article's protocol."""

import math
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from companion import simclr as core
from companion.data import ImageSet
from companion.tf import simclr
import simclr_cases as cases

TESTS = Path(__file__).resolve().parents[1]

TORCH_SCRIPT = """
import sys, numpy as np, torch
sys.path.insert(0, {tests!r})
import simclr_cases as cases
from companion.torch.simclr import info_nce_loss
out = {{}}
for t in cases.TEMPERATURES:
    logits, labels = info_nce_loss(torch.from_numpy(cases.FEATURES_B4), cases.BATCH, 2, t)
    out[f"logits_{{t}}"] = logits.numpy()
    out[f"loss_{{t}}"] = torch.nn.functional.cross_entropy(logits, labels).numpy()
np.savez({path!r}, **out)
"""


def _images(n=16, size=16, channels=1, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, size, size, channels), dtype=np.uint8)


def _loss(features, batch_size, temperature):
    logits, labels = simclr.info_nce_loss(tf.constant(features), batch_size, 2, temperature)
    return float(simclr.cross_entropy(logits, labels))


@pytest.mark.parametrize("temperature", cases.TEMPERATURES)
def test_logits_and_labels_equal_the_numpy_reference(temperature):
    logits, labels = simclr.info_nce_loss(
        tf.constant(cases.FEATURES_B4), cases.BATCH, 2, temperature
    )
    expected, _ = core.info_nce_logits(cases.FEATURES_B4, cases.BATCH, 2, temperature)
    assert tuple(logits.shape) == (8, 7) and labels.numpy().tolist() == [0] * 8
    np.testing.assert_allclose(logits.numpy(), expected, rtol=1e-5, atol=1e-5)
    assert _loss(cases.FEATURES_B4, cases.BATCH, temperature) == pytest.approx(
        core.info_nce(cases.FEATURES_B4, cases.BATCH, 2, temperature), rel=1e-5
    )


def test_identical_embeddings_give_log_2n_minus_1():
    assert _loss(cases.identical(8), 8, 0.2) == pytest.approx(math.log(15), rel=1e-6)


def test_separated_pairs_at_low_temperature_give_near_zero():
    assert _loss(cases.separated(), cases.BATCH, 0.01) < 1e-6


def test_torch_and_tensorflow_agree_on_the_same_arrays(tmp_path):
    """torch runs in its own process (the two frameworks must never share one) and writes .npz."""
    path = tmp_path / "torch_info_nce.npz"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(TESTS.parent), os.environ.get("PYTHONPATH", "")]),
    }
    subprocess.run(
        [sys.executable, "-c", TORCH_SCRIPT.format(tests=str(TESTS), path=str(path))],
        check=True,
        env=env,
        timeout=120,
    )
    torch_out = np.load(path)
    for t in cases.TEMPERATURES:
        logits, _ = simclr.info_nce_loss(tf.constant(cases.FEATURES_B4), cases.BATCH, 2, t)
        np.testing.assert_allclose(logits.numpy(), torch_out[f"logits_{t}"], rtol=1e-5, atol=1e-5)
        assert _loss(cases.FEATURES_B4, cases.BATCH, t) == pytest.approx(
            float(torch_out[f"loss_{t}"]), rel=1e-5
        )


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: simclr.info_nce_loss(tf.zeros((7, 3)), 4, 2, 0.1), "4 x 2 = 8 rows, got 7"),
        (
            lambda: simclr.info_nce_loss(tf.ones((8, 3)), 4, 2, 0.0),
            "temperature must be a number > 0, got 0.0",
        ),
        (lambda: simclr.info_nce_loss(tf.ones(8), 4, 2, 0.1), "2-D tensor"),
        (lambda: simclr.build_encoder("vgg"), "arch must be one of"),
        (
            lambda: simclr.pretrain(simclr.SimCLRModel(width=4), _images(4), batch_size=8),
            "at least batch_size = 8",
        ),
    ],
)
def test_bad_input_fails_with_one_line(call, message):
    with pytest.raises(ValueError, match=message) as error:
        call()
    assert "\n" not in str(error.value)


def test_two_views_are_stacked_view_after_view_and_differ():
    images = _images(4)
    views = simclr.two_views(images, simclr.augmentation(16, 1))
    assert tuple(views.shape) == (8, 16, 16, 1) and views.dtype == tf.float32
    assert 0 <= float(tf.reduce_min(views)) and float(tf.reduce_max(views)) <= 1
    assert not np.array_equal(views[:4].numpy(), views[4:].numpy())
    plain = simclr.two_views(images, None)
    assert np.array_equal(plain[:4].numpy(), plain[4:].numpy())


@pytest.mark.parametrize("arch, dim", [("small", 32), ("resnet18", 512)])
def test_encoders_give_feature_vectors(arch, dim):
    model = simclr.SimCLRModel(arch, in_channels=1, width=8, out_dim=16)
    x = tf.random.uniform((2, 16, 16, 1))
    assert tuple(model.backbone.body(x).shape) == (2, dim)
    assert tuple(model(x).shape) == (2, 16)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    tf.keras.utils.set_random_seed(0)
    model = simclr.SimCLRModel(width=4, out_dim=8)
    path = tmp_path_factory.mktemp("ckpt") / "simclr.npz"
    history = simclr.pretrain(
        model,
        _images(16),
        epochs=2,
        batch_size=8,
        temperature=0.5,
        augment=simclr.augmentation(16, 1),
        checkpoint=path,
        progress=False,
    )
    return model, path, history


def test_pretraining_writes_a_checkpoint_that_round_trips(checkpoint):
    model, path, history = checkpoint
    assert len(history["loss"]) == 2 and all(np.isfinite(history["loss"]))
    assert not list(path.parent.glob("*.part*"))
    state, current = simclr.load_checkpoint(path), simclr.state_dict(model)
    assert state.keys() == current.keys()
    assert all(np.array_equal(state[k], v) for k, v in current.items())
    assert any(k.startswith("backbone.fc.") for k in state) and all(
        k.startswith("backbone.") for k in state
    )


def test_a_collapsed_encoder_scores_no_contrastive_top1():
    model = simclr.SimCLRModel(width=4, out_dim=8)
    model.backbone(tf.zeros((1, 16, 16, 1)))  # builds the network, not the SimCLR model
    for weight in model.backbone.weights:  # every output 0: every logit ties with the positive
        weight.assign(tf.zeros_like(weight))
    augment = simclr.augmentation(16, 1)
    history = simclr.pretrain(model, _images(8), 1, 8, 0.5, augment, progress=False)
    assert history["top1"] == [0.0]  # argmax took the first of the tied logits, the positive: 1.0


def test_load_encoder_strips_the_prefix_and_drops_the_head(checkpoint):
    model, path, _ = checkpoint
    encoder = simclr.load_encoder(path, n_classes=3, width=4)
    pretrained = simclr.state_dict(model)
    for name, value in simclr.state_dict(encoder).items():
        if not name.startswith("fc."):
            assert np.array_equal(value, pretrained["backbone." + name]), name
    assert tuple(encoder.fc.kernel.shape) == (16, 3)


def test_checkpoints_with_unexpected_keys_or_from_torch_are_refused(checkpoint, tmp_path):
    _, path, _ = checkpoint
    state = simclr.load_checkpoint(path)
    np.savez(tmp_path / "extra.npz", **state, **{"backbone.extra.kernel": np.zeros(1)})
    with pytest.raises(ValueError, match=r"unexpected keys \['extra.kernel'\]"):
        simclr.load_encoder(tmp_path / "extra.npz", 3, width=4)
    with pytest.raises(ValueError, match=r"has shape \(3, 3, 1, 4\) in the checkpoint"):
        simclr.load_encoder(path, 3, width=8)
    (tmp_path / "simclr.pt").write_bytes(b"PK")
    with pytest.raises(ValueError, match="PyTorch"):
        simclr.load_encoder(tmp_path / "simclr.pt", 3, width=4)


def test_linear_evaluation_leaves_the_encoder_bit_identical(checkpoint):
    _, path, _ = checkpoint
    encoder = simclr.load_encoder(path, n_classes=3, width=4)
    assert simclr.freeze_for_linear_eval(encoder) == ["fc.kernel", "fc.bias"]
    before = simclr.state_dict(encoder)
    rng = np.random.default_rng(1)
    train = ImageSet(_images(24, seed=2), rng.integers(0, 3, 24), ["a", "b", "c"])
    test = ImageSet(_images(12, seed=3), rng.integers(0, 3, 12), ["a", "b", "c"])
    result = simclr.linear_evaluation(encoder, train, test, epochs=3, batch_size=8)
    after = simclr.state_dict(encoder)
    for name, value in before.items():  # weights and BatchNorm moving statistics
        if not name.startswith("fc."):
            assert np.array_equal(after[name], value), f"{name} moved during linear evaluation"
    assert not np.array_equal(after["fc.kernel"], before["fc.kernel"])
    assert 0 <= result["top1"] <= result["top5"] == 1.0
    assert result["features"]["train"].shape == (24, 16)


def test_linear_evaluation_refuses_an_unfrozen_encoder():
    with pytest.raises(ValueError, match="freeze_for_linear_eval"):
        simclr.linear_evaluation(simclr.linear_model(3, width=4), None, None)


def test_linear_probe_learns_separable_features():
    x = np.repeat(np.eye(3, dtype=np.float32), 10, axis=0)
    y = np.repeat(np.arange(3), 10)
    assert simclr.linear_probe(x, y, x, y, 3, epochs=50, batch_size=10, lr=0.1)["top1"] == 1.0


def _trained_dense(x, y, standardize, seed=0):
    keras.utils.set_random_seed(seed)  # the same initial weights for every call
    fc = keras.layers.Dense(2)
    simclr.train_linear(fc, x, y, epochs=5, batch_size=16, lr=1e-2, standardize=standardize)
    return fc


def test_standardisation_is_folded_into_the_layer():
    """The folded layer, fed raw features, predicts what a layer trained on the standardised
    features (computed here in numpy) predicts from those; without standardisation it does not."""
    rng = np.random.default_rng(0)
    x = rng.normal([5, -2, 10, 0], [3, 0.5, 10, 1], size=(50, 4)).astype(np.float32)
    y = (x[:, 0] + x[:, 2] / 3 > 8).astype(np.int64)
    x64 = x.astype(np.float64)
    z = ((x64 - x64.mean(0)) / x64.std(0)).astype(np.float32)
    unfolded = _trained_dense(z, y, standardize=False)(z).numpy()
    folded = _trained_dense(x, y, standardize=True)(x).numpy()
    np.testing.assert_allclose(folded, unfolded, rtol=1e-4, atol=1e-4)
    raw = _trained_dense(x, y, standardize=False)(x).numpy()
    assert not np.allclose(raw, unfolded, rtol=1e-2, atol=1e-2)


def _patterns(n, size=16, seed=0):
    """Three classes (horizontal stripes, vertical stripes, a checkerboard) of random period and
    phase, under a random brightness and contrast (the nuisance that augmentation removes) and
    pixel noise: uint8 N x size x size x 1 images and their labels."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 3
    r, c = np.mgrid[:size, :size]
    images = []
    for label in labels:
        period, (phase_r, phase_c) = rng.uniform(3, 6), rng.uniform(0, 2 * np.pi, 2)
        h = np.sin(2 * np.pi * r / period + phase_r)
        v = np.sin(2 * np.pi * c / period + phase_c)
        wave = [h, v, 2 * h * v][label]
        brightness, contrast = rng.uniform(40, 215), rng.uniform(15, 40)
        images.append(brightness + contrast * wave + rng.normal(0, 8, (size, size)))
    return np.clip(images, 0, 255).astype(np.uint8)[..., None], labels


def test_pretraining_raises_knn_accuracy_above_the_random_encoders():
    """SimCLR on unlabelled patterns: the encoder's kNN accuracy on held-out images rises well
    above chance (1/3) and above the random-init encoder's (about 0.73)."""
    train_x, train_y = _patterns(192, seed=0)
    test_x, test_y = _patterns(120, seed=1)

    def knn(model):
        train_f, test_f = (simclr.extract_features(model, x) for x in (train_x, test_x))
        return core.knn_accuracy(train_f, train_y, test_f, test_y, k=10)

    keras.utils.set_random_seed(0)
    model = simclr.SimCLRModel("small", in_channels=1, width=8, out_dim=32)
    before = knn(model)
    history = simclr.pretrain(
        model, train_x, epochs=20, batch_size=64, temperature=0.2, lr=3e-3, progress=False
    )
    after = knn(model)
    print(f"kNN accuracy: {before:.3f} at random init, {after:.3f} after pretraining")
    assert history["loss"][-1] < history["loss"][0]
    assert after >= 0.85 and after >= before + 0.1, (before, after)


def test_supervised_training_runs_and_scores():
    tf.keras.utils.set_random_seed(0)
    model = simclr.linear_model(2, width=4)
    data = ImageSet(_images(16, seed=5), np.arange(16) % 2, ["a", "b"])
    history = simclr.train_supervised(
        model, data, epochs=1, batch_size=8, augment=simclr.augmentation(16, 1, strength=0, blur=0)
    )
    assert len(history["loss"]) == 1
    assert 0 <= simclr.predict_top1(model, data) <= 1


def test_supervised_training_validates_on_clean_images_and_keeps_the_best():
    tf.keras.utils.set_random_seed(0)
    model = simclr.linear_model(2, width=4)
    train = ImageSet(_images(16, seed=5), np.arange(16) % 2, ["a", "b"])
    val = ImageSet(_images(7, seed=6), np.arange(7) % 2, ["a", "b"])
    blank = keras.layers.Lambda(lambda x: 0.0 * x)  # training sees blank images only
    history = simclr.train_supervised(
        model, train, epochs=2, batch_size=8, augment=blank, val=val, keep_best=True
    )
    assert len(history["val_accuracy"]) == 2
    assert history["best"]["val_accuracy"] == max(history["val_accuracy"])
    # the best weights are restored, and they were scored on the clean validation images
    assert simclr.predict_top1(model, val) == pytest.approx(history["best"]["val_accuracy"])


def test_reset_fc_gives_the_dense_layer_fresh_weights():
    model = simclr.linear_model(3, width=4)
    model.fc.kernel.assign(np.full(model.fc.kernel.shape, 7.0, np.float32))
    simclr.reset_fc(model)
    assert not np.any(model.fc.kernel.numpy() == 7.0)


def test_convolutions_start_like_torchs():
    """torch draws conv weights from uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)): 3x3 x 16 inputs
    gives a bound of 1/12 and a standard deviation of 1/12/sqrt(3)."""
    tf.keras.utils.set_random_seed(0)
    kernel = simclr.build_encoder("small", 1, width=16).body.get_layer("layer1_conv").kernel.numpy()
    assert np.abs(kernel).max() <= 1 / 12
    assert kernel.std() == pytest.approx(1 / 12 / np.sqrt(3), rel=0.05)


def test_pretraining_records_the_spread_and_warns_when_the_projections_collapse():
    images = np.random.default_rng(0).integers(0, 256, (32, 16, 16, 1), dtype=np.uint8)
    keras.utils.set_random_seed(0)
    model = simclr.SimCLRModel("small", 1, 4, 8)
    history = simclr.pretrain(model, images, 1, 16, 0.5, lr=1e-3, progress=False)
    projections = simclr.training.predict(model, images[: simclr.SPREAD_IMAGES])
    assert history["spread"] == [pytest.approx(core.spread(projections), rel=1e-5)]
    keras.utils.set_random_seed(0)
    model = simclr.SimCLRModel("small", 1, 4, 8)  # its head's last layer outputs its bias alone
    last = model.backbone.fc.layers[-1]
    last.kernel.assign(np.zeros(last.kernel.shape, np.float32))
    with pytest.warns(
        RuntimeWarning, match=r"epoch 1: the embeddings' spread is \S+, down .*at least 1e-06"
    ):
        simclr.pretrain(model, images, 1, 16, 0.5, lr=1e-12, progress=False)


def test_projections_are_the_head_applied_to_the_encoder_features_in_inference_mode():
    keras.utils.set_random_seed(0)
    model = simclr.SimCLRModel(width=4, out_dim=8)
    images = _images(6)
    features = simclr.extract_features(model, images, batch_size=4)
    expected = model.backbone.fc(tf.constant(features), training=False).numpy()
    got = simclr.projections(model, images, batch_size=4)
    assert got.shape == (6, 8) and got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)

"""Chapter 3 (Keras): positives, the stem/top split, triplet loss, semi-hard mining, training."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import cases
from cases import (
    TRIPLET_AN,
    TRIPLET_AP,
    TRIPLET_LOSS,
    TRIPLET_MARGIN,
    TRIPLET_NEGATIVES,
    TRIPLET_POINT_LABELS,
    TRIPLET_POINTS,
    TRIPLET_SEMI_HARD_LOSS,
    far_close_points,
    triplet_batch,
)
from companion.tf import triplet
from companion.tf.backbones import block_layer_name, block_output, mobilenet_v2
from companion.triplet import TRAINABLE_FROM, semi_hard_reference


def _images(n=4, size=32, channels=1, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, size, size, channels), dtype=np.uint8)


def _triplets(shape, n=32, seed=0):
    rng = np.random.default_rng(seed)
    return tuple(rng.normal(size=(n, *shape)).astype(np.float32) for _ in range(3))


@pytest.fixture(scope="module")
def model():
    return triplet.embedding_model(pretrained=False, image_size=32)


# --- the triplet loss -----------------------------------------------------------------------------
def test_triplet_loss_hand_cases_and_numpy_loop():
    assert float(triplet.triplet_loss(TRIPLET_AP, TRIPLET_AN, TRIPLET_MARGIN)) == pytest.approx(
        TRIPLET_LOSS, abs=1e-6
    )
    assert float(triplet.triplet_loss([1.0], [1.5], 0.5)) == 0.0  # exactly at the margin
    assert float(triplet.triplet_loss([1.0, 0.0], [9.0, 4.0])) == 0.0  # negatives far enough
    ap, an = np.random.default_rng(0).uniform(0, 2, (2, 50)).astype(np.float32)
    expected = sum(max(ap[i] - an[i] + 0.3, 0.0) for i in range(50)) / 50
    assert float(triplet.triplet_loss(ap, an, 0.3)) == pytest.approx(expected, rel=1e-6)


def test_distance_layer_on_a_3_4_5_triangle():
    a, p, n = (np.array([xy], np.float32) for xy in ([0, 0], [3, 4], [0, 4]))
    np.testing.assert_allclose([d.numpy() for d in triplet.DistanceLayer()(a, p, n)], [[25], [16]])
    np.testing.assert_allclose(
        [d.numpy() for d in triplet.DistanceLayer(False)(a, p, n)], [[5], [4]]
    )


def test_pairwise_distances_against_numpy():
    e, _ = triplet_batch()
    expected = ((e[:, None] - e[None]) ** 2).sum(-1)
    d = triplet.pairwise_distances(e).numpy()
    np.testing.assert_allclose(d, expected, atol=1e-5)
    assert (d >= 0).all() and (np.diag(d) == 0).all()
    x = tf.constant(e)
    with tf.GradientTape() as tape:
        tape.watch(x)
        plain = triplet.pairwise_distances(x, squared=False)
    np.testing.assert_allclose(plain.numpy(), np.sqrt(expected), atol=1e-5)
    assert np.isfinite(tape.gradient(plain, x).numpy()).all()  # sqrt(0) on the diagonal


def test_pairwise_distances_of_far_close_points_do_not_cancel_away():
    x, expected = far_close_points()
    np.testing.assert_allclose(
        triplet.pairwise_distances(x).numpy(), expected, rtol=1e-3, atol=1e-5
    )


# --- semi-hard mining -----------------------------------------------------------------------------
def test_semi_hard_negatives_hand_worked_and_reference():
    d = triplet.pairwise_distances(TRIPLET_POINTS)
    np.testing.assert_array_equal(
        triplet.semi_hard_negatives(d, TRIPLET_POINT_LABELS), TRIPLET_NEGATIVES
    )  # worked out in tests/cases.py
    np.testing.assert_array_equal(
        semi_hard_reference(d.numpy(), TRIPLET_POINT_LABELS), TRIPLET_NEGATIVES
    )
    for seed in range(3):
        e, labels = triplet_batch(seed=seed)
        d = triplet.pairwise_distances(e)
        np.testing.assert_array_equal(
            triplet.semi_hard_negatives(d, labels), semi_hard_reference(d.numpy(), labels)
        )
    assert (triplet.semi_hard_negatives(d, np.zeros(len(e))).numpy() == -1).all()  # no negatives


def test_semi_hard_triplet_loss_hand_worked_and_numpy_loop():
    loss = triplet.semi_hard_triplet_loss(TRIPLET_POINT_LABELS, TRIPLET_POINTS, TRIPLET_MARGIN)
    assert float(loss) == pytest.approx(TRIPLET_SEMI_HARD_LOSS, rel=1e-6)
    e, labels = triplet_batch(seed=1)
    d = ((e[:, None] - e[None]) ** 2).sum(-1)
    terms = [
        max(d[a, p] - d[a, n] + 0.2, 0.0)
        for (a, p), n in np.ndenumerate(semi_hard_reference(d, labels))
        if n >= 0
    ]
    y_true = labels[:, None].astype(np.float32)  # as Keras passes labels to a loss
    loss = triplet.semi_hard_triplet_loss(y_true, e, 0.2)
    assert float(loss) == pytest.approx(np.mean(terms), rel=1e-5)
    assert float(triplet.semi_hard_triplet_loss(np.zeros(len(e)), e)) == 0.0  # no triplet at all


# --- positives ------------------------------------------------------------------------------------
def test_positive_augment_is_seeded_and_keeps_shape():
    images = _images(6, 28)
    positives = triplet.positive_augment(images, seed=3)
    assert positives.shape == images.shape and positives.dtype == np.uint8
    np.testing.assert_array_equal(positives, triplet.positive_augment(images, seed=3))
    assert not np.array_equal(positives, triplet.positive_augment(images, seed=4))
    assert not np.array_equal(positives, images)


def test_positive_augment_contrast_one_equals_a_hand_crop(monkeypatch):
    monkeypatch.setattr(triplet._spec, "CONTRAST", (1.0, 1.0 + 1e-6))  # a contrast factor of 1
    image = np.full((1, 8, 8, 1), 255, np.uint8)  # any leak of the border shows as 255
    image[0, 2:6, 2:6, 0] = np.array([0, 40, 80, 120])[:, None]  # constant rows: no flip shows
    # bilinear 4 -> 8 with half-pixel centres: output row i reads input row (i + 0.5) / 2 - 0.5,
    # clamped to 0..3: 0, .25, .75, 1.25, 1.75, 2.25, 2.75, 3 -> 0, 10, 30, 50, 70, 90, 110, 120
    expected = np.array([0, 10, 30, 50, 70, 90, 110, 120])[:, None].repeat(8, 1)
    for seed in range(4):
        np.testing.assert_array_equal(triplet.positive_augment(image, seed)[0, ..., 0], expected)


def test_positive_augment_without_the_crop_keeps_the_image(monkeypatch):
    monkeypatch.setattr(triplet._spec, "CONTRAST", (1.0, 1.0 + 1e-6))  # a contrast factor of 1
    image = np.zeros((1, 8, 8, 1), np.uint8)
    image[0, :, :, 0] = np.arange(0, 240, 30)[:, None]  # constant rows: no flip shows
    np.testing.assert_array_equal(triplet.positive_augment(image, 1, crop_fraction=1.0), image)


# --- the network ----------------------------------------------------------------------------------
def test_stem_is_frozen_and_top_counts_match_the_summary(model):
    images = _images(3)
    assert triplet.embed(model, images).shape == (3, 256)
    stem, top = model.get_layer("stem"), model.get_layer("top")
    assert not stem.trainable_weights and top.trainable_weights
    summary = triplet.trainable_summary(model)
    assert list(summary.index) == [f"block_{i}" for i in range(19)] + ["head"]
    assert list(summary.trainable) == [False] * TRAINABLE_FROM + [True] * (20 - TRAINABLE_FROM)
    assert summary.parameters[summary.trainable].sum() == triplet.count_params(top, True)
    assert summary.parameters.sum() == triplet.count_params(model)
    assert summary.parameters["block_18"] == 320 * 1280 + 2 * 1280  # 1x1 conv, BatchNorm


def test_pretrained_stem_is_the_mobilenet_v2_up_to_the_split():
    images, clone = _images(2, 64, 3), mobilenet_v2(image_size=64)
    assert block_layer_name(clone, 13) == "block_12_add"
    for trainable_from in sorted({14, TRAINABLE_FROM}):
        model = triplet.embedding_model(image_size=64, trainable_from=trainable_from)
        features = triplet.stem_features(model, images)
        np.testing.assert_allclose(
            features, block_output(clone, images, trainable_from - 1), atol=1e-4
        )
        np.testing.assert_allclose(
            triplet.embed_cached(model, features), triplet.embed(model, images), atol=1e-4
        )  # top(stem(x))


def test_split_is_at_any_block_boundary():
    model = triplet.embedding_model(
        pretrained=False, image_size=32, trainable_from=5, embedding_dim=8
    )
    assert triplet.stem_features(model, _images(2)).shape == (2, 4, 4, 32)  # after block_3_project
    assert triplet.embed(model, _images(2)).shape == (2, 8)
    assert list(triplet.trainable_summary(model).trainable).index(True) == 5


def test_normalised_embeddings_are_the_unnormalised_ones_scaled_to_length_1():
    images = _images(4, 32, 3)
    raw, unit = (
        triplet.embed(triplet.embedding_model(False, 32, 18, 8, normalise=n), images)
        for n in (False, True)
    )
    assert raw.shape == unit.shape == (4, 8)
    np.testing.assert_allclose(np.linalg.norm(unit, axis=1), 1, atol=1e-6)
    keras.utils.set_random_seed(0)
    raw = triplet.embedding_model(False, 32, 18, 8)
    keras.utils.set_random_seed(0)
    unit = triplet.embedding_model(False, 32, 18, 8, normalise=True)
    raw, unit = triplet.embed(raw, images), triplet.embed(unit, images)
    np.testing.assert_allclose(unit, raw / np.linalg.norm(raw, axis=1, keepdims=True), atol=1e-6)


def test_siamese_network_normalises_the_triplet_as_one_batch_in_training():
    a, p, n = cases.skewed_triplet()
    a, p, n = (x.astype(np.float32) for x in (a, p, n))
    inputs = keras.Input((4,))
    norm = keras.layers.BatchNormalization(center=False, scale=False, epsilon=1e-3)
    top = keras.Model(inputs, norm(inputs))
    for joint in (True, False):
        ours = triplet.siamese_network(top, joint=joint)([a, p, n], training=True)
        for got, expected in zip(ours, cases.batchnorm_distances(a, p, n, joint, 1e-3)):
            np.testing.assert_allclose(got.numpy(), expected, rtol=1e-4)
    joint, alone = (
        triplet.siamese_network(top, joint=j)([a, p, n], training=False) for j in (True, False)
    )  # in inference mode (moving statistics) the two give the same distances
    for x, y in zip(joint, alone):
        np.testing.assert_allclose(x.numpy(), y.numpy(), rtol=1e-6)


# --- training -------------------------------------------------------------------------------------
def _small_top(embedding_dim=256):
    """Blocks 18 on and the head: quick to trace."""
    return triplet.embedding_model(False, 32, 18, embedding_dim).get_layer("top")


def test_fit_siamese_lowers_the_loss_and_checkpoints(tmp_path):
    keras.utils.set_random_seed(0)
    top = _small_top()
    siamese = triplet.SiameseModel(triplet.siamese_network(top))
    data, path = _triplets(top.input.shape[1:], n=16), tmp_path / "siamese.weights.h5"
    history = triplet.fit_siamese(
        siamese, data, data, epochs=2, batch_size=16, checkpoint=path, progress=False
    )
    assert history["loss"][1] < history["loss"][0]
    assert len(history["val_loss"]) == len(history["seconds"]) == 2
    ap, an = (d.numpy() for d in siamese.network(data, training=False))
    by_hand = np.maximum(ap - an + siamese.margin, 0).mean()
    for batch_size in (5, 16):
        assert triplet.evaluate_loss(siamese, data, batch_size) == pytest.approx(by_hand, 1e-5)
    assert history["val_loss"][-1] == pytest.approx(by_hand, 1e-5)  # Keras' own evaluation
    fresh = triplet.siamese_network(_small_top())
    fresh.load_weights(path)
    for a, b in zip(siamese.network(data, training=False), fresh(data, training=False)):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left


def test_fit_supervised_trains_the_top_with_mined_triplets():
    keras.utils.set_random_seed(0)
    top = _small_top(16)
    x, _, _ = _triplets(top.input.shape[1:], n=24)
    labels = np.arange(24) % 3
    history = triplet.fit_supervised(
        top, (x, labels), (x, labels), epochs=3, batch_size=24, lr=1e-5, progress=False
    )
    assert set(history) == {"loss", "val_loss", "seconds"} and len(history["val_loss"]) == 3
    assert history["loss"][-1] < history["loss"][0]


# --- bad inputs -----------------------------------------------------------------------------------
def test_bad_inputs_fail_with_one_line(model, tmp_path):
    top = model.get_layer("top")
    siamese = triplet.SiameseModel(triplet.siamese_network(top))
    data = _triplets(top.input.shape[1:], n=4)
    calls = {
        "trainable_from": lambda: triplet.embedding_model(False, 32, trainable_from=19),
        "uint8": lambda: triplet.positive_augment(np.zeros((1, 8, 8, 1), np.float32)),
        "non-empty": lambda: triplet.embed(model, _images(0)),
        "stem features": lambda: triplet.embed_cached(model, np.zeros((2, 5))),
        "crop_fraction": lambda: triplet.positive_augment(_images(1), crop_fraction=2),
        "margin": lambda: triplet.triplet_loss([1.0], [2.0], -0.1),
        "distance vectors": lambda: triplet.triplet_loss([1.0, 2.0], [2.0]),
        "lengths differ": lambda: triplet.fit_siamese(siamese, (data[0], data[1], data[2][:3])),
        "weights.h5": lambda: triplet.fit_siamese(siamese, data, checkpoint=tmp_path / "x.h5"),
        "B x D": lambda: triplet.pairwise_distances(np.zeros(3)),
        "labels": lambda: triplet.semi_hard_negatives(np.zeros((3, 3)), [0, 1]),
        "pair": lambda: triplet.fit_supervised(top, data),
    }
    for match, call in calls.items():
        with pytest.raises(ValueError, match=match) as error:
            call()
        assert "\n" not in str(error.value)


TORCH_LOSSES = """
import sys
import numpy as np, torch
sys.path.insert(0, sys.argv[2])
from cases import triplet_batch
from companion.torch import triplet as T
x, y = triplet_batch(n=24, dim=4)
a, p, n = (torch.from_numpy(x[i::3]) for i in range(3))
np.savez(sys.argv[1], x=x, y=y, squared=T.triplet_loss(*T.DistanceLayer()(a, p, n)).item(),
         plain=T.triplet_loss(*T.DistanceLayer(squared=False)(a, p, n)).item(),
         semi_hard=T.semi_hard_triplet_loss(y, torch.from_numpy(x)).item(),
         negatives=T.semi_hard_negatives(T.pairwise_distances(torch.from_numpy(x)), y).numpy())
"""


def test_torch_and_keras_give_the_same_losses_and_negatives_on_the_same_arrays(tmp_path):
    """The torch edition runs in its own process and passes its results through an .npz file."""
    import subprocess
    import sys
    from pathlib import Path

    path = tmp_path / "torch.npz"
    subprocess.run(
        [sys.executable, "-c", TORCH_LOSSES, str(path), str(Path(__file__).parents[1])],
        check=True,
        capture_output=True,
        timeout=120,
    )
    ref = np.load(path)
    x, y = ref["x"], ref["y"]
    a, p, n = (tf.constant(x[i::3]) for i in range(3))
    assert float(triplet.triplet_loss(*triplet.DistanceLayer()(a, p, n))) == pytest.approx(
        float(ref["squared"]), abs=1e-5
    )
    assert float(
        triplet.triplet_loss(*triplet.DistanceLayer(squared=False)(a, p, n))
    ) == pytest.approx(float(ref["plain"]), abs=1e-5)
    assert float(triplet.semi_hard_triplet_loss(y, tf.constant(x))) == pytest.approx(
        float(ref["semi_hard"]), abs=1e-5
    )
    negatives = triplet.semi_hard_negatives(triplet.pairwise_distances(tf.constant(x)), y)
    np.testing.assert_array_equal(negatives.numpy(), ref["negatives"])


def test_fit_siamese_records_a_score_of_the_network_after_every_epoch():
    keras.utils.set_random_seed(0)
    top = _small_top()
    siamese = triplet.SiameseModel(triplet.siamese_network(top))
    shape = top.input.shape[1:]
    val = _triplets(shape, n=8, seed=1)
    history = triplet.fit_siamese(
        siamese,
        _triplets(shape, n=16),
        val,
        epochs=2,
        batch_size=8,
        progress=False,
        score=lambda: {"eval_loss": triplet.evaluate_loss(siamese, val)},
    )  # the inference-mode loss on the validation triplets, computed a second way
    assert len(history["val_eval_loss"]) == 2
    np.testing.assert_allclose(history["val_eval_loss"], history["val_loss"], rtol=1e-4)

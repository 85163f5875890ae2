"""Chapter 3 (PyTorch): triplet loss, semi-hard mining, positives, embedding network, training."""

import numpy as np
import pytest
import torch

import cases
from companion.torch import triplet as T
from companion.torch.backbones import count_params, mobilenet_v2, preprocess
from companion.torch.training import load_checkpoint
from companion.triplet import TRAINABLE_FROM, semi_hard_reference

SIZE = 64
STEM = (160, 2, 2)  # the stem's output at 64 px: blocks 0..14 end with 160 channels at 1/32


def _images(n=4, channels=1, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, SIZE, SIZE, channels), dtype=np.uint8)


def _model(seed=0, **kwargs):
    torch.manual_seed(seed)
    return T.embedding_model(pretrained=False, image_size=SIZE, **kwargs)


def _t(x):
    return torch.as_tensor(np.asarray(x))


def test_triplet_loss_matches_a_numpy_loop_and_hand_cases():
    rng = np.random.default_rng(0)
    ap, an = rng.uniform(0, 2, (2, 50)).astype(np.float32)
    expected = np.mean([max(p - n + 0.3, 0.0) for p, n in zip(ap, an)])
    assert T.triplet_loss(_t(ap), _t(an), margin=0.3).item() == pytest.approx(expected, rel=1e-6)
    assert T.triplet_loss(_t([0.1, 0.2]), _t([5.0, 4.0])).item() == 0  # negatives far enough
    assert T.triplet_loss(_t([0.5]), _t([1.0]), margin=0.5).item() == 0  # exactly at the margin
    loss = T.triplet_loss(_t(cases.TRIPLET_AP), _t(cases.TRIPLET_AN), cases.TRIPLET_MARGIN)
    assert loss.item() == pytest.approx(cases.TRIPLET_LOSS, abs=1e-6)


def test_plain_l2_triplet_loss_equals_torch_triplet_margin_loss():
    a, p, n = torch.randn(3, 16, 8, generator=torch.Generator().manual_seed(0))
    ours = T.triplet_loss(*T.DistanceLayer(squared=False)(a, p, n), margin=1.0)
    assert ours.item() == pytest.approx(
        torch.nn.TripletMarginLoss(margin=1.0)(a, p, n).item(), abs=1e-5
    )


def test_distance_layer_on_a_3_4_5_triangle():
    a, p, n = _t([[0.0, 0.0]]), _t([[3.0, 4.0]]), _t([[0.0, 1.0]])
    assert [d.item() for d in T.DistanceLayer()(a, p, n)] == [25, 1]
    assert [d.item() for d in T.DistanceLayer(squared=False)(a, p, n)] == [5, 1]


def test_pairwise_distances_match_numpy_with_exact_zero_diagonal():
    x, _ = cases.triplet_batch()
    expected = ((x[:, None] - x[None]) ** 2).sum(-1)
    d = T.pairwise_distances(_t(x))
    np.testing.assert_allclose(d.numpy(), expected, atol=1e-5)
    assert (torch.diagonal(d) == 0).all() and (d >= 0).all()
    plain = T.pairwise_distances(_t(x), squared=False)
    np.testing.assert_allclose(plain.numpy(), np.sqrt(expected), atol=1e-5)
    e = _t(x).requires_grad_()
    T.pairwise_distances(e, squared=False).sum().backward()
    assert torch.isfinite(e.grad).all()  # no infinite gradient from the zero diagonal


def test_pairwise_distances_of_far_close_points_do_not_cancel_away():
    x, expected = cases.far_close_points()
    np.testing.assert_allclose(T.pairwise_distances(_t(x)).numpy(), expected, rtol=1e-3, atol=1e-5)


def test_semi_hard_mining_on_the_hand_worked_points():
    d = T.pairwise_distances(_t(cases.TRIPLET_POINTS))  # cases.py works this 4-point batch by hand
    negatives = T.semi_hard_negatives(d, cases.TRIPLET_POINT_LABELS)
    np.testing.assert_array_equal(negatives.numpy(), cases.TRIPLET_NEGATIVES)
    np.testing.assert_array_equal(
        semi_hard_reference(d.numpy(), cases.TRIPLET_POINT_LABELS), cases.TRIPLET_NEGATIVES
    )
    loss = T.semi_hard_triplet_loss(cases.TRIPLET_POINT_LABELS, _t(cases.TRIPLET_POINTS))
    assert loss.item() == pytest.approx(cases.TRIPLET_SEMI_HARD_LOSS, abs=1e-5)


def test_semi_hard_mining_equals_the_numpy_reference():
    for seed in range(3):
        x, labels = cases.triplet_batch(seed=seed)
        d = T.pairwise_distances(_t(x))
        np.testing.assert_array_equal(
            T.semi_hard_negatives(d, _t(labels)).numpy(), semi_hard_reference(d.numpy(), labels)
        )
    one_class = T.semi_hard_negatives(d, np.zeros(len(d), int))
    assert (one_class == -1).all()  # no negatives: nothing mined
    e = _t(x).requires_grad_()
    loss = T.semi_hard_triplet_loss(np.zeros(len(x), int), e)
    loss.backward()
    assert loss.item() == 0 and (e.grad == 0).all()


def _hand_image():
    """4 x 4, outer ring 255 (cropped away), centre [[0, 100], [100, 200]]; channel 1 is 30."""
    image = np.full((1, 4, 4, 2), 255, np.uint8)
    image[0, 1:3, 1:3, 0] = [[0, 100], [100, 200]]
    image[0, :, :, 1] = 30
    return image


def test_positive_augment_crop_resize_flip_contrast_by_hand():
    # central half: rows/cols 1..2; bilinear 2 -> 4 (half-pixel) maps [a, b] to
    # [a, .75 a + .25 b, .25 a + .75 b, b], so the crop 100 (r + c) becomes 100 (u_i + u_j)
    u = np.array([0, 0.25, 0.75, 1])
    resized = 100 * (u[:, None] + u[None, :])  # mean 100
    out = T._augment(_hand_image(), torch.tensor([False]), torch.tensor([1.0]), 0.5)
    np.testing.assert_array_equal(out[0, ..., 0], resized)
    assert (out[0, ..., 1] == 30).all()
    out = T._augment(_hand_image(), torch.tensor([True]), torch.tensor([2.0]), 0.5)
    np.testing.assert_array_equal(out[0, ..., 0], np.clip(2 * resized - 100, 0, 255)[:, ::-1])
    assert (out[0, ..., 1] == 30).all()  # contrast about each channel's own mean


def test_positive_augment_without_the_crop_keeps_the_image():
    # crop_fraction 1: no crop, a resize to the same size, no flip, contrast 1: the image itself
    out = T._augment(_hand_image(), torch.tensor([False]), torch.tensor([1.0]), 1.0)
    np.testing.assert_array_equal(out, _hand_image())
    images = _images(3, 3)
    seeded = T.positive_augment(images, seed=5, crop_fraction=1.0)
    assert not np.array_equal(seeded, T.positive_augment(images, seed=5))  # the crop changes it


def test_positive_augment_is_seeded_and_keeps_shape_and_dtype():
    for channels in (1, 3):
        images = _images(6, channels)
        out = T.positive_augment(images, seed=1)
        assert out.shape == images.shape and out.dtype == np.uint8
        np.testing.assert_array_equal(out, T.positive_augment(images, seed=1))
        assert not np.array_equal(out, T.positive_augment(images, seed=2))


def test_embedding_model_parts_and_summary():
    model = _model()
    assert T.embed(model, _images(3)).shape == (3, 256)
    assert count_params(model.stem, trainable_only=True) == 0
    assert all(p.requires_grad for p in model.top.parameters())
    summary = T.trainable_summary(model)
    assert len(summary) == 20 and summary.index[0] == "features.0" and summary.index[-1] == "head"
    assert list(summary.trainable) == [False] * TRAINABLE_FROM + [True] * (20 - TRAINABLE_FROM)
    trainable = summary.parameters[summary.trainable].sum()
    assert count_params(model.top, trainable_only=True) == trainable
    assert count_params(model.stem) == summary.parameters[~summary.trainable].sum()
    model.train()
    norms = [m for m in model.stem.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert norms and not any(m.training for m in norms) and model.top.training
    late = _model(trainable_from=18, embedding_dim=8)
    assert list(T.trainable_summary(late).trainable) == [False] * 18 + [True] * 2
    assert T.embed(late, _images(2)).shape == (2, 8)


def test_normalised_embeddings_are_the_unnormalised_ones_scaled_to_length_1():
    images = _images(4, 3)
    raw, unit = T.embed(_model(), images), T.embed(_model(normalise=True), images)
    np.testing.assert_allclose(np.linalg.norm(unit, axis=1), 1, atol=1e-6)
    np.testing.assert_allclose(unit, raw / np.linalg.norm(raw, axis=1, keepdims=True), atol=1e-6)


def test_siamese_network_normalises_the_triplet_as_one_batch_in_training():
    a, p, n = cases.skewed_triplet()
    top = torch.nn.BatchNorm1d(4, affine=False).double()
    for joint in (True, False):
        network = T.siamese_network(top, joint=joint).train()
        ours = network(*(_t(x) for x in (a, p, n)))
        for got, expected in zip(ours, cases.batchnorm_distances(a, p, n, joint, 1e-5)):
            np.testing.assert_allclose(got.detach().numpy(), expected, rtol=1e-6)
    with torch.no_grad():  # in eval mode (running statistics) the two give the same distances
        joint, alone = (
            T.siamese_network(top, j).eval()(*map(_t, (a, p, n))) for j in (True, False)
        )
    for x, y in zip(joint, alone):
        torch.testing.assert_close(x, y)


def test_stem_is_the_imagenet_mobilenet_v2_below_trainable_from():
    model = T.embedding_model(image_size=SIZE)
    images = _images(5, 3)
    with torch.no_grad():
        expected = mobilenet_v2().features[:TRAINABLE_FROM](preprocess(images)).numpy()
    features = T.stem_features(model, images, batch_size=2)
    np.testing.assert_allclose(features, expected, atol=1e-5)
    np.testing.assert_allclose(T.embed(model, images), T.embed_cached(model, features), atol=1e-5)


def _triplets(n, seed):
    """Random stem features: anchor, positive and negative independent, so the loss starts high."""
    return tuple(np.random.default_rng(seed).normal(size=(3, n, *STEM)).astype(np.float32))


def test_fit_siamese_lowers_the_loss_and_checkpoints(tmp_path):
    model = T.SiameseModel(T.siamese_network(_model().top))
    path = tmp_path / "siamese.pt"
    history = T.fit_siamese(
        model, _triplets(32, 0), _triplets(8, 1), epochs=2, lr=1e-3, checkpoint=path, progress=False
    )
    assert set(history) == {"loss", "lr", "val_loss", "seconds"} and len(history["loss"]) == 2
    assert history["loss"][1] < history["loss"][0]
    model.eval()
    with torch.no_grad():
        ap, an = (d.numpy() for d in model(*(_t(x) for x in _triplets(8, 1))))
    by_hand = np.maximum(ap - an + model.margin, 0).mean()
    for batch_size in (3, 8):
        assert T.evaluate_loss(model, _triplets(8, 1), batch_size) == pytest.approx(by_hand, 1e-5)
    assert history["val_loss"][-1] == pytest.approx(by_hand, 1e-5)
    restored = load_checkpoint(T.siamese_network(_model(seed=1).top), path)
    model.eval(), restored.eval()
    batch = [_t(x) for x in _triplets(4, 2)]
    with torch.no_grad():
        for ours, theirs in zip(model(*batch), restored(*batch)):
            assert torch.equal(ours, theirs)


def test_fit_supervised_lowers_the_semi_hard_loss():
    top = _model(embedding_dim=16).top
    rng = np.random.default_rng(0)
    labels = np.arange(40) % 4
    features = (rng.normal(size=(40, *STEM)) + labels[:, None, None, None]).astype(np.float32)
    history = T.fit_supervised(
        top,
        (features, labels),
        (features[:8], labels[:8]),
        epochs=2,
        batch_size=20,
        lr=1e-3,
        progress=False,
    )
    assert set(history) == {"loss", "lr", "val_loss", "seconds"}
    assert history["loss"][1] < history["loss"][0]


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: T.positive_augment(np.zeros((2, 8, 8, 1), np.float32)), "uint8"),
        (lambda: T.positive_augment(np.zeros((8, 8, 1), np.uint8)), "N x H x W x C"),
        (lambda: T.embedding_model(False, SIZE, trainable_from=0), "trainable_from"),
        (lambda: T.embedding_model(False, SIZE, trainable_from=19), "trainable_from"),
        (lambda: T.embed(_model(), np.zeros((0, SIZE, SIZE, 3), np.uint8)), "non-empty"),
        (lambda: T.embed_cached(_model(), np.zeros((3, 96, 4), np.float32)), "N x C x H x W"),
        (lambda: T.positive_augment(_images(2), crop_fraction=0), "crop_fraction"),
        (
            lambda: T.siamese_network(_model().top)(*_triplets(2, 0)[:2], _triplets(3, 0)[2]),
            "B x D",
        ),
        (lambda: T.triplet_loss(_t([1.0]), _t([1.0, 2.0])), "equal"),
        (lambda: T.triplet_loss(_t([1.0]), _t([1.0]), margin=-1), "margin"),
        (lambda: T.pairwise_distances(_t([1.0, 2.0])), "B x D"),
        (lambda: T.semi_hard_negatives(torch.zeros(3, 3), [0, 1]), "3 labels"),
        (lambda: T.fit_siamese(None, _triplets(4, 0)[:2]), "anchor, positive, negative"),
        (lambda: T.fit_siamese(None, (*_triplets(4, 0)[:2], np.zeros((3, *STEM)))), "length"),
        (lambda: T.fit_supervised(None, (np.zeros((4, *STEM)), [0, 1])), "4 labels"),
    ],
)
def test_bad_inputs_raise_one_line_errors(call, match):
    with pytest.raises(ValueError, match=match) as error:
        call()
    assert "\n" not in str(error.value)


def test_fit_siamese_records_a_score_of_the_network_after_every_epoch():
    model = T.SiameseModel(T.siamese_network(_model().top))
    val = _triplets(8, 1)
    history = T.fit_siamese(
        model,
        _triplets(32, 0),
        val,
        epochs=3,
        lr=1e-3,
        progress=False,
        score=lambda: {"eval_loss": T.evaluate_loss(model, val)},
    )  # the eval-mode loss on the validation triplets, computed a second way
    assert len(history["val_eval_loss"]) == 3
    np.testing.assert_allclose(history["val_eval_loss"], history["val_loss"], rtol=1e-5)
    assert history["val_eval_loss"][-1] == pytest.approx(T.evaluate_loss(model, val), 1e-5)


def test_semi_hard_mining_breaks_ties_as_the_numpy_reference():
    rng = np.random.default_rng(1)
    for _ in range(30):  # small integer distances: many ties, between p and n and among negatives
        n = int(rng.integers(2, 20))
        labels = rng.integers(0, int(rng.integers(1, 5)), n)
        d = rng.integers(0, 4, (n, n)).astype(np.float32)
        d = d + d.T
        np.fill_diagonal(d, 0)
        np.testing.assert_array_equal(
            T.semi_hard_negatives(torch.from_numpy(d), labels).numpy(),
            semi_hard_reference(d, labels),
        )

"""The framework-free SimCLR pieces against hand derivations and a plain loop."""

import math
import warnings

import numpy as np
import pytest

from companion import plotting, simclr
import simclr_cases as cases


def loop_info_nce(features, batch_size, n_views, temperature):
    """The NT-Xent loss written as the SimCLR paper states it, one row at a time (two views):
    l_i = -log(exp(s_ij / t) / sum_{k != i} exp(s_ik / t)), j the other view of image i."""
    n = len(features)
    rows = np.asarray(features, float).tolist()
    unit = [[v / math.sqrt(sum(u * u for u in row)) for v in row] for row in rows]
    total = 0.0
    for i in range(n):
        sims = [sum(a * b for a, b in zip(unit[i], unit[k])) / temperature for k in range(n)]
        j = (i + batch_size) % n
        denominator = sum(math.exp(sims[k]) for k in range(n) if k != i)
        total += -math.log(math.exp(sims[j]) / denominator)
    return total / n


@pytest.mark.parametrize("temperature", cases.TEMPERATURES)
def test_info_nce_equals_a_plain_loop(temperature):
    expected = loop_info_nce(cases.FEATURES_B4, cases.BATCH, 2, temperature)
    assert simclr.info_nce(cases.FEATURES_B4, cases.BATCH, 2, temperature) == pytest.approx(
        expected, rel=1e-9
    )


def test_batch_of_four_gives_8x7_logits_with_labels_zero():
    steps = simclr.info_nce_steps(cases.FEATURES_B4, cases.BATCH, 2, 0.5)
    assert steps["similarity"].shape == (8, 8)
    assert steps["positives"].shape == (8, 1)
    assert steps["negatives"].shape == (8, 6)
    assert steps["logits"].shape == (8, 7)
    assert steps["labels"].tolist() == [0] * 8
    # the positive of row 0 is its similarity with row 4, the other view of image 0
    assert steps["positives"][0, 0] == pytest.approx(steps["similarity"][0, 4])
    assert steps["logits"][0, 0] == pytest.approx(steps["similarity"][0, 4] / 0.5)
    assert np.allclose(np.diag(steps["similarity"]), 1)


def test_logit_columns_by_hand_and_against_the_masked_steps():
    # batch 2, two views: rows 0, 1 are the first views, 2, 3 the second; row 0's positive is 2
    assert simclr.logit_columns(2, 2).tolist() == [[2, 1, 3], [3, 0, 2], [0, 1, 3], [1, 0, 2]]
    features = np.random.default_rng(0).standard_normal((12, 5))
    steps = simclr.info_nce_steps(features, 4, 3, 0.5)  # three views: two positives a row
    columns = simclr.logit_columns(4, 3)
    gathered = np.take_along_axis(steps["similarity"], columns, 1) / 0.5
    np.testing.assert_array_equal(gathered, steps["logits"])
    assert not columns.flags.writeable  # cached: a caller cannot change the next one's columns


@pytest.mark.parametrize("batch_size, temperature", [(4, 0.07), (4, 1.0), (16, 0.5)])
def test_identical_embeddings_give_log_2n_minus_1(batch_size, temperature):
    loss = simclr.info_nce(cases.identical(batch_size), batch_size, 2, temperature)
    assert loss == pytest.approx(math.log(2 * batch_size - 1), rel=1e-12)


def test_separated_pairs_at_low_temperature_give_near_zero():
    for t in (1.0, 0.1, 0.01):
        loss = simclr.info_nce(cases.separated(), cases.BATCH, 2, t)
        assert loss == pytest.approx(cases.separated_loss(cases.BATCH, t), rel=1e-9, abs=1e-15)
    assert simclr.info_nce(cases.separated(), cases.BATCH, 2, 0.01) < 1e-15  # exactly 2.2e-43


def test_cross_entropy_matches_its_definition():
    logits = np.array([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    expected = (-math.log(math.e**2 / (math.e**2 + 2)) + math.log(3)) / 2
    assert simclr.cross_entropy(logits, [0, 1]) == pytest.approx(expected)


def test_topk_accuracy_on_hand_made_logits():
    scores = simclr.topk_accuracy(cases.TOPK_LOGITS, cases.TOPK_LABELS, ks=(1, 2, 3))
    assert scores == cases.TOPK_EXPECTED


def test_knn_votes_by_cosine_similarity():
    train = np.array(
        [[1, 0], [2, 0.1], [0, 1], [0.1, 3]], float
    )  # class 0 along x, class 1 along y
    test = np.array([[10, 1], [1, 10], [5, -0.1]])
    assert simclr.knn_accuracy(train, [0, 0, 1, 1], test, [0, 1, 0], k=1) == 1.0
    assert simclr.knn_accuracy(train, [0, 0, 1, 1], test, [1, 1, 1], k=1) == pytest.approx(1 / 3)


def test_strip_backbone_keeps_the_encoder_and_drops_the_head():
    state = {
        "backbone.body.0.weight": 1,
        "backbone.body.1.running_mean": 2,
        "backbone.fc.0.weight": 3,
        "backbone.fc.2.bias": 4,
    }
    assert simclr.strip_backbone(state) == {"body.0.weight": 1, "body.1.running_mean": 2}
    with pytest.raises(ValueError, match="start with 'backbone.'.*body.0.weight"):
        simclr.strip_backbone({"body.0.weight": 1})


def test_check_keys_names_missing_and_unexpected():
    simclr.check_keys(["a", "b"], ["b", "a"])
    with pytest.raises(ValueError, match=r"missing keys \['b'\], unexpected keys \['c'\]"):
        simclr.check_keys(["a", "b"], ["a", "c"])


def test_label_fraction_takes_the_same_share_of_every_class():
    labels = np.repeat(np.arange(10), 100)
    picked = simclr.label_fraction(labels, 0.01, seed=0)
    assert np.bincount(labels[picked]).tolist() == [1] * 10
    assert np.bincount(labels[simclr.label_fraction(labels, 0.1)]).tolist() == [10] * 10


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: simclr.info_nce(np.zeros((7, 3)), 4, 2, 0.1), "4 x 2 = 8 rows, got 7"),
        (
            lambda: simclr.info_nce(np.ones((8, 3)), 4, 2, 0),
            "temperature must be a number > 0, got 0",
        ),
        (lambda: simclr.info_nce(np.ones((8, 3)), 4, 2, -1.0), "temperature must be a number > 0"),
        (lambda: simclr.info_nce(np.ones(8), 4, 2, 0.1), "2-D array"),
        (lambda: simclr.topk_accuracy(np.ones((2, 3)), [0, 1], ks=(5,)), "k must be in 1..3"),
        (lambda: simclr.topk_accuracy(np.ones((2, 3)), [0, 3]), r"class indices in \[0, 3\)"),
        (lambda: simclr.label_fraction([0, 1], 0), r"fraction must be in \(0, 1\]"),
    ],
)
def test_bad_input_fails_with_one_line(call, message):
    with pytest.raises(ValueError, match=message) as error:
        call()
    assert "\n" not in str(error.value)


def test_offline_stl10_request_names_the_alternative(monkeypatch, tmp_path):
    import socket

    from companion.data import load

    def unreachable(*args, **kwargs):
        raise OSError("network unreachable")

    monkeypatch.setenv("COMPANION_CACHE", str(tmp_path))
    monkeypatch.setattr(socket, "create_connection", unreachable)
    with pytest.raises(ConnectionError, match="Offline alternative: .*'fashion-mnist'") as error:
        load("stl10", "unlabeled")
    assert "\n" not in str(error.value)


def test_figures_draw():
    steps = simclr.info_nce_steps(cases.FEATURES_B4, cases.BATCH, 2, 0.5)
    assert len(plotting.plot_info_nce(steps).axes) >= 4
    points = simclr.embed_2d(np.random.default_rng(0).normal(size=(20, 4)), method="pca")
    assert points.shape == (20, 2)
    assert plotting.plot_embedding(points, np.arange(20) % 2, ["a", "b"]).axes


def test_alignment_and_uniformity_by_hand_and_against_loops():
    # hand cases: two views on one point align perfectly (0); opposite points are 2 apart (4)
    e = np.eye(3)
    assert simclr.alignment(e, e) == 0.0
    assert simclr.alignment(e, -e) == pytest.approx(4.0)
    assert simclr.alignment(e, -e, alpha=1) == pytest.approx(2.0)
    # two orthogonal unit vectors: squared distance 2, so log(exp(-2 * 2)) = -4
    assert simclr.uniformity(np.eye(2)) == pytest.approx(-4.0)
    assert simclr.uniformity(np.ones((5, 3))) == pytest.approx(0.0)  # one point: no uniformity
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(2, 12, 4)) * rng.uniform(0.5, 3, size=(2, 12, 1))  # any lengths
    ux, uy = (v / np.linalg.norm(v, axis=1, keepdims=True) for v in (x, y))
    loop = np.mean([np.linalg.norm(ux[i] - uy[i]) ** 2 for i in range(12)])
    assert simclr.alignment(x, y) == pytest.approx(loop)
    pairs = [np.exp(-2 * np.sum((ux[i] - ux[j]) ** 2)) for i in range(12) for j in range(i + 1, 12)]
    assert simclr.uniformity(x) == pytest.approx(np.log(np.mean(pairs)))
    for call, message in (
        (lambda: simclr.alignment(x, y[:5]), "one shape"),
        (lambda: simclr.uniformity(x[:1]), "N >= 2"),
        (lambda: simclr.alignment(x, y, alpha=-1), "alpha must be in"),
    ):
        with pytest.raises(ValueError, match=message):
            call()


def test_spread_is_one_for_evenly_spread_directions_and_zero_for_one_point():
    # rows +-e1, +-e2: each coordinate is (1, -1, 0, 0), std sqrt(1/2), times sqrt(2) = 1
    evenly = np.array([[1, 0], [-1, 0], [0, 1], [0, -1]], float)
    assert simclr.spread(evenly) == pytest.approx(1.0)
    assert simclr.spread(3 * evenly) == pytest.approx(1.0)  # lengths do not count
    one_point = np.tile([[0.3, -2.0, 5.0]], (6, 1)) * np.arange(1, 7)[:, None]
    assert simclr.spread(one_point) == pytest.approx(0.0, abs=1e-12)
    # a numpy loop over the definition: std of the normalised rows, mean over dims, x sqrt(D)
    x = np.random.default_rng(0).normal(size=(50, 8))
    z = x / np.linalg.norm(x, axis=1, keepdims=True)
    loop = np.mean([np.std(z[:, d]) for d in range(8)]) * math.sqrt(8)
    assert simclr.spread(x) == pytest.approx(loop)


def test_a_collapse_warns_in_one_line_and_a_spreading_run_does_not():
    with pytest.warns(
        RuntimeWarning, match=r"^epoch 3: the embeddings' spread is 0\.01, down from 0\.5"
    ):
        assert simclr.warn_if_collapsed(0.01, 3, 0.5)  # below 0.05 x 0.5
    with pytest.warns(RuntimeWarning, match=r"expected at least 1e-06"):
        assert simclr.warn_if_collapsed(0.0, 1, 0.0)  # one point, from the start
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not simclr.warn_if_collapsed(0.025, 1, 0.5)  # exactly 0.05 x 0.5
        assert not simclr.warn_if_collapsed(0.01, 2, 0.012)  # a fresh encoder, not yet spread


def test_plot_sweep_draws_one_line_per_batch_and_each_baseline():
    import pandas as pd

    table = pd.DataFrame(
        {
            "temperature": [0.1, 0.5, 0.1, 0.5],
            "batch size": [64, 64, 256, 256],
            "kNN top-1": [0.7, 0.75, 0.6, 0.65],
        }
    )
    ax = plotting.plot_sweep(table, baselines={"random weights": 0.62}).axes[0]
    lines = {line.get_label(): line for line in ax.lines}
    assert list(lines["batch 64"].get_ydata()) == [0.7, 0.75]
    assert list(lines["batch 256"].get_ydata()) == [0.6, 0.65]
    assert set(lines["random weights"].get_ydata()) == {0.62}
    assert ax.get_ylabel() == "kNN top-1 (validation)" and ax.get_xscale() == "log"

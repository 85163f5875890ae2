"""Cosine search, retrieval metrics and the triplet data layout, against hand-worked cases and
loops."""

import numpy as np
import pytest

from companion import metrics, retrieval, simclr, triplet
from companion.data import ImageSet


def brute_force_scores(embeddings, labels):
    """P@1, R-precision and MAP@R by the definitions, one query at a time (stable sort for ties)."""
    x = embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True)
    p1, rp, mapr = [], [], []
    for q in range(len(x)):
        others = [i for i in range(len(x)) if i != q]
        sims = [float(x[q] @ x[i]) for i in others]
        ranked = [others[i] for i in sorted(range(len(others)), key=lambda i: -sims[i])]
        r = sum(labels[i] == labels[q] for i in others)
        if r == 0:
            continue
        hit = [labels[i] == labels[q] for i in ranked[:r]]
        p1.append(labels[ranked[0]] == labels[q])
        rp.append(sum(hit) / r)
        mapr.append(sum(sum(hit[: i + 1]) / (i + 1) for i in range(r) if hit[i]) / r)
    return {"p_at_1": np.mean(p1), "r_precision": np.mean(rp), "map_at_r": np.mean(mapr)}


def test_ranking_scores_of_a_hand_worked_ranking():
    # query 0 (R = 3) ranks hit, miss, hit: R-precision 2/3, MAP@R (1/1 + 2/3) / 3 = 5/9
    # query 1 (R = 2) ranks miss, hit: R-precision 1/2, MAP@R (1/2) / 2 = 1/4
    scores = metrics.ranking_scores([[1, 0, 1, 0], [0, 1, 0, 0]], [3, 2])
    assert scores["p_at_1"] == pytest.approx(0.5)
    assert scores["r_precision"] == pytest.approx((2 / 3 + 1 / 2) / 2)
    assert scores["map_at_r"] == pytest.approx((5 / 9 + 1 / 4) / 2)


def test_a_class_with_one_member_is_left_out_of_the_scores():
    scores = metrics.ranking_scores([[1, 0], [0, 0]], [1, 0])  # query 1 has nothing to find
    assert scores == {"p_at_1": 1.0, "r_precision": 1.0, "map_at_r": 1.0}


def test_retrieval_scores_exclude_the_query_and_count_ties_as_misses():
    # points 0, 1 (class 0) and 2 (class 1) coincide, 3 (class 1) is elsewhere (orthogonal): every
    # similarity among 0, 1, 2 is 1, every one with 3 is 0, and R = 1 for every query. Misses rank
    # first among equal similarities: query 0 ranks 2 (miss) before 1 (hit), query 1 ranks 2
    # before 0, query 2 ranks 0 and 1 (misses) before 3, query 3 ranks 0 and 1 before 2: no query
    # finds its one relevant item first, so every score is 0 (ties broken by index gave 0.5).
    x = np.array([[1, 0], [1, 0], [1, 0], [0, 1]], np.float32)
    scores = metrics.retrieval_scores(x, np.array([0, 0, 1, 1]))
    assert scores == {"p_at_1": 0.0, "r_precision": 0.0, "map_at_r": 0.0}


def test_a_collapsed_encoder_scores_nothing_whatever_the_order():
    labels = np.repeat([0, 1, 2], 4)  # sorted by class: the order a tie-break by index rewards
    collapsed = np.ones((12, 8))
    assert set(metrics.retrieval_scores(collapsed, labels).values()) == {0.0}
    constant = np.zeros((12, 3))  # a probe that outputs one logit for every class
    assert simclr.topk_accuracy(constant, labels, (1, 2, 3)) == {1: 0.0, 2: 0.0, 3: 1.0}


def test_retrieval_scores_equal_the_definitions_on_random_points():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(60, 5)), rng.integers(0, 4, 60)
    expected = brute_force_scores(x, y)
    for name, value in metrics.retrieval_scores(x, y).items():
        assert value == pytest.approx(expected[name])


def test_retrieval_scores_reject_mismatched_labels_and_nan():
    with pytest.raises(ValueError, match="one label per embedding"):
        metrics.retrieval_scores(np.ones((3, 2)), [0, 1])
    with pytest.raises(ValueError, match="NaN"):
        metrics.retrieval_scores(np.array([[1.0, np.nan], [1, 0]]), [0, 0])
    with pytest.raises(ValueError, match="no class has two members"):
        metrics.retrieval_scores(np.eye(3), [0, 1, 2])


def test_search_equals_the_articles_row_by_row_search():
    rng = np.random.default_rng(0)
    gallery, queries = rng.normal(size=(500, 16)), rng.normal(size=(7, 16))
    found, sims = retrieval.search(queries, gallery, k=5, batch_size=3)
    table = retrieval.feature_table(gallery)
    for q in range(len(queries)):
        reference = retrieval.search_rowwise(queries[q], table, k=5)
        assert list(found[q]) == list(reference.index)
        np.testing.assert_allclose(sims[q], reference["similarity"], atol=1e-6)


def test_search_finds_the_query_itself_at_similarity_one():
    gallery = np.random.default_rng(0).normal(size=(50, 8))
    found, sims = retrieval.search(gallery[[7]], gallery, k=3)
    assert found[0, 0] == 7 and sims[0, 0] == pytest.approx(1.0, abs=1e-6)
    found, _ = retrieval.search(gallery, gallery, k=3, exclude_self=True)
    assert not (found == np.arange(50)[:, None]).any()


def test_search_breaks_ties_at_the_kth_place_by_the_lower_index():
    gallery = np.array([[0, 1], [1, 0], [1, 0], [1, 0]], np.float32)
    found, sims = retrieval.search([[1, 0]], gallery, k=2)
    assert found.tolist() == [[1, 2]] and sims.tolist() == [[1.0, 1.0]]


def test_cosine_similarity_by_hand():
    assert retrieval.cosine_similarity([3, 4], [4, 3]) == pytest.approx(24 / 25)


@pytest.mark.parametrize(
    "queries, gallery, k, message",
    [
        (np.ones((2, 3, 1)), np.ones((4, 3)), 1, "N x D"),
        (np.ones((2, 3)), np.ones((0, 3)), 1, "non-empty"),
        (np.ones((2, 3)), np.ones((4, 3)), 5, "k must be in 1..4"),
        (np.ones((2, 3)), np.ones((4, 2)), 1, "3 dimensions"),
    ],
)
def test_search_rejects_bad_input_in_one_line(queries, gallery, k, message):
    with pytest.raises(ValueError, match=message) as err:
        retrieval.search(queries, gallery, k)
    assert "\n" not in str(err.value)


def test_random_negatives_and_their_same_class_rate():
    negatives = triplet.random_negatives(6, seed=3)
    assert len(negatives) == 6 and len(set(negatives)) == 6 and negatives.max() < 12
    labels = np.array([0, 0, 1, 1, 2, 2])
    # anchors 0..5, positives 6..11 share the anchors' labels: index i and i + 6 have labels[i]
    expected = np.mean([labels[n % 6] == labels[i] for i, n in enumerate(negatives)])
    assert triplet.same_class_rate(labels, negatives) == pytest.approx(expected)
    assert triplet.same_class_rate([0, 1], [2, 3]) == 1.0  # each negative is the anchor's positive
    with pytest.raises(ValueError, match="0..3"):
        triplet.same_class_rate([0, 1], [0, 4])


def test_oracle_negatives_are_always_of_another_class():
    labels = np.array([0, 0, 1, 1, 2, 2, 2])
    negatives = triplet.oracle_negatives(labels, seed=4)
    pool = np.concatenate([labels, labels])
    assert len(negatives) == 7 and negatives.min() >= 0 and negatives.max() < 14
    assert triplet.same_class_rate(labels, negatives) == 0.0
    assert (pool[negatives] != labels).all()
    np.testing.assert_array_equal(negatives, triplet.oracle_negatives(labels, seed=4))
    # two classes of one image each: the only choices are the other image or its positive
    assert set(triplet.oracle_negatives([0, 1], seed=0)) <= {0, 1, 2, 3}
    assert list(triplet.oracle_negatives([0, 1]) % 2) == [1, 0]
    # over many draws every image of another class is drawn, none of the anchor's own
    many = np.concatenate([triplet.oracle_negatives(labels, seed=s)[:1] for s in range(200)])
    assert set(many) == set(np.flatnonzero(pool != 0))


def test_train_val_split_is_the_articles_80_20():
    train, val = triplet.train_val_split(600, seed=0)
    assert (len(train), len(val)) == (480, 120)
    assert sorted(np.concatenate([train, val])) == list(range(600))


def test_all_negatives_loss_by_hand():
    # anchors on a line at 0, 1, 3; positives at 0.5, 1, 3 (squared distances 0.25, 0, 0)
    a = np.array([[0.0], [1.0], [3.0]])
    p = np.array([[0.5], [1.0], [3.0]])
    # anchor 0: negatives at d 1 and 9 -> max(0.25 - 1 + 1, 0) = 0.25, 0; anchor 1: d 1, 4 -> 0, 0;
    # anchor 2: d 9, 4 -> 0, 0: six triplets, one loss of 0.25
    assert triplet.all_negatives_loss(a, p, margin=1.0) == pytest.approx(0.25 / 6)


def test_all_negatives_loss_is_the_loop_over_augmentations_anchors_and_negatives():
    rng = np.random.default_rng(0)
    a, p = rng.normal(size=(7, 4)), rng.normal(size=(3, 7, 4))
    loop = [
        max(((a[i] - p[k, i]) ** 2).sum() - ((a[i] - a[j]) ** 2).sum() + 0.2, 0)
        for k in range(3)
        for i in range(7)
        for j in range(7)
        if j != i
    ]
    assert triplet.all_negatives_loss(a, p, 0.2) == pytest.approx(np.mean(loop), rel=1e-12)
    assert triplet.all_negatives_loss(a, p[0], 0.2) == pytest.approx(np.mean(loop[:42]))
    with pytest.raises(ValueError, match="expected N x D anchors"):
        triplet.all_negatives_loss(a, p[:, :5], 0.2)
    with pytest.raises(ValueError, match="margin must be >= 0"):
        triplet.all_negatives_loss(a, p, -1)


def test_select_classes_relabels_in_the_given_order():
    data = ImageSet(np.zeros((6, 2, 2, 1), np.uint8), np.array([0, 1, 2, 2, 1, 0]), ["a", "b", "c"])
    subset = triplet.select_classes(data, ["c", "a"])
    assert subset.class_names == ["c", "a"]
    assert sorted(subset.labels.tolist()) == [0, 0, 1, 1]
    with pytest.raises(ValueError, match="fewer than 3"):
        triplet.select_classes(data, ["c"], n_per_class=3)
    with pytest.raises(ValueError, match="unknown classes"):
        triplet.select_classes(data, ["z"])


def test_semi_hard_reference_on_a_hand_worked_batch():
    # points on a line: 0 (class 0) at 0, 1 (class 0) at 2, 2 (class 1) at 3, 3 (class 1) at 1
    x = np.array([0.0, 2.0, 3.0, 1.0])
    d = (x[:, None] - x[None, :]) ** 2
    chosen = triplet.semi_hard_reference(d, [0, 0, 1, 1])
    # pair (0, 1): d = 4; negatives 2 (9) and 3 (1): only 2 is farther -> 2
    # pair (1, 0): d = 4; negatives 2 (1), 3 (1): none farther -> the farthest, 2 (first of the tie)
    # pair (2, 3): d = 4; negatives 0 (9), 1 (1): 0 is farther -> 0
    # pair (3, 2): d = 4; negatives 0 (1), 1 (1): none farther -> the farthest, 0 (first of the tie)
    assert chosen.tolist() == [[-1, 2, -1, -1], [2, -1, -1, -1], [-1, -1, -1, 0], [-1, -1, 0, -1]]


def test_plots_of_the_chapter_draw_what_they_are_given():
    import pandas as pd

    from companion import plotting

    images = np.zeros((4, 8, 8, 1), np.uint8)
    fig = plotting.show_retrieval(
        images[:2], images[:2, None].repeat(3, 1), np.array([[1.0, 0.5, 0.25], [0.9, 0.8, 0.7]])
    )
    assert [ax.get_title() for ax in fig.axes[:4]] == ["query", "1.000", "0.500", "0.250"]
    fig = plotting.show_triplets(images, images, images, n=3)
    assert [ax.get_ylabel() for ax in fig.axes[::3]] == ["anchor", "positive", "negative"]
    table = pd.DataFrame({"MAP@R": [0.2, 0.6]}, index=["pixels", "triplet"])
    heights = [p.get_height() for p in plotting.plot_scores(table).axes[0].patches]
    assert heights == [0.2, 0.6]
    # two classes pointing in two directions, at very different lengths: scaled to unit length,
    # each class sits at one point, and the first component is their distance, sqrt(2), apart
    x = np.array([[1, 0], [10, 0], [0, 2], [0, 20]], float)
    fig = plotting.plot_embeddings_2d({"e": x}, np.array([0, 0, 1, 1]), ["a", "b"])
    xs = [c.get_offsets()[:, 0] for c in fig.axes[0].collections]
    assert np.ptp(xs[0]) == pytest.approx(0, abs=1e-9) and np.ptp(xs[1]) == pytest.approx(
        0, abs=1e-9
    )
    assert abs(xs[0].mean() - xs[1].mean()) == pytest.approx(np.sqrt(2))
    line = (
        plotting.plot_curve(
            pd.Series([0.1, 0.3], index=[0.5, 1.0]), "margin", "MAP@R", {"pixels": 0.2}
        )
        .axes[0]
        .lines
    )
    assert list(line[0].get_ydata()) == [0.1, 0.3] and list(line[1].get_ydata()) == [0.2, 0.2]
    with pytest.raises(ValueError, match="one row of results"):
        plotting.show_retrieval(images[:2], images[:1, None], np.ones((2, 1)))


def test_chapter_data_holds_the_articles_600_anchors_and_held_out_test_images():
    anchors, test = triplet.chapter_data("fashion-mnist", 120, 20, image_size=40, seed=0)
    assert anchors.images.shape == (600, 40, 40, 1) and anchors.counts().tolist() == [120] * 5
    assert test.counts().tolist() == [20] * 5 and anchors.class_names == list(
        triplet.FASHION_CLASSES
    )
    assert triplet.resized_split("fashion-mnist", "test", 7, 40).shape == (7, 40, 40, 1)
    with pytest.raises(ValueError, match="dataset must be one of"):
        triplet.chapter_data("mnist")


def test_precision_recall_is_scikit_learns_curve_interpolated_and_averaged():
    from sklearn.metrics import precision_recall_curve

    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(50, 4)), np.r_[rng.integers(0, 3, 49), 7]  # class 7: one member
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    levels, precision = metrics.precision_recall(x, y, levels=6, batch_size=16)
    expected = []
    for q in range(len(x) - 1):  # the lone member of class 7 has nothing to find
        others = np.delete(np.arange(len(x)), q)
        p, r, _ = precision_recall_curve(y[others] == y[q], unit[others] @ unit[q])
        p, r = p[:-1], r[:-1]  # scikit-learn appends (recall 0, precision 1), which no rank has
        expected.append([p[r >= level].max() for level in levels])
    np.testing.assert_allclose(levels, np.linspace(0, 1, 6))
    np.testing.assert_allclose(precision, np.mean(expected, axis=0), rtol=1e-12)


def test_precision_recall_by_hand():
    # query 0 (class 0) ranks 1 (hit, cos 1), 3 (miss, cos 0.6), 2 (hit, cos 0): precision 1, 1/2,
    # 2/3 at recall 1/2, 1/2, 1. Interpolated at recall 0, 0.5, 1: 1, 1, 2/3.
    x = np.array([[1, 0], [1, 0], [0, 1], [0.6, 0.8]])
    levels, precision = metrics.precision_recall(x, [0, 0, 0, 1], levels=3)
    query0 = [1, 1, 2 / 3]
    # query 1 is query 0's twin; query 2 ranks 3 (cos 0.8, miss), then 0 and 1 (cos 0, hits):
    # precision 0, 1/2, 2/3 at recall 0, 1/2, 1 -> 2/3, 2/3, 2/3; query 3 is alone in its class
    query2 = [2 / 3, 2 / 3, 2 / 3]
    np.testing.assert_allclose(precision, np.mean([query0, query0, query2], axis=0))


def test_plot_precision_recall_draws_one_line_per_representation():
    from companion import plotting

    curves = {"pixels": ([0, 0.5, 1], [1, 0.8, 0.4]), "triplets": ([0, 0.5, 1], [1, 0.9, 0.6])}
    ax = plotting.plot_precision_recall(curves).axes[0]
    assert [line.get_label() for line in ax.get_lines()] == ["pixels", "triplets"]
    np.testing.assert_allclose(ax.get_lines()[1].get_ydata(), [1, 0.9, 0.6])


@pytest.mark.parametrize("n, k", [(2000, 5), (2003, 10), (401, 3)])
def test_search_of_a_wide_gallery_equals_a_stable_sort_ties_included(n, k):
    # integer-valued embeddings on a few directions: many equal similarities, within and across
    # the blocks the search first cuts the gallery to
    rng = np.random.default_rng(n)
    queries = rng.integers(-2, 3, (40, 4)).astype(np.float32)
    queries[~queries.any(1)] = 1
    gallery = rng.integers(-2, 3, (n, 4)).astype(np.float32)
    gallery[~gallery.any(1)] = 1
    similarity = retrieval.normalise(queries) @ retrieval.normalise(gallery).T
    expected = np.argsort(-similarity, axis=1, kind="stable")[:, :k]
    indices, similarities = retrieval.search(queries, gallery, k)
    np.testing.assert_array_equal(indices, expected)
    np.testing.assert_array_equal(similarities, np.take_along_axis(similarity, expected, 1))
    continuous = rng.standard_normal((n, 4)).astype(np.float32)
    expected = np.argsort(-(retrieval.normalise(queries) @ retrieval.normalise(continuous).T), 1)
    np.testing.assert_array_equal(retrieval.search(queries, continuous, k)[0], expected[:, :k])


def test_search_equals_faiss_flat_inner_product():
    faiss = pytest.importorskip("faiss", reason="faiss-cpu comes with the bench extra (make bench)")
    rng = np.random.default_rng(0)
    queries = rng.standard_normal((50, 32), dtype=np.float32)
    gallery = rng.standard_normal((5000, 32), dtype=np.float32)
    index = faiss.IndexFlatIP(32)
    index.add(retrieval.normalise(gallery))
    expected_s, expected_i = index.search(retrieval.normalise(queries), 10)
    indices, similarities = retrieval.search(queries, gallery, 10)
    np.testing.assert_array_equal(indices, expected_i)
    np.testing.assert_allclose(similarities, expected_s, atol=1e-5)

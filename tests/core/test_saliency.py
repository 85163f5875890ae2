"""Map post-processing and localisation metrics on synthetic maps whose answers are known."""

import cv2
import numpy as np
import pytest

from companion import metrics, saliency


def blob(size=32, centre=(10, 20), sigma=3.0):
    """A Gaussian bump (peak 1 at ``centre`` = (y, x))."""
    yy, xx = np.mgrid[:size, :size]
    return np.exp(-((yy - centre[0]) ** 2 + (xx - centre[1]) ** 2) / (2 * sigma**2)).astype(
        np.float32
    )


def test_normalise_cuts_negatives_and_scales_each_map():
    maps = np.array([[[-1, 0], [2, 4]], [[0, 0], [0, 0]]], np.float32)
    np.testing.assert_allclose(saliency.normalise(maps), [[[0, 0], [0.5, 1]], [[0, 0], [0, 0]]])


def test_resize_keeps_constant_maps_and_the_peak_position():
    out = saliency.resize(np.full((2, 4, 4), 3.0), (8, 12))
    assert out.shape == (2, 8, 12)
    np.testing.assert_allclose(out, 3.0)
    big = saliency.resize(blob(16, (4, 12))[None], 64)[0]
    assert np.unravel_index(np.argmax(big), big.shape) in {(17, 49), (17, 50), (18, 49), (18, 50)}


def test_mask_by_fraction_of_max():
    m = np.array([[0.0, 0.1], [0.2, 1.0]])
    np.testing.assert_array_equal(saliency.to_mask(m, 0.15), [[False, False], [True, True]])
    np.testing.assert_array_equal(saliency.to_mask(m, 0.5), [[False, False], [False, True]])
    assert not saliency.to_mask(np.zeros((3, 3))).any()
    with pytest.raises(ValueError, match="threshold"):
        saliency.to_mask(m, 1.5)


def test_otsu_splits_two_levels():
    m = np.full((10, 10), 0.2)
    m[2:5, 3:8] = 0.9
    expected = np.zeros((10, 10), bool)
    expected[2:5, 3:8] = True
    np.testing.assert_array_equal(saliency.to_mask(m, "otsu"), expected)


def test_contours_and_largest_box():
    mask = np.zeros((20, 30), bool)
    mask[2:5, 3:6] = True  # 9 pixels
    mask[8:18, 10:25] = True  # 150 pixels: the largest
    found = saliency.contours(mask)
    assert len(found) == 2
    boxes = sorted(tuple(int(v) for v in cv2.boundingRect(c)) for c in found)
    assert boxes == [(3, 2, 3, 3), (10, 8, 15, 10)]
    np.testing.assert_array_equal(saliency.largest_box(mask), [10, 8, 25, 18])
    np.testing.assert_array_equal(saliency.largest_box(np.zeros((4, 4), bool)), [0, 0, 0, 0])


def test_boxes_from_maps_of_a_gaussian():
    # exp(-r^2 / 2 s^2) >= 0.5  <=>  r <= s * sqrt(2 ln 2) = 1.177 s: a disc of radius 3.53 for s =
    # 3
    box = saliency.boxes_from_maps(blob(32, (10, 20))[None], 32, threshold=0.5)[0]
    np.testing.assert_array_equal(box, [17, 7, 24, 14])


def test_rank_correlation_against_known_orders():
    a = np.arange(16, dtype=np.float32).reshape(1, 4, 4)
    np.testing.assert_allclose(saliency.rank_correlation(a, a**3), [1.0])
    np.testing.assert_allclose(saliency.rank_correlation(a, -a), [-1.0])
    x = np.array([[[1, 2], [3, 4]]], np.float32)
    y = np.array([[[1, 3], [2, 4]]], np.float32)  # one swap: rho = 1 - 6 * 2 / (4 * 15) = 0.8
    np.testing.assert_allclose(saliency.rank_correlation(x, y), [0.8])


def test_box_iou_known_values():
    a = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 2, 2]])
    b = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30], [1, 1, 3, 3]])
    np.testing.assert_allclose(metrics.box_iou(a, b), [1.0, 50 / 150, 0.0, 1 / 7])
    with pytest.raises(ValueError, match="N x 4"):
        metrics.box_iou(a[:, :3], b[:, :3])


def test_centred_boxes_have_the_mean_size():
    boxes = np.array([[0, 0, 10, 20], [5, 5, 35, 45]])  # sizes 10x20 and 30x40: mean 20x30
    np.testing.assert_allclose(metrics.centred_boxes(boxes, 100), [[40, 35, 60, 65]] * 2)


def test_pointing_game_with_and_without_tolerance():
    masks = np.zeros((3, 20, 20), bool)
    masks[:, 5:10, 5:10] = True
    maps = np.stack([blob(20, (7, 7)), blob(20, (12, 7)), blob(20, (18, 18))])
    assert metrics.pointing_game(maps, masks) == pytest.approx(1 / 3)
    assert metrics.pointing_game(maps, masks, tolerance=3) == pytest.approx(
        2 / 3
    )  # (12, 7) is 3 px off
    assert metrics.pointing_game(maps, masks, tolerance=12) == pytest.approx(
        2 / 3
    )  # (18, 18): 12.7 px off
    assert metrics.pointing_game(maps, masks, tolerance=13) == 1.0


def test_overlay_and_drawing_keep_the_picture_shape():
    image = np.zeros((40, 50, 3), np.uint8)
    half = np.zeros((40, 50))
    half[:, :25] = 2.0
    out = saliency.overlay(image, half, alpha=1.0)
    assert out.shape == (40, 50, 3) and out.dtype == np.uint8
    # viridis, as matplotlib's: yellow (high) .. dark purple (low)
    assert tuple(out[5, 5]) == (253, 231, 37) and tuple(out[5, 45]) == (68, 1, 84)
    assert saliency.overlay(image, blob(10, (5, 5)), alpha=0.5).shape == (40, 50, 3)
    mask = np.zeros((40, 50), bool)
    mask[10:20, 10:30] = True
    drawn = saliency.draw_localisation(image, mask, box=[0, 0, 5, 5], truth=[30, 30, 40, 40])
    assert tuple(drawn[0, 2]) == (255, 0, 0) and tuple(drawn[30, 35]) == (0, 255, 0)
    assert tuple(drawn[10, 20]) == (255, 255, 0)
    assert not image.any()  # the input is not drawn on


def test_to_picture_maps_zero_to_grey():
    g = np.zeros((1, 2, 2, 3), np.float32)
    g[0, 0, 0, 0] = 1.0
    pic = saliency.to_picture(g)
    assert pic[0, 1, 1, 1] == 128 and pic[0, 0, 0, 0] == 255
    assert (saliency.to_picture(np.zeros((1, 2, 2, 3))) == 128).all()


def test_gradient_magnitude_and_target_classes():
    g = np.zeros((1, 2, 2, 3), np.float32)
    g[0, 0, 1] = [0.5, -2.0, 1.0]
    np.testing.assert_array_equal(saliency.gradient_magnitude(g), [[[0, 2], [0, 0]]])
    assert saliency.target_classes(None, 3, 5) is None
    np.testing.assert_array_equal(saliency.target_classes(2, 3, 5), [2, 2, 2])
    np.testing.assert_array_equal(saliency.target_classes([0, 4, 1], 3, 5), [0, 4, 1])
    for bad in (5, [0, 1], [0.5, 1, 2]):
        with pytest.raises(ValueError):
            saliency.target_classes(bad, 3, 5)


def test_show_overlays_lays_out_one_row_per_picture():
    from companion.plotting import show_overlays

    images = np.zeros((3, 20, 20, 3), np.uint8)
    fig = show_overlays(images, {"a": np.ones((3, 5, 5)), "b": np.ones((3, 5, 5))})
    assert len(fig.axes) == 9 and fig.axes[1].get_title() == "a"
    with pytest.raises(ValueError, match="expected 3 maps"):
        show_overlays(images, {"a": np.ones((2, 5, 5))})

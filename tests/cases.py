"""Framework-free test cases shared by the torch and the TensorFlow tests (each runs in its own
process).

Expected values live here once, so that both editions are held to the same hand-worked numbers.

The hand-set network of the CAM tests (built in tests/torch/test_cam_torch.py and
tests/tf/test_cam_tf.py),
on one 2 x 2 single-channel input

    x = [[1, -1], [8, 3]]
    conv1 (1x1, no bias): a0 = x, a1 = -x          relu1 = ReLU6 (in place): A0 = [[1, 0], [6, 3]],
    A1 = [[0, 1], [0, 0]]
    conv2 (1x1, no bias): z0 = A0 + 2 A1 = [[1, 2], [6, 3]],  z1 = -A0 + A1 = [[-1, 1], [-6, -3]]
    relu2 = ReLU:         B0 = [[1, 2], [6, 3]],  B1 = [[0, 1], [0, 0]]
    gap:                  (3, 0.25)
    fc (no bias):         y0 = B0 - B1 -> 2.75,   y1 = -2 B0 + 4 B1 -> -5     (top class 0)

CAM at relu2: class 0: B0 - B1 = [[1, 1], [6, 3]];  class 1: -2 B0 + 4 B1 = [[-2, 0], [-12, -6]].
Grad-CAM at relu2, class 0: dy0/dB = (1, -1) / 4 everywhere, so alpha = (0.25, -0.25) and the map
is ReLU(CAM) / 4 = [[0.25, 0.25], [1.5, 0.75]]; class 1: alpha = (-0.5, 1), map = ReLU([[-.5, 0],
[-3, -1.5]]) = 0.
Grad-CAM at relu1, class 0: relu2 passes z0 everywhere and z1 only at (0, 1), so
dy0/dA0 = 0.25 + 0.25 [(0,1)] = [[.25, .5], [.25, .25]] (mean 0.3125),
dy0/dA1 = 0.5 - 0.25 [(0,1)] = [[.5, .25], [.5, .5]] (mean 0.4375),
map = 0.3125 A0 + 0.4375 A1 = [[0.3125, 0.4375], [1.875, 0.9375]].
Guided backprop, class 0: at relu2 the gradient (0.25, -0.25) is cut to (0.25, 0); conv2 gives
dA0 = 0.25, dA1 = 0.5; ReLU6 passes where its input is in (0, 6): a0 = x at (0,0), (1,1) (not at
x = 8, saturated), a1 = -x at (0,1); conv1 gives dx = dA0 [a0 in (0, 6)] - dA1 [a1 in (0, 6)]
= [[0.25, -0.5], [0, 0.25]]. (Plain backprop lets -0.25 through relu2 at (0, 1): dA1 there is 0.25,
and dx = [[0.25, -0.25], [0, 0.25]].)
Guided Grad-CAM at relu2: dx x normalised Grad-CAM [[1/6, 1/6], [1, 1/2]] = [[1/24, -1/12], [0,
1/8]].
"""

import numpy as np
import pytest

from companion import conv

# --- CAM, Grad-CAM and guided backprop, worked out by hand -------------------------------------
X = np.array([[1, -1], [8, 3]], np.float32).reshape(1, 2, 2, 1)
CAM_RELU2 = {0: [[1, 1], [6, 3]], 1: [[-2, 0], [-12, -6]]}
GRADCAM_RELU2 = {0: [[0.25, 0.25], [1.5, 0.75]], 1: [[0, 0], [0, 0]]}
GRADCAM_RELU1 = [[0.3125, 0.4375], [1.875, 0.9375]]
GUIDED = [[0.25, -0.5], [0, 0.25]]
GUIDED_GRADCAM = [[1 / 24, -1 / 12], [0, 1 / 8]]

# --- convolution: stride, padding, input and output channels -----------------------------------
CONV_COMBOS = [
    (1, 0, 1, 4),
    (1, 1, 3, 8),
    (2, 1, 3, 5),
    (2, 0, 2, 3),
    (3, 2, 4, 2),
]  # stride, padding, C_in, C_out


def conv_case(stride, padding, c_in, c_out):
    """A seeded (x, w, b) for one convolution setting: x is 2 x 9 x 10 x C_in, w 3 x 3 x C_in x
    C_out."""
    rng = np.random.default_rng(stride * 10 + padding)
    x = rng.normal(size=(2, 9, 10, c_in)).astype(np.float32)
    return (
        x,
        rng.normal(size=(3, 3, c_in, c_out)).astype(np.float32),
        rng.normal(size=c_out).astype(np.float32),
    )


def check_conv2d_equals_numpy(conv2d, stride, padding, c_in, c_out) -> None:
    """An edition's ``models.conv2d`` equals the numpy reference ``companion.conv.conv2d``."""
    x, w, b = conv_case(stride, padding, c_in, c_out)
    ours = conv.conv2d(x, w, b, stride=stride, padding=padding)
    theirs = conv2d(x, w, b, stride=stride, padding=padding)
    assert theirs.shape == ours.shape
    assert np.abs(ours - theirs).max() < 1e-5


def augmented_bars(augment) -> tuple[np.ndarray, np.ndarray]:
    """20 pictures of an off-centre bar and ``augment`` of them, which must shift and flip most
    of them and keep uint8 pictures of the same shape."""
    images = np.zeros((20, 28, 28, 1), np.uint8)
    images[:, 10:18, 12:15] = 200  # an off-centre bar, well inside the frame
    out = augment(images, seed=0)
    assert out.shape == images.shape and out.dtype == np.uint8
    assert (out != images).any(axis=(1, 2, 3)).sum() > 10
    return images, out


# --- training: two linearly separable classes ----------------------------------------------------
def points(n=8, flip=False):
    """x0 = +-1 decides the class (0 for +1, 1 for -1); ``flip`` swaps the labels."""
    x = np.zeros((n, 2), np.float32)
    x[:, 0] = np.where(np.arange(n) % 2 == 0, 1.0, -1.0)
    y = (x[:, 0] < 0).astype(np.int64)
    return x, (1 - y if flip else y)


# --- TRIPLET: triplet loss and semi-hard mining, worked out by hand ------------------------------
# Triplet loss, margin 0.5: max(ap - an + 0.5, 0) = (0, 1.0, 0.5, 2.1), mean 3.6 / 4 = 0.9.
TRIPLET_AP = np.array([0.2, 1.0, 0.5, 2.0], np.float32)
TRIPLET_AN = np.array([1.0, 0.5, 0.5, 0.4], np.float32)
TRIPLET_MARGIN = 0.5
TRIPLET_LOSS = 0.9

# Semi-hard mining on four 2-D points: x0 = (0, 0), x1 = (1, 0) of class 0; x2 = (2, 0), x3 = (0, 3)
# of class 1. Squared distances: d01 = 1, d02 = 4, d03 = 9, d12 = 1, d13 = 10, d23 = 13.
#   (0, 1): d = 1; negatives 2 (4), 3 (9) are both farther; the closest is 2.
#   (1, 0): d = 1; negative 2 (1) is not strictly farther, 3 (10) is: 3.
#   (2, 3): d = 13; negatives 0 (4), 1 (1): none farther, so the farthest: 0.
#   (3, 2): d = 13; negatives 0 (9), 1 (10): none farther, so the farthest: 1.
# Loss, margin 0.5: (1 - 4 + .5)+ = 0, (1 - 10 + .5)+ = 0, 13 - 4 + .5 = 9.5, 13 - 10 + .5 = 3.5;
# mean over the four positive pairs: 13 / 4 = 3.25.
TRIPLET_POINTS = np.array([[0, 0], [1, 0], [2, 0], [0, 3]], np.float32)
TRIPLET_POINT_LABELS = np.array([0, 0, 1, 1])
TRIPLET_NEGATIVES = np.array([[-1, 2, -1, -1], [3, -1, -1, -1], [-1, -1, -1, 0], [-1, -1, 1, -1]])
TRIPLET_SEMI_HARD_LOSS = 3.25


def far_close_points(n=8, dim=64, offset=1000.0, spread=0.01, seed=0):
    """float32 points far from the origin and close to each other (norms near 8 000, distances
    near 0.1), and their squared distances computed in float64: the |a|^2 - 2ab + |b|^2
    expansion cancels away in float32 here (errors of several units) unless it is centred."""
    rng = np.random.default_rng(seed)
    x = (offset + spread * rng.standard_normal((n, dim))).astype(np.float32)
    x64 = x.astype(np.float64)
    return x, ((x64[:, None] - x64[None]) ** 2).sum(-1)


def triplet_batch(n=12, dim=3, classes=3, seed=0):
    """Seeded float32 embeddings (no ties among distances) and labels, every class present."""
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, dim)).astype(np.float32), np.arange(n) % classes


# --- CAM checks both editions run on their own networks -----------------------------------------
def check_hand_worked_cam_and_grad_cam(cam, net, to_tensor) -> None:
    """CAM and Grad-CAM of the hand-set network (``tiny_net``) equal the maps worked out above."""
    for c in (0, 1):
        np.testing.assert_allclose(cam.cam(net, X, "relu2", c, to_tensor)[0], CAM_RELU2[c])
        np.testing.assert_allclose(cam.grad_cam(net, X, "relu2", c, to_tensor)[0], GRADCAM_RELU2[c])
    np.testing.assert_allclose(cam.grad_cam(net, X, "relu2", None, to_tensor)[0], GRADCAM_RELU2[0])
    np.testing.assert_allclose(cam.grad_cam(net, X, "relu1", 0, to_tensor)[0], GRADCAM_RELU1)


def check_hand_worked_guided_backprop(cam, net, to_tensor) -> None:
    """Guided backprop and guided Grad-CAM of the hand-set network (ReLU6 included)."""
    np.testing.assert_allclose(cam.guided_backprop(net, X, 0, to_tensor)[0, ..., 0], GUIDED)
    np.testing.assert_allclose(
        cam.guided_grad_cam(net, X, "relu2", 0, to_tensor)[0, ..., 0], GUIDED_GRADCAM, atol=1e-7
    )


def check_cam_equals_normalised_grad_cam(cam, saliency, net) -> None:
    """On a GAP + linear model (``shapes_net(width=4)``), Grad-CAM is ReLU(CAM) / (h x w)."""
    images = np.random.default_rng(0).integers(0, 256, (4, 24, 24, 3), dtype=np.uint8)
    for classes in (None, [3, 2, 1, 0]):
        c = cam.cam(net, images, "relu4", classes)
        g = cam.grad_cam(net, images, "relu4", classes)
        np.testing.assert_allclose(g, np.maximum(c, 0) / 36, rtol=1e-5, atol=1e-7)  # 6 x 6: 1/36
        np.testing.assert_allclose(saliency.normalise(c), saliency.normalise(g), atol=1e-5)
    with pytest.raises(ValueError, match="right before pooling"):
        cam.cam(net, images, "relu2")


def check_batch_of_eight_matches_images_alone(cam, net) -> None:
    """Maps of a batch of eight are the maps of each picture alone."""
    images = np.random.default_rng(1).integers(0, 256, (8, 16, 16, 3), dtype=np.uint8)
    batch = {
        "gc": cam.grad_cam(net, images, "relu2"),
        "gb": cam.guided_backprop(net, images, [1] * 8),
    }
    for i in (0, 5):
        np.testing.assert_allclose(
            cam.grad_cam(net, images[i : i + 1], "relu2")[0], batch["gc"][i], atol=1e-6
        )
        np.testing.assert_allclose(
            cam.guided_backprop(net, images[i : i + 1], 1)[0], batch["gb"][i], atol=1e-6
        )


def check_frozen_model_still_gives_grad_cam(cam, frozen_net, to_tensor) -> None:
    """A model whose weights are frozen still gives Grad-CAM and guided backprop."""
    np.testing.assert_allclose(
        cam.grad_cam(frozen_net, X, "relu2", 0, to_tensor)[0], GRADCAM_RELU2[0]
    )
    np.testing.assert_allclose(cam.guided_backprop(frozen_net, X, 0, to_tensor)[0, ..., 0], GUIDED)


def random_imageset(n=20, size=32, seed=0):
    """``n`` random grey ``size`` x ``size`` images labelled 0-9 in turn (Chapter 2's tests)."""
    from companion.data import ImageSet

    rng = np.random.default_rng(seed)
    return ImageSet(
        rng.integers(0, 256, (n, size, size, 1), dtype=np.uint8),
        np.arange(n) % 10,
        [str(i) for i in range(10)],
    )


def skewed_triplet() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Anchors, positives and negatives (6 x 4 each, float64) of three different means and
    scales: BatchNorm on each alone and on the stacked batch give different distances."""
    rng = np.random.default_rng(7)
    return tuple(rng.normal(size=(3, 6, 4)) * [[[1.0]], [[3.0]], [[0.5]]] + [[[0]], [[2]], [[-1]]])


def batchnorm_distances(a, p, n, joint: bool, eps: float):
    """Training-mode BatchNorm (no affine, epsilon ``eps``) then squared distances, in numpy: on
    the stacked batch when ``joint``, else on each of the three batches alone."""

    def norm(x):
        return (x - x.mean(0)) / np.sqrt(x.var(0) + eps)

    if joint:
        a, p, n = np.split(norm(np.concatenate([a, p, n])), 3)
    else:
        a, p, n = norm(a), norm(p), norm(n)
    return ((a - p) ** 2).sum(1), ((a - n) ** 2).sum(1)

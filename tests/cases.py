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


def triplet_batch(n=12, dim=3, classes=3, seed=0):
    """Seeded float32 embeddings (no ties among distances) and labels, every class present."""
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, dim)).astype(np.float32), np.arange(n) % classes

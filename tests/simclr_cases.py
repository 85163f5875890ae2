"""Framework-free SimCLR test cases shared by tests/core, tests/torch and tests/tf (separate
processes).

The batch of 4 of the source article (Chapter 4's Korean blog series, part 3): 4 images, 2 views
each, N = 8 rows, view
after view (row i and row i + 4 are the two views of image i). FEATURES_B4 is a fixed, seeded
8 x 5 array; the info-NCE logits of any such array are 8 x 7 with labels all 0.

Analytic cases (N = 2B rows):
- all rows identical: every cosine similarity is 1, so every logit is 1/t and the loss is
  -log(e^(1/t) / ((2B - 1) e^(1/t))) = log(2B - 1), whatever the temperature;
- the two views of image i equal to the unit vector e_i (orthogonal images): the positive's logit
  is 1/t and the 2B - 2 negatives' are 0, so the loss is log(1 + (2B - 2) e^(-1/t)), near 0 at
  t = 0.01 (about 6 e^-100).
"""

import numpy as np

BATCH = 4
N_VIEWS = 2
FEATURES_B4 = np.random.default_rng(4).normal(size=(BATCH * N_VIEWS, 5)).astype(np.float32)
TEMPERATURES = (0.07, 0.5, 1.0)


def identical(batch_size=BATCH, dim=3):
    """2B identical rows: the loss is log(2B - 1)."""
    return np.ones((batch_size * N_VIEWS, dim), np.float32)


def separated(batch_size=BATCH):
    """Row i and row i + B are both e_i: positives have similarity 1, negatives 0."""
    eye = np.eye(batch_size, dtype=np.float32)
    return np.concatenate([eye, eye])


def separated_loss(batch_size, temperature):
    """log(1 + (2B - 2) exp(-1/t)): the loss of ``separated``."""
    return float(np.log1p((2 * batch_size - 2) * np.exp(-1 / temperature)))


# Top-k accuracy on hand-made logits: 4 rows, 3 classes.
TOPK_LOGITS = np.array(
    [
        [3.0, 1.0, 2.0],  # label 0: rank 1
        [0.1, 0.2, 0.3],  # label 0: rank 3
        [0.5, 0.9, 0.1],  # label 0: rank 2
        [1.0, 5.0, 0.0],
    ]
)  # label 1: rank 1
TOPK_LABELS = np.array([0, 0, 0, 1])
TOPK_EXPECTED = {1: 0.5, 2: 0.75, 3: 1.0}

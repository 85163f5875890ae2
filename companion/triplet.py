"""Triplet-loss retrieval, framework-free: the article's data layout and the numpy references.

Both editions (``companion.torch.triplet``, ``companion.tf.triplet``) share these constants, so the
chapter reads the same in PyTorch and Keras.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from scipy.spatial.distance import cdist

from . import checks
from .data import ImageSet, load, resized

TRAINABLE_FROM = (
    15  # torchvision block 15 (Keras block_14_expand) on: the last stage but its 1st block
)
EMBEDDING_DIM = 256
MARGIN = 0.5  # the article's (keras-io's) margin on squared L2 distances
FACENET_MARGIN = 0.2  # FaceNet's margin on squared distances of unit-length embeddings
CONTRAST = (0.2, 1.8)  # the positive's random contrast factor
CROP_FRACTION = 0.5  # the positive keeps the central half of each side
ARTICLE_CLASSES = ("daisy", "dandelion", "roses", "sunflowers", "tulips")  # tf-flowers, online
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Sneaker", "Bag")  # the offline stand-in


def check_crop_fraction(crop_fraction) -> float:
    """The fraction of each side a positive keeps: a number in (0, 1] (1 keeps the whole image)."""
    if not 0 < checks.number(crop_fraction, "crop_fraction") <= 1:
        raise ValueError(f"crop_fraction must be in (0, 1], got {crop_fraction}")
    return float(crop_fraction)


def check_margin(margin) -> float:
    """The triplet loss's margin: a finite number >= 0."""
    if checks.number(margin, "margin") < 0:
        raise ValueError(f"margin must be >= 0, got {margin}")
    return margin


def check_score(score):
    """``score`` of ``fit_siamese``: None, or a function of no argument returning
    ``{name: number}``."""
    if score is not None and not callable(score):
        raise TypeError(
            f"score: expected a function of no argument returning {{name: number}}, got "
            f"{checks.describe(score)}"
        )
    return score


def score_values(score) -> dict:
    """What ``score()`` returns after an epoch, checked: ``{name: finite number}``, as floats."""
    values = score()
    if not isinstance(values, dict) or not values:
        raise TypeError(
            f"score() must return a non-empty dict {{name: number}}, got {checks.describe(values)}"
        )
    return {
        checks.text(k, "a name score() returns"): checks.number(v, f"score()'s {k!r}")
        for k, v in values.items()
    }


def check_triplet_shapes(anchor, positive, negative) -> None:
    """Anchor, positive and negative embeddings of one shape B x D (broadcasting would pair the
    wrong rows without a word); each argument has a ``.shape``."""
    shapes = [tuple(t.shape) for t in (anchor, positive, negative)]
    if len(set(shapes)) != 1:
        raise ValueError(f"expected anchor, positive and negative of one shape B x D, got {shapes}")


def select_classes(
    data: ImageSet, class_names, n_per_class: int | None = None, seed: int = 0
) -> ImageSet:
    """The images of ``class_names`` only, relabelled 0..k-1 in that order, optionally
    ``n_per_class``
    of each drawn at random with ``seed``, in shuffled order."""
    if not isinstance(data, ImageSet):
        raise TypeError(f"select_classes takes an ImageSet, got {type(data).__name__}")
    if isinstance(class_names, str) or not hasattr(class_names, "__iter__") or not len(class_names):
        raise TypeError(
            f"class_names: expected a non-empty list of names, got {checks.describe(class_names)}"
        )
    if n_per_class is not None:
        checks.integer(n_per_class, "n_per_class", 1)
    unknown = [c for c in class_names if c not in data.class_names]
    if unknown:
        raise ValueError(f"unknown classes {unknown}: expected names from {data.class_names}")
    old = np.array([data.class_names.index(c) for c in class_names])
    rng = np.random.default_rng(seed)
    picks = [rng.permutation(np.flatnonzero(data.labels == c))[:n_per_class] for c in old]
    short = [c for c, p in zip(class_names, picks) if n_per_class and len(p) < n_per_class]
    if short:
        raise ValueError(f"classes {short} have fewer than {n_per_class} images")
    subset = data.subset(rng.permutation(np.concatenate(picks)))
    relabel = np.full(len(data.class_names), -1)
    relabel[old] = np.arange(len(old))
    return replace(subset, labels=relabel[subset.labels], class_names=list(class_names))


def chapter_data(
    dataset: str = "fashion-mnist",
    n_per_class: int = 120,
    n_test_per_class: int = 200,
    image_size: int = 96,
    seed: int = 0,
) -> tuple[ImageSet, ImageSet]:
    """The article's 5-class anchors (``n_per_class`` training images of each) and held-out test
    images of the same classes, resized to ``image_size``: Fashion-MNIST offline, or the article's
    flowers (``tf-flowers``, online)."""
    classes = {"fashion-mnist": FASHION_CLASSES, "tf-flowers": ARTICLE_CLASSES}
    if not isinstance(dataset, str) or dataset not in classes:
        raise ValueError(f"dataset must be one of {sorted(classes)}, got {dataset!r}")
    for value, name in (
        (n_per_class, "n_per_class"),
        (n_test_per_class, "n_test_per_class"),
        (image_size, "image_size"),
    ):
        checks.integer(value, name, 1)
    options = {"image_size": image_size} if dataset == "tf-flowers" else {}
    train, test = (
        select_classes(load(dataset, split, **options), classes[dataset], n, seed)
        for split, n in (("train", n_per_class), ("test", n_test_per_class))
    )
    return resized(train, image_size), resized(test, image_size)


def resized_split(dataset: str, split: str, n: int, image_size: int) -> np.ndarray:
    """The first ``n`` images of a split (all classes), resized: a large gallery for timing
    search."""
    checks.integer(n, "n (a positive number of images)", 1)
    checks.integer(image_size, "image_size", 1)
    data = load(dataset, split, **({"image_size": image_size} if dataset == "tf-flowers" else {}))
    return resized(data.subset(np.arange(min(n, len(data)))), image_size).images


def random_negatives(n: int, seed: int = 0) -> np.ndarray:
    """The article's negatives: indices into ``concat(anchors, positives)`` (length ``2 n``),
    shuffled with ``seed``; the first ``n`` pair up with the ``n`` anchors. Nothing stops a negative
    from being the anchor itself, its positive, or an image of the same class."""
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive number of anchors, got {n!r}")
    return np.random.default_rng(seed).permutation(2 * n)[:n]


def oracle_negatives(labels, seed: int = 0) -> np.ndarray:
    """Negatives that know the labels: for each of the ``n`` anchors, an index into
    ``concat(anchors, positives)`` (length ``2 n``) drawn at random among the images of another
    class, with ``seed``. What the article's random negatives would be without false negatives."""
    labels = checks.labels(labels)
    pool = np.concatenate([labels, labels])
    if len(labels) == 0 or np.all(labels == labels[0]):
        raise ValueError(f"expected anchors of at least two classes, got {len(set(labels))}")
    rng = np.random.default_rng(seed)
    return np.array([rng.choice(np.flatnonzero(pool != y)) for y in labels])


def same_class_rate(labels, negatives) -> float:
    """Fraction of anchors whose negative (an index into ``concat(anchors, positives)``) has the
    anchor's own label: the false negatives random shuffling makes."""
    labels, negatives = checks.labels(labels), checks.labels(negatives, "negatives")
    if len(labels) == 0 or negatives.shape != labels.shape:
        raise ValueError(
            f"expected labels and negatives of one length, got {labels.shape} and {negatives.shape}"
        )
    if negatives.min() < 0 or negatives.max() >= 2 * len(labels):
        raise ValueError(
            f"negatives must index concat(anchors, positives): 0..{2 * len(labels) - 1}"
        )
    return float(np.mean(np.concatenate([labels, labels])[negatives] == labels))


def train_val_split(
    n: int, train_fraction: float = 0.8, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """The article's split: a random ``train_fraction`` of ``n`` triplets for training, the rest for
    validation (index arrays)."""
    checks.integer(n, "n")
    checks.number(train_fraction, "train_fraction")
    if not 0 < train_fraction < 1 or n < 2:
        raise ValueError(
            f"expected 0 < train_fraction < 1 and n >= 2, got {train_fraction} and {n}"
        )
    cut = int(round(train_fraction * n))
    if not 0 < cut < n:
        raise ValueError(
            f"a train_fraction of {train_fraction} of {n} triplets leaves an empty part: expected "
            f"a fraction that keeps at least one for training and one for validation"
        )
    order = np.random.default_rng(seed).permutation(n)
    return order[:cut], order[cut:]


def semi_hard_reference(distances, labels) -> np.ndarray:
    """Semi-hard negatives by plain loops (the reference both editions are tested against).

    For each positive pair (a, p): the negative n with the smallest d(a, n) among those farther than
    d(a, p) (FaceNet's semi-hard); if none is farther, the negative with the largest d(a, n)
    (TensorFlow Addons' rule); -1 where (a, p) is no positive pair or a has no negative.
    """
    labels = checks.labels(labels)
    d = checks.array(distances, "distances", 2, "a B x B distance matrix", np.float64, finite=True)
    if d.shape != (len(labels), len(labels)):
        raise ValueError(
            f"expected a B x B distance matrix for {len(labels)} labels, got {d.shape}"
        )
    chosen = np.full(d.shape, -1)
    for a in range(len(labels)):
        negatives = [n for n in range(len(labels)) if labels[n] != labels[a]]
        for p in range(len(labels)):
            if p == a or labels[p] != labels[a] or not negatives:
                continue
            farther = [n for n in negatives if d[a, n] > d[a, p]]
            chosen[a, p] = (
                min(farther, key=lambda n: d[a, n])
                if farther
                else max(negatives, key=lambda n: d[a, n])
            )
    return chosen


def all_negatives_loss(anchors, positives, margin: float) -> float:
    """The triplet loss of embeddings with every other anchor as the negative: the mean over k, i
    and j != i of max(d(a_i, p_i^k) - d(a_i, a_j) + margin, 0), squared L2 distances.

    ``anchors`` is N x D; ``positives`` N x D, or K x N x D for K augmentations of each anchor.
    It is the expected loss over random negatives drawn among these anchors, without the noise of
    drawing one negative per anchor (what a validation loss on a few anchors suffers from)."""
    anchors = np.asarray(anchors, dtype=np.float64)
    positives = np.asarray(positives, dtype=np.float64)
    margin = check_margin(margin)
    if positives.ndim == 2:
        positives = positives[None]
    if anchors.ndim != 2 or len(anchors) < 2 or positives.shape[1:] != anchors.shape:
        raise ValueError(
            f"expected N x D anchors (N >= 2) and N x D or K x N x D positives, got "
            f"{anchors.shape} and {np.shape(positives)}"
        )
    if not (np.isfinite(anchors).all() and np.isfinite(positives).all()):
        raise ValueError("expected finite embeddings, got NaN or infinity")
    ap = ((anchors[None] - positives) ** 2).sum(-1)  # K x N
    an = cdist(anchors, anchors, "sqeuclidean")  # N x N
    losses = np.maximum(ap[:, :, None] - an[None] + margin, 0)  # K x N x N
    others = ~np.eye(len(anchors), dtype=bool)
    return float(losses[:, others].mean())

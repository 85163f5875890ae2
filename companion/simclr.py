"""SimCLR, framework-free: the info-NCE logits in numpy (the reference both editions are held to),
top-k accuracy, kNN evaluation (scikit-learn), checkpoint-key handling, few-label subsets and the
chapter's figures.

The info-NCE construction follows the sthalles/SimCLR code the source article (Chapter 4's Korean
blog series, part 3)
walks through: ``n_views`` augmented views of ``batch_size`` images, stacked view after view, give
``N = n_views * batch_size`` rows; the N x N cosine-similarity matrix loses its diagonal; for every
row the similarity to the other view(s) of the same image are the positives (N x 1 for two views)
and the rest the negatives (N x (N - 2)); ``[positives | negatives] / temperature`` are the logits
and the label of every row is 0, the column of the positive.
"""

from __future__ import annotations

import functools
import numbers
import warnings

import numpy as np

from . import checks
from .retrieval import normalise

# The source article (Chapter 4's Korean blog series, part 3): sthalles' ResNet-18 pretrained for
# 100 epochs on STL10's
# unlabelled split, linear evaluation on STL10's labelled train and test splits.
ARTICLE_TOP1 = 0.6928
ARTICLE_TOP5 = 0.9826
AUTHOR_TOP1 = 0.7445  # what the code's author (sthalles) reports for the same setting
HEAD_PREFIX = (
    "fc."  # the projection head sits in the encoder's ``fc``, as in sthalles' ResNetSimCLR
)
BACKBONE_PREFIX = "backbone."


# "resnet18": torchvision's stock ResNet-18, as sthalles' code; "resnet18-cifar": the same with
# SimCLR's CIFAR stem (3x3 stride 1, no max-pool), about 15 times the compute at 96 px
ARCHS = ("small", "resnet18", "resnet18-cifar")


def check_augmentation(image_size, channels, min_scale, strength, blur) -> None:
    """The settings of SimCLR's augmentation, as both editions' ``augmentation`` take them."""
    checks.integer(image_size, "image_size")
    checks.number(min_scale, "min_scale", 0, 1)
    checks.number(strength, "strength", 0)
    checks.number(blur, "blur", 0, 1)
    if image_size < 8 or channels not in (1, 3):
        raise ValueError(
            f"expected image_size >= 8 and 1 or 3 channels, got {image_size} and {channels}"
        )


def check_n_views(n_views) -> int:
    """The number of augmented views of each image (at least 2)."""
    checks.integer(n_views, "n_views")
    if n_views < 2:
        raise ValueError(f"n_views must be >= 2, got {n_views}")
    return n_views


def check_encoder(arch, in_channels, width) -> None:
    """An encoder's architecture name, input channels and width, as ``build_encoder`` takes them."""
    if arch not in ARCHS:
        raise ValueError(f"arch must be one of {ARCHS}, got {arch!r}")
    if in_channels not in (1, 3):
        raise ValueError(f"in_channels must be 1 or 3, got {in_channels}")
    checks.integer(width, "width", 1)


def check_n_classes(n_classes) -> int:
    """The class count of a linear classifier on the encoder (at least 2)."""
    checks.integer(n_classes, "n_classes")
    if n_classes < 2:
        raise ValueError(f"n_classes must be >= 2, got {n_classes}")
    return n_classes


def pretraining_images(images, batch_size, epochs) -> np.ndarray:
    """The unlabelled uint8 N x H x W x C images of a pretraining run, checked against its batch
    size (info-NCE needs whole batches) and epochs."""
    images = checks.array(images, "images", what="uint8 N x H x W x C images", empty=True)
    if images.ndim != 4 or images.dtype != np.uint8:
        raise ValueError(f"expected uint8 N x H x W x C images, got {images.dtype} {images.shape}")
    checks.integer(batch_size, "batch_size", 2)
    checks.integer(epochs, "epochs", 0)
    if len(images) < batch_size:
        raise ValueError(f"need at least batch_size = {batch_size} images, got {len(images)}")
    return images


def check_views(n_rows: int, batch_size: int, n_views: int) -> None:
    """Fail with one line unless ``n_rows == batch_size * n_views`` with batch_size >= 2, n_views >=
    2."""
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 2:
        raise ValueError(
            f"batch_size must be an int >= 2 (negatives need another image), got {batch_size!r}"
        )
    if not isinstance(n_views, (int, np.integer)) or n_views < 2:
        raise ValueError(
            f"n_views must be an int >= 2 (a positive needs a second view), got {n_views!r}"
        )
    if n_rows != batch_size * n_views:
        raise ValueError(
            f"features must have batch_size x n_views = {batch_size} x {n_views} = "
            f"{batch_size * n_views} rows, got {n_rows}"
        )


def check_temperature(temperature) -> float:
    """The temperature as a float; fail with one line unless it is a number > 0."""
    try:
        value = float(temperature)
    except (TypeError, ValueError):
        raise ValueError(f"temperature must be a number > 0, got {temperature!r}") from None
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"temperature must be a number > 0, got {temperature!r}")
    return value


def _features(features, batch_size: int, n_views: int) -> np.ndarray:
    features = checks.array(
        features,
        "features",
        2,
        "a 2-D array (rows x dimensions)",
        dtype=np.float64,
        empty=True,
        finite=True,
    )
    check_views(len(features), batch_size, n_views)
    return features


COLLAPSED = 0.05  # a spread below this fraction of the run's largest is a collapse
ONE_POINT = 1e-6  # a spread below this is one point, whatever came before


def spread(features) -> float:
    """How evenly the rows of ``features`` (N x D, N >= 2) spread over directions: the mean over
    dimensions of the standard deviation of the L2-normalised rows, times sqrt(D) (SimSiam's
    collapse measure, scaled). About 1 for directions spread evenly (a unit vector's coordinates
    have variance 1/D), 0 when every row points the same way. A fresh encoder's projections share
    one large direction (a few hundredths); contrastive training spreads them."""
    x = checks.array(features, "features", 2, "N x D features (N >= 2)", finite=True)
    if len(x) < 2:
        raise ValueError(f"expected N x D features with N >= 2, got {x.shape}")
    z = normalise(np.asarray(x, np.float64))
    return float(z.std(0).mean() * np.sqrt(z.shape[1]))


def alignment(view1, view2, alpha: float = 2.0) -> float:
    """Wang and Isola's (2020) alignment: the mean of ``||f(x) - f(y)||^alpha`` over positive
    pairs, rows ``i`` of ``view1`` and ``view2`` (N x D each), after L2 normalisation. 0 when the
    two views of every image map to one point, 2^alpha at most; lower is better."""
    a = checks.array(view1, "view1", 2, "N x D features of first views", finite=True)
    b = checks.array(view2, "view2", 2, "N x D features of second views", finite=True)
    if a.shape != b.shape or not len(a):
        raise ValueError(
            f"expected two non-empty N x D arrays of one shape, got {a.shape}, {b.shape}"
        )
    checks.number(alpha, "alpha", 0)
    d = np.linalg.norm(
        normalise(np.asarray(a, np.float64)) - normalise(np.asarray(b, np.float64)), axis=1
    )
    return float(np.mean(d**alpha))


def uniformity(features, t: float = 2.0) -> float:
    """Wang and Isola's (2020) uniformity: ``log`` of the mean of ``exp(-t ||u - v||^2)`` over all
    pairs of distinct L2-normalised rows (N x D, N >= 2). 0 when every row is one point; more
    negative the more evenly the rows cover the sphere; lower is better."""
    x = checks.array(features, "features", 2, "N x D features (N >= 2)", finite=True)
    if len(x) < 2:
        raise ValueError(f"expected N x D features with N >= 2, got {x.shape}")
    checks.number(t, "t", 0)
    z = normalise(np.asarray(x, np.float64))
    squared = np.clip(2 - 2 * z @ z.T, 0, None)[np.triu_indices(len(z), 1)]
    return float(np.log(np.mean(np.exp(-t * squared))))


def warn_if_collapsed(value: float, epoch: int, largest: float) -> bool:
    """Warn (one line) when an epoch's embedding ``spread`` has fallen below ``COLLAPSED`` times
    the ``largest`` of the run so far (before training included), or below ``ONE_POINT``; returns
    whether it did. Pretraining in both editions calls it after every epoch."""
    checks.number(value, "spread")
    checks.integer(epoch, "epoch", 1)
    checks.number(largest, "largest")
    floor = max(COLLAPSED * largest, ONE_POINT)
    if value >= floor:
        return False
    warnings.warn(
        f"epoch {epoch}: the embeddings' spread is {value:.3g}, down from {largest:.3g} "
        f"(1: evenly spread, 0: one point): pretraining is collapsing; expected at least "
        f"{floor:.3g} (try a lower learning rate or a higher temperature)",
        RuntimeWarning,
        stacklevel=2,
    )
    return True


def view_labels(batch_size: int, n_views: int = 2) -> np.ndarray:
    """The N x N boolean matrix "rows i and j are views of the same image" (diagonal included)."""
    check_views(batch_size * n_views, batch_size, n_views)
    image = np.tile(np.arange(batch_size), n_views)
    return image[:, None] == image[None, :]


@functools.lru_cache(maxsize=8)
def logit_columns(batch_size: int, n_views: int = 2) -> np.ndarray:
    """For each row of the N x N similarity matrix, the N - 1 columns that make its info-NCE
    logits, in ``info_nce_steps``' order: the other views of its image, then every other row,
    ascending; the row itself left out. One gather with these replaces the masks (read-only,
    cached per size)."""
    same = view_labels(batch_size, n_views)
    key = np.where(same, 0, 1)
    np.fill_diagonal(key, 2)  # the row itself sorts last and is cut off
    columns = np.argsort(key, axis=1, kind="stable")[:, :-1]
    columns.setflags(write=False)
    return columns


def similarity_matrix(features, batch_size: int, n_views: int = 2) -> np.ndarray:
    """Cosine similarities of every pair of rows: L2-normalise, then ``F @ F.T`` (N x N)."""
    f = _features(features, batch_size, n_views)
    f = normalise(f)
    return f @ f.T


def info_nce_steps(features, batch_size: int, n_views: int = 2, temperature: float = 0.07) -> dict:
    """Every intermediate of the info-NCE logits, named as in the article: similarity, mask,
    positives, negatives, logits (divided by the temperature) and labels (all 0)."""
    temperature = check_temperature(temperature)
    similarity = similarity_matrix(features, batch_size, n_views)
    n = len(similarity)
    same = view_labels(batch_size, n_views)
    mask = np.eye(n, dtype=bool)
    same_off = same[~mask].reshape(n, -1)  # N x (N - 1): the diagonal removed
    sim_off = similarity[~mask].reshape(n, -1)
    positives = sim_off[same_off].reshape(n, -1)  # N x (n_views - 1)
    negatives = sim_off[~same_off].reshape(n, -1)  # N x (N - n_views)
    logits = np.concatenate([positives, negatives], axis=1) / temperature
    return {
        "similarity": similarity,
        "mask": mask,
        "same_image": same,
        "positives": positives,
        "negatives": negatives,
        "logits": logits,
        "labels": np.zeros(n, dtype=np.int64),
    }


def info_nce_logits(features, batch_size: int, n_views: int = 2, temperature: float = 0.07):
    """``(logits, labels)`` as sthalles' ``info_nce_loss`` returns them, in numpy (float64)."""
    steps = info_nce_steps(features, batch_size, n_views, temperature)
    return steps["logits"], steps["labels"]


def cross_entropy(logits, labels) -> float:
    """Mean cross-entropy of integer ``labels`` under ``logits`` (a stable log-softmax)."""
    logits, labels = np.asarray(logits, dtype=np.float64), np.asarray(labels)
    if logits.ndim != 2 or labels.shape != (len(logits),):
        raise ValueError(
            f"expected N x C logits and N labels, got {logits.shape} and {labels.shape}"
        )
    if labels.size and not np.issubdtype(labels.dtype, np.integer):
        raise TypeError(f"labels: expected integer class indices, got {checks.describe(labels)}")
    if labels.size and (labels.min() < 0 or labels.max() >= logits.shape[1]):
        raise ValueError(
            f"labels must be class indices in [0, {logits.shape[1]}), got "
            f"{labels.min()}..{labels.max()}"
        )
    shifted = logits - logits.max(1, keepdims=True)
    log_prob = shifted - np.log(np.exp(shifted).sum(1, keepdims=True))
    return float(-log_prob[np.arange(len(labels)), labels].mean())


def info_nce(features, batch_size: int, n_views: int = 2, temperature: float = 0.07) -> float:
    """The info-NCE (NT-Xent) loss: cross-entropy of the logits with labels all 0."""
    return cross_entropy(*info_nce_logits(features, batch_size, n_views, temperature))


def topk_accuracy(logits, labels, ks=(1, 5)) -> dict:
    """Fraction of rows whose label is among the ``k`` highest logits, for each ``k``. A tie
    counts as a miss: the label's logit must beat all but ``k - 1`` of the others strictly, so a
    constant output scores 0, not the share of the first class."""
    logits, labels = np.asarray(logits), np.asarray(labels)
    if logits.ndim != 2 or labels.shape != (len(logits),):
        raise ValueError(
            f"expected N x C logits and N labels, got {logits.shape} and {labels.shape}"
        )
    if len(labels) and (labels.min() < 0 or labels.max() >= logits.shape[1]):
        raise ValueError(
            f"labels must be class indices in [0, {logits.shape[1]}), got "
            f"{labels.min()}..{labels.max()}"
        )
    for k in ks:
        if not 1 <= k <= logits.shape[1]:
            raise ValueError(f"k must be in 1..{logits.shape[1]} (the number of classes), got {k}")
    own = logits[np.arange(len(labels)), labels][:, None]
    rank = (logits > own).sum(1) + (logits == own).sum(1) - 1  # ties rank ahead of the label
    return {k: float(np.mean(rank < k)) for k in ks}


def probe_scores(logits, labels) -> dict:
    """``{"top1", "top5"}`` of a linear probe's test logits (top-5 is top-C with fewer than 5
    classes), as both editions' ``linear_evaluation`` and ``linear_probe`` report them."""
    logits = checks.array(logits, "logits", 2, "N x C logits")
    k = min(5, logits.shape[1])
    scores = topk_accuracy(logits, labels, (1, k))
    return {"top1": scores[1], "top5": scores[k]}


def probe_features(train_features, test_features, n_classes: int) -> tuple:
    """The training and test features of a linear probe, checked (N x D, finite), and its class
    count (an integer >= 2)."""
    checks.integer(n_classes, "n_classes", 2)
    train_features = checks.array(
        train_features, "train_features", 2, "N x D features", finite=True
    )
    test_features = checks.array(test_features, "test_features", 2, "N x D features", finite=True)
    return train_features, test_features


def knn_accuracy(train_features, train_labels, test_features, test_labels, k: int = 20) -> float:
    """Top-1 accuracy of a ``k``-nearest-neighbour vote by cosine similarity (scikit-learn): each
    test feature takes the majority label of its ``k`` most similar training features."""
    from sklearn.neighbors import KNeighborsClassifier

    train_x, test_x = np.asarray(train_features, np.float64), np.asarray(test_features, np.float64)
    if train_x.ndim != 2 or test_x.ndim != 2 or train_x.shape[1] != test_x.shape[1]:
        raise ValueError(
            f"expected two 2-D feature arrays of one width, got {train_x.shape} and {test_x.shape}"
        )
    if not 1 <= k <= len(train_x):
        raise ValueError(f"k must be in 1..{len(train_x)} (the training features), got {k}")
    knn = KNeighborsClassifier(
        n_neighbors=k, algorithm="brute"
    )  # Euclidean on unit vectors = cosine
    knn.fit(normalise(train_x), np.asarray(train_labels))
    return float(np.mean(knn.predict(normalise(test_x)) == np.asarray(test_labels)))


def strip_backbone(state: dict, prefix: str = BACKBONE_PREFIX, head: str = HEAD_PREFIX) -> dict:
    """The encoder's weights from a pretraining checkpoint, as the article's evaluator takes them:
    keep the keys that start with ``prefix`` ('backbone.'), remove it, and drop the projection head
    (keys then starting with ``head``, 'fc.'). Fails if a key lies outside ``prefix``."""
    if not isinstance(state, dict) or not state:
        raise ValueError(f"expected a non-empty dict of named weights, got {type(state).__name__}")
    outside = [k for k in state if not k.startswith(prefix)]
    if outside:
        raise ValueError(
            f"expected every checkpoint key to start with {prefix!r} (a SimCLR pretraining "
            f"checkpoint), got {outside[:3]}"
        )
    stripped = {k[len(prefix) :]: v for k, v in state.items()}
    return {k: v for k, v in stripped.items() if not k.startswith(head)}


def check_keys(expected, given) -> None:
    """Fail with one line naming the missing and unexpected keys unless the two sets agree."""
    for value, name in ((expected, "expected"), (given, "given")):
        if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
            raise TypeError(
                f"{name}: expected a collection of key names (a dict or a list), got "
                f"{checks.describe(value)}"
            )
    expected, given = set(expected), set(given)
    missing, unexpected = sorted(expected - given), sorted(given - expected)
    if missing or unexpected:
        raise ValueError(
            f"checkpoint does not fit the encoder: missing keys {missing[:4]}, "
            f"unexpected keys {unexpected[:4]}"
        )


def check_shapes(expected: dict, given: dict) -> None:
    """Fail with one line at the first key whose shape differs (another width or architecture)."""
    checks.instance(expected, dict, "expected", "a dict {key: shape}")
    checks.instance(given, dict, "given", "a dict {key: shape}")
    for key, shape in expected.items():
        if key not in given:
            raise ValueError(f"checkpoint does not fit the encoder: missing key {key!r}")
        if tuple(given[key]) != tuple(shape):
            raise ValueError(
                f"checkpoint does not fit the encoder: {key} has shape {tuple(given[key])} in the "
                f"checkpoint, {tuple(shape)} in the encoder (another width or architecture?)"
            )


def label_fraction(labels, fraction: float, seed: int = 0) -> np.ndarray:
    """Indices of ``fraction`` of the labelled images, the same share of every class (at least
    one)."""
    labels = checks.labels(labels, "labels")
    if not len(labels):
        raise ValueError("labels: expected a non-empty 1-D array of class indices, got shape (0,)")
    if isinstance(fraction, bool) or not isinstance(fraction, numbers.Real):
        raise TypeError(f"fraction must be in (0, 1] (a number), got {checks.describe(fraction)}")
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    rng = np.random.default_rng(seed)
    picks = []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        picks.append(rng.permutation(idx)[: max(1, round(fraction * len(idx)))])
    return np.sort(np.concatenate(picks))


def embed_2d(features, seed: int = 0, method: str = "tsne") -> np.ndarray:
    """Points in 2-D for a scatter plot: t-SNE (scikit-learn, PCA-initialised) or PCA."""
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    x = checks.array(features, "features", what="N x D features", dtype=np.float64, empty=True)
    if x.ndim != 2 or len(x) < 5:
        raise ValueError(f"expected at least 5 feature rows (N x D), got shape {x.shape}")
    checks.array(x, "features", 2, "N x D features", finite=True)
    if method == "pca":
        return PCA(2, random_state=seed).fit_transform(x)
    if method != "tsne":
        raise ValueError(f"method must be 'tsne' or 'pca', got {method!r}")
    x = normalise(x)
    return TSNE(
        2, perplexity=min(30.0, (len(x) - 1) / 3), init="pca", random_state=seed
    ).fit_transform(x)

"""SimCLR, framework-free: the info-NCE logits in numpy (the reference both editions are held to),
top-k accuracy, kNN evaluation (scikit-learn), checkpoint-key handling, few-label subsets and the
chapter's figures.

The info-NCE construction follows the sthalles/SimCLR code the source article (Chapter 4's Korean blog series, part 3)
walks through: ``n_views`` augmented views of ``batch_size`` images, stacked view after view, give
``N = n_views * batch_size`` rows; the N x N cosine-similarity matrix loses its diagonal; for every
row the similarity to the other view(s) of the same image are the positives (N x 1 for two views)
and the rest the negatives (N x (N - 2)); ``[positives | negatives] / temperature`` are the logits
and the label of every row is 0, the column of the positive.
"""
from __future__ import annotations

import numbers

import numpy as np
from matplotlib.figure import Figure

from . import checks

# The source article (Chapter 4's Korean blog series, part 3): sthalles' ResNet-18 pretrained for 100 epochs on STL10's
# unlabelled split, linear evaluation on STL10's labelled train and test splits.
ARTICLE_TOP1 = 0.6928
ARTICLE_TOP5 = 0.9826
AUTHOR_TOP1 = 0.7445  # what the code's author (sthalles) reports for the same setting
HEAD_PREFIX = "fc."  # the projection head sits in the encoder's ``fc``, as in sthalles' ResNetSimCLR
BACKBONE_PREFIX = "backbone."


def check_views(n_rows: int, batch_size: int, n_views: int) -> None:
    """Fail with one line unless ``n_rows == batch_size * n_views`` with batch_size >= 2, n_views >= 2."""
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 2:
        raise ValueError(f"batch_size must be an int >= 2 (negatives need another image), got {batch_size!r}")
    if not isinstance(n_views, (int, np.integer)) or n_views < 2:
        raise ValueError(f"n_views must be an int >= 2 (a positive needs a second view), got {n_views!r}")
    if n_rows != batch_size * n_views:
        raise ValueError(f"features must have batch_size x n_views = {batch_size} x {n_views} = "
                         f"{batch_size * n_views} rows, got {n_rows}")


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
    features = checks.array(features, "features", 2, "a 2-D array (rows x dimensions)", dtype=np.float64,
                            empty=True, finite=True)
    check_views(len(features), batch_size, n_views)
    return features


def view_labels(batch_size: int, n_views: int = 2) -> np.ndarray:
    """The N x N boolean matrix "rows i and j are views of the same image" (diagonal included)."""
    check_views(batch_size * n_views, batch_size, n_views)
    image = np.tile(np.arange(batch_size), n_views)
    return image[:, None] == image[None, :]


def similarity_matrix(features, batch_size: int, n_views: int = 2) -> np.ndarray:
    """Cosine similarities of every pair of rows: L2-normalise, then ``F @ F.T`` (N x N)."""
    f = _features(features, batch_size, n_views)
    f = f / np.maximum(np.linalg.norm(f, axis=1, keepdims=True), 1e-12)
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
    return {"similarity": similarity, "mask": mask, "same_image": same, "positives": positives,
            "negatives": negatives, "logits": logits, "labels": np.zeros(n, dtype=np.int64)}


def info_nce_logits(features, batch_size: int, n_views: int = 2, temperature: float = 0.07):
    """``(logits, labels)`` as sthalles' ``info_nce_loss`` returns them, in numpy (float64)."""
    steps = info_nce_steps(features, batch_size, n_views, temperature)
    return steps["logits"], steps["labels"]


def cross_entropy(logits, labels) -> float:
    """Mean cross-entropy of integer ``labels`` under ``logits`` (a stable log-softmax)."""
    logits, labels = np.asarray(logits, dtype=np.float64), np.asarray(labels)
    if logits.ndim != 2 or labels.shape != (len(logits),):
        raise ValueError(f"expected N x C logits and N labels, got {logits.shape} and {labels.shape}")
    if labels.size and not np.issubdtype(labels.dtype, np.integer):
        raise TypeError(f"labels: expected integer class indices, got {checks.describe(labels)}")
    if labels.size and (labels.min() < 0 or labels.max() >= logits.shape[1]):
        raise ValueError(f"labels must be class indices in [0, {logits.shape[1]}), got {labels.min()}..{labels.max()}")
    shifted = logits - logits.max(1, keepdims=True)
    log_prob = shifted - np.log(np.exp(shifted).sum(1, keepdims=True))
    return float(-log_prob[np.arange(len(labels)), labels].mean())


def info_nce(features, batch_size: int, n_views: int = 2, temperature: float = 0.07) -> float:
    """The info-NCE (NT-Xent) loss: cross-entropy of the logits with labels all 0."""
    return cross_entropy(*info_nce_logits(features, batch_size, n_views, temperature))


def topk_accuracy(logits, labels, ks=(1, 5)) -> dict:
    """Fraction of rows whose label is among the ``k`` highest logits, for each ``k`` (ties: first
    index wins, as ``argsort`` orders them)."""
    logits, labels = np.asarray(logits), np.asarray(labels)
    if logits.ndim != 2 or labels.shape != (len(logits),):
        raise ValueError(f"expected N x C logits and N labels, got {logits.shape} and {labels.shape}")
    if len(labels) and (labels.min() < 0 or labels.max() >= logits.shape[1]):
        raise ValueError(f"labels must be class indices in [0, {logits.shape[1]}), got {labels.min()}..{labels.max()}")
    for k in ks:
        if not 1 <= k <= logits.shape[1]:
            raise ValueError(f"k must be in 1..{logits.shape[1]} (the number of classes), got {k}")
    order = np.argsort(-logits, axis=1, kind="stable")
    return {k: float(np.mean((order[:, :k] == labels[:, None]).any(1))) for k in ks}


def knn_accuracy(train_features, train_labels, test_features, test_labels, k: int = 20) -> float:
    """Top-1 accuracy of a ``k``-nearest-neighbour vote by cosine similarity (scikit-learn): each
    test feature takes the majority label of its ``k`` most similar training features."""
    from sklearn.neighbors import KNeighborsClassifier

    train_x, test_x = np.asarray(train_features, np.float64), np.asarray(test_features, np.float64)
    if train_x.ndim != 2 or test_x.ndim != 2 or train_x.shape[1] != test_x.shape[1]:
        raise ValueError(f"expected two 2-D feature arrays of one width, got {train_x.shape} and {test_x.shape}")
    if not 1 <= k <= len(train_x):
        raise ValueError(f"k must be in 1..{len(train_x)} (the training features), got {k}")
    normalise = lambda x: x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    knn = KNeighborsClassifier(n_neighbors=k, algorithm="brute")  # Euclidean on unit vectors = cosine
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
        raise ValueError(f"expected every checkpoint key to start with {prefix!r} (a SimCLR pretraining "
                         f"checkpoint), got {outside[:3]}")
    stripped = {k[len(prefix):]: v for k, v in state.items()}
    return {k: v for k, v in stripped.items() if not k.startswith(head)}


def check_keys(expected, given) -> None:
    """Fail with one line naming the missing and unexpected keys unless the two sets agree."""
    for value, name in ((expected, "expected"), (given, "given")):
        if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
            raise TypeError(f"{name}: expected a collection of key names (a dict or a list), got {checks.describe(value)}")
    expected, given = set(expected), set(given)
    missing, unexpected = sorted(expected - given), sorted(given - expected)
    if missing or unexpected:
        raise ValueError(f"checkpoint does not fit the encoder: missing keys {missing[:4]}, "
                         f"unexpected keys {unexpected[:4]}")


def check_shapes(expected: dict, given: dict) -> None:
    """Fail with one line at the first key whose shape differs (another width or architecture)."""
    checks.instance(expected, dict, "expected", "a dict {key: shape}")
    checks.instance(given, dict, "given", "a dict {key: shape}")
    for key, shape in expected.items():
        if key not in given:
            raise ValueError(f"checkpoint does not fit the encoder: missing key {key!r}")
        if tuple(given[key]) != tuple(shape):
            raise ValueError(f"checkpoint does not fit the encoder: {key} has shape {tuple(given[key])} in the "
                             f"checkpoint, {tuple(shape)} in the encoder (another width or architecture?)")


def label_fraction(labels, fraction: float, seed: int = 0) -> np.ndarray:
    """Indices of ``fraction`` of the labelled images, the same share of every class (at least one)."""
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
        picks.append(rng.permutation(idx)[:max(1, round(fraction * len(idx)))])
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
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    return TSNE(2, perplexity=min(30.0, (len(x) - 1) / 3), init="pca", random_state=seed).fit_transform(x)


# --- figures --------------------------------------------------------------------------------------
def _pictures(x, name):
    """N x H x W x C pictures (1, 3 or 4 channels), finite, as numpy (for the figures)."""
    a = checks.array(x, name, 4, "N x H x W x C pictures", finite=True)
    if a.shape[-1] not in (1, 3, 4):
        raise ValueError(f"{name}: expected N x H x W x C pictures with 1, 3 or 4 channels, got shape {a.shape}")
    return a


def _table(table, columns, name="table"):
    """A non-empty DataFrame holding ``columns``."""
    import pandas as pd

    checks.instance(table, pd.DataFrame, name, f"a pandas DataFrame with columns {list(columns)}")
    missing = [c for c in columns if c not in table.columns]
    if missing or table.empty:
        raise ValueError(f"{name}: expected a non-empty DataFrame with columns {list(columns)}, got columns "
                         f"{list(table.columns)} and {len(table)} rows")
    return table


def plot_two_views(images, view1, view2, size: float = 1.2):
    """Three rows: the originals and their two augmented views (uint8 NHWC, or float in [0, 1])."""
    rows = [("original", images), ("view 1", view1), ("view 2", view2)]
    rows = [(name, _pictures(row, name)) for name, row in rows]
    n = len(rows[0][1])
    if any(len(row) != n for _, row in rows):
        raise ValueError(f"expected as many views as originals ({n}), got {[len(row) for _, row in rows]}")
    fig = Figure(figsize=(size * n + 0.8, size * 3), layout="tight")
    axes = fig.subplots(3, n, squeeze=False)
    for r, (name, row) in enumerate(rows):
        for c in range(n):
            image = np.asarray(row[c])
            axes[r, c].imshow(image.squeeze(-1) if image.shape[-1] == 1 else image, cmap="gray",
                              vmin=0, vmax=255 if image.dtype == np.uint8 else 1)
            axes[r, c].set_xticks([])
            axes[r, c].set_yticks([])
        axes[r, 0].set_ylabel(name)
    return fig


def plot_info_nce(steps: dict):
    """The similarity matrix, the diagonal mask, the same-image matrix and the logits as heat maps."""
    keys = ("similarity", "mask", "same_image", "logits")
    if not isinstance(steps, dict) or any(k not in steps for k in keys):
        raise (ValueError if isinstance(steps, dict) else TypeError)(
            f"expected the dict info_nce_steps returns (keys {list(keys)}), got {checks.describe(steps)}")
    for k in keys:
        checks.array(steps[k], f"steps[{k!r}]", 2, "a 2-D matrix", finite=True)
    panels = [("similarity (N x N)", steps["similarity"], "viridis"),
              ("mask: the diagonal", steps["mask"], "Greys"),
              ("positives: same image", steps["same_image"] & ~steps["mask"], "Greys"),
              (f"logits {steps['logits'].shape[0]} x {steps['logits'].shape[1]} (column 0 = positive)",
               steps["logits"], "viridis")]
    fig = Figure(figsize=(15, 3.6), layout="tight")
    for ax, (title, data, cmap) in zip(fig.subplots(1, 4), panels):
        image = ax.imshow(np.asarray(data, float), cmap=cmap)
        ax.set_title(title, fontsize=9)
        ax.set_xticks(range(data.shape[1]))
        ax.set_yticks(range(data.shape[0]))
        if cmap == "viridis":
            fig.colorbar(image, ax=ax, fraction=0.046)
    return fig


def plot_loss(losses, title=None, ylabel="info-NCE loss"):
    """A loss per epoch (or a dict of named curves)."""
    curves = losses if isinstance(losses, dict) else {"": losses}
    if not curves:
        raise ValueError("losses: expected a list of losses or a non-empty dict of named curves, got {}")
    for name, values in curves.items():
        checks.array(values, f"losses[{name!r}]" if name else "losses", 1, "a 1-D list of losses (one per epoch)",
                     finite=True)
    fig = Figure(figsize=(5, 3.2), layout="tight")
    ax = fig.subplots()
    for name, values in curves.items():
        ax.plot(range(1, len(values) + 1), values, "o-", label=name or None)
    ax.set(xlabel="epoch", ylabel=ylabel, title=title)
    if any(curves):
        ax.legend(fontsize=8)
    return fig


def plot_results(table, columns=("linear top-1", "kNN top-1"), references: dict | None = None, title=None):
    """Grouped bars of ``columns`` for every row of ``table`` (a DataFrame), with horizontal lines
    at ``references`` (name -> accuracy, e.g. the article's numbers)."""
    if isinstance(columns, str) or not columns:
        raise TypeError(f"columns: expected a non-empty list of column names, got {checks.describe(columns)}")
    _table(table, columns)
    if references is not None:
        checks.instance(references, dict, "references", "a dict {name: accuracy}")
    for name, value in (references or {}).items():
        checks.number(value, f"references[{name!r}]")
    fig = Figure(figsize=(7.5, 3.8), layout="tight")
    ax = fig.subplots()
    x = np.arange(len(table))
    width = 0.8 / len(columns)
    for i, column in enumerate(columns):
        bars = ax.bar(x + (i - (len(columns) - 1) / 2) * width, table[column], width, label=column)
        ax.bar_label(bars, fmt="%.2f", fontsize=7)
    for j, (name, value) in enumerate((references or {}).items()):
        ax.axhline(value, ls="--", lw=1, color=f"C{len(columns) + j}", label=name)
    ax.set_xticks(x)
    ax.set_xticklabels(table.index, fontsize=8)
    ax.set(ylim=(0, 1), ylabel="test accuracy", title=title)
    ax.legend(fontsize=7, loc="lower right")
    return fig


def plot_sweep(table, title=None):
    """One line per batch size: an accuracy column against temperature (a long DataFrame with
    columns 'temperature', 'batch size' and 'kNN top-1')."""
    _table(table, ("temperature", "batch size", "kNN top-1"))
    temperatures = checks.array(table["temperature"], "table['temperature']", 1, "temperatures", dtype=np.float64,
                                finite=True)
    if (temperatures <= 0).any():
        raise ValueError(f"table['temperature']: expected temperatures > 0 (a log axis), got {temperatures.min()}")
    fig = Figure(figsize=(5.5, 3.6), layout="tight")
    ax = fig.subplots()
    for batch, rows in table.groupby("batch size"):
        rows = rows.sort_values("temperature")
        ax.plot(rows["temperature"], rows["kNN top-1"], "o-", label=f"batch {batch}")
    ax.set(xscale="log", xlabel="temperature", ylabel="kNN top-1 (test)", title=title)
    ax.legend(fontsize=8)
    return fig


def plot_embedding(points, labels, class_names, title=None):
    """A 2-D scatter of ``points`` coloured by ``labels``."""
    points, labels = np.asarray(points), np.asarray(labels)
    if points.ndim != 2 or points.shape[1] != 2 or len(points) != len(labels):
        raise ValueError(f"expected N x 2 points and N labels, got {points.shape} and {labels.shape}")
    fig = Figure(figsize=(6.5, 5), layout="tight")
    ax = fig.subplots()
    for c, name in enumerate(class_names):
        sel = labels == c
        ax.scatter(points[sel, 0], points[sel, 1], s=5, color=f"C{c % 10}", label=name)
    ax.set(xticks=[], yticks=[], title=title)
    ax.legend(fontsize=7, markerscale=3, loc="center left", bbox_to_anchor=(1, 0.5))
    return fig

"""Evaluation metrics shared by the chapters (numpy and scikit-learn, framework-free)."""

from __future__ import annotations

import numpy as np
from sklearn import metrics as _sk

from . import checks, files


def _labels(y_true, y_pred, n_classes: int | None):
    if n_classes is not None:
        checks.integer(n_classes, "n_classes", 1)
    y_true = checks.labels(y_true, "y_true", n_classes)
    y_pred = checks.labels(y_pred, "y_pred", n_classes)
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"expected two 1-D label arrays of one length, got {y_true.shape} and {y_pred.shape}"
        )
    return y_true, y_pred


def confusion_matrix(y_true, y_pred, n_classes: int) -> np.ndarray:
    """``n_classes`` x ``n_classes`` counts: row = true class, column = predicted class."""
    y_true, y_pred = _labels(y_true, y_pred, n_classes)
    return _sk.confusion_matrix(y_true, y_pred, labels=np.arange(n_classes))


def accuracy(y_true, y_pred) -> float:
    """Fraction of predictions equal to the labels."""
    y_true, y_pred = _labels(y_true, y_pred, None)
    if len(y_true) == 0:
        raise ValueError("expected at least one label and prediction, got empty arrays")
    return float(_sk.accuracy_score(y_true, y_pred))


def class_report(y_true, y_pred, positive: int, n_classes: int = 2) -> dict:
    """Accuracy, and precision, recall (sensitivity) and F1 of the class ``positive`` (0 where
    undefined)."""
    y_true, y_pred = _labels(y_true, y_pred, n_classes)
    checks.integer(positive, "positive", 0, n_classes)
    precision, recall, f1, _ = _sk.precision_recall_fscore_support(
        y_true, y_pred, labels=[positive], average=None, zero_division=0
    )
    return {
        "accuracy": accuracy(y_true, y_pred),
        "precision": float(precision[0]),
        "recall": float(recall[0]),
        "f1": float(f1[0]),
    }


def per_class_accuracy(cm: np.ndarray) -> np.ndarray:
    """Recall of every class from a confusion matrix (NaN for a class with no examples)."""
    cm = checks.array(cm, "cm", 2, "a square confusion matrix")
    if cm.shape[0] != cm.shape[1] or (cm < 0).any():
        raise ValueError(
            f"cm: expected a square confusion matrix of counts >= 0, got shape {cm.shape}"
        )
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.diag(cm) / cm.sum(1)


def _boxes(boxes, name: str) -> np.ndarray:
    boxes = checks.array(boxes, name, 2, "N x 4 boxes (x0, y0, x1, y1)", np.float64, finite=True)
    if boxes.shape[1] != 4:
        raise ValueError(f"{name}: expected N x 4 boxes (x0, y0, x1, y1), got shape {boxes.shape}")
    return boxes


def box_iou(a, b) -> np.ndarray:
    """Intersection over union of each pair of boxes ``a[i]``, ``b[i]`` (N x 4, ``x0, y0, x1,
    y1``)."""
    a, b = _boxes(a, "a"), _boxes(b, "b")
    if a.shape != b.shape:
        raise ValueError(f"expected two N x 4 arrays of one length, got {a.shape} and {b.shape}")
    sides = np.clip(np.minimum(a[:, 2:], b[:, 2:]) - np.maximum(a[:, :2], b[:, :2]), 0, None)
    inter = sides.prod(1)
    area = lambda boxes: np.clip(boxes[:, 2:] - boxes[:, :2], 0, None).prod(1)  # noqa: E731
    union = area(a) + area(b) - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def centred_boxes(boxes, image_size: int) -> np.ndarray:
    """A baseline: for each box, one of the mean width and height of ``boxes``, centred in the
    image."""
    boxes = _boxes(boxes, "boxes")
    checks.number(image_size, "image_size", 1)
    half = (boxes[:, 2:] - boxes[:, :2]).mean(0) / 2
    centre = image_size / 2
    return np.tile(np.concatenate([centre - half, centre + half]), (len(boxes), 1))


def pointing_game(maps, masks, tolerance: float = 0) -> float:
    """Fraction of maps whose maximum lies on the object (or within ``tolerance`` pixels of it).

    ``maps`` (N x H x W) and boolean ``masks`` (N x H x W) must have one size; Zhang et al. (2016)
    allow a 15-pixel tolerance at ImageNet resolution.
    """
    maps = checks.maps(maps, "maps")
    masks = checks.array(masks, "masks", 3, "boolean masks N x H x W").astype(bool)
    checks.number(tolerance, "tolerance", 0)
    if maps.shape != masks.shape:
        raise ValueError(
            f"expected maps and masks of one shape N x H x W, got {maps.shape} and {masks.shape}"
        )
    hits = []
    for m, mask in zip(maps, masks):
        y, x = np.unravel_index(np.argmax(m), m.shape)
        ys, xs = np.nonzero(mask)
        hits.append(len(ys) > 0 and np.min((ys - y) ** 2 + (xs - x) ** 2) <= tolerance**2)
    return float(np.mean(hits))


def per_class_table(y_true, y_pred, class_names):
    """One row per class: correct, total, ``correct/total`` (the article's CSV cells) and accuracy.

    A pandas DataFrame indexed by class name; write it with ``.to_csv(path)``.
    """
    import pandas as pd

    if isinstance(class_names, str) or not hasattr(class_names, "__len__") or not len(class_names):
        raise TypeError(
            f"class_names: expected a non-empty list of names, got {checks.describe(class_names)}"
        )
    cm = confusion_matrix(y_true, y_pred, len(class_names))
    correct, total = np.diag(cm), cm.sum(1)
    return pd.DataFrame(
        {
            "correct": correct,
            "total": total,
            "fraction": [f"{c}/{t}" for c, t in zip(correct, total)],
            "accuracy": per_class_accuracy(cm).round(4),
        },
        index=pd.Index(list(class_names), name="class"),
    )


def per_class_matrix(y_true, y_pred, class_names):
    """The article's whole ``correct/total`` CSV: row = true class, column = predicted class, and
    each
    cell ``count/total`` with ``total`` the row's number of images (the diagonal holds the
    corrects).

    A pandas DataFrame of strings; ``write_per_class_csv`` writes it.
    """
    import pandas as pd

    if isinstance(class_names, str) or not hasattr(class_names, "__len__") or not len(class_names):
        raise TypeError(
            f"class_names: expected a non-empty list of names, got {checks.describe(class_names)}"
        )
    cm = confusion_matrix(y_true, y_pred, len(class_names))
    cells = [[f"{n}/{row.sum()}" for n in row] for row in cm]
    return pd.DataFrame(
        cells,
        index=pd.Index(list(class_names), name="true \\ predicted"),
        columns=list(class_names),
    )


def write_per_class_csv(path, y_true, y_pred, class_names):
    """Write ``per_class_matrix`` to ``path`` as CSV, atomically (temporary file, then rename)."""
    path = checks.path(path, "path")
    table = per_class_matrix(y_true, y_pred, class_names)
    return files.atomic_write(path, table.to_csv, "CSV")


def ranking_scores(hits, n_relevant) -> dict:
    """P@1, R-precision and MAP@R (Musgrave et al., 2020) from ranked search results.

    ``hits`` (Q x K booleans): whether the i-th result of each query has the query's class;
    ``n_relevant`` (Q): R, the number of other gallery items of that class (K >= max R). Queries
    with R = 0 (a class with a single member) have nothing to find and are left out.
    """
    hits = checks.array(hits, "hits", 2, "Q x K booleans").astype(bool)
    r = checks.labels(n_relevant, "n_relevant")
    if r.shape != (len(hits),) or (r < 0).any():
        raise ValueError(
            f"expected Q x K hits and Q counts >= 0, got shapes {hits.shape} and {r.shape}"
        )
    keep = r > 0
    if not keep.any():
        raise ValueError("no query has another gallery item of its class: nothing to retrieve")
    if r.max() > hits.shape[1]:
        raise ValueError(f"hits hold {hits.shape[1]} results per query, fewer than R = {r.max()}")
    hits, r = hits[keep], r[keep]
    first_r = hits & (np.arange(hits.shape[1]) < r[:, None])  # hits among each query's first R
    precision_at_i = np.cumsum(first_r, 1) / np.arange(1, hits.shape[1] + 1)
    return {
        "p_at_1": float(hits[:, 0].mean()),
        "r_precision": float((first_r.sum(1) / r).mean()),
        "map_at_r": float(((precision_at_i * first_r).sum(1) / r).mean()),
    }


def _ranked_hits(embeddings, labels, batch_size: int, full: bool):
    """Checked inputs, then for every query (each item, never itself) whether each of its first
    max-R cosine-search results (all of them when ``full``) has its class, ties ranked misses
    first; and R, the number of other items of its class."""
    from .retrieval import normalise

    embeddings = checks.array(embeddings, "embeddings", 2, "N x D embeddings", finite=True)
    labels = checks.labels(labels, "labels")
    checks.integer(batch_size, "batch_size", 1)
    if len(labels) != len(embeddings):
        raise ValueError(
            f"expected one label per embedding, got {len(labels)} labels for "
            f"{len(embeddings)} embeddings"
        )
    r = (labels[:, None] == labels[None, :]).sum(1) - 1
    if r.max() < 1:
        raise ValueError("no class has two members: nothing to retrieve")
    depth = len(labels) - 1 if full else int(r.max())
    e, hits = normalise(embeddings), []
    for start in range(0, len(e), batch_size):
        s = e[start : start + batch_size] @ e.T
        rows = np.arange(len(s))
        s[rows, start + rows] = -np.inf  # never itself
        relevant = labels[start : start + batch_size, None] == labels[None, :]
        relevant[rows, start + rows] = False
        order = np.lexsort((relevant, -s), axis=1)[:, :depth]  # ties: misses first
        hits.append(np.take_along_axis(relevant, order, 1))
    return np.concatenate(hits), r


def retrieval_scores(embeddings, labels, batch_size: int = 1024) -> dict:
    """P@1, R-precision and MAP@R of cosine search among held-out ``embeddings`` with their
    ``labels``: every item queries all the others (never itself). A tie counts against the
    query: among gallery items of one similarity, those of another class rank first, so a
    collapsed encoder (every similarity equal) scores 0, not what the items' order would give."""
    return ranking_scores(*_ranked_hits(embeddings, labels, batch_size, full=False))


def precision_recall(embeddings, labels, levels: int = 11, batch_size: int = 1024):
    """The mean interpolated precision-recall curve of the same search: for each query (items of a
    class with one member left out), the highest precision at any rank whose recall reaches each of
    ``levels`` evenly spaced levels from 0 to 1, averaged over the queries. Returns (recall levels,
    precisions), two arrays of ``levels`` numbers."""
    checks.integer(levels, "levels", 2)
    hits, r = _ranked_hits(embeddings, labels, batch_size, full=True)
    hits, r = hits[r > 0], r[r > 0]
    found = np.cumsum(hits, axis=1)
    precision = found / np.arange(1, hits.shape[1] + 1)
    best_after = np.maximum.accumulate(precision[:, ::-1], axis=1)[:, ::-1]
    recall_levels = np.linspace(0, 1, levels)
    first = np.argmax(found[:, :, None] >= recall_levels * r[:, None, None], axis=1)
    return recall_levels, np.take_along_axis(best_after, first, 1).mean(0)

"""Similar-image search by cosine similarity, framework-free: the article's row-by-row search kept
as
the reference, and the vectorised search that replaces it."""

from __future__ import annotations

import math

import numpy as np

from . import checks


def _embeddings(x, name: str) -> np.ndarray:
    x = checks.array(x, name, 2, "a non-empty N x D array of embeddings")
    if x.shape[1] == 0:
        raise ValueError(
            f"{name}: expected a non-empty N x D array of embeddings, got shape {x.shape}"
        )
    if x.dtype not in (np.float32, np.float64):  # float64 stays: the numpy references need it
        x = x.astype(np.float32)
    if not np.isfinite(x).all():
        raise ValueError(f"{name}: embeddings hold NaN or infinite values (a diverged model?)")
    return x


def cosine_similarity(a, b) -> float:
    """The article's similarity of two feature vectors: a . b / (|a| |b|)."""
    a = np.ravel(checks.array(a, "a", what="a feature vector", dtype=np.float64, finite=True))
    b = np.ravel(checks.array(b, "b", what="a feature vector", dtype=np.float64, finite=True))
    if a.shape != b.shape:
        raise ValueError(f"expected two feature vectors of one length, got {a.shape} and {b.shape}")
    if not np.linalg.norm(a) or not np.linalg.norm(b):
        raise ValueError("expected two non-zero feature vectors, got a zero vector (no direction)")
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


def feature_table(features, files=None):
    """The article's DataFrame: one row per gallery image, its ``file`` and its ``features``
    vector."""
    import pandas as pd

    features = _embeddings(features, "features")
    files = [f"{i}.jpg" for i in range(len(features))] if files is None else list(files)
    if len(files) != len(features):
        raise ValueError(f"{len(features)} feature vectors but {len(files)} file names")
    return pd.DataFrame({"file": files, "features": list(features)})


def search_rowwise(query, table, k: int = 5):
    """The article's search: a similarity per row with ``apply``, sorted, the top ``k`` rows."""
    if not hasattr(table, "assign") or "features" not in getattr(table, "columns", ()):
        raise TypeError(
            f"table: expected feature_table(...)'s DataFrame, got {checks.describe(table)}"
        )
    checks.integer(k, "k")
    if not 1 <= k <= len(table):
        raise ValueError(f"k must be in 1..{len(table)} (the gallery's size), got {k}")
    query = np.ravel(query)
    scored = table.assign(similarity=table["features"].apply(lambda f: cosine_similarity(query, f)))
    return scored.sort_values("similarity", ascending=False, kind="stable").head(k)


def normalise(x) -> np.ndarray:
    """Rows scaled to unit length, so a matrix product gives cosine similarities."""
    x = _embeddings(x, "embeddings")
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def search(queries, gallery, k: int = 5, exclude_self: bool = False, batch_size: int = 1024):
    """The ``k`` most cosine-similar gallery rows of each query: (indices, similarities), Q x k
    each,
    most similar first (ties: lower index first).

    One normalised matrix product and a partial sort per batch of ``batch_size`` queries, so a
    100 000-image gallery fits in memory. ``exclude_self`` (queries = the gallery itself) leaves
    each
    query out of its own results.
    """
    q, g = _embeddings(queries, "queries"), _embeddings(gallery, "gallery")
    zero = np.flatnonzero(~np.any(q, axis=1))
    if zero.size:  # no direction: every gallery row would tie at similarity 0
        raise ValueError(
            f"expected non-zero query vectors (as cosine_similarity), got zero vectors at rows "
            f"{zero[:5].tolist()}"
        )
    q, g = normalise(q), normalise(g)
    checks.integer(k, "k")
    checks.integer(batch_size, "batch_size", 1)
    if q.shape[1] != g.shape[1]:
        raise ValueError(f"queries have {q.shape[1]} dimensions, the gallery {g.shape[1]}")
    if exclude_self and len(q) != len(g):
        raise ValueError(
            f"exclude_self needs the gallery as queries: {len(q)} queries, {len(g)} rows"
        )
    available = len(g) - exclude_self
    if not 1 <= k <= available:
        raise ValueError(f"k must be in 1..{available} (the gallery's size), got {k}")
    indices, similarities = [], []
    for start in range(0, len(q), batch_size):
        s = q[start : start + batch_size] @ g.T
        if exclude_self:
            rows = np.arange(len(s))
            s[rows, start + rows] = -np.inf
        top = _top_k(s, k)
        top_s = np.take_along_axis(s, top, 1)
        indices.append(top)
        similarities.append(top_s)
    return np.concatenate(indices), np.concatenate(similarities)


def _top_k(s: np.ndarray, k: int) -> np.ndarray:
    """Column indices of the ``k`` largest values of each row of ``s``, largest first, ties broken
    by the lower index (as a stable sort would).

    On a wide ``s`` the values are first cut to the ``k`` blocks of columns with the largest
    maxima (the ``k`` largest values lie in them), so the partial sort sees a few thousand values
    a row, not the whole gallery; rows where a block left out ties on its maximum take every
    column."""
    n = s.shape[1]
    block = math.isqrt(n // k)
    if block < 2 or n // block < 2 * k:
        return _top_k_of(s, k)
    maxima = np.maximum.reduceat(s, np.arange(0, n, block), axis=1)
    best = np.argpartition(maxima, -(k + 1), axis=1)[:, -(k + 1) :]
    best_maxima = -np.sort(-np.take_along_axis(maxima, best, 1), axis=1)
    tied = best_maxima[:, k - 1] == best_maxima[:, k]
    best = np.sort(np.take_along_axis(best, _top_k_of(np.take_along_axis(maxima, best, 1), k), 1))
    columns = (best[:, :, None] * block + np.arange(block)).reshape(len(s), -1)  # ascending
    values = np.where(
        columns < n, np.take_along_axis(s, np.minimum(columns, n - 1), 1), -np.inf
    )  # the last block may be short
    top = np.take_along_axis(columns, _top_k_of(values, k), 1)
    if tied.any():
        top[tied] = _top_k_of(s[tied], k)
    return top


def _top_k_of(s: np.ndarray, k: int) -> np.ndarray:
    """``_top_k`` by one partial sort of every row."""
    if k < s.shape[1]:
        top = np.argpartition(s, -k, axis=1)[:, -k:]
        kth = np.take_along_axis(s, top, 1).min(1, keepdims=True)
        tied = (s >= kth).sum(1) > k  # rows where the k-th value ties with values left outside
    else:
        top, tied = np.tile(np.arange(s.shape[1]), (len(s), 1)), np.zeros(len(s), bool)
    top_s = np.take_along_axis(s, top, 1)
    top = np.take_along_axis(top, np.lexsort((top, -top_s), axis=1), 1)
    if tied.any():
        top[tied] = np.argsort(-s[tied], axis=1, kind="stable")[:, :k]
    return top

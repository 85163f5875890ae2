"""Figures shared by the chapters (matplotlib, framework-free).

Functions return a ``matplotlib.figure.Figure`` that pyplot does not manage: a notebook shows it
once by ending a cell with it, and nothing piles up in pyplot's figure list.
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib.figure import Figure

from . import checks


def _pictures(images, name: str = "images") -> list:
    """A non-empty sequence of pictures (H x W x C) or 2-D maps, as arrays; colour pictures as
    uint8 (float ones in [0, 1] or [0, 255] converted: matplotlib would clip the latter)."""
    if isinstance(images, (str, bytes, dict)) or not hasattr(images, "__len__") or not len(images):
        raise ValueError(
            f"{name}: expected a non-empty batch of pictures, got {checks.describe(images)}"
        )
    out = []
    for image in images:
        image = checks.array(image, name, what="a picture H x W x C or a 2-D map")
        if image.ndim == 3 and image.shape[-1] == 1:
            image = image[..., 0]
        if image.ndim == 3 and image.shape[-1] in (3, 4):
            image = checks.to_uint8(image, name)
        elif image.ndim != 2:
            raise ValueError(
                f"{name}: expected pictures H x W x C (C = 1, 3, 4) or 2-D maps, "
                f"got shape {image.shape}"
            )
        out.append(image)
    return out


def _table(table, what: str):
    if not hasattr(table, "columns") or not hasattr(table, "index"):
        raise TypeError(f"expected a pandas DataFrame ({what}), got {checks.describe(table)}")


def _grid(n: int, ncols: int, size: float):
    ncols = min(ncols, n)
    nrows = math.ceil(n / ncols)
    fig = Figure(figsize=(size * ncols, size * nrows), layout="tight")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    return fig, axes.flat


def show_images(images, titles=None, ncols: int = 8, size: float = 2.0, cmap="gray"):
    """A grid of uint8 NHWC pictures (float ones in [0, 1] or [0, 255]; or float 2-D maps),
    optionally titled."""
    images = _pictures(images)
    checks.integer(ncols, "ncols", 1)
    if titles is not None and len(titles) < len(images):
        raise ValueError(f"titles: expected one per picture ({len(images)}), got {len(titles)}")
    fig, axes = _grid(len(images), ncols, size)
    for i, (ax, image) in enumerate(zip(axes, images)):
        ax.imshow(image, cmap=cmap)
        if titles is not None:
            ax.set_title(str(titles[i]), fontsize=9)
    return fig


def _framed_cells(ax, grid: np.ndarray, cmap, vmin: float, vmax: float, fmt: str):
    """``grid`` as coloured cells, each framed in black and labelled with its value."""
    ax.axis("on")
    ax.imshow(grid, cmap=cmap, vmin=vmin, vmax=vmax)
    rows, cols = grid.shape
    ax.set_xticks(np.arange(-0.5, cols), minor=True)
    ax.set_yticks(np.arange(-0.5, rows), minor=True)
    ax.grid(which="minor", color="black", linewidth=1.5)
    ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)
    for spine in ax.spines.values():
        spine.set(color="black", linewidth=1.5)
    middle = (vmin + vmax) / 2
    for (i, j), value in np.ndenumerate(grid):
        dark = value < middle if cmap == "gray" else abs(value - middle) > 0.6 * (vmax - middle)
        ax.text(
            j,
            i,
            format(value, fmt),
            ha="center",
            va="center",
            fontsize=9,
            color="white" if dark else "black",
        )


def plot_toy(images: dict, weights: dict, size: float = 1.8):
    """The toy recogniser: each grey image (0..255) above its +-1 weights, on a diverging map
    (-1 blue, +1 red), every cell framed and labelled, so white cells show on a white page."""
    for value, name in ((images, "images"), (weights, "weights")):
        if not isinstance(value, dict) or not value:
            raise TypeError(
                f"{name}: expected a non-empty dict {{name: H x W array}}, got "
                f"{checks.describe(value)}"
            )
    if list(images) != list(weights):
        raise ValueError(
            f"weights: expected the same names as images {list(images)}, got {list(weights)}"
        )
    fig, axes = _grid(2 * len(images), len(images), size)
    axes = list(axes)
    for i, name in enumerate(images):
        image = checks.array(
            images[name], f"images[{name!r}]", 2, "an H x W grey image", np.float64, finite=True
        )
        w = checks.array(
            weights[name], f"weights[{name!r}]", 2, "H x W weights", np.float64, finite=True
        )
        _framed_cells(axes[i], image, "gray", 0, 255, ".0f")
        _framed_cells(axes[len(images) + i], w, "coolwarm", -1, 1, "+.0f")
        axes[i].set_title(name, fontsize=9)
        axes[len(images) + i].set_title(f"best w: {name}", fontsize=9)
    return fig


def show_feature_maps(maps: np.ndarray, n: int = 16, ncols: int = 8, size: float = 1.5, title=None):
    """The first ``n`` channels of one H x W x C feature map, each scaled to its own range."""
    maps = checks.array(maps, "maps", 3, "one H x W x C feature map", finite=True)
    n = min(checks.integer(n, "n", 1), maps.shape[-1])
    fig = show_images(
        [maps[..., c] for c in range(n)], [f"ch {c}" for c in range(n)], ncols, size, "viridis"
    )
    if title:
        fig.suptitle(title)
    return fig


def plot_confusion_matrix(cm, class_names, normalize: bool = False, title=None):
    """A confusion-matrix heatmap (rows = true class); ``normalize`` shows each row as fractions."""
    if isinstance(class_names, str) or not hasattr(class_names, "__len__") or not len(class_names):
        raise TypeError(
            f"class_names: expected a non-empty list of names, got {checks.describe(class_names)}"
        )
    cm = checks.array(cm, "cm", 2, "a square confusion matrix", float, finite=True)
    if cm.shape != (len(class_names), len(class_names)):
        raise ValueError(
            f"expected a {len(class_names)} x {len(class_names)} matrix, got shape {cm.shape}"
        )
    if normalize:
        cm = cm / np.maximum(cm.sum(1, keepdims=True), 1)
    n = len(class_names)
    fig = Figure(figsize=(1.0 + 0.6 * n, 0.8 + 0.6 * n), layout="tight")
    ax = fig.subplots()
    image = ax.imshow(cm, cmap="Blues")
    fig.colorbar(image, ax=ax, fraction=0.046)
    ax.set(xticks=range(n), yticks=range(n), xlabel="predicted", ylabel="true", title=title)
    ax.set_xticklabels(class_names, rotation=45, ha="right")
    ax.set_yticklabels(class_names)
    for i in range(n):
        for j in range(n):
            ax.text(
                j,
                i,
                f"{cm[i, j]:.2f}" if normalize else f"{cm[i, j]:.0f}",
                ha="center",
                va="center",
                fontsize=8,
                color="white" if cm[i, j] > cm.max() / 2 else "black",
            )
    return fig


def plot_history(history: dict, title=None, metrics=("loss", "accuracy")):
    """Learning curves of a ``fit`` history: each of ``metrics`` per epoch, training and
    validation."""
    if not isinstance(history, dict):
        raise TypeError(f"expected a history dict with 'loss', got {checks.describe(history)}")
    if "loss" not in history:
        raise ValueError(f"expected a history dict with 'loss', got keys {sorted(history)}")
    fig = Figure(figsize=(4.5 * len(metrics), 3.2), layout="tight")
    for ax, metric in zip(fig.subplots(1, len(metrics), squeeze=False).flat, metrics):
        for key in (metric, f"val_{metric}"):
            if history.get(key):
                ax.plot(
                    range(1, len(history[key]) + 1),
                    history[key],
                    "o-",
                    label="validation" if key.startswith("val_") else "training",
                )
        ax.set(xlabel="epoch", ylabel=metric)
        ax.legend()
    if title:
        fig.suptitle(title)
    return fig


def plot_activation_maps(activations: dict, n: int = 8, size: float = 1.3, image=None):
    """One row per layer: the first ``n`` channels of each H x W x C map, each scaled to its own
    range."""
    if not isinstance(activations, dict) or not activations:
        raise ValueError(
            f"expected a non-empty dict {{layer name: H x W x C map}}, got "
            f"{checks.describe(activations)}"
        )
    maps = {
        name: checks.array(a, f"layer {name!r}", 3, "one H x W x C map", finite=True)
        for name, a in activations.items()
    }
    checks.integer(n, "n", 1)
    cols = n + (image is not None)
    fig = Figure(figsize=(size * cols, size * len(maps)), layout="tight")
    axes = fig.subplots(len(maps), cols, squeeze=False)
    for row, (name, a) in zip(axes, maps.items()):
        for ax in row:
            ax.axis("off")
        if image is not None:
            row[0].imshow(np.asarray(image).squeeze(), cmap="gray")
        for c, ax in enumerate(row[cols - n :][: a.shape[-1]]):
            ax.imshow(a[..., c], cmap="viridis")
        row[0].set_title(f"{name} {a.shape[0]}x{a.shape[1]}x{a.shape[2]}", fontsize=8, loc="left")
    return fig


def show_overlays(images, maps: dict, titles=None, alpha: float = 0.5, size: float = 2.0):
    """One row per picture: the picture, then each of ``maps`` ({column title: N x h x w maps})
    normalised, resized and blended on it as a heat map."""
    from .saliency import overlay

    images = checks.images(images, convert=True, channels=(3,))
    if not isinstance(maps, dict) or not maps:
        raise TypeError(
            f"maps: expected a non-empty dict {{title: N x h x w maps}}, got "
            f"{checks.describe(maps)}"
        )
    for name, m in maps.items():
        if len(m) != len(images):
            raise ValueError(f"maps {name!r}: expected {len(images)} maps, got {len(m)}")
    cols = 1 + len(maps)
    fig = Figure(figsize=(size * cols, size * len(images)), layout="tight")
    axes = fig.subplots(len(images), cols, squeeze=False)
    for i, row in enumerate(axes):
        row[0].imshow(images[i])
        for ax, (name, m) in zip(row[1:], maps.items()):
            ax.imshow(overlay(images[i], m[i], alpha))
            if i == 0:
                ax.set_title(str(name), fontsize=9)
        if titles is not None:
            row[0].set_title(str(titles[i]), fontsize=9)
        for ax in row:
            ax.axis("off")
    return fig


def plot_accuracy_vs_data(table, title=None):
    """Test accuracy against training images per class: one line per column of a DataFrame
    indexed by images per class (missing values are skipped), on a logarithmic x axis."""
    _table(table, "index = images per class, columns = methods")
    if len(table) == 0 or len(table.columns) == 0:
        raise ValueError(
            "expected a non-empty DataFrame: index = images per class, columns = methods"
        )
    fig = Figure(figsize=(5.5, 3.8), layout="tight")
    ax = fig.subplots()
    for name in table.columns:
        points = table[name].dropna()
        ax.plot(points.index, points.values, "o-", label=str(name))
    ax.set(xscale="log", xlabel="training images per class", ylabel="test accuracy", title=title)
    ax.set_xticks(list(table.index), [str(n) for n in table.index])
    ax.legend()
    return fig


def show_triplets(anchors, positives, negatives, n: int = 8, size: float = 1.4):
    """The first ``n`` triplets: anchors on the top row, positives below, negatives at the bottom
    (pictures as ``show_images`` takes them)."""
    rows = {
        name: _pictures(r, name)
        for name, r in (("anchor", anchors), ("positive", positives), ("negative", negatives))
    }
    n = min(checks.integer(n, "n", 1), *(len(r) for r in rows.values()))
    if n < 1:
        raise ValueError("expected at least one triplet")
    fig = Figure(figsize=(size * n, size * 3.2), layout="tight")
    axes = fig.subplots(3, n, squeeze=False)
    for row, (name, images) in zip(axes, rows.items()):
        for j, ax in enumerate(row):
            ax.imshow(images[j], cmap="gray")
            ax.set_xticks([])
            ax.set_yticks([])
        row[0].set_ylabel(name)
    return fig


def show_retrieval(queries, results, similarities, titles=None, size: float = 1.5):
    """One row per query: the query, then its results (Q x k images) titled with their similarity;
    ``titles`` (Q x k strings, e.g. class names) go under each result. Pictures as ``show_images``
    takes them."""
    queries = _pictures(queries, "queries")
    similarities = checks.array(similarities, "similarities", 2, "Q x k similarities", float)
    if not hasattr(results, "__len__") or isinstance(results, str):
        raise TypeError(f"results: expected Q x k pictures, got {checks.describe(results)}")
    if len(results) != len(queries) or similarities.shape[:1] != (len(queries),):
        raise ValueError(
            f"expected one row of results and similarities per query ({len(queries)}), "
            f"got {len(results)} and {similarities.shape}"
        )
    k = similarities.shape[1]
    results = [_pictures(r, "results") for r in results]
    if any(len(r) < k for r in results):
        raise ValueError(f"results: expected {k} pictures per query (one per similarity)")
    fig = Figure(figsize=(size * (k + 1), size * 1.25 * len(queries)), layout="tight")
    axes = fig.subplots(len(queries), k + 1, squeeze=False)
    for i, row in enumerate(axes):
        for j, ax in enumerate(row):
            ax.imshow(queries[i] if j == 0 else results[i][j - 1], cmap="gray")
            ax.set_xticks([])
            ax.set_yticks([])
            if j:
                ax.set_title(f"{similarities[i, j - 1]:.3f}", fontsize=9)
                if titles is not None:
                    ax.set_xlabel(str(titles[i][j - 1]), fontsize=8)
        row[0].set_title("query", fontsize=9, fontweight="bold")
    return fig


def plot_embeddings_2d(embeddings: dict, labels, class_names, size: float = 3.2, seed: int = 0):
    """One panel per entry of ``embeddings`` ({title: N x D}): the first two principal components
    (scikit-learn's PCA) of the rows scaled to unit length, the geometry a cosine search sees, one
    colour per class of ``labels``."""
    from .retrieval import normalise

    from sklearn.decomposition import PCA

    labels = checks.labels(labels)
    if not isinstance(embeddings, dict) or not embeddings:
        raise TypeError(
            f"embeddings: expected a non-empty dict {{title: N x D}}, got "
            f"{checks.describe(embeddings)}"
        )
    if isinstance(class_names, str) or not hasattr(class_names, "__len__"):
        raise TypeError(
            f"class_names: expected a list of names, got {checks.describe(class_names)}"
        )
    for name, x in embeddings.items():
        if np.ndim(x) != 2 or len(x) != len(labels) or np.shape(x)[1] < 2:
            raise ValueError(f"{name!r}: expected {len(labels)} x D embeddings, got {np.shape(x)}")
    fig = Figure(figsize=(size * len(embeddings), size + 0.5), layout="tight")
    axes = fig.subplots(1, len(embeddings), squeeze=False).flat
    for ax, (name, x) in zip(axes, embeddings.items()):
        xy = PCA(2, random_state=seed).fit_transform(normalise(x).astype(np.float64))
        for c, class_name in enumerate(class_names):
            ax.scatter(*xy[labels == c].T, s=5, alpha=0.6, label=class_name)
        ax.set(title=name, xticks=[], yticks=[])
    axes[0].legend(fontsize=7, markerscale=2)
    return fig


def plot_scores(table, title=None, ylabel="score"):
    """Grouped bars: one group per row of a DataFrame (methods), one bar per column (metrics)."""
    _table(table, "rows = methods, columns = metrics")
    if len(table) == 0 or len(table.columns) == 0:
        raise ValueError("expected a non-empty DataFrame: rows = methods, columns = metrics")
    fig = Figure(figsize=(1.6 + 1.3 * len(table), 3.6), layout="tight")
    ax = fig.subplots()
    width = 0.8 / len(table.columns)
    for j, column in enumerate(table.columns):
        bars = ax.bar(
            np.arange(len(table)) + (j - (len(table.columns) - 1) / 2) * width,
            table[column].values,
            width,
            label=str(column),
        )
        ax.bar_label(bars, fmt="%.2f", fontsize=7)
    ax.set_xticks(np.arange(len(table)), [str(i) for i in table.index], rotation=15, ha="right")
    ax.set(ylabel=ylabel, title=title, ylim=(0, 1.05))
    ax.legend(fontsize=8)
    return fig


def plot_curve(series, xlabel: str, ylabel: str, baselines: dict | None = None, title=None):
    """A pandas Series as points on a line (index on x), with ``baselines`` ({name: value}) drawn as
    dashed horizontal lines for comparison."""
    if not hasattr(series, "index") or not hasattr(series, "values") or hasattr(series, "columns"):
        raise TypeError(f"series: expected a pandas Series, got {checks.describe(series)}")
    if baselines is not None and not isinstance(baselines, dict):
        raise TypeError(
            f"baselines: expected a dict {{name: value}}, got {checks.describe(baselines)}"
        )
    if len(series) == 0:
        raise ValueError("expected a non-empty Series")
    fig = Figure(figsize=(5.5, 3.6), layout="tight")
    ax = fig.subplots()
    ax.plot(series.index, series.values, "o-", label=str(series.name or ylabel))
    for (name, value), style in zip((baselines or {}).items(), ("--", ":", "-.")):
        ax.axhline(value, linestyle=style, color="grey", label=name)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.legend(fontsize=8)
    return fig


def plot_precision_recall(curves: dict, title=None):
    """Precision against recall, one line per representation: ``curves`` is
    ``{name: (recall levels, precisions)}`` (``metrics.precision_recall``'s result)."""
    if not isinstance(curves, dict) or not curves:
        raise TypeError(
            f"curves: expected a non-empty dict {{name: (recall, precision)}}, got "
            f"{checks.describe(curves)}"
        )
    fig = Figure(figsize=(5.5, 3.8), layout="tight")
    ax = fig.subplots()
    for name, pair in curves.items():
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise ValueError(
                f"curves[{name!r}]: expected (recall, precision), got {checks.describe(pair)}"
            )
        recall, precision = (checks.array(a, f"curves[{name!r}]", 1, "1-D numbers") for a in pair)
        if recall.shape != precision.shape:
            raise ValueError(
                f"curves[{name!r}]: expected recall and precision of one length, got "
                f"{len(recall)} and {len(precision)}"
            )
        ax.plot(recall, precision, "o-", markersize=3, label=str(name))
    ax.set(
        xlabel="recall", ylabel="interpolated precision", title=title, xlim=(0, 1), ylim=(0, 1.02)
    )
    ax.legend(fontsize=8)
    return fig


# --- Chapter 4 (SimCLR)
# --------------------------------------------------------------------------------------
def _picture_batch(x, name):
    """N x H x W x C pictures (1, 3 or 4 channels), finite, as numpy (for the figures)."""
    a = checks.array(x, name, 4, "N x H x W x C pictures", finite=True)
    if a.shape[-1] not in (1, 3, 4):
        raise ValueError(
            f"{name}: expected N x H x W x C pictures with 1, 3 or 4 channels, got shape {a.shape}"
        )
    return a


def _table_with(table, columns, name="table"):
    """A non-empty DataFrame holding ``columns``."""
    import pandas as pd

    checks.instance(table, pd.DataFrame, name, f"a pandas DataFrame with columns {list(columns)}")
    missing = [c for c in columns if c not in table.columns]
    if missing or table.empty:
        raise ValueError(
            f"{name}: expected a non-empty DataFrame with columns {list(columns)}, got columns "
            f"{list(table.columns)} and {len(table)} rows"
        )
    return table


def plot_two_views(images, view1, view2, size: float = 1.2):
    """Three rows: the originals and their two augmented views (uint8 NHWC, or float in [0, 1])."""
    rows = [("original", images), ("view 1", view1), ("view 2", view2)]
    rows = [(name, _picture_batch(row, name)) for name, row in rows]
    n = len(rows[0][1])
    if any(len(row) != n for _, row in rows):
        raise ValueError(
            f"expected as many views as originals ({n}), got {[len(row) for _, row in rows]}"
        )
    fig = Figure(figsize=(size * n + 0.8, size * 3), layout="tight")
    axes = fig.subplots(3, n, squeeze=False)
    for r, (name, row) in enumerate(rows):
        for c in range(n):
            image = np.asarray(row[c])
            axes[r, c].imshow(
                image.squeeze(-1) if image.shape[-1] == 1 else image,
                cmap="gray",
                vmin=0,
                vmax=255 if image.dtype == np.uint8 else 1,
            )
            axes[r, c].set_xticks([])
            axes[r, c].set_yticks([])
        axes[r, 0].set_ylabel(name)
    return fig


def plot_info_nce(steps: dict):
    """The similarity matrix, the diagonal mask, the same-image matrix and the logits as heat
    maps."""
    keys = ("similarity", "mask", "same_image", "logits")
    if not isinstance(steps, dict) or any(k not in steps for k in keys):
        raise (ValueError if isinstance(steps, dict) else TypeError)(
            f"expected the dict info_nce_steps returns (keys {list(keys)}), got "
            f"{checks.describe(steps)}"
        )
    for k in keys:
        checks.array(steps[k], f"steps[{k!r}]", 2, "a 2-D matrix", finite=True)
    panels = [
        ("similarity (N x N)", steps["similarity"], "viridis"),
        ("mask: the diagonal", steps["mask"], "Greys"),
        ("positives: same image", steps["same_image"] & ~steps["mask"], "Greys"),
        (
            f"logits {steps['logits'].shape[0]} x {steps['logits'].shape[1]} (column 0 = positive)",
            steps["logits"],
            "viridis",
        ),
    ]
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
        raise ValueError(
            "losses: expected a list of losses or a non-empty dict of named curves, got {}"
        )
    for name, values in curves.items():
        checks.array(
            values,
            f"losses[{name!r}]" if name else "losses",
            1,
            "a 1-D list of losses (one per epoch)",
            finite=True,
        )
    fig = Figure(figsize=(5, 3.2), layout="tight")
    ax = fig.subplots()
    for name, values in curves.items():
        ax.plot(range(1, len(values) + 1), values, "o-", label=name or None)
    ax.set(xlabel="epoch", ylabel=ylabel, title=title)
    if any(curves):
        ax.legend(fontsize=8)
    return fig


def plot_results(
    table, columns=("linear top-1", "kNN top-1"), references: dict | None = None, title=None
):
    """Grouped bars of ``columns`` for every row of ``table`` (a DataFrame), with horizontal lines
    at ``references`` (name -> accuracy, e.g. the article's numbers)."""
    if isinstance(columns, str) or not columns:
        raise TypeError(
            f"columns: expected a non-empty list of column names, got {checks.describe(columns)}"
        )
    _table_with(table, columns)
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


def plot_sweep(table, title=None, baselines=None, ylabel="kNN top-1 (validation)"):
    """One line per batch size: an accuracy column against temperature (a long DataFrame with
    columns 'temperature', 'batch size' and 'kNN top-1'); ``baselines`` ({name: value}, e.g. the
    random-weights floor) as dashed horizontal lines."""
    _table_with(table, ("temperature", "batch size", "kNN top-1"))
    baselines = {} if baselines is None else baselines
    if not isinstance(baselines, dict):
        raise TypeError(f"baselines: expected {{name: value}}, got {checks.describe(baselines)}")
    for name, value in baselines.items():
        checks.number(value, f"baselines[{name!r}]")
    temperatures = checks.array(
        table["temperature"],
        "table['temperature']",
        1,
        "temperatures",
        dtype=np.float64,
        finite=True,
    )
    if (temperatures <= 0).any():
        raise ValueError(
            f"table['temperature']: expected temperatures > 0 (a log axis), got "
            f"{temperatures.min()}"
        )
    fig = Figure(figsize=(5.5, 3.6), layout="tight")
    ax = fig.subplots()
    for batch, rows in table.groupby("batch size"):
        rows = rows.sort_values("temperature")
        ax.plot(rows["temperature"], rows["kNN top-1"], "o-", label=f"batch {batch}")
    for (name, value), style in zip(baselines.items(), ("--", ":", "-.")):
        ax.axhline(value, color="0.35", linestyle=style, label=name)
    ax.set(xscale="log", xlabel="temperature", ylabel=ylabel, title=title)
    ax.legend(fontsize=8)
    return fig


def plot_embedding(points, labels, class_names, title=None):
    """A 2-D scatter of ``points`` coloured by ``labels``."""
    points, labels = np.asarray(points), np.asarray(labels)
    if points.ndim != 2 or points.shape[1] != 2 or len(points) != len(labels):
        raise ValueError(
            f"expected N x 2 points and N labels, got {points.shape} and {labels.shape}"
        )
    fig = Figure(figsize=(6.5, 5), layout="tight")
    ax = fig.subplots()
    for c, name in enumerate(class_names):
        sel = labels == c
        ax.scatter(points[sel, 0], points[sel, 1], s=5, color=f"C{c % 10}", label=name)
    ax.set(xticks=[], yticks=[], title=title)
    ax.legend(fontsize=7, markerscale=3, loc="center left", bbox_to_anchor=(1, 0.5))
    return fig

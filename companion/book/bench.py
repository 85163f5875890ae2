"""``make bench``: the companion beside the libraries people would use instead (lightly,
pytorch-metric-learning, faiss, pytorch-grad-cam, torch's own convolution).

Each comparison runs in one process on one set of inputs: it first asserts that both sides agree
(to the tolerance it prints), then times them interleaved round by round, so that load from other
work on the machine falls on both alike, and reports ours / peer. TensorFlow never shares a process
with torch: its edition runs in ``bench_tf``, a subprocess reading the torch side's arrays from a
file. The last run becomes ``book/performance.md`` and ``book/figures/performance_search.svg``.
Frameworks are imported inside the functions, so that importing this module loads none.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

import numpy as np

from .. import checks, conv, cpu_model, retrieval, saliency
from .runner import committed_results

REPEATS = 7
TEMPERATURE = 0.07
MARGIN = 0.2
PER_CLASS = 16  # images of one class in a triplet batch (64 classes at batch 1,024)
PML_NTXENT_LARGEST = 256  # at batch 1,024 its NTXentLoss asks for 34 GB (pairs x pairs)
PML_REPEATS = 2  # its NTXentLoss takes seconds a call at batch 256
ROWWISE_QUERIES = 10  # the row-by-row apply times this many queries; the table scales it to 1,000
GOALS = {  # (comparison, size) -> the most ours / peer may be (issue 24)
    ("info-NCE fwd+bwd", "batch 1024"): 1.0,
    ("cosine top-10 search", "100,000 x 256"): 1.5,
    ("Grad-CAM", "8 x 224 px"): 1.0,
}
PACKAGES = (
    "numpy",
    "torch",
    "tensorflow",
    "lightly",
    "pytorch-metric-learning",
    "faiss-cpu",
    "grad-cam",
)
FIGURE = "figures/performance_search.svg"


def timings(fns: dict, repeats: int = REPEATS, warmup: int = 1) -> dict:
    """Seconds of each callable in ``fns`` (name -> function of no arguments), called in turn
    round after round, the first ``warmup`` rounds left out: ``{name: (median, spread)}``, the
    spread being the interquartile range."""
    checks.instance(fns, dict, "fns", "a dict {name: function of no arguments}")
    if not fns or not all(callable(f) for f in fns.values()):
        raise TypeError(f"fns: expected a dict {{name: function}}, got {checks.describe(fns)}")
    checks.integer(repeats, "repeats", 1)
    checks.integer(warmup, "warmup", 0)
    seconds = {name: [] for name in fns}
    for round_ in range(warmup + repeats):
        for name, f in fns.items():
            start = time.perf_counter()
            f()
            if round_ >= warmup:
                seconds[name].append(time.perf_counter() - start)
    return {name: _summary(s) for name, s in seconds.items()}


def _summary(seconds: list) -> tuple[float, float]:
    q1, _, q3 = statistics.quantiles(seconds, n=4) if len(seconds) > 1 else seconds * 3
    return statistics.median(seconds), q3 - q1


def _agree(ours, theirs, tolerance: float, what: str = "max Δ") -> str:
    """Fail unless the two arrays agree within ``tolerance``; the check as the table shows it."""
    ours, theirs = np.asarray(ours, np.float64), np.asarray(theirs, np.float64)
    if ours.shape != theirs.shape:
        raise AssertionError(f"{what}: shapes differ, {ours.shape} and {theirs.shape}")
    gap = float(np.max(np.abs(ours - theirs))) if ours.size else 0.0
    if not gap <= tolerance:
        raise AssertionError(f"{what} = {gap:.3g}, above the tolerance {tolerance:g}")
    return f"{what} {gap:.1g} ≤ {tolerance:g}"


def _row(comparison: str, size: str, peer: str, times: dict, agreement: str) -> dict:
    ours, theirs = times["ours"], times["peer"]
    row = {
        "comparison": comparison,
        "size": size,
        "peer": peer,
        "ours_s": ours[0],
        "ours_spread": ours[1],
        "peer_s": theirs[0],
        "peer_spread": theirs[1],
        "ratio": ours[0] / theirs[0],
        "goal": GOALS.get((comparison, size)),
        "agreement": agreement,
    }
    print(_line(row), flush=True)
    return row


def _line(row: dict) -> str:
    goal = "" if row["goal"] is None else f" (goal ≤ {row['goal']:g})"
    return (
        f"{row['comparison']:<28} {row['size']:<16} ours {_ms(row, 'ours')} | {row['peer']} "
        f"{_ms(row, 'peer')} | ratio {_ratio(row)}{goal} | {row['agreement']}"
    )


def _ratio(row: dict) -> str:
    return f"{row['ratio']:.2f}" if row["ratio"] >= 0.01 else f"{row['ratio']:.1g}"


def _ms(row: dict, side: str) -> str:
    return f"{1000 * row[f'{side}_s']:.3g} ± {1000 * row[f'{side}_spread']:.2g} ms"


# --- info-NCE ------------------------------------------------------------------------------------
def _companion_info_nce(batch: int):
    import torch.nn.functional as F

    from ..torch import simclr

    return lambda x: F.cross_entropy(*simclr.info_nce_loss(x, batch, 2, TEMPERATURE))


def _info_nce_peers(batch: int, skip_pml: bool) -> dict:
    import torch
    from lightly.loss import NTXentLoss as Lightly
    from pytorch_metric_learning.losses import NTXentLoss as PML

    lightly, pml, labels = Lightly(TEMPERATURE), PML(TEMPERATURE), torch.arange(batch).repeat(2)
    peers = {"lightly NTXentLoss": lambda x: lightly(x[:batch], x[batch:])}
    if not skip_pml:
        peers["pytorch-metric-learning NTXentLoss"] = lambda x: pml(x, labels)
    return peers


def _value_and_gradient(loss, x):
    import torch

    x = x.detach().requires_grad_(True)
    value = loss(x)
    return value.detach(), torch.autograd.grad(value, x)[0]


def _info_nce_rows(features: dict, repeats: int = REPEATS) -> tuple[list, dict]:
    """The companion's info-NCE (torch edition) beside lightly's and pytorch-metric-learning's,
    forward and forward+backward, for ``features`` ({batch: 2·batch x D float32 array, the two
    views one after the other}); also the companion's loss and gradient for the TensorFlow side."""
    import torch

    rows, reference = [], {}
    for batch, array in features.items():
        x, ours = torch.from_numpy(array), _companion_info_nce(batch)
        value, gradient = _value_and_gradient(ours, x)
        reference[batch] = {"features": array, "loss": value.numpy(), "grad": gradient.numpy()}
        skip = batch > PML_NTXENT_LARGEST
        for peer, theirs in _info_nce_peers(batch, skip).items():
            agreement = _loss_agreement(ours, theirs, x, 1e-5, 1e-7)
            rounds = min(repeats, PML_REPEATS) if peer.startswith("pytorch") else repeats
            with torch.no_grad():
                times = timings({"ours": lambda: ours(x), "peer": lambda: theirs(x)}, rounds)
            rows.append(_row("info-NCE forward", f"batch {batch}", peer, times, agreement))
            times = _forward_backward_times(ours, theirs, x, rounds)
            rows.append(_row("info-NCE fwd+bwd", f"batch {batch}", peer, times, agreement))
    return rows, reference


# --- triplets ------------------------------------------------------------------------------------
def _triplet_inputs(batch: int, rng):
    import torch

    labels = torch.arange(batch // PER_CLASS).repeat_interleave(PER_CLASS)
    return torch.from_numpy(rng.standard_normal((batch, 128), dtype=np.float32)), labels


def _squared_l2():
    from pytorch_metric_learning.distances import LpDistance

    return LpDistance(normalize_embeddings=False, p=2, power=2)


def _mining_agreement(ours, pml_triplets, distances) -> str:
    """Ours picks, for each positive pair, the closest negative farther than the positive; every
    pair with a semi-hard negative (pytorch-metric-learning's set: farther, within the margin) must
    get the closest of that set (the same distances given to both)."""
    a, p, n = (t.numpy() for t in pml_triplets)
    d = distances.numpy()
    closest = np.full(d.shape, np.inf)
    np.minimum.at(closest, (a, p), d[a, n])
    pairs = np.isfinite(closest)
    chosen = d[np.nonzero(pairs)[0], ours.numpy()[pairs]]
    return _agree(chosen, closest[pairs], 1e-6, f"{pairs.sum()} pairs: max Δ d(a, n)")


def _loss_agreement(ours, peer, x, value_tolerance: float, gradient_tolerance: float, rows=None):
    """Fail unless two losses of ``x`` give one value and one gradient, within the tolerances;
    ``rows``: only these rows of the gradient are compared."""
    value, gradient = _value_and_gradient(ours, x)
    peer_value, peer_gradient = _value_and_gradient(peer, x)
    rows = slice(None) if rows is None else rows
    return (
        _agree(value, peer_value, value_tolerance, "Δ loss")
        + "; "
        + _agree(gradient[rows], peer_gradient[rows], gradient_tolerance, "max Δ grad")
    )


def _away_from_the_kink(x, triplets) -> np.ndarray:
    """Rows of ``x`` in no triplet whose hinge d(a, p) - d(a, n) + margin lies within 1e-4 of 0:
    float32 rounding may put such a triplet on either side, and one triplet moves the gradient
    of its three rows by a whole step."""
    a, p, n = (np.asarray(t) for t in triplets)
    x = np.asarray(x, np.float64)
    hinge = ((x[a] - x[p]) ** 2).sum(1) - ((x[a] - x[n]) ** 2).sum(1) + MARGIN
    near = np.abs(hinge) < 1e-4
    return np.setdiff1d(np.arange(len(x)), np.concatenate([a[near], p[near], n[near]]))


def _forward_backward_times(ours, peer, x, repeats: int) -> dict:
    return timings(
        {
            "ours": lambda: _value_and_gradient(ours, x),
            "peer": lambda: _value_and_gradient(peer, x),
        },
        repeats,
    )


def _triplet_rows(rng, batches=(256, 1024), repeats: int = REPEATS) -> list:
    """Semi-hard mining and the triplet loss of the companion (torch edition) beside
    pytorch-metric-learning's ``TripletMarginMiner`` and ``TripletMarginLoss``, squared L2. The
    losses are checked on the triplets our mining chose (pytorch-metric-learning mines every
    semi-hard negative within the margin, we the closest one); the last row times each library's
    whole step, its own mining included."""
    import torch
    from pytorch_metric_learning.losses import TripletMarginLoss
    from pytorch_metric_learning.miners import TripletMarginMiner
    from pytorch_metric_learning.reducers import MeanReducer

    from ..torch import triplet

    distance = triplet.DistanceLayer()  # squared L2, as the article
    miner = TripletMarginMiner(MARGIN, type_of_triplets="semihard", distance=_squared_l2())
    loss = TripletMarginLoss(MARGIN, distance=_squared_l2(), reducer=MeanReducer())
    rows = []
    for batch in batches:
        x, labels = _triplet_inputs(batch, rng)

        def ours_mining(x=x, labels=labels):
            return triplet.semi_hard_negatives(triplet.pairwise_distances(x), labels)

        d = miner.distance(x, x)  # one matrix for both: a near tie must not fall either way
        agreement = _mining_agreement(triplet.semi_hard_negatives(d, labels), miner(x, labels), d)
        times = timings({"ours": ours_mining, "peer": lambda: miner(x, labels)}, repeats)
        rows.append(
            _row("semi-hard mining", f"batch {batch}", "pytorch-metric-learning", times, agreement)
        )
        negatives = ours_mining()
        a, p = torch.nonzero(negatives >= 0, as_tuple=True)
        triplets = (a, p, negatives[a, p])

        def ours_given(x, triplets=triplets):
            return triplet.triplet_loss(*distance(*(x[i] for i in triplets)), MARGIN)

        def peer_given(x, labels=labels, triplets=triplets):
            return loss(x, labels, triplets)

        def ours_mined(x, labels=labels):
            return triplet.semi_hard_triplet_loss(labels, x, MARGIN)

        def peer_mined(x, labels=labels):
            return loss(x, labels, miner(x, labels))

        rows_checked = _away_from_the_kink(x, triplets)
        agreement = _loss_agreement(ours_given, peer_given, x, 1e-5, 1e-6, rows_checked)
        times = _forward_backward_times(ours_given, peer_given, x, repeats)
        rows.append(
            _row(
                "triplet loss fwd+bwd (given triplets)",
                f"batch {batch}",
                "pytorch-metric-learning",
                times,
                f"{agreement} ({len(rows_checked)} rows away from the hinge's kink)",
            )
        )
        agreement = _loss_agreement(ours_mined, peer_given, x, 1e-5, 1e-6, rows_checked)
        times = _forward_backward_times(ours_mined, peer_mined, x, repeats)
        rows.append(
            _row(
                "semi-hard triplet loss fwd+bwd",
                f"batch {batch}",
                "pytorch-metric-learning (its miner + loss)",
                times,
                f"{agreement} (on our triplets, {len(rows_checked)} rows away from the kink)",
            )
        )
    return rows


# --- cosine search -------------------------------------------------------------------------------
def _faiss_search(queries, gallery, k: int):
    import faiss

    q, g = queries.copy(), gallery.copy()  # normalize_L2 works in place
    faiss.normalize_L2(q)
    faiss.normalize_L2(g)
    index = faiss.IndexFlatIP(g.shape[1])
    index.add(g)
    similarities, indices = index.search(q, k)
    return indices, similarities


def _search_rows(rng, sizes=(10_000, 100_000), n_queries: int = 1000, repeats: int = 5) -> list:
    """Cosine top-10 search (``companion.retrieval.search``) beside faiss's flat inner-product
    index (normalising and indexing inside the timing, as ours does), and once, on the smallest
    gallery, beside the article's row-by-row DataFrame apply."""
    queries = rng.standard_normal((n_queries, 256), dtype=np.float32)
    rows = []
    for n in sizes:
        gallery = rng.standard_normal((n, 256), dtype=np.float32)
        ours, theirs = retrieval.search(queries, gallery, 10), _faiss_search(queries, gallery, 10)
        agreement = _agree(ours[1], theirs[1], 1e-5, "max Δ similarity")
        agreement += f"; same indices {np.mean(ours[0] == theirs[0]):.2%}"
        times = timings(
            {
                "ours": lambda g=gallery: retrieval.search(queries, g, 10),
                "peer": lambda g=gallery: _faiss_search(queries, g, 10),
            },
            repeats,
        )
        rows.append(
            _row("cosine top-10 search", f"{n:,} x 256", "faiss IndexFlatIP", times, agreement)
        )
        if n == sizes[0]:
            rows.append(_rowwise_row(queries, gallery, ours, times["ours"]))
    return rows


def _rowwise_row(queries, gallery, ours, ours_times) -> dict:
    """The article's apply, timed once on ``ROWWISE_QUERIES`` queries and scaled to all of them."""
    table = retrieval.feature_table(gallery)
    start = time.perf_counter()
    found = [retrieval.search_rowwise(q, table, 10) for q in queries[:ROWWISE_QUERIES]]
    seconds = (time.perf_counter() - start) * len(queries) / ROWWISE_QUERIES
    agreement = _agree(
        [f.similarity.to_numpy() for f in found],
        ours[1][:ROWWISE_QUERIES],
        1e-5,
        f"{ROWWISE_QUERIES} queries: max Δ similarity",
    )
    times = {"ours": ours_times, "peer": (seconds, 0.0)}
    peer = f"row-by-row apply (once, {ROWWISE_QUERIES} queries x {len(queries) // ROWWISE_QUERIES})"
    return _row("cosine top-10 search", f"{len(gallery):,} x 256", peer, times, agreement)


def search_figure(rows: list, path) -> Path:
    """Search time against gallery size, log-log: ours, faiss, the row-by-row apply (SVG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    checks.instance(rows, list, "rows", "a list of bench rows")
    path = checks.path(path)
    search = [r for r in rows if r.get("comparison") == "cosine top-10 search"]
    if not search:
        raise ValueError("rows: expected the rows of _search_rows(), got no search row")
    fig, ax = plt.subplots(figsize=(6, 4))
    series = {"companion (numpy)": {}}
    for r in search:
        n = int(r["size"].split(" x ")[0].replace(",", ""))
        series["companion (numpy)"][n] = r["ours_s"]
        series.setdefault(r["peer"], {})[n] = r["peer_s"]
    for label, points in series.items():
        sizes = sorted(points)
        ax.plot(sizes, [points[s] for s in sizes], "o-", label=label)
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="gallery images (256-d)",
        ylabel="seconds for 1,000 queries, top 10",
        title="Cosine top-10 search",
    )
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    path.parent.mkdir(parents=True, exist_ok=True)
    with matplotlib.rc_context({"svg.hashsalt": "performance", "svg.fonttype": "path"}):
        fig.savefig(path, format="svg", metadata={"Date": None}, bbox_inches="tight")
    plt.close(fig)
    return path


# --- Grad-CAM ------------------------------------------------------------------------------------
LAYER = "features.18"  # MobileNetV2's last convolutional block, what pytorch-grad-cam's docs use


def _photos(n: int = 8) -> np.ndarray:
    from ..data.photos import load_sample_photos

    images = load_sample_photos(224).images
    return np.concatenate([images, images[:, :, ::-1]])[:n]  # mirrored copies make up the batch


def _scaled(maps, size: int = 224) -> np.ndarray:
    """pytorch-grad-cam's scaling: minus the minimum, over the maximum, resized, then once more."""
    return _min_max(saliency.resize(_min_max(maps), size))


def _min_max(maps: np.ndarray) -> np.ndarray:
    maps = maps - maps.min(axis=(1, 2), keepdims=True)
    return maps / (1e-7 + maps.max(axis=(1, 2), keepdims=True))


def _grad_cam_rows(images, repeats: int = 5) -> tuple[list, dict]:
    """The torch edition's Grad-CAM (maps, then scaled to the image as pytorch-grad-cam scales
    them) beside pytorch-grad-cam's ``GradCAM``, ImageNet MobileNetV2, top class; also the maps,
    for the TensorFlow edition's check."""
    import torch
    from pytorch_grad_cam import GradCAM

    from ..torch import backbones, cam

    model = backbones.mobilenet_v2()
    ours = cam.GradCAM(model, LAYER, backbones.preprocess)
    peer = GradCAM(model, [model.get_submodule(LAYER)])

    def ours_maps():
        return _scaled(ours(images))

    def peer_maps():
        return peer(backbones.preprocess(images), None)

    agreement = _agree(ours_maps(), peer_maps(), 1e-4, "max Δ map")
    times = timings({"ours": ours_maps, "peer": peer_maps}, repeats)
    with torch.no_grad():
        classes = model(backbones.preprocess(images)).argmax(1).numpy()
    row = _row("Grad-CAM", "8 x 224 px", "pytorch-grad-cam", times, agreement)
    return [row], {"maps": ours_maps(), "classes": classes}


# --- convolution ---------------------------------------------------------------------------------
def _conv_rows(rng, repeats: int = 5) -> list:
    """The numpy reference convolution beside ``torch.nn.functional.conv2d`` (a teaching
    implementation: the ratio is reported, no goal is set)."""
    import torch
    import torch.nn.functional as F

    x = rng.standard_normal((8, 56, 56, 32), dtype=np.float32)
    w = rng.standard_normal((3, 3, 32, 64), dtype=np.float32)
    tx, tw = torch.from_numpy(x).permute(0, 3, 1, 2), torch.from_numpy(w).permute(3, 2, 0, 1)

    def peer():
        return F.conv2d(tx, tw, padding=1).permute(0, 2, 3, 1)

    agreement = _agree(conv.conv2d(x, w, padding=1), peer(), 1e-3)
    times = timings({"ours": lambda: conv.conv2d(x, w, padding=1), "peer": peer}, repeats)
    return [_row("convolution 3x3, 32→64", "8 x 56 x 56", "torch conv2d", times, agreement)]


# --- the TensorFlow edition, in its own process --------------------------------------------------
def _tensorflow_rows(arrays: dict, rows: list, repeats: int = REPEATS) -> tuple[list, dict]:
    """The TensorFlow edition's info-NCE and Grad-CAM, run by ``bench_tf`` in a subprocess on the
    torch side's ``arrays`` and checked against its numbers there; each ratio is taken against the
    peer row of ``rows`` timed in this process on the same inputs."""
    with tempfile.TemporaryDirectory() as tmp:
        inputs, outputs = Path(tmp) / "in.npz", Path(tmp) / "out.json"
        np.savez(inputs, **arrays)
        command = [sys.executable, "-m", "companion.book.bench_tf", str(inputs), str(outputs)]
        subprocess.run([*command, "--repeats", str(repeats)], check=True)
        measured = json.loads(outputs.read_text())
    peers = {(r["comparison"], r["size"]): r for r in rows if r["peer"] in TF_PEERS}
    out = []
    for m in measured["rows"]:
        peer = peers[(m["torch_comparison"], m["size"])]
        times = {"ours": tuple(m["ours"]), "peer": (peer["peer_s"], peer["peer_spread"])}
        label = f"{peer['peer']} (in the torch process)"
        out.append(_row(m["comparison"], m["size"], label, times, m["agreement"]))
    return out, measured["versions"]


TF_PEERS = ("lightly NTXentLoss", "pytorch-grad-cam")


# --- the page ------------------------------------------------------------------------------------
def notebook_seconds(root=".") -> dict:
    """Recorded seconds of the committed notebooks (their last ``make notebooks`` run), summed per
    edition: ``{framework: (notebooks, seconds)}``."""
    entries = committed_results(checks.path(root, "root"))
    totals = {}
    for entry in entries.values():
        count, seconds = totals.get(entry["framework"], (0, 0.0))
        totals[entry["framework"]] = (count + 1, seconds + (entry["seconds"] or 0.0))
    return totals


def machine() -> dict:
    """What the timings depend on: CPU, cores, threads, load, date and the versions."""
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "threads": os.environ.get("OMP_NUM_THREADS", "every core"),
        "python": platform.python_version(),
        "load": os.getloadavg()[0],
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "versions": {p: _version(p) for p in PACKAGES},
    }


def _blas_kernels() -> str:
    """The kernel each OpenBLAS in the process runs, by the package that ships it."""
    from threadpoolctl import threadpool_info

    return "; ".join(
        f"{Path(i['filepath']).parent.name.removesuffix('.libs')} {i['architecture']}"
        for i in threadpool_info()
        if i["internal_api"] == "openblas"
    )


def _numpy_kernel_for_every_openblas() -> None:
    """Older OpenBLAS builds (faiss's 0.3.15) do not know recent CPUs and fall back to an old
    kernel; unless the environment names one, those loaded from now on get numpy's."""
    from threadpoolctl import threadpool_info

    numpy_blas = [i for i in threadpool_info() if "numpy" in i["filepath"]]
    if numpy_blas and numpy_blas[0].get("architecture"):
        os.environ.setdefault("OPENBLAS_CORETYPE", numpy_blas[0]["architecture"])


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def performance_page(rows: list, run: dict, seconds: dict) -> str:
    """The markdown of ``book/performance.md`` from one bench run: its ``rows``, the ``run``'s
    machine (``machine()`` plus ``load_after`` and ``minutes``) and the notebooks' ``seconds``."""
    checks.instance(rows, list, "rows", "a list of bench rows")
    checks.instance(run, dict, "run", "machine() of the run, with load_after and minutes")
    checks.instance(seconds, dict, "seconds", "notebook_seconds() {framework: (count, seconds)}")
    if not rows or not {"load", "load_after", "minutes", "blas", "versions"} <= set(run):
        raise ValueError("expected the rows and the machine of one bench run, got an empty one")
    loaded = max(run["load"], run["load_after"]) > 0.5 * run["cores"]
    lines = [
        "# Performance",
        "",
        "What the companion costs beside the libraries people would use instead, on the same "
        "inputs with the same settings. Each comparison first checks that both sides agree (the "
        "last column, with its tolerance), then times both in one process, interleaved round by "
        "round, the warm-up round left out: median ± interquartile range. A ratio below 1 means "
        "the companion is faster.",
        "",
        f"Written by `make bench` ({run['minutes']:.0f} minutes) on {run['date']}: {run['cpu']}, "
        f"{run['cores']} cores, {run['threads']} thread a side. OpenBLAS kernels: "
        f"{run['blas']} (`make bench` unsets the machine's OPENBLAS_CORETYPE and "
        "OPENBLAS_L2_SIZE, which held numpy to an older kernel, and gives numpy's choice to "
        "faiss's older OpenBLAS build, which does not recognise this CPU; OpenCV's, loaded "
        "before, keeps its own, and no timed path uses it).",
        "",
        (
            f"**The machine was loaded** by other work (load average {run['load']:.1f} at the "
            f"start, {run['load_after']:.1f} at the end, on {run['cores']} cores): absolute "
            "times are slower and noisier than on an idle machine; the interleaving keeps the "
            "ratios fair."
            if loaded
            else f"Load average {run['load']:.1f} at the start, {run['load_after']:.1f} at the end."
        ),
        "",
        "| comparison | size | peer | ours | peer's | ours / peer | goal | agreement |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        goal = "" if r["goal"] is None else f"≤ {r['goal']:g} ({_verdict(r)})"
        lines.append(
            f"| {r['comparison']} | {r['size']} | {r['peer']} | {_ms(r, 'ours')} | "
            f"{_ms(r, 'peer')} | {_ratio(r)} | {goal} | {r['agreement']} |"
        )
    lines += [
        "",
        "Notes: the TensorFlow rows run in their own process (TensorFlow and torch never share "
        "one) on the torch side's arrays, checked against its numbers; their ratio is against "
        "the peer's time in the torch process. The row-by-row apply is the source article's "
        f"search, timed once on {ROWWISE_QUERIES} queries and scaled to 1,000. Mining agrees "
        "when every positive pair that has a semi-hard negative in pytorch-metric-learning's "
        "set gets the closest one; the triplet loss is compared on the companion's triplets. "
        "Grad-CAM uses the ImageNet MobileNetV2 weights on the bundled photos, maps scaled to "
        "224 px as pytorch-grad-cam scales them. pytorch-metric-learning's NTXentLoss is timed "
        f"at batch 256 only, {PML_REPEATS} rounds (seconds a call; at batch 1,024 it asks for "
        "34 GB).",
        "",
        f"![Search time against gallery size]({FIGURE})",
        "",
        "## What the book costs at the cpu profile",
        "",
        "The seconds each committed notebook recorded in its last `make notebooks` run, summed "
        "per edition:",
        "",
        "| edition | notebooks | seconds | minutes |",
        "|---|---|---|---|",
        *(
            f"| {fw} | {count} | {total:.0f} | {total / 60:.1f} |"
            for fw, (count, total) in seconds.items()
        ),
        "",
        "## Versions",
        "",
        ", ".join(f"{p} {v}" for p, v in run["versions"].items()) + f", Python {run['python']}.",
        "",
    ]
    return "\n".join(lines)


def _verdict(row: dict) -> str:
    return "met" if row["ratio"] <= row["goal"] else "above"


def main(argv=None) -> int:
    """``python -m companion.book.bench [--root .] [--repeats N]``: run every comparison, print
    the table, write the page and its figure."""
    parser = argparse.ArgumentParser(prog="python -m companion.book.bench", description=__doc__)
    parser.add_argument("--root", default=".", help="the book's folder (default: .)")
    parser.add_argument("--repeats", type=int, default=REPEATS, help="timed rounds")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats: expected a whole number >= 1, got {args.repeats}")
    root, start, run = Path(args.root), time.perf_counter(), machine()
    print(f"{run['cpu']}, {run['cores']} cores, {run['threads']} thread(s), load {run['load']:.1f}")
    _numpy_kernel_for_every_openblas()  # before faiss loads its own OpenBLAS
    rng = np.random.default_rng(0)
    features = {b: rng.standard_normal((2 * b, 128), dtype=np.float32) for b in (256, 1024)}
    rows, reference = _info_nce_rows(features, args.repeats)
    rows += _triplet_rows(rng, repeats=args.repeats)
    rows += _search_rows(rng)
    images = _photos()
    grad_rows, grad = _grad_cam_rows(images)
    rows += grad_rows + _conv_rows(rng)
    arrays = {
        "images": images,
        **{f"{k}_{b}": v for b, r in reference.items() for k, v in r.items()},
    }
    tf_rows, tf_versions = _tensorflow_rows(arrays | grad, rows, args.repeats)
    rows += tf_rows
    run |= {"load_after": os.getloadavg()[0], "minutes": (time.perf_counter() - start) / 60}
    run["blas"] = _blas_kernels()
    run["versions"] |= tf_versions
    seconds = notebook_seconds(root)
    for fw, (count, total) in seconds.items():
        print(f"{fw}: {count} committed notebooks, {total:.0f} s ({total / 60:.1f} min) at cpu")
    search_figure(rows, root / "book" / FIGURE)
    (root / "book" / "performance.md").write_text(performance_page(rows, run, seconds))
    print(f"wrote book/performance.md and book/{FIGURE} in {run['minutes']:.1f} minutes")
    return 0


if __name__ == "__main__":
    sys.exit(main())

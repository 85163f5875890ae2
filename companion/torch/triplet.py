"""Triplet-loss Siamese retrieval in PyTorch: positives, embedding network, losses, mining.

The MobileNetV2 below block ``trainable_from`` is a frozen ``stem`` whose output is computed once
and cached; the ``top`` (the last blocks and a dense head) trains on those cached stem features.
Stem features are float32 N x C x H x W (torch layout); embeddings are float32 N x D.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from torchvision.transforms import v2

from .. import checks, files
from .. import triplet as _spec
from ..triplet import CONTRAST, CROP_FRACTION, EMBEDDING_DIM, MARGIN, TRAINABLE_FROM
from .backbones import count_params, mobilenet_v2, preprocess
from . import training
from .training import _Checkpoint, freeze_frozen_batchnorm, train_loop


def _crop_size(size: int, fraction: float) -> int:
    return size - 2 * int((size - size * fraction) / 2)  # as tf.image.central_crop


def _augment(
    images: np.ndarray, flips: torch.Tensor, factors: torch.Tensor, crop_fraction: float
) -> np.ndarray:
    """Central crop, bilinear resize back, flip where ``flips``, contrast ``factors``; uint8 out."""
    h, w = images.shape[1:3]
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float()
    x = v2.CenterCrop((_crop_size(h, crop_fraction), _crop_size(w, crop_fraction)))(x)
    x = v2.Resize((h, w), interpolation=v2.InterpolationMode.BILINEAR, antialias=False)(x)
    x[flips] = v2.functional.horizontal_flip(x[flips])
    mean = x.mean(dim=(2, 3), keepdim=True)
    x = (x - mean) * factors.view(-1, 1, 1, 1) + mean  # tf.image.adjust_contrast
    return x.clamp(0, 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()


def positive_augment(
    images: np.ndarray, seed: int = 0, crop_fraction: float = CROP_FRACTION
) -> np.ndarray:
    """The article's positives: the central ``crop_fraction`` of each side resized back (1: no
    crop), a random left-right flip and contrast factor."""
    images = checks.images(images)
    crop_fraction = _spec.check_crop_fraction(crop_fraction)
    generator = torch.Generator().manual_seed(seed)
    flips = torch.rand(len(images), generator=generator) < 0.5
    factors = torch.empty(len(images)).uniform_(*CONTRAST, generator=generator)
    return _augment(images, flips, factors, crop_fraction)


class EmbeddingNet(nn.Module):
    """``stem`` (frozen MobileNetV2 blocks) -> ``top`` (trainable blocks + dense head).

    ``train()`` keeps BatchNorm layers without trainable parameters (the stem's) in eval mode,
    as ``TransferNet`` does.
    """

    def __init__(self, stem: nn.Module, top: nn.Module):
        super().__init__()
        self.stem = checks.instance(stem, nn.Module, "stem", "a torch.nn.Module")
        self.top = checks.instance(top, nn.Module, "top", "a torch.nn.Module")

    def forward(self, x):
        return self.top(self.stem(x))

    def train(self, mode: bool = True):
        super().train(mode)
        return freeze_frozen_batchnorm(self)


class UnitLength(nn.Module):
    """Scales each row to length 1 (FaceNet's embeddings on the unit sphere)."""

    def forward(self, x):
        checks.batch(x, "embeddings", 2, "B x D embeddings")
        return nn.functional.normalize(x, dim=-1)


def _head(n_features: int, embedding_dim: int, normalise: bool) -> nn.Sequential:
    """The article's head: Flatten, Dense 512 + ReLU, BatchNorm, Dense 256 + ReLU, BatchNorm, Dense
    ``embedding_dim``; then ``UnitLength`` when ``normalise``."""
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(n_features, 512),
        nn.ReLU(),
        nn.BatchNorm1d(512),
        nn.Linear(512, 256),
        nn.ReLU(),
        nn.BatchNorm1d(256),
        nn.Linear(256, embedding_dim),
        *([UnitLength()] if normalise else []),
    )


def embedding_model(
    pretrained: bool = True,
    image_size: int = 96,
    trainable_from: int = TRAINABLE_FROM,
    embedding_dim: int = EMBEDDING_DIM,
    normalise: bool = False,
) -> EmbeddingNet:
    """MobileNetV2 blocks 0..trainable_from-1 frozen as ``stem``; the rest + the head as ``top``;
    ``normalise``: embeddings of length 1 (FaceNet), else unnormalised (the article)."""
    checks.flag(normalise, "normalise")
    if not isinstance(trainable_from, int) or not 1 <= trainable_from <= 18:
        raise ValueError(f"trainable_from must be a block index in 1..18, got {trainable_from!r}")
    if image_size < 32 or embedding_dim < 1:
        raise ValueError(
            f"expected image_size >= 32 and embedding_dim >= 1, got {image_size} "
            f"and {embedding_dim}"
        )
    features = mobilenet_v2(pretrained).features
    with torch.no_grad():
        n_features = features(torch.zeros(1, 3, image_size, image_size)).numel()
    stem = features[:trainable_from].requires_grad_(False).eval()
    top = nn.Sequential(
        OrderedDict(
            features=features[trainable_from:], head=_head(n_features, embedding_dim, normalise)
        )
    )
    return EmbeddingNet(stem, top)


def trainable_summary(model: EmbeddingNet) -> pd.DataFrame:
    """One row per MobileNetV2 block (``features.N``) and one for the head: trainable, parameters"""
    checks.instance(model, EmbeddingNet, "model", "an EmbeddingNet (embedding_model(...))")
    blocks = [*model.stem.named_children(), *model.top.features.named_children()]
    parts = [(f"features.{name}", block) for name, block in blocks] + [("head", model.top.head)]
    return pd.DataFrame(
        [
            {
                "layer": name,
                "trainable": any(p.requires_grad for p in part.parameters()),
                "parameters": count_params(part),
            }
            for name, part in parts
        ]
    ).set_index("layer")


@torch.no_grad()
def stem_features(model: EmbeddingNet, images: np.ndarray, batch_size: int = 64) -> np.ndarray:
    """The frozen stem's output (float32 N x C x H x W) for uint8 NHWC images, in eval mode, on
    ``device()`` (the model stays where it was)."""
    checks.instance(model, EmbeddingNet, "model", "an EmbeddingNet (embedding_model(...))")
    images = checks.images(images)
    model.eval()
    return training.infer(model, model.stem, images, batch_size, preprocess, "stem features")


@torch.no_grad()
def embed(model: EmbeddingNet, images: np.ndarray, batch_size: int = 64) -> np.ndarray:
    """Embeddings (float32 N x D) of uint8 NHWC images through stem and top, in eval mode, on
    ``device()`` (the model stays where it was)."""
    checks.instance(model, nn.Module, "model", "an EmbeddingNet (embedding_model(...))")
    images = checks.images(images)
    model.eval()
    return training.infer(model, model, images, batch_size, preprocess, "embed")


def _features(features, name: str = "features") -> torch.Tensor:
    x = torch.as_tensor(np.ascontiguousarray(features, np.float32))  # a reversed view too
    if x.ndim != 4 or len(x) == 0:
        raise ValueError(f"expected non-empty N x C x H x W stem {name}, got {tuple(x.shape)}")
    return x


@torch.no_grad()
def embed_cached(model: nn.Module, features: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Embeddings (float32 N x D) of cached stem features: ``model.top`` (or a top), eval mode, on
    ``device()`` (the model stays where it was)."""
    checks.instance(model, nn.Module, "model", "an EmbeddingNet or its top")
    x, top = _features(features), getattr(model, "top", model)
    top.eval()
    return training.infer(top, top, x, batch_size, None, "embed")


class DistanceLayer(nn.Module):
    """(anchor, positive, negative) -> (d(a, p), d(a, n)): squared L2 (the article) or plain L2."""

    def __init__(self, squared: bool = True):
        super().__init__()
        self.squared = squared

    def forward(self, anchor, positive, negative):
        for t, name in ((anchor, "anchor"), (positive, "positive"), (negative, "negative")):
            checks.batch(t, name, 2, "B x D embeddings")
        _spec.check_triplet_shapes(anchor, positive, negative)
        (anchor, full), positive, negative = (
            training.full_precision(anchor),  # distances in float32 under autocast
            positive.float(),
            negative.float(),
        )
        with full:
            return self._distances(anchor, positive, negative)

    def _distances(self, anchor, positive, negative):
        if self.squared:
            return (anchor - positive).square().sum(-1), (anchor - negative).square().sum(-1)
        return (
            torch.linalg.vector_norm(anchor - positive, dim=-1),
            torch.linalg.vector_norm(anchor - negative, dim=-1),
        )


def triplet_loss(
    ap_distance: torch.Tensor, an_distance: torch.Tensor, margin: float = MARGIN
) -> torch.Tensor:
    """Mean over the batch of max(d(a, p) - d(a, n) + margin, 0)."""
    _spec.check_margin(margin)
    checks.batch(ap_distance, "ap_distance", 1, "a 1-D distance batch")
    checks.batch(an_distance, "an_distance", 1, "a 1-D distance batch")
    if ap_distance.ndim != 1 or ap_distance.shape != an_distance.shape or len(ap_distance) == 0:
        raise ValueError(
            f"expected two equal non-empty 1-D distance batches, got "
            f"{tuple(ap_distance.shape)} and {tuple(an_distance.shape)}"
        )
    return torch.relu(ap_distance - an_distance + margin).mean()


class SiameseNetwork(nn.Module):
    """The same ``top`` on anchor, positive and negative stem features, then ``DistanceLayer``.

    ``joint``: one pass over the three batches stacked, so that in training mode BatchNorm
    normalises all of them with the same statistics, as the running statistics of evaluation do;
    ``joint=False`` is the article's three passes, each normalised with its own batch's.
    """

    def __init__(self, top: nn.Module, joint: bool = True):
        super().__init__()
        self.top = checks.instance(top, nn.Module, "top", "a torch.nn.Module (the embedding top)")
        self.joint = checks.flag(joint, "joint")
        self.distance = DistanceLayer()

    def forward(self, anchor, positive, negative):
        if not self.joint:
            return self.distance(self.top(anchor), self.top(positive), self.top(negative))
        _spec.check_triplet_shapes(anchor, positive, negative)
        return self.distance(*self.top(torch.cat([anchor, positive, negative])).chunk(3))


def siamese_network(top: nn.Module, joint: bool = True) -> SiameseNetwork:
    """The three-input network sharing one ``top``: (a, p, n) -> (d(a, p), d(a, n)); ``joint``:
    one pass over the stacked batches (``SiameseNetwork``)."""
    return SiameseNetwork(top, joint)


class SiameseModel(nn.Module):
    """A Siamese ``network`` and its ``margin``: ``forward`` gives distances, ``loss`` the loss."""

    def __init__(self, network: nn.Module, margin: float = MARGIN):
        super().__init__()
        _spec.check_margin(margin)
        checks.instance(network, nn.Module, "network", "a siamese_network(top)")
        self.network, self.margin = network, margin

    def forward(self, anchor, positive, negative):
        return self.network(anchor, positive, negative)

    def loss(self, anchor, positive, negative) -> torch.Tensor:
        return triplet_loss(*self(anchor, positive, negative), self.margin)


def _mean_loss(model: nn.Module, step_loss, data: tuple, batch_size: int) -> float:
    """The mean of ``step_loss`` over ``data`` in eval mode, on the model's device (``train_loop``
    validates with the model on ``device()``)."""
    model.eval()
    total, here = 0.0, training._home(model)
    with torch.no_grad(), training.autocast(here):
        for i in range(0, len(data[0]), batch_size):
            batch = training._to([t[i : i + batch_size] for t in data], here)
            total += step_loss(model, *batch).item() * len(batch[0])
    return total / len(data[0])


def _fit(
    model,
    step_loss,
    train,
    val,
    epochs,
    batch_size,
    lr,
    seed,
    checkpoint,
    progress,
    resume,
    config,
    score=None,
) -> dict:
    """Adam on shuffled batches of ``step_loss(model, *batch)``: ``training.train_loop``'s history
    (per-epoch mean ``loss``, ``lr``, ``seconds``, ``val_loss`` in eval mode with ``val``, and
    ``val_<name>`` for each value of ``score()``)."""
    if epochs < 0 or batch_size < 1:
        raise ValueError(f"expected epochs >= 0 and batch_size >= 1, got {epochs} and {batch_size}")
    if checkpoint is not None:  # checked now, not after the first epoch
        checkpoint = files.checkpoint_target(checkpoint)
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
    batches = DataLoader(
        TensorDataset(*train),
        batch_size,
        shuffle=True,
        generator=torch.Generator().manual_seed(seed),
        drop_last=len(train[0]) % batch_size == 1,
    )  # BatchNorm1d needs 2+ samples
    return train_loop(
        model,
        lambda model, batch: (step_loss(model, *batch), {}, len(batch[0])),
        batches,
        epochs,
        optimizer,
        validate=None
        if val is None and score is None
        else lambda m: (
            ({} if val is None else {"loss": _mean_loss(m, step_loss, val, batch_size)})
            | ({} if score is None else _spec.score_values(score))
        ),
        callbacks=[] if checkpoint is None else [_Checkpoint(model.network, checkpoint)],
        progress=progress,
        resume=resume,
        keep=training.generators(batches),
        config=config
        | {"examples": len(train[0]), "batch_size": batch_size, "lr": lr, "seed": seed},
    )


def _triplets(data, name: str) -> tuple:
    if not isinstance(data, (tuple, list)) or len(data) != 3:
        raise ValueError(f"{name} must be an (anchor, positive, negative) tuple of stem features")
    tensors = tuple(_features(x, name) for x in data)
    if len({len(t) for t in tensors}) != 1:
        raise ValueError(
            f"{name}: anchors, positives and negatives differ in length: "
            f"{[len(t) for t in tensors]}"
        )
    return tensors


def fit_siamese(
    model: SiameseModel,
    train: tuple,
    val: tuple | None = None,
    epochs: int = 1,
    batch_size: int = 8,
    lr: float = 1e-4,
    seed: int = 0,
    checkpoint=None,
    progress: bool = True,
    resume=None,
    score=None,
) -> dict:
    """Train on (anchor, positive, negative) cached stem features with the triplet loss.

    Returns ``{"loss", "val_loss" (with val), "seconds"}`` per epoch; ``checkpoint`` gets the
    network's weights (atomically) after every epoch; ``resume`` (a ``.pt`` path) continues an
    interrupted run (``training.train_loop``). ``score`` (a function of no argument returning
    ``{name: number}``, e.g. a retrieval score of the network being trained) is called after
    every epoch, its values recorded as ``val_<name>``.
    """
    _spec.check_score(score)
    train = _triplets(train, "train")
    if len(train[0]) < 2:
        raise ValueError(f"expected at least 2 training triplets, got {len(train[0])}")
    val = None if val is None else _triplets(val, "val")
    return _fit(
        model,
        SiameseModel.loss,
        train,
        val,
        epochs,
        batch_size,
        lr,
        seed,
        checkpoint,
        progress,
        resume,
        {"margin": model.margin},
        score,
    )


def evaluate_loss(model: SiameseModel, data: tuple, batch_size: int = 8) -> float:
    """The mean triplet loss of ``model`` over (anchor, positive, negative) stem features, in eval
    mode: the loss of the network that search uses, whatever mode it trained in."""
    checks.instance(model, SiameseModel, "model", "a SiameseModel")
    checks.integer(batch_size, "batch_size", 1)
    return _mean_loss(model, SiameseModel.loss, _triplets(data, "data"), batch_size)


def pairwise_distances(embeddings: torch.Tensor, squared: bool = True) -> torch.Tensor:
    """B x B (squared) Euclidean distances, clamped at 0, exactly 0 on the diagonal. The rows are
    centred first (distances do not change), so the |a|^2 - 2ab + |b|^2 expansion does not cancel
    away in float32 when the embeddings share a large offset."""
    checks.instance(embeddings, torch.Tensor, "embeddings", "a B x D torch tensor")
    if embeddings.ndim != 2 or len(embeddings) == 0:
        raise ValueError(f"expected non-empty B x D embeddings, got {list(embeddings.shape)}")
    embeddings, full = training.full_precision(embeddings)  # float32 under autocast
    with full:
        embeddings = embeddings - embeddings.mean(0, keepdim=True)
        norms = embeddings.square().sum(1)
        d = (norms[:, None] - 2 * embeddings @ embeddings.T + norms[None, :]).clamp(min=0)
        d = d * (1 - torch.eye(len(d), dtype=d.dtype, device=d.device))
        if squared:
            return d
        zero = (d == 0).to(d.dtype)
        return torch.sqrt(d + zero * 1e-16) * (1 - zero)  # no infinite gradient at 0


def _labels(labels, n: int) -> torch.Tensor:
    if not torch.is_tensor(labels):
        labels = checks.labels(labels)
    labels = torch.as_tensor(labels)
    if labels.shape != (n,):
        raise ValueError(f"expected {n} labels, got shape {tuple(labels.shape)}")
    return labels


def semi_hard_negatives(distances: torch.Tensor, labels) -> torch.Tensor:
    """For each positive pair (a, p): the closest negative farther than p, else the farthest one.

    Returns a B x B long tensor of negative indices, -1 where (a, p) is not a positive pair or a has
    no negative (FaceNet's semi-hard rule with TensorFlow Addons' fallback).
    """
    checks.instance(distances, torch.Tensor, "distances", "a B x B torch tensor")
    if distances.ndim != 2 or distances.shape[0] != distances.shape[1] or len(distances) == 0:
        raise ValueError(f"expected a non-empty B x B distance matrix, got {list(distances.shape)}")
    labels = _labels(labels, len(distances))
    same = labels[:, None] == labels[None, :]
    positive, negative = same & ~torch.eye(len(same), dtype=torch.bool, device=same.device), ~same
    # each anchor's negatives sorted by distance (ties by index, as argmin would), the others last;
    # the first one farther than p is the closest farther: B x B log B, not a B x B x B search
    d_an, order = torch.sort(torch.where(negative, distances, torch.inf), dim=1, stable=True)
    first = torch.searchsorted(d_an, distances, right=True).clamp(max=len(same) - 1)
    farther = d_an.gather(1, first).isfinite()
    closest_farther = order.gather(1, first)
    farthest = torch.where(negative, distances, -torch.inf).argmax(-1)
    chosen = torch.where(farther, closest_farther, farthest[:, None])
    return torch.where(positive & negative.any(-1, keepdim=True), chosen, -1)


def semi_hard_triplet_loss(
    labels, embeddings: torch.Tensor, margin: float = MARGIN
) -> torch.Tensor:
    """Mean of max(d(a, p) - d(a, n) + margin, 0), squared distances, semi-hard mined negatives."""
    _spec.check_margin(margin)
    d = pairwise_distances(embeddings)
    negatives = semi_hard_negatives(d.detach(), labels)
    a, p = torch.nonzero(negatives >= 0, as_tuple=True)
    if len(a) == 0:
        return (embeddings * 0).sum()  # no positive pair with a negative: a differentiable zero
    return torch.relu(d[a, p] - d[a, negatives[a, p]] + margin).mean()


def fit_supervised(
    top: nn.Module,
    train: tuple,
    val: tuple | None = None,
    epochs: int = 1,
    batch_size: int = 32,
    lr: float = 1e-4,
    margin: float = MARGIN,
    seed: int = 0,
    progress: bool = True,
    resume=None,
) -> dict:
    """Train ``top`` on (stem_features, labels) with the semi-hard triplet loss (label-aware);
    ``resume`` (a ``.pt`` path) continues an interrupted run (``training.train_loop``)."""
    _spec.check_margin(margin)
    data = {}
    for name, pair in (("train", train), ("val", val)):
        if pair is None:
            continue
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise ValueError(f"{name} must be a (stem_features, labels) tuple")
        x = _features(pair[0], name)
        data[name] = (x, _labels(np.asarray(pair[1]), len(x)))
    if len(data["train"][0]) < 2:
        raise ValueError(f"expected at least 2 training samples, got {len(data['train'][0])}")
    return _fit(
        top,
        lambda top, x, y: semi_hard_triplet_loss(y, top(x), margin),
        data["train"],
        data.get("val"),
        epochs,
        batch_size,
        lr,
        seed,
        None,
        progress,
        resume,
        {"margin": margin},
    )

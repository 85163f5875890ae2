"""SimCLR in PyTorch: two-view augmentation, encoders, projection head, info-NCE, pretraining,
checkpoints with the article's ``backbone.`` prefix handling, and linear / kNN evaluation.

The structure follows sthalles/SimCLR, the code the source article runs: ``SimCLRModel.backbone``
is the encoder whose ``fc`` is the projection head, so a pretraining checkpoint holds
``backbone.body.*`` (the encoder) and ``backbone.fc.*`` (the head). Linear evaluation strips the
prefix, drops the head, puts a fresh ``fc = Linear(features, classes)`` on the encoder and trains
only that layer. The TensorFlow edition (``companion.tf.simclr``) has the same names.
"""

from __future__ import annotations

import functools
import pickle
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, Dataset, Sampler
from torchvision.models import resnet18
from torchvision.transforms import v2

from .. import checks, files
from .. import simclr as core
from ..data import ImageSet
from . import training
from .training import _Checkpoint, to_float

ARCHS = core.ARCHS
OTHER_FRAMEWORK = (".keras", ".h5", ".npz")


# --- augmentation -------------------------------------------------------------------------------
def augmentation(
    image_size: int,
    channels: int = 3,
    min_scale: float = 0.2,
    strength: float = 0.5,
    blur: float = 0.5,
) -> v2.Compose:
    """The SimCLR augmentation of one float C x H x W image in [0, 1] (torchvision transforms v2):
    random resized crop (area ``min_scale``..1) to ``image_size``, horizontal flip, colour jitter
    with probability 0.8 (brightness, contrast, and for colour images saturation and hue), grey-
    scale
    with probability 0.2 (colour images), Gaussian blur with probability ``blur``."""
    core.check_augmentation(image_size, channels, min_scale, strength, blur)
    s = strength
    jitter = (
        v2.ColorJitter(0.8 * s, 0.8 * s, 0.8 * s, 0.2 * s)
        if channels == 3
        else v2.ColorJitter(0.8 * s, 0.8 * s)
    )
    steps = [
        v2.RandomResizedCrop(image_size, scale=(min_scale, 1.0), antialias=True),
        v2.RandomHorizontalFlip(),
    ]
    if s > 0:
        steps.append(v2.RandomApply([jitter], p=0.8))
    if channels == 3 and s > 0:
        steps.append(v2.RandomGrayscale(p=0.2))
    if blur > 0:
        kernel = max(3, image_size // 10 * 2 + 1)  # odd, about 10 % of the side, as in the paper
        steps.append(v2.RandomApply([v2.GaussianBlur(kernel, sigma=(0.1, 2.0))], p=blur))
    return v2.Compose(steps)


def augment_batch(images, augment) -> torch.Tensor:
    """uint8 N x H x W x C images -> float N x C x H x W, each image augmented on its own.

    The many tiny per-image operations run on one thread: with several threads, their start-up
    costs more than the work (30 times slower on a busy 2-core machine).
    """
    x = to_float(images)
    if augment is not None and not callable(augment):
        raise TypeError(
            f"augment: expected a callable augmentation (or None), got {checks.describe(augment)}"
        )
    if augment is None:
        return x
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return torch.stack([augment(image) for image in x])
    finally:
        torch.set_num_threads(threads)


def two_views(images, augment, n_views: int = 2) -> torch.Tensor:
    """``n_views`` augmented views of every image, view after view: rows ``i`` and ``i + N`` are
    two views of image ``i`` (the order ``info_nce_loss`` expects)."""
    core.check_n_views(n_views)
    checks.batch(images, "images", 4, "uint8 N x H x W x C images")
    return torch.cat([augment_batch(images, augment) for _ in range(n_views)])


# --- encoders and heads -------------------------------------------------------------------------
class Encoder(nn.Module):
    """``body`` (images -> feature vectors of ``feature_dim``) followed by ``fc``: the identity,
    the projection head (pretraining) or a linear classifier (evaluation)."""

    def __init__(self, body: nn.Module, feature_dim: int):
        checks.instance(body, nn.Module, "body", "a torch nn.Module (images -> feature vectors)")
        checks.integer(feature_dim, "feature_dim", 1)
        super().__init__()
        self.body, self.fc, self.feature_dim = body, nn.Identity(), feature_dim

    def forward(self, x):
        return self.fc(self.body(x))


def _conv(c_in, c_out, stride):
    return [
        nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    ]


def _resnet18(in_channels: int, cifar: bool) -> nn.Module:
    """torchvision's ResNet-18 trunk without weights and with ``fc`` the identity: 512 features."""
    body = resnet18(weights=None)
    if cifar:  # SimCLR's CIFAR setting: 3x3 stride-1 stem, no max-pool (about 15 x the compute)
        body.conv1 = nn.Conv2d(in_channels, 64, 3, 1, 1, bias=False)
        body.maxpool = nn.Identity()
    elif in_channels != 3:  # the stock 7x7 stride-2 stem, for other input channels
        body.conv1 = nn.Conv2d(in_channels, 64, 7, 2, 3, bias=False)
    body.fc = nn.Identity()
    return body


def build_encoder(
    arch: str = "small", in_channels: int = 1, width: int = 32, fc: nn.Module | None = None
) -> Encoder:
    """``small``: four 3x3 conv-BN-ReLU layers (``width``, 2, 4, 4 x ``width`` channels, strides
    1, 2, 2, 2) and global average pooling, 4 x ``width`` features; ``resnet18``: torchvision's
    stock ResNet-18 (``resnet18(weights=None)``: 7x7 stride-2 stem and max-pool), the encoder the
    article's code (sthalles/SimCLR) trains at 96 px, 512 features; ``resnet18-cifar``: the same
    network adapted to small images as in SimCLR's CIFAR setting (3x3 stride-1 stem, no max-pool),
    512 features. ``fc`` (default: the identity) is the layer on top."""
    core.check_encoder(arch, in_channels, width)
    if fc is not None:
        checks.instance(fc, nn.Module, "fc", "a torch nn.Module (or None)")
    if arch == "small":
        w = width
        body = nn.Sequential(
            *_conv(in_channels, w, 1),
            *_conv(w, 2 * w, 2),
            *_conv(2 * w, 4 * w, 2),
            *_conv(4 * w, 4 * w, 2),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        encoder = Encoder(body, 4 * w)
    else:
        encoder = Encoder(_resnet18(in_channels, cifar=arch == "resnet18-cifar"), 512)
    if fc is not None:
        encoder.fc = fc
    return encoder


def projection_head(feature_dim: int, out_dim: int = 128) -> nn.Sequential:
    """SimCLR's projection head g: Linear, ReLU, Linear (sthalles: ``dim_mlp`` -> ``dim_mlp`` ->
    ``out_dim``)."""
    checks.integer(feature_dim, "feature_dim", 1)
    checks.integer(out_dim, "out_dim", 1)
    return nn.Sequential(
        nn.Linear(feature_dim, feature_dim), nn.ReLU(), nn.Linear(feature_dim, out_dim)
    )


class SimCLRModel(nn.Module):
    """sthalles' ResNetSimCLR: ``backbone`` is the encoder, its ``fc`` the projection head."""

    def __init__(
        self, arch: str = "small", in_channels: int = 1, width: int = 32, out_dim: int = 128
    ):
        super().__init__()
        self.backbone = build_encoder(arch, in_channels, width)
        self.backbone.fc = projection_head(self.backbone.feature_dim, out_dim)
        self.config = {"arch": arch, "in_channels": in_channels, "width": width}

    def forward(self, x):
        return self.backbone(x)


def linear_model(
    n_classes: int, arch: str = "small", in_channels: int = 1, width: int = 32
) -> Encoder:
    """An encoder with ``fc = Linear(features, n_classes)``: random weights until loaded or
    trained."""
    core.check_n_classes(n_classes)
    model = build_encoder(arch, in_channels, width)
    model.fc = nn.Linear(model.feature_dim, n_classes)
    return model


# --- info-NCE -----------------------------------------------------------------------------------
def info_nce_loss(
    features: torch.Tensor, batch_size: int, n_views: int = 2, temperature: float = 0.07
):
    """``(logits, labels)`` exactly as sthalles' ``info_nce_loss``: cross-entropy of the two is the
    loss.

    ``features`` is N x D with N = ``n_views`` x ``batch_size``, view after view.
    """
    if not torch.is_tensor(features) or features.ndim != 2:
        raise ValueError(
            f"features must be a 2-D tensor (rows x dimensions), got "
            f"{tuple(features.shape) if hasattr(features, 'shape') else type(features).__name__}"
        )
    core.check_views(features.shape[0], batch_size, n_views)
    temperature = core.check_temperature(temperature)
    if not torch.isfinite(features.detach()).all():
        raise ValueError(
            "features: expected finite values, got NaN or infinite ones (a diverged model?)"
        )
    features, full = training.full_precision(features)  # the logits in float32 under autocast
    with full:
        features = F.normalize(features, dim=1)
        similarity_matrix = torch.matmul(features, features.T)
    # positives first, then negatives, the diagonal left out: one gather does what the article's
    # masks do (info_nce_steps in companion.simclr shows them step by step)
    logits = similarity_matrix.gather(1, _logit_columns(batch_size, n_views, features.device))
    labels = torch.zeros(logits.shape[0], dtype=torch.long, device=features.device)
    return logits / temperature, labels


@functools.lru_cache(maxsize=8)
def _logit_columns(batch_size: int, n_views: int, device: torch.device) -> torch.Tensor:
    return torch.from_numpy(core.logit_columns(batch_size, n_views).copy()).to(device)


# --- pretraining and checkpoints -----------------------------------------------------------------
def save_checkpoint(model: nn.Module, path) -> Path:
    """The state dict, written atomically (temporary file, then rename)."""
    checks.instance(model, nn.Module, "model", "a torch nn.Module")
    path = checks.path(path, "path")
    if path.suffix in OTHER_FRAMEWORK:
        raise ValueError(f"PyTorch checkpoints end in .pt, got {path.name}")
    return training.save_checkpoint(model, path)


def load_checkpoint(path) -> dict:
    """A state dict written by ``save_checkpoint`` (``torch.load(weights_only=True)``)."""
    path = checks.path(path, "path")
    if path.suffix in OTHER_FRAMEWORK:
        raise ValueError(
            f"expected a PyTorch .pt checkpoint, got {path.name}, which looks like a "
            f"TensorFlow/Keras one: load it with companion.tf.simclr"
        )
    if not path.exists():
        raise FileNotFoundError(
            f"no checkpoint at {path}: check the path, or write it with pretrain(..., "
            f"checkpoint=...)"
        )
    try:
        return torch.load(path, weights_only=True, map_location="cpu")
    except (RuntimeError, OSError, EOFError, ValueError, pickle.UnpicklingError) as error:
        raise ValueError(
            f"expected a PyTorch state dict in {path.name}, could not read it: "
            f"{str(error).splitlines()[0]}"
        ) from None


def pretrain(
    model: SimCLRModel,
    images,
    epochs: int = 1,
    batch_size: int = 256,
    temperature: float = 0.07,
    augment=None,
    lr: float = 3e-4,
    weight_decay: float = 1e-4,
    n_views: int = 2,
    checkpoint=None,
    seed: int = 0,
    progress: bool = True,
    resume=None,
) -> dict:
    """Contrastive pretraining on unlabelled uint8 NHWC ``images``: AdamW (decoupled weight decay,
    as Keras' ``Adam(weight_decay=)``; the article's code uses Adam's coupled L2) on the info-NCE
    loss.

    Every epoch shuffles the images and drops the last incomplete batch (info-NCE needs the full
    batch). Returns per-epoch ``loss``, ``top1`` (how often the positive has the highest logit),
    ``spread`` (``core.spread`` of the projections of the first ``SPREAD_IMAGES`` images; a
    collapse warns), ``lr`` and ``seconds`` (``training.train_loop``'s history); with
    ``checkpoint`` the model is written there atomically after every epoch. Trains on
    ``device()`` (back where it was at the end). The views are made by a DataLoader, one batch
    an item (``two_views``): on a GPU its worker processes augment the coming batches while the
    GPU trains on this one; on the CPU this process makes them in turn, drawing the same random
    numbers as ever. ``resume`` (a ``.pt`` path): the run continues from there after an
    interruption (``training.train_loop``).
    """
    checks.instance(model, SimCLRModel, "model", "a SimCLRModel")
    images = core.pretraining_images(images, batch_size, epochs)
    core.check_temperature(temperature)
    if checkpoint is not None:  # checked now, not after the first epoch
        checkpoint = files.checkpoint_target(checkpoint, ".pt")
    if augment is None:
        augment = augmentation(images.shape[1], images.shape[-1])
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)  # the augmentations draw from torch's global generator
    batches = DataLoader(
        _Views(images, augment, n_views),
        batch_size=None,  # an item is a whole batch
        sampler=_Shuffled(len(images), batch_size, generator),
        # the loader draws its workers' seeds from its own generator, not from the global one
        generator=torch.Generator().manual_seed(seed),
        **training.loader_options(),
    )

    def step(model, batch):
        logits, labels = info_nce_loss(model(batch[0]), batch_size, n_views, temperature)
        # the positive (column 0) beats every negative: a tie is a miss, so a collapsed encoder
        # scores 0, not 1 (argmax would pick the first of equal logits, the positive)
        top1 = (logits[:, 0] > logits[:, 1:].max(1).values).float().mean()
        return F.cross_entropy(logits, labels), {"top1": top1.double() * batch_size}, batch_size

    spread = _Spread(model, images[:SPREAD_IMAGES])
    saving = [] if checkpoint is None else [_Checkpoint(model, checkpoint, save_checkpoint)]
    return training.train_loop(
        model,
        step,
        batches,
        epochs,
        optimizer,
        callbacks=[spread, *saving],
        progress=progress,
        resume=resume,
        keep=training.generators(batches),
        config={
            "images": len(images),
            "batch_size": batch_size,
            "temperature": temperature,
            "lr": lr,
            "weight_decay": weight_decay,
            "n_views": n_views,
            "seed": seed,
        },
    )


SPREAD_IMAGES = 256  # the training images whose embeddings' spread each epoch records


class _Spread:
    """A ``train_loop`` callback: the ``spread`` of the projections of ``images`` (in eval mode, no
    augmentation) after every epoch, into the history; a collapse from the largest spread so far
    (before training included) warns (``core.warn_if_collapsed``)."""

    def __init__(self, model, images):
        self.images = images
        self.before = self.measure(model)

    def measure(self, model) -> float:
        was = model.training
        projections = training.infer(model, model.eval(), self.images, len(self.images))
        model.train(was)
        return core.spread(projections)

    def on_epoch_end(self, model, epoch, history):
        largest = max([self.before, *history.get("spread", [])])
        history.setdefault("spread", []).append(self.measure(model))
        core.warn_if_collapsed(history["spread"][-1], epoch + 1, largest)


class _Shuffled(Sampler):
    """The batches of an epoch, as index arrays: a new shuffle (``generator``) each epoch, the last
    incomplete batch dropped."""

    def __init__(self, n: int, batch_size: int, generator: torch.Generator):
        self.n, self.batch_size, self.generator = n, batch_size, generator

    def __len__(self):
        return self.n // self.batch_size

    def __iter__(self):
        order = torch.randperm(self.n, generator=self.generator).numpy()
        for i in range(0, self.n - self.batch_size + 1, self.batch_size):
            yield order[i : i + self.batch_size]


class _Views(Dataset):
    """Item ``indices``: ``(two_views(images[indices], augment, n_views),)``."""

    def __init__(self, images, augment, n_views: int):
        self.images, self.augment, self.n_views = images, augment, n_views

    def __len__(self):
        return len(self.images)

    def __getitem__(self, indices):
        return (two_views(self.images[indices], self.augment, self.n_views),)


def load_encoder(
    path, n_classes: int, arch: str = "small", in_channels: int = 1, width: int = 32
) -> Encoder:
    """The article's evaluator: a fresh encoder with ``fc = Linear(features, n_classes)``, loaded
    from a pretraining checkpoint whose ``backbone.`` prefix is stripped and whose projection head
    is dropped. Exactly ``fc.weight`` and ``fc.bias`` stay missing; anything else fails."""
    model = linear_model(n_classes, arch, in_channels, width)
    state = core.strip_backbone(load_checkpoint(path))
    expected = {k: v for k, v in model.state_dict().items() if not k.startswith(core.HEAD_PREFIX)}
    core.check_keys(expected, state)
    core.check_shapes(
        {k: tuple(v.shape) for k, v in expected.items()},
        {k: tuple(v.shape) for k, v in state.items()},
    )
    log = model.load_state_dict(state, strict=False)
    assert sorted(log.missing_keys) == ["fc.bias", "fc.weight"] and not log.unexpected_keys, log
    return model


def reset_fc(model: Encoder, seed: int = 0) -> Encoder:
    """Give the linear ``fc`` fresh random weights (e.g. to probe a supervised encoder anew)."""
    if not isinstance(getattr(model, "fc", None), nn.Linear):
        raise TypeError("expected an encoder with a Linear fc (see linear_model / load_encoder)")
    torch.manual_seed(seed)
    model.fc.reset_parameters()
    return model


def freeze_for_linear_eval(model: Encoder) -> list[str]:
    """Freeze every parameter but those of ``fc``; return the names still requiring gradients."""
    if not isinstance(getattr(model, "fc", None), nn.Linear):
        raise TypeError("expected an encoder with a Linear fc (see linear_model / load_encoder)")
    for name, parameter in model.named_parameters():
        parameter.requires_grad = name.startswith(core.HEAD_PREFIX)
    return [name for name, p in model.named_parameters() if p.requires_grad]


# --- evaluation ----------------------------------------------------------------------------------
@torch.no_grad()
def extract_features(model: nn.Module, images, batch_size: int = 512) -> np.ndarray:
    """Encoder features (before ``fc``) of uint8 NHWC images, in eval mode and in batches,
    float32; computed on ``device()``, the model left where it was."""
    encoder = model.backbone if isinstance(model, SimCLRModel) else model
    if not isinstance(encoder, Encoder):
        raise TypeError(f"expected an Encoder or a SimCLRModel, got {type(model).__name__}")
    checks.integer(batch_size, "batch_size", 1)
    if not torch.is_tensor(images):
        images = checks.array(images, "images", 4, "uint8 N x H x W x C images")
    checks.batch(images, "images", 4, "uint8 N x H x W x C images")
    encoder.eval()
    return training.infer(encoder, encoder.body, np.asarray(images), batch_size, to_float)


@torch.no_grad()
def projections(model: SimCLRModel, images, batch_size: int = 512) -> np.ndarray:
    """The projection head's outputs (what the info-NCE loss compares) of uint8 NHWC images, in
    eval mode and in batches, float32: the features ``extract_features`` takes before the head."""
    checks.instance(model, SimCLRModel, "model", "a SimCLRModel (encoder and projection head)")
    checks.integer(batch_size, "batch_size", 1)
    images = checks.array(images, "images", 4, "uint8 N x H x W x C images")
    checks.batch(images, "images", 4, "uint8 N x H x W x C images")
    model.eval()
    return training.infer(model, model, np.asarray(images), batch_size, to_float)


def _standardiser(features):
    """Per-dimension mean and standard deviation of training features (std floored at 1e-6)."""
    x = np.asarray(features, np.float64)
    return x.mean(0), np.maximum(x.std(0), 1e-6)


def train_linear(
    fc: nn.Linear,
    features,
    labels,
    epochs: int = 100,
    batch_size: int = 256,
    lr: float = 1e-3,
    weight_decay: float = 1e-4,
    seed: int = 0,
    standardize: bool = True,
    resume=None,
) -> dict:
    """Train the linear layer ``fc`` on fixed features with cross-entropy (AdamW); per-epoch
    ``loss``, ``lr`` and ``seconds`` (``training.train_loop``'s history); ``resume`` (a ``.pt``
    path) continues an interrupted run (``training.train_loop``).

    With ``standardize`` the layer trains on features scaled to zero mean and unit variance (the
    training set's statistics), and the scaling is then folded into ``fc``'s weights, so ``fc``
    still takes the raw features: W' = W / s, b' = b - W' m.
    """
    checks.instance(fc, nn.Linear, "fc", "a torch nn.Linear layer")
    features = checks.array(
        features, "features", 2, "N x D features", dtype=np.float32, finite=True
    )
    labels = checks.labels(labels, "labels", fc.out_features)
    x, y = (
        torch.as_tensor(np.asarray(features, np.float32)),
        torch.as_tensor(np.asarray(labels, np.int64)),
    )
    if x.ndim != 2 or x.shape[1] != fc.in_features or len(x) != len(y):
        raise ValueError(
            f"expected N x {fc.in_features} features and N labels, got {tuple(x.shape)} and "
            f"{len(y)}"
        )
    mean, std = (
        (torch.as_tensor(a, dtype=torch.float32) for a in _standardiser(x))
        if standardize
        else (0.0, 1.0)
    )
    x = (x - mean) / std
    optimizer = torch.optim.AdamW(fc.parameters(), lr=lr, weight_decay=weight_decay)
    generator = torch.Generator().manual_seed(seed)

    def epoch_batches(epoch):
        order = torch.randperm(len(x), generator=generator)
        for i in range(0, len(x), batch_size):
            idx = order[i : i + batch_size]
            yield x[idx], y[idx]

    def step(fc, batch):
        features, labels = batch
        logits, full = training.full_precision(fc(features))
        with full:
            return F.cross_entropy(logits, labels), {}, len(labels)

    history = training.train_loop(
        fc,
        step,
        epoch_batches,
        epochs,
        optimizer,
        progress=False,
        resume=resume,
        keep=[generator],
        config={"examples": len(x), "batch_size": batch_size, "lr": lr, "seed": seed},
    )
    if standardize:
        with torch.no_grad():
            fc.weight /= std
            fc.bias -= fc.weight @ mean
    fc.eval()
    return history


def linear_evaluation(
    model: Encoder,
    train: ImageSet,
    test: ImageSet,
    epochs: int = 100,
    batch_size: int = 256,
    lr: float = 1e-3,
    weight_decay: float = 1e-4,
    seed: int = 0,
    standardize: bool = True,
) -> dict:
    """The linear evaluation protocol on a frozen encoder (``freeze_for_linear_eval`` first): train
    ``model.fc`` on the encoder's eval-mode features of ``train``, report top-1 and top-5 on
    ``test``.

    The encoder is frozen and in eval mode, so its features of an image never change: they are
    computed once, and training ``fc`` on them is training the whole frozen model batch by batch.
    Returns ``top1``, ``top5``, the fc ``history`` and the features (for kNN).
    """
    checks.instance(
        model, Encoder, "model", "an Encoder with a Linear fc (see linear_model / load_encoder)"
    )
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    if not trainable or any(not n.startswith(core.HEAD_PREFIX) for n in trainable):
        raise ValueError(
            f"expected only fc.* to require gradients (call freeze_for_linear_eval), got "
            f"{trainable}"
        )
    checks.instance(train, ImageSet, "train", "an ImageSet")
    checks.instance(test, ImageSet, "test", "an ImageSet")
    torch.manual_seed(seed)
    features = {
        "train": extract_features(model, train.images),
        "test": extract_features(model, test.images),
    }
    history = train_linear(
        model.fc,
        features["train"],
        train.labels,
        epochs,
        batch_size,
        lr,
        weight_decay,
        seed,
        standardize,
    )
    model.eval()
    logits = _logits(model.fc, features["test"])
    return {**core.probe_scores(logits, test.labels), "history": history, "features": features}


def linear_probe(
    train_features,
    train_labels,
    test_features,
    test_labels,
    n_classes: int,
    epochs: int = 100,
    batch_size: int = 256,
    lr: float = 1e-3,
    weight_decay: float = 1e-4,
    seed: int = 0,
    standardize: bool = True,
) -> dict:
    """The same protocol on features computed elsewhere (e.g. the ImageNet MobileNetV2's)."""
    train_features, test_features = core.probe_features(train_features, test_features, n_classes)
    torch.manual_seed(seed)
    fc = nn.Linear(np.shape(train_features)[1], n_classes)
    history = train_linear(
        fc, train_features, train_labels, epochs, batch_size, lr, weight_decay, seed, standardize
    )
    logits = _logits(fc, np.asarray(test_features, np.float32))
    return {**core.probe_scores(logits, test_labels), "history": history}


def _logits(fc: nn.Module, features: np.ndarray) -> np.ndarray:
    """``fc`` of all the features in one batch, on ``device()``."""
    return training.infer(fc, fc, features, max(1, len(features)), preprocess=None)


def train_supervised(
    model: Encoder,
    train: ImageSet,
    epochs: int = 1,
    batch_size: int = 128,
    lr: float = 1e-3,
    augment=None,
    seed: int = 0,
    progress: bool = False,
    val: ImageSet | None = None,
    keep_best: bool = False,
) -> dict:
    """Train the whole encoder and its linear ``fc`` with labels (cross-entropy, Adam), each
    training image augmented by ``augment`` (e.g. ``augmentation(..., strength=0, blur=0)``: crops
    and flips); ``val`` (not augmented) is scored after every epoch, and ``keep_best`` restores the
    weights of its best accuracy at the end (``training.fit``)."""
    checks.instance(model, Encoder, "model", "an Encoder (see linear_model)")
    checks.instance(train, ImageSet, "train", "an ImageSet")
    if augment is not None and not callable(augment):
        raise TypeError(
            f"augment: expected a callable augmentation (or None), got {checks.describe(augment)}"
        )
    for parameter in model.parameters():
        parameter.requires_grad = True
    torch.manual_seed(seed)
    return training.fit(
        model,
        train,
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        preprocess=lambda x: augment_batch(x, augment if model.training else None),
        seed=seed,
        progress=progress,
        val=val,
        keep_best=keep_best,
    )


def predict_top1(model: Encoder, test: ImageSet) -> float:
    """Top-1 accuracy of the whole model (encoder + fc) on ``test``, in eval mode."""
    checks.instance(model, nn.Module, "model", "a torch nn.Module (an Encoder)")
    checks.instance(test, ImageSet, "test", "an ImageSet")
    if not len(test):
        raise ValueError("test: expected a non-empty ImageSet, got 0 images")
    return training.evaluate(model, test)["accuracy"]

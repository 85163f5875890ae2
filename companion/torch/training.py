"""A compact training loop for PyTorch: ImageSets (or feature arrays) in, history dict out.

``fit`` is the one training helper. A ``TrainerSpec`` (``companion.transfer``) picks the optimizer,
the StepLR schedule and step validation; ``keep_best`` / ``checkpoint`` keep the best validation
weights.
"""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Sampler, TensorDataset
from tqdm.auto import tqdm

from .. import checks, files
from ..data import ImageSet, inputs_and_labels
from ..training import TrainerSpec


def to_float(images) -> torch.Tensor:
    """uint8 N x H x W x C (array or tensor) -> float N x C x H x W in [0, 1]."""
    if not torch.is_tensor(images):
        images = checks.array(images, "images", what="uint8 N x H x W x C images", empty=True)
    x = torch.as_tensor(images)
    if x.ndim != 4 or x.dtype != torch.uint8:
        raise ValueError(f"expected uint8 N x H x W x C images, got {x.dtype} {tuple(x.shape)}")
    return x.permute(0, 3, 1, 2).float() / 255


def _apply(preprocess, x):
    return torch.as_tensor(x) if preprocess is None else preprocess(x)


def loader(
    data: ImageSet,
    batch_size: int,
    shuffle: bool = False,
    sampler: Sampler | None = None,
    seed: int = 0,
) -> DataLoader:
    """Batches of (uint8 NHWC images, labels), or of (features, labels) for an ``(x, y)`` pair."""
    x, y = inputs_and_labels(data)
    if len(x) == 0:
        raise ValueError("cannot make batches of an empty data set: expected at least one example")
    checks.integer(batch_size, "batch_size", 1)
    if sampler is not None:
        checks.instance(
            sampler, Sampler, "sampler", "a torch Sampler (e.g. balanced_sampler(data))"
        )
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(
        TensorDataset(torch.from_numpy(x), torch.from_numpy(y)),
        batch_size=batch_size,
        shuffle=shuffle and sampler is None,
        sampler=sampler,
        generator=generator,
    )


@torch.no_grad()
def predict(
    model: torch.nn.Module, images: np.ndarray, preprocess=to_float, batch_size: int = 256
) -> np.ndarray:
    """Model outputs (logits) in eval mode, as float32 numpy; ``preprocess=None`` feeds arrays as
    they are."""
    checks.instance(model, torch.nn.Module, "model", "a torch.nn.Module")
    checks.batch(images, "images")
    checks.integer(batch_size, "batch_size", 1)
    model.eval()
    return torch.cat(
        [
            model(_apply(preprocess, images[i : i + batch_size]))
            for i in range(0, len(images), batch_size)
        ]
    ).numpy()


def evaluate(
    model: torch.nn.Module, data: ImageSet, preprocess=to_float, batch_size: int = 256
) -> dict:
    """Cross-entropy loss and accuracy on ``data`` (an ImageSet or an ``(x, y)`` pair)."""
    x, y = inputs_and_labels(data)
    checks.batch(x, "data", what="a data set")
    logits = torch.from_numpy(predict(model, x, preprocess, batch_size))
    labels = torch.from_numpy(checks.labels(y, "labels", logits.shape[1]))
    return {
        "loss": torch.nn.functional.cross_entropy(logits, labels).item(),
        "accuracy": (logits.argmax(1) == labels).float().mean().item(),
    }


def save_checkpoint(model: torch.nn.Module, path) -> Path:
    """Write the state dict atomically (``files.atomic_write``)."""
    checks.instance(model, torch.nn.Module, "model", "a torch.nn.Module")
    state = model.state_dict()
    return files.atomic_write(path, lambda tmp: torch.save(state, tmp), "checkpoint")


def load_checkpoint(model: torch.nn.Module, path) -> torch.nn.Module:
    """Load weights written by ``save_checkpoint`` (tensors only: ``weights_only=True``)."""
    checks.instance(model, torch.nn.Module, "model", "a torch.nn.Module")
    path = checks.existing_file(path, "checkpoint", "train with fit(..., checkpoint=path) first")
    try:
        state = torch.load(path, weights_only=True)
    except Exception as err:  # truncated zip, pickle or tensor data: torch raises several kinds
        if "Weights only load failed" in str(err):  # holds code, not just tensors: refused
            raise ValueError(
                checks.file_error(
                    path,
                    "was refused: Weights only load failed (it holds objects besides tensors)",
                    "load only checkpoints written by save_checkpoint",
                )
            ) from None
        raise ValueError(
            checks.file_error(
                path, f"is not a readable checkpoint ({type(err).__name__})", checks.CHECKPOINT_FIX
            )
        ) from None
    try:
        model.load_state_dict(state)
    except (RuntimeError, TypeError, AttributeError) as err:
        first = str(err).strip().splitlines()[-1] if str(err).strip() else type(err).__name__
        raise ValueError(
            checks.file_error(
                path,
                f"does not fit this model ({checks.one_line(first)[:200]})",
                "load it into the model that saved it",
            )
        ) from None
    return model


def _optimizer(model, spec: TrainerSpec):
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError(
            "the model has no trainable parameters: unfreeze some (set_level) before fit"
        )
    if spec.optimizer == "sgd":
        return torch.optim.SGD(params, lr=spec.lr, momentum=spec.momentum)
    return torch.optim.Adam(params, lr=spec.lr)


def _endless(batches):
    """The batches of ``batches`` again and again; each pass reshuffles (the loader's generator)."""
    while True:
        yield from batches


class _Best:
    """The best validation accuracy so far, its weights in memory and, optionally, on disk."""

    def __init__(self, model, checkpoint):
        self.model, self.checkpoint, self.accuracy, self.state, self.step = (
            model,
            checkpoint,
            -1.0,
            None,
            None,
        )

    def offer(self, accuracy: float, step: int):
        if accuracy > self.accuracy:
            self.accuracy, self.step = accuracy, step
            self.state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
            if self.checkpoint is not None:
                save_checkpoint(self.model, self.checkpoint)


def fit(
    model: torch.nn.Module,
    train: ImageSet,
    val: ImageSet | None = None,
    epochs: int = 1,
    batch_size: int = 32,
    lr: float = 1e-3,
    preprocess=to_float,
    sampler: Sampler | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    seed: int = 0,
    progress: bool = True,
    trainer: TrainerSpec | None = None,
    keep_best: bool = False,
    checkpoint=None,
    steps_per_epoch: int | None = None,
) -> dict:
    """Train with cross-entropy; return per-epoch loss/accuracy (and val_ ones), lr and seconds.

    ``trainer`` (default: Adam at ``lr``, constant) sets the optimizer, StepLR schedule and step
    validation. ``keep_best`` restores the weights of the best validation accuracy at the end;
    ``checkpoint`` also writes them there atomically at each improvement. ``train``/``val`` may be
    ``(x, y)`` arrays (e.g. cached features) with ``preprocess=None``. ``steps_per_epoch`` makes an
    epoch that many batches of one endless stream (a new shuffle at each pass over the data, as
    Keras ``fit(steps_per_epoch=)`` on a repeated dataset), so data sets of different sizes get the
    same number of gradient steps (``companion.imbalance.step_budget``).
    """
    checks.instance(model, torch.nn.Module, "model", "a torch.nn.Module")
    checks.integer(epochs, "epochs", 0)
    if steps_per_epoch is not None:
        checks.integer(steps_per_epoch, "steps_per_epoch", 1)
    spec = trainer or TrainerSpec("adam", lr)
    checks.instance(spec, TrainerSpec, "trainer", "a TrainerSpec")
    if (keep_best or checkpoint is not None or spec.validate_every) and val is None:
        raise ValueError("keep_best, checkpoint and step validation need a validation set (val=)")
    optimizer = optimizer or _optimizer(model, spec)
    scheduler = (
        torch.optim.lr_scheduler.StepLR(optimizer, spec.step_size, spec.gamma)
        if spec.step_size
        else None
    )
    batches = loader(train, batch_size, shuffle=True, sampler=sampler, seed=seed)
    stream = _endless(batches) if steps_per_epoch else None
    history = {"loss": [], "accuracy": [], "lr": [], "seconds": []}
    if val is not None:
        history |= {"val_loss": [], "val_accuracy": [], "val_steps": []}
    best, step = (_Best(model, checkpoint) if keep_best or checkpoint is not None else None), 0
    for epoch in range(epochs):
        start = time.perf_counter()
        history["lr"].append(optimizer.param_groups[0]["lr"])
        model.train()  # train phase
        total, correct, seen = 0.0, 0, 0
        epoch_batches = itertools.islice(stream, steps_per_epoch) if stream else batches
        for x, labels in tqdm(
            epoch_batches,
            desc=f"epoch {epoch + 1}/{epochs}",
            disable=not progress,
            leave=False,
            total=steps_per_epoch or len(batches),
        ):
            logits = model(_apply(preprocess, x))
            if step == 0:  # labels without an output: one line, not "Target 7 is out of bounds"
                checks.labels(inputs_and_labels(train)[1], "train labels", logits.shape[1])
            loss = torch.nn.functional.cross_entropy(logits, labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(labels)
            correct += (logits.argmax(1) == labels).sum().item()
            seen += len(labels)
            step += 1
            if spec.validate_every and epoch >= spec.min_epoch and step % spec.validate_every == 0:
                accuracy = evaluate(model, val, preprocess)["accuracy"]
                history["val_steps"].append((step, accuracy))
                if best is not None:
                    best.offer(accuracy, step)
                model.train()
        if scheduler is not None:
            scheduler.step()
        history["loss"].append(total / seen)
        history["accuracy"].append(correct / seen)
        if val is not None:  # validation phase
            scores = evaluate(model, val, preprocess)
            history["val_loss"].append(scores["loss"])
            history["val_accuracy"].append(scores["accuracy"])
            if best is not None and epoch >= spec.min_epoch:
                best.offer(scores["accuracy"], step)
        history["seconds"].append(time.perf_counter() - start)
    if best is not None and best.state is not None:
        model.load_state_dict(best.state)
        history["best"] = {"val_accuracy": best.accuracy, "step": best.step}
    return history

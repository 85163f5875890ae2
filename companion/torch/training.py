"""A compact training loop for PyTorch: ImageSets in, history dict out, tqdm progress."""
from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import DataLoader, Sampler, TensorDataset
from tqdm.auto import tqdm

from ..data import ImageSet


def to_float(images) -> torch.Tensor:
    """uint8 N x H x W x C (array or tensor) -> float N x C x H x W in [0, 1]."""
    x = torch.as_tensor(np.asarray(images) if not torch.is_tensor(images) else images)
    if x.ndim != 4 or x.dtype != torch.uint8:
        raise ValueError(f"expected uint8 N x H x W x C images, got {x.dtype} {tuple(x.shape)}")
    return x.permute(0, 3, 1, 2).float() / 255


def loader(data: ImageSet, batch_size: int, shuffle: bool = False, sampler: Sampler | None = None,
           seed: int = 0) -> DataLoader:
    """Batches of (uint8 NHWC images, labels); preprocessing happens per batch in ``fit``."""
    if len(data) == 0:
        raise ValueError("cannot make batches of an empty data set")
    dataset = TensorDataset(torch.from_numpy(data.images), torch.from_numpy(data.labels))
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle and sampler is None,
                      sampler=sampler, generator=generator)


@torch.no_grad()
def predict(model: torch.nn.Module, images: np.ndarray, preprocess=to_float, batch_size: int = 256) -> np.ndarray:
    """Model outputs (logits) for uint8 NHWC images, in eval mode, as float32 numpy."""
    model.eval()
    return torch.cat([model(preprocess(images[i:i + batch_size]))
                      for i in range(0, len(images), batch_size)]).numpy()


def evaluate(model: torch.nn.Module, data: ImageSet, preprocess=to_float, batch_size: int = 256) -> dict:
    """Cross-entropy loss and accuracy on ``data``."""
    logits = torch.from_numpy(predict(model, data.images, preprocess, batch_size))
    labels = torch.from_numpy(data.labels)
    return {"loss": torch.nn.functional.cross_entropy(logits, labels).item(),
            "accuracy": (logits.argmax(1) == labels).float().mean().item()}


def fit(model: torch.nn.Module, train: ImageSet, val: ImageSet | None = None, epochs: int = 1,
        batch_size: int = 32, lr: float = 1e-3, preprocess=to_float, sampler: Sampler | None = None,
        optimizer: torch.optim.Optimizer | None = None, seed: int = 0, progress: bool = True) -> dict:
    """Train with cross-entropy (Adam by default); return per-epoch loss/accuracy (and val_ ones)."""
    optimizer = optimizer or torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
    batches = loader(train, batch_size, shuffle=True, sampler=sampler, seed=seed)
    history = {"loss": [], "accuracy": []} | ({"val_loss": [], "val_accuracy": []} if val is not None else {})
    for epoch in range(epochs):
        model.train()
        total, correct, seen = 0.0, 0, 0
        for images, labels in tqdm(batches, desc=f"epoch {epoch + 1}/{epochs}", disable=not progress,
                                   leave=False):
            logits = model(preprocess(images))
            loss = torch.nn.functional.cross_entropy(logits, labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(labels)
            correct += (logits.argmax(1) == labels).sum().item()
            seen += len(labels)
        history["loss"].append(total / seen)
        history["accuracy"].append(correct / seen)
        if val is not None:
            scores = evaluate(model, val, preprocess)
            history["val_loss"].append(scores["loss"])
            history["val_accuracy"].append(scores["accuracy"])
    return history

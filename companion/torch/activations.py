"""What each layer computes: forward hooks collect named layers' outputs (PyTorch)."""

from __future__ import annotations

import numpy as np
import torch

from .. import checks
from .training import to_float


def layer_names(model: torch.nn.Module, kind: type | tuple = torch.nn.Conv2d) -> list[str]:
    """Names (as in ``named_modules``) of the layers of type ``kind``, in forward order."""
    checks.instance(model, torch.nn.Module, "model", "a torch.nn.Module")
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if not kinds or not all(isinstance(k, type) for k in kinds):
        raise TypeError(
            f"kind: expected a layer class such as torch.nn.Conv2d, got {checks.describe(kind)}"
        )
    return [name for name, module in model.named_modules() if isinstance(module, kind)]


def check_layers(model: torch.nn.Module, names) -> dict:
    """The modules called ``names``; an unknown name is an error that lists the valid ones."""
    checks.instance(model, torch.nn.Module, "model", "a torch.nn.Module")
    names = checks.names(names)
    modules = dict(model.named_modules())
    unknown = [n for n in names if n not in modules or n == ""]
    if unknown:
        raise ValueError(
            f"unknown layer(s) {unknown}; valid names: {', '.join(n for n in modules if n)}"
        )
    return {n: modules[n] for n in names}


@torch.no_grad()
def layer_activations(
    model: torch.nn.Module, images: np.ndarray, names=None, preprocess=to_float
) -> dict:
    """Outputs of the named layers (default: every Conv2d) for uint8 NHWC images, as float32 NHWC.

    The hooks are removed afterwards, whatever happens: the model is left as it was.
    """
    names = checks.names(names) if names is not None else layer_names(model)
    checks.batch(images, "images", 4, "an N x H x W x C batch")
    outputs, handles = {}, []
    for name, module in check_layers(model, names).items():
        handles.append(
            module.register_forward_hook(
                lambda _m, _i, out, name=name: outputs.__setitem__(name, out.detach())
            )
        )
    was_training = model.training
    try:
        model.eval()
        model(preprocess(images))
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return {
        n: (outputs[n].permute(0, 2, 3, 1) if outputs[n].ndim == 4 else outputs[n]).numpy()
        for n in names
    }

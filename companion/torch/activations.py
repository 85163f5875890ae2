"""What each layer computes: forward hooks collect named layers' outputs (PyTorch)."""

from __future__ import annotations

import numpy as np
import torch

from .. import checks
from .training import _on_device, to_float


def layer_names(model: torch.nn.Module, kind: type | tuple = torch.nn.Conv2d) -> list[str]:
    """Names (as in ``named_modules``) of the layers of type ``kind``, in forward order."""
    checks.instance(model, torch.nn.Module, "model", "a torch.nn.Module")
    kinds = checks.layer_kinds(kind, "torch.nn.Conv2d")
    return [name for name, module in model.named_modules() if isinstance(module, kinds)]


def check_layers(model: torch.nn.Module, names) -> dict:
    """The modules called ``names``; an unknown name is an error that lists the valid ones."""
    checks.instance(model, torch.nn.Module, "model", "a torch.nn.Module")
    return checks.known_layers(names, {n: m for n, m in model.named_modules() if n})


@torch.no_grad()
def layer_activations(
    model: torch.nn.Module, images: np.ndarray, names=None, preprocess=to_float
) -> dict:
    """Outputs of the named layers (default: every Conv2d) for uint8 NHWC images, as float32 NHWC.

    The hooks are removed afterwards, whatever happens: the model is left as it was (its mode
    and its device: it runs on ``training.device()``).
    """
    names = checks.names(names) if names is not None else layer_names(model)
    checks.image_batch(images)
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
        with _on_device(model) as here:
            model(torch.as_tensor(preprocess(images)).to(here))
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return {
        n: (outputs[n].permute(0, 2, 3, 1) if outputs[n].ndim == 4 else outputs[n]).cpu().numpy()
        for n in names
    }

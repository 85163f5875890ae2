"""Where a CNN looks (PyTorch): CAM, Grad-CAM, guided backpropagation, guided Grad-CAM, filter
patterns.

In the style of pytorch-grad-cam: ``BaseCAM`` runs one forward and one backward pass over a whole
batch and weights the channels of a named layer; each method overrides ``channel_weights``.
Maps come back as float32 N x h x w numpy arrays at the layer's resolution; ``companion.saliency``
normalises, resizes and thresholds them. Hooks live only for the duration of a call, and the
model's training mode and device are restored afterwards: the model is left exactly as it was.
Every method runs on ``training.device()`` (the GPU when there is one), in float32: gradients of
class scores are what these maps are made of, so no mixed precision here.
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
import torch

from .. import checks, saliency
from .activations import check_layers, layer_names
from .training import _on_device, to_float


@contextmanager
def _eval_mode(model: torch.nn.Module):
    """Run in eval mode; put back the training flag afterwards."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


def _targets(logits: torch.Tensor, classes) -> torch.Tensor:
    """Class index per image: the top class (``None``), one index for all, or one index per
    image."""
    targets = saliency.target_classes(classes, *logits.shape)
    return logits.argmax(1) if targets is None else torch.from_numpy(targets).to(logits.device)


def _score(logits: torch.Tensor, classes) -> tuple[torch.Tensor, torch.Tensor]:
    """The summed logits of the target classes (one backward pass serves the whole batch)."""
    targets = _targets(logits, classes)
    return logits.gather(1, targets[:, None]).sum(), targets


def _check_maps(model, layer: str, activations) -> None:
    """A CAM needs maps: N x C x h x w outputs, which convolutional layers give."""
    saliency.check_cam_layer(
        layer,
        activations.shape,
        "N x C x h x w",
        lambda: layer_names(model, (torch.nn.Conv2d, torch.nn.ReLU, torch.nn.ReLU6)),
    )


class BaseCAM:
    """Map of ``layer``: the sum over its channels of weight x activation (then ReLU where
    ``relu``)."""

    needs_gradients = True
    relu = True

    def __init__(self, model: torch.nn.Module, layer: str, preprocess=to_float):
        checks.text(layer, "layer")
        self.model, self.layer, self.preprocess = model, layer, preprocess
        self.module = check_layers(model, [layer])[layer]
        saliency.check_preprocess(preprocess)

    def channel_weights(self, activations, gradients, classes) -> torch.Tensor:
        """N x K weights of the K channels of ``activations`` (N x K x h x w)."""
        raise NotImplementedError

    def __call__(self, images: np.ndarray, classes=None) -> np.ndarray:
        """Maps (float32 N x h x w) for the top class, one class for all, or one class per image."""
        checks.image_batch(images)
        store = {}
        handle = self.module.register_forward_hook(lambda _m, _i, out: store.__setitem__("a", out))
        try:
            with (
                _eval_mode(self.model),
                _on_device(self.model) as here,
                torch.set_grad_enabled(self.needs_gradients),
            ):
                x = torch.as_tensor(self.preprocess(images)).to(here)
                logits = self.model(
                    x.requires_grad_(True) if self.needs_gradients else x
                )  # frozen models too
                score, targets = _score(logits, classes)
                activations = store["a"]
                _check_maps(self.model, self.layer, activations)
                gradients = (
                    torch.autograd.grad(score, activations)[0] if self.needs_gradients else None
                )
                weights = self.channel_weights(activations.detach(), gradients, targets)
                maps = torch.einsum("nk,nkhw->nhw", weights, activations.detach())
        finally:
            handle.remove()
        return (maps.clamp(min=0) if self.relu else maps).cpu().numpy()


class CAM(BaseCAM):
    """Zhou et al. (2016): the classifier's weights of the class; ``layer`` must feed global average
    pooling."""

    needs_gradients = False
    relu = False

    def __init__(self, model, layer, preprocess=to_float):
        super().__init__(model, layer, preprocess)
        self.classifier = saliency.cam_classifier(
            [m for m in model.modules() if isinstance(m, torch.nn.Linear)], "Linear"
        )

    def channel_weights(self, activations, gradients, classes):
        saliency.check_cam_channels(self.layer, activations.shape[1], self.classifier.in_features)
        return self.classifier.weight.detach()[classes]


class GradCAM(BaseCAM):
    """Selvaraju et al. (2017): alpha_k = spatial mean of d score / d A_k, then ReLU of the weighted
    sum."""

    def channel_weights(self, activations, gradients, classes):
        return gradients.mean(dim=(2, 3))


def cam(model, images, layer: str, classes=None, preprocess=to_float) -> np.ndarray:
    """CAM maps (float32 N x h x w, may be negative) of ``layer``, the one before pooling."""
    return CAM(model, layer, preprocess)(images, classes)


def grad_cam(model, images, layer: str, classes=None, preprocess=to_float) -> np.ndarray:
    """Grad-CAM maps (float32 N x h x w, >= 0) of any convolutional ``layer``."""
    return GradCAM(model, layer, preprocess)(images, classes)


class _PositiveGradient(torch.autograd.Function):
    """Identity forward; backward lets only positive gradients through."""

    @staticmethod
    def forward(ctx, x):
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        return grad.clamp(min=0)


def guided_backprop(model, images, classes=None, preprocess=to_float) -> np.ndarray:
    """Springenberg et al. (2015): gradient of the class score w.r.t. the input (float32 N x H x W x
    C)
    where every ReLU / ReLU6 passes gradient only where its input is in its linear range and the
    gradient arriving from above is positive.

    A temporary forward hook after each activation module clamps the incoming gradient at 0; the
    activation's own derivative then masks it by its forward input ((0, inf) for ReLU, (0, 6) for
    ReLU6).
    """
    checks.instance(model, torch.nn.Module, "model", "a torch.nn.Module")
    checks.image_batch(images)
    handles = [
        m.register_forward_hook(lambda _m, _i, out: _PositiveGradient.apply(out))
        for m in model.modules()
        if isinstance(m, (torch.nn.ReLU, torch.nn.ReLU6))
    ]
    try:
        with _eval_mode(model), _on_device(model) as here:
            x = torch.as_tensor(preprocess(images)).to(here).requires_grad_(True)
            score, _ = _score(model(x), classes)
            gradients = torch.autograd.grad(score, x)[0]
    finally:
        for handle in handles:
            handle.remove()
    return gradients.permute(0, 2, 3, 1).cpu().numpy()


def guided_grad_cam(model, images, layer: str, classes=None, preprocess=to_float) -> np.ndarray:
    """Guided backpropagation times the normalised Grad-CAM map resized to the input (N x H x W x
    C)."""
    guided = guided_backprop(model, images, classes, preprocess)
    maps = saliency.resize(
        saliency.normalise(grad_cam(model, images, layer, classes, preprocess)), guided.shape[1:3]
    )
    return guided * maps[..., None]


class _Reached(Exception):
    """Raised by a forward hook to stop the forward pass at a layer, carrying its output."""

    def __init__(self, output):
        super().__init__()
        self.output = output


def _run_until(model: torch.nn.Module, module: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The output of ``module`` for input ``x``; the layers after it are not run."""

    def stop(_module, _inputs, output):
        raise _Reached(output)

    handle = module.register_forward_hook(stop)
    try:
        model(x)
    except _Reached as reached:
        return reached.output
    finally:
        handle.remove()
    raise RuntimeError("the forward pass never reached the layer")


def filter_pattern(
    model,
    layer: str,
    filters,
    size: int = 128,
    steps: int = 30,
    lr: float = 0.05,
    jitter: int = 8,
    mean=(0.0, 0.0, 0.0),
    std=(1.0, 1.0, 1.0),
    seed: int = 0,
) -> np.ndarray:
    """Pictures (float32 N x size x size x 3, pixel scale [0, 1]) that maximise the mean response of
    each of ``filters`` of ``layer``, by gradient ascent on the input from grey noise.

    Each step shifts the picture by a random offset of up to ``jitter`` pixels (a regulariser
    against
    high-frequency noise) and moves it by ``lr`` times the RMS-normalised gradient. The network runs
    only up to ``layer`` (a forward hook stops it there); ``mean``/``std`` are the
    model's input normalisation. The random numbers come from numpy, as in the TF edition.
    """
    filters = saliency.filter_request(layer, filters, size, steps, jitter)
    module = check_layers(model, [layer])[layer]
    with _eval_mode(model), _on_device(model) as here:
        with torch.no_grad():
            probe = _run_until(model, module, torch.zeros(1, 3, size, size, device=here))
            _check_maps(model, layer, probe)
            channels = probe.shape[1]
        saliency.check_filters(layer, filters, channels)
        rng = np.random.default_rng(seed)
        start = 0.5 + 0.05 * rng.standard_normal((len(filters), size, size, 3)).astype(np.float32)
        x = torch.from_numpy(start).permute(0, 3, 1, 2).contiguous().to(here)
        mean = torch.tensor(mean, device=here).view(1, 3, 1, 1)
        std = torch.tensor(std, device=here).view(1, 3, 1, 1)
        index = torch.arange(len(filters), device=here)
        for dy, dx in rng.integers(-jitter, jitter + 1, size=(steps, 2)):
            x.requires_grad_(True)
            out = _run_until(
                model, module, (torch.roll(x, (int(dy), int(dx)), (2, 3)) - mean) / std
            )
            score = out[index, filters].mean(dim=(1, 2)).sum()
            (grad,) = torch.autograd.grad(score, x)
            grad = grad / (grad.pow(2).mean(dim=(1, 2, 3), keepdim=True).sqrt() + 1e-8)
            x = (x.detach() + lr * grad).clamp(0, 1)
    return x.permute(0, 2, 3, 1).cpu().numpy()

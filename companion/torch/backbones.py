"""ImageNet MobileNetV2 for PyTorch: classifier, feature extractor and matching preprocessing."""

from __future__ import annotations

import numpy as np
import torch
from torchvision.models import MobileNet_V2_Weights, mobilenet_v2 as tv_mobilenet_v2

from .. import checks
from ..weights import verified_torch_checkpoint
from ..images import to_rgb_batch
from .training import infer

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


def mobilenet_v2(pretrained: bool = True) -> torch.nn.Module:
    """torchvision's MobileNetV2 in eval mode, with the ImageNet weights when ``pretrained``."""
    if not isinstance(pretrained, bool):
        raise TypeError(f"pretrained must be True or False, got {checks.describe(pretrained)}")
    if not pretrained:
        return tv_mobilenet_v2(weights=None).eval()
    verified_torch_checkpoint()  # a missing, truncated or replaced file is named, with the fix
    return tv_mobilenet_v2(weights=MobileNet_V2_Weights.IMAGENET1K_V1).eval()


def preprocess(images: np.ndarray) -> torch.Tensor:
    """uint8 N x H x W x C pictures -> normalised float N x 3 x H x W, as the ImageNet weights
    expect."""
    images = checks.images(images, empty=True)
    x = torch.from_numpy(to_rgb_batch(images)).permute(0, 3, 1, 2).float() / 255
    return (x - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1)


def _mobilenet(model) -> torch.nn.Module:
    if not isinstance(getattr(model, "features", None), torch.nn.Sequential):
        raise TypeError(
            f"model: expected a MobileNetV2 (mobilenet_v2()), got {checks.describe(model)}"
        )
    return model


def feature_extractor(model: torch.nn.Module) -> torch.nn.Module:
    """The convolutional trunk: N x 3 x H x W -> N x 1280 x H/32 x W/32 feature maps."""
    return _mobilenet(model).features


@torch.no_grad()
def predict_proba(model: torch.nn.Module, images: np.ndarray, batch_size: int = 32) -> np.ndarray:
    """Softmax class probabilities (float32 N x classes) for uint8 NHWC images, in eval mode, on
    ``device()`` (the model stays where it was)."""
    checks.instance(model, torch.nn.Module, "model", "a torch.nn.Module")
    images = checks.images(images)
    checks.integer(batch_size, "batch_size", 1)
    model.eval()
    return infer(
        model, lambda x: torch.softmax(model(x).float(), dim=1), images, batch_size, preprocess
    )


def count_params(model: torch.nn.Module, trainable_only: bool = False) -> int:
    """Number of (trainable) parameters."""
    checks.instance(model, torch.nn.Module, "model", "a torch.nn.Module")
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def _keras_layout(module: torch.nn.Module) -> list[np.ndarray]:
    """A layer's weights in the order and layout Keras stores them."""
    if isinstance(module, torch.nn.Conv2d):
        w = module.weight.detach().numpy()
        depthwise = module.groups == module.in_channels > 1
        return [w.transpose(2, 3, 0, 1) if depthwise else w.transpose(2, 3, 1, 0)]
    if isinstance(module, torch.nn.BatchNorm2d):
        return [
            t.detach().numpy()
            for t in (module.weight, module.bias, module.running_mean, module.running_var)
        ]
    return [module.weight.detach().numpy().T, module.bias.detach().numpy()]


def export_mobilenet_v2(path) -> None:
    """Write the ImageNet MobileNetV2 weights, layer by layer in Keras layout, to an .npz file."""
    path = checks.path(path, "path")
    if not path.parent.is_dir():
        raise FileNotFoundError(
            f"folder {path.parent} does not exist: expected a path in an existing folder"
        )
    layers = [
        m
        for m in mobilenet_v2().modules()
        if isinstance(m, (torch.nn.Conv2d, torch.nn.BatchNorm2d, torch.nn.Linear))
    ]
    arrays = {
        f"{i:03d}_{j}": a for i, m in enumerate(layers) for j, a in enumerate(_keras_layout(m))
    }
    np.savez(path, **arrays)


@torch.no_grad()
def block_output(model: torch.nn.Module, images: np.ndarray, block: int) -> np.ndarray:
    """Feature maps after MobileNetV2 block ``block`` (0 = stem ... 18 = last 1x1 conv), float32
    NHWC; one batch, on ``device()`` (the model stays where it was)."""
    n = len(_mobilenet(model).features)
    if checks.integer(block, "block") < 0 or block >= n:
        raise ValueError(f"block must be in 0..{n - 1}, got {block}")
    checks.images(images)
    part = model.features[: block + 1]
    return infer(part, lambda x: part(x).permute(0, 2, 3, 1), images, len(images), preprocess)

"""CAM, Grad-CAM, guided backprop (PyTorch) against the maps worked out by hand in
tests/cases.py."""

import subprocess
import sys
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import cases
from cases import GUIDED, X
from companion import saliency
from companion.torch import cam
from companion.torch.shapes_net import randomise, shapes_net


def as_tensor(images):
    """Float NHWC numpy -> NCHW tensor, no scaling (the hand-set input has negative values)."""
    return torch.as_tensor(np.asarray(images, np.float32)).permute(0, 3, 1, 2)


def tiny_net():
    net = nn.Sequential(
        OrderedDict(
            conv1=nn.Conv2d(1, 2, 1, bias=False),
            relu1=nn.ReLU6(inplace=True),
            conv2=nn.Conv2d(2, 2, 1, bias=False),
            relu2=nn.ReLU(),
            gap=nn.AdaptiveAvgPool2d(1),
            flatten=nn.Flatten(),
            fc=nn.Linear(2, 2, bias=False),
        )
    )
    with torch.no_grad():
        net.conv1.weight.copy_(torch.tensor([1.0, -1.0]).view(2, 1, 1, 1))
        net.conv2.weight.copy_(torch.tensor([[1.0, 2.0], [-1.0, 1.0]]).view(2, 2, 1, 1))
        net.fc.weight.copy_(torch.tensor([[1.0, -1.0], [-2.0, 4.0]]))
    return net


def test_hand_worked_cam_and_grad_cam():
    cases.check_hand_worked_cam_and_grad_cam(cam, tiny_net(), as_tensor)


def test_hand_worked_guided_backprop_handles_relu6():
    cases.check_hand_worked_guided_backprop(cam, tiny_net(), as_tensor)
    # plain backprop differs exactly where guidance cuts the negative gradient
    x = as_tensor(X).requires_grad_(True)
    tiny_net()(x)[0, 0].backward()
    np.testing.assert_allclose(x.grad[0, 0].numpy(), [[0.25, -0.25], [0, 0.25]])


def test_model_left_unchanged_and_errors():
    net = tiny_net().train()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    cam.guided_backprop(net, X, 0, as_tensor)
    cam.grad_cam(net, X, "relu1", 0, as_tensor)
    cam.cam(net, X, "relu2", 0, as_tensor)
    assert net.training
    assert all(not m._forward_hooks and not m._backward_hooks for m in net.modules())
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    assert all(p.grad is None for p in net.parameters())
    np.testing.assert_allclose(net(as_tensor(X)).detach().numpy(), [[2.75, -5.0]])
    with pytest.raises(ValueError, match="valid names: conv1, relu1"):
        cam.grad_cam(net, X, "conv9", 0, as_tensor)
    with pytest.raises(ValueError, match=r"class indices must be in \[0, 2\)"):
        cam.grad_cam(net, X, "relu2", 2, as_tensor)
    with pytest.raises(ValueError, match="class indices"):
        cam.guided_backprop(net, X, [-1], as_tensor)


def test_cam_equals_normalised_grad_cam_on_gap_linear_model():
    torch.manual_seed(0)
    cases.check_cam_equals_normalised_grad_cam(cam, saliency, shapes_net(width=4).eval())


def test_batch_of_eight_matches_images_alone():
    torch.manual_seed(1)
    cases.check_batch_of_eight_matches_images_alone(cam, shapes_net(width=4).eval())


def test_filter_pattern_raises_the_filter_response():
    torch.manual_seed(0)
    net = shapes_net(width=4).eval()
    out = cam.filter_pattern(net, "conv2", [0, 3], size=24, steps=20, lr=0.1, jitter=2)
    assert out.shape == (2, 24, 24, 3) and out.min() >= 0 and out.max() <= 1
    start = cam.filter_pattern(net, "conv2", [0, 3], size=24, steps=0)
    response = lambda x: net[:5](as_tensor(x)).detach()[[0, 1], [0, 3]].mean((1, 2)).numpy()  # noqa: E731
    assert (response(out) > response(start) + 0.05).all()
    with pytest.raises(ValueError, match="has 8 filters"):
        cam.filter_pattern(net, "conv2", [8], size=24, steps=1)


def test_randomise_changes_only_the_named_layers():
    net = shapes_net(width=4)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    randomise(net, ["conv4", "fc"], seed=3)
    changed = {k for k, v in net.state_dict().items() if not torch.equal(before[k], v)}
    assert changed == {"conv4.weight", "fc.weight", "fc.bias"}


def export_reference(path):
    """Write a random shapes_net (width 4), its weights in Keras layout, inputs and maps to
    ``path``.

    Run in a torch-only process by tests/tf/test_cam_tf.py, which rebuilds the net in Keras.
    """
    torch.manual_seed(0)
    net = shapes_net(width=4).eval()
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)
    weights = {}
    for name, m in net.named_children():
        if isinstance(m, nn.Conv2d):
            weights[f"w_{name}_0"] = m.weight.detach().numpy().transpose(2, 3, 1, 0)
        elif isinstance(m, nn.BatchNorm2d):
            for j, t in enumerate((m.weight, m.bias, m.running_mean, m.running_var)):
                weights[f"w_{name}_{j}"] = t.detach().numpy()
        elif isinstance(m, nn.Linear):
            weights[f"w_{name}_0"] = m.weight.detach().numpy().T
            weights[f"w_{name}_1"] = m.bias.detach().numpy()
    images = np.random.default_rng(2).integers(0, 256, (3, 20, 20, 3), dtype=np.uint8)
    classes = [0, 2, 3]
    np.savez(
        path,
        images=images,
        classes=classes,
        **weights,
        cam=cam.cam(net, images, "relu4", classes),
        grad_cam_relu2=cam.grad_cam(net, images, "relu2", classes),
        grad_cam_relu4=cam.grad_cam(net, images, "relu4"),
        guided=cam.guided_backprop(net, images, classes),
        pattern=cam.filter_pattern(net, "conv3", [1, 5], size=20, steps=5, lr=0.1, jitter=2),
        hand_cam=np.stack([cam.cam(tiny_net(), X, "relu2", c, as_tensor)[0] for c in (0, 1)]),
        hand_grad_cam=cam.grad_cam(tiny_net(), X, "relu1", 0, as_tensor),
        hand_guided=cam.guided_backprop(tiny_net(), X, 0, as_tensor),
    )


def test_export_reference_runs(tmp_path):
    """The exporter the TF test calls works (in its own process, as the TF test runs it)."""
    code = (
        f"import sys; sys.path[:0] = "
        f"{[str(Path(__file__).parent), str(Path(__file__).parents[1])]!r}; "
        f"import test_cam_torch as t; t.export_reference({str(tmp_path / 'ref.npz')!r})"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    ref = np.load(tmp_path / "ref.npz")
    np.testing.assert_allclose(ref["hand_guided"][0, ..., 0], GUIDED)
    assert ref["guided"].shape == (3, 20, 20, 3) and ref["cam"].shape == (3, 5, 5)


def test_frozen_model_still_gives_grad_cam():
    net = tiny_net()
    net.requires_grad_(False)
    cases.check_frozen_model_still_gives_grad_cam(cam, net, as_tensor)

"""The companion against the libraries make bench times it with, on small inputs: the same
losses, gradients, mined negatives and maps. Skipped where the bench extra is not installed
(make test does not install it; make bench does)."""

import numpy as np
import pytest
import torch

from companion.book import bench
from companion.torch import cam, triplet
from companion.torch.shapes_net import shapes_net


def _peer(module):
    return pytest.importorskip(module, reason="a bench peer: installed by make bench")


@pytest.mark.parametrize("batch", [4, 32])
def test_info_nce_equals_lightly_and_pytorch_metric_learning(batch):
    lightly, pml = _peer("lightly.loss"), _peer("pytorch_metric_learning.losses")
    x = torch.randn(2 * batch, 16, generator=torch.Generator().manual_seed(batch))  # float32
    ours = bench._companion_info_nce(batch)
    peers = {
        "lightly": lambda x: lightly.NTXentLoss(bench.TEMPERATURE)(x[:batch], x[batch:]),
        "pml": lambda x: pml.NTXentLoss(bench.TEMPERATURE)(x, torch.arange(batch).repeat(2)),
    }
    value, gradient = bench._value_and_gradient(ours, x)
    for theirs in peers.values():
        peer_value, peer_gradient = bench._value_and_gradient(theirs, x)
        torch.testing.assert_close(value, peer_value, rtol=1e-6, atol=1e-6)
        torch.testing.assert_close(gradient, peer_gradient, rtol=1e-5, atol=1e-7)


def test_semi_hard_choice_is_the_closest_of_pytorch_metric_learnings_semi_hard_set():
    miners = _peer("pytorch_metric_learning.miners")
    x, labels = bench._triplet_inputs(64, np.random.default_rng(0))
    miner = miners.TripletMarginMiner(
        1.0, type_of_triplets="semihard", distance=bench._squared_l2()
    )
    d = miner.distance(x, x)
    ours = triplet.semi_hard_negatives(d, labels)
    assert "pairs: max Δ d(a, n) 0 ≤" in bench._mining_agreement(ours, miner(x, labels), d)
    wrong = torch.where(ours >= 0, (ours + 1) % len(ours), ours)  # another negative (or none)
    with pytest.raises(AssertionError, match="above the tolerance"):
        bench._mining_agreement(wrong, miner(x, labels), d)


def test_grad_cam_scaled_as_pytorch_grad_cam_equals_its_maps():
    grad_cam = _peer("pytorch_grad_cam")
    torch.manual_seed(0)
    model, layer = shapes_net(3, 8).eval(), "relu4"
    images = np.random.default_rng(0).integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)
    ours = bench._scaled(cam.grad_cam(model, images, layer), 32)
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255
    with grad_cam.GradCAM(model, [model.get_submodule(layer)]) as peer:
        theirs = peer(x, None)
    np.testing.assert_allclose(ours, theirs, atol=1e-5)
    assert theirs.max() > 0.99  # maps, not zeros

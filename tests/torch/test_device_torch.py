"""Every training, prediction and feature path of the PyTorch edition runs on ``training.device()``,
checked without a GPU.

``FakeCuda`` makes this CPU machine look like it has one: ``.to("cuda")`` (and ``device="cuda"``
in a factory) gives a CPU copy that counts as a GPU tensor (it reports ``device`` cuda:0), and every
operation then checks what PyTorch checks on a real GPU: no mixing of GPU tensors with CPU ones
(CPU scalars aside), no ``.numpy()`` of a GPU tensor. A model or a batch left on the CPU fails
here as it would on the gpu profile's first GPU run, in seconds.
"""

import contextlib
import warnings

import numpy as np
import pytest
import torch
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten, tree_map

from companion.data import ImageSet
from companion.torch import activations, backbones, cam, simclr, training, transfer, triplet

CUDA = torch.device("cuda", 0)
MOVES = {torch.Tensor.to, torch.Tensor.cuda, torch.Tensor.cpu}
NUMPY = {torch.Tensor.numpy, torch.Tensor.__array__}
CROSS_DEVICE = {"aten::copy_", "aten::_local_scalar_dense", "aten::set_"}
# a GPU tensor may be indexed by CPU index tensors (a list of ints): the indices are not checked
INDEXING = {"aten::index", "aten::index_put", "aten::index_put_", "aten::_index_put_impl_"}


class _Ops(TorchDispatchMode):
    """Every ATen operation (autograd's and the optimizers' too): one device for its inputs."""

    def __init__(self, fake):
        super().__init__()
        self.fake = fake

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        if self.fake.quiet or func._schema.name in CROSS_DEVICE:
            return out
        inputs = (args[0], *args[2:]) if func._schema.name in INDEXING else (args, kwargs)
        tensors = [t for t in tree_flatten(inputs)[0] if isinstance(t, torch.Tensor)]
        on = {self.fake.where(t) for t in tensors if self.fake.on_gpu(t) or t.dim() > 0}
        on.discard(None)
        if len(on) > 1:
            raise RuntimeError(
                f"Expected all tensors to be on the same device, but found at least two devices, "
                f"cuda:0 and cpu! ({func._schema.name})"
            )
        if on == {"cuda"}:
            tree_map(lambda t: self.fake.tag(t) if isinstance(t, torch.Tensor) else t, out)
        return out


class _Functions(TorchFunctionMode):
    """Moves between the devices, ``device`` of a tensor, factories, and ``.numpy()``."""

    def __init__(self, fake):
        super().__init__()
        self.fake = fake

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        fake = self.fake
        if func == torch.Tensor.device.__get__:  # a new method-wrapper each time: ==
            return CUDA if fake.on_gpu(args[0]) else torch.device("cpu")
        if func == torch.Tensor.is_cuda.__get__:
            return fake.on_gpu(args[0])
        if func in NUMPY and fake.on_gpu(args[0]):
            raise TypeError(
                "can't convert cuda:0 device type tensor to numpy. Use Tensor.cpu() to copy the "
                "tensor to host memory first."
            )
        if func in MOVES:
            return fake.move(func, args, kwargs)
        device = kwargs.get("device")
        if device is not None and torch.device(device).type == "cuda":  # a factory on the GPU
            out = func(*args, **{**kwargs, "device": "cpu"})
            tree_map(lambda t: fake.tag(t) if isinstance(t, torch.Tensor) else t, out)
            return out
        return func(*args, **kwargs)


class FakeCuda:
    """Tensors count as GPU ones by their storage, kept alive so no address is reused."""

    def __init__(self):
        self.tagged, self.quiet, self.moves = {}, False, 0

    @staticmethod
    def _key(t):
        return t.untyped_storage()._cdata if t.numel() else None  # the StorageImpl itself

    def on_gpu(self, t) -> bool:
        key = self._key(t)
        return key is not None and key in self.tagged

    def where(self, t):
        if not t.numel():
            return None
        return "cuda" if self.on_gpu(t) else "cpu"

    def tag(self, t):
        if t.numel():  # the storage itself is kept: a module's .to() swaps a parameter's storage
            storage = t.untyped_storage()
            self.tagged[storage._cdata] = storage

    def move(self, func, args, kwargs):
        t = args[0]
        if func is torch.Tensor.cuda:
            target, dtype = CUDA, None
        elif func is torch.Tensor.cpu:
            target, dtype = torch.device("cpu"), None
        else:
            target, dtype, _, _ = torch._C._nn._parse_to(*args[1:], **kwargs)
        out = t if dtype is None or dtype == t.dtype else t.to(dtype)
        if target is None or (target.type == "cuda") == self.on_gpu(t):
            return out  # the same device: as PyTorch, no copy
        self.quiet = True
        try:
            copy = out.detach().clone().requires_grad_(out.requires_grad)
        finally:
            self.quiet = False
        if target.type == "cuda":
            self.tag(copy)
            self.moves += 1
        return copy


@contextlib.contextmanager
def fake_cuda(monkeypatch):
    """``training.device()`` is the GPU; every tensor operation is checked as on a GPU."""
    fake = FakeCuda()
    monkeypatch.setattr(training, "device", lambda: CUDA)
    monkeypatch.setattr(training, "workers", lambda: 1)  # the worker path, at the least cost
    monkeypatch.setattr(training, "INFER_WORKERS_FROM", 2)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    with _Functions(fake), _Ops(fake):
        yield fake


@pytest.fixture
def gpu(monkeypatch):
    with warnings.catch_warnings(), fake_cuda(monkeypatch) as fake:
        warnings.filterwarnings("ignore", ".*(CUDA is not available|no accelerator is found)")
        yield fake


def _cpu(model) -> bool:
    return all(t.device.type == "cpu" for t in [*model.parameters(), *model.buffers()])


def _net(channels=1, classes=3):
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(channels, 4, 3),
        torch.nn.BatchNorm2d(4),
        torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(1),
        torch.nn.Flatten(),
        torch.nn.Linear(4, classes),
    )


def _data(n=24, size=12, channels=1, classes=3):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (n, size, size, channels), dtype=np.uint8)
    return ImageSet(images, np.arange(n) % classes, [str(c) for c in range(classes)])


def test_the_fake_gpu_catches_what_a_real_one_does(gpu):
    x = torch.ones(3).to("cuda")
    assert x.device == CUDA and (x * 2).device == CUDA and (x * torch.tensor(2.0)).device == CUDA
    with pytest.raises(RuntimeError, match="same device"):
        x + torch.ones(3)
    with pytest.raises(RuntimeError, match="same device"):
        torch.nn.Linear(3, 2)(x)
    with pytest.raises(TypeError, match="numpy"):
        x.numpy()
    assert torch.equal(x.cpu(), torch.ones(3)) and x.cpu().device.type == "cpu"
    assert torch.zeros(2, device="cuda").device == CUDA and x.sum().item() == 3
    assert gpu.moves == 1


def test_fit_predict_and_evaluate_run_on_the_gpu(gpu):
    model, data = _net(), _data()
    history = training.fit(
        model, data, data, epochs=2, batch_size=8, progress=False, keep_best=True
    )
    assert np.isfinite(history["loss"]).all() and len(history["val_accuracy"]) == 2
    history = training.fit(model, data, epochs=1, batch_size=8, steps_per_epoch=2, progress=False)
    logits = training.predict(model, data.images, batch_size=8)
    assert logits.shape == (24, 3) and logits.dtype == np.float32
    assert 0 <= training.evaluate(model, data)["accuracy"] <= 1
    assert _cpu(model) and gpu.moves > 0  # it went to the GPU and came back where it was


def test_simclr_runs_on_the_gpu(gpu):
    images = _data(16, 16).images
    torch.manual_seed(0)
    model = simclr.SimCLRModel("small", 1, 4, 8)
    augment = simclr.augmentation(16, 1, blur=0.5)
    history = simclr.pretrain(model, images, 1, 8, 0.2, augment, progress=False)
    assert np.isfinite(history["loss"]).all() and _cpu(model)
    features = simclr.extract_features(model, images, batch_size=4)
    assert features.shape == (16, 16) and features.dtype == np.float32
    data = _data(16, 16, classes=2)
    encoder = simclr.linear_model(2, "small", 1, 4)
    simclr.freeze_for_linear_eval(encoder)
    result = simclr.linear_evaluation(encoder, data, data, epochs=2)
    assert 0 <= result["top1"] <= 1 and _cpu(encoder)
    probe = simclr.linear_probe(features, data.labels, features, data.labels, 2, epochs=2)
    assert 0 <= probe["top1"] <= 1
    crops = simclr.augmentation(16, 1, strength=0, blur=0)
    simclr.train_supervised(encoder, data, 1, 8, augment=crops)
    assert 0 <= simclr.predict_top1(encoder, data) <= 1 and _cpu(encoder)


def test_triplet_training_and_embeddings_run_on_the_gpu(gpu):
    torch.manual_seed(0)
    model = triplet.embedding_model(pretrained=False, image_size=32, trainable_from=3)
    images = _data(6, 32, 3).images
    stem = triplet.stem_features(model, images, batch_size=2)
    dim = triplet.EMBEDDING_DIM
    assert triplet.embed(model, images, batch_size=2).shape == (6, dim)
    siamese = triplet.SiameseModel(triplet.siamese_network(model.top))
    history = triplet.fit_siamese(siamese, (stem, stem[::-1], stem), (stem, stem, stem), 1, 4)
    assert np.isfinite(history["val_loss"]).all()
    history = triplet.fit_supervised(model.top, (stem, np.arange(6) % 2), (stem, np.arange(6) % 2))
    assert np.isfinite(history["loss"]).all()
    assert triplet.embed_cached(model, stem, batch_size=2).shape == (6, dim) and _cpu(model)


def test_transfer_backbones_and_saliency_run_on_the_gpu(gpu):
    torch.manual_seed(0)
    images = _data(4, 32, 3).images
    model = transfer.transfer_model(3, pretrained=False)
    assert transfer.extract_features(model, images, batch_size=2).shape == (4, 1280)
    net = backbones.mobilenet_v2(pretrained=False)
    assert np.allclose(backbones.predict_proba(net, images, batch_size=2).sum(1), 1, atol=1e-5)
    assert backbones.block_output(net, images, 2).shape == (4, 8, 8, 24)
    pattern = cam.filter_pattern(net, "features.2", [0, 1], size=32, steps=2)
    assert pattern.shape == (2, 32, 32, 3) and _cpu(net) and _cpu(model)
    small, x = _net(3), images
    assert cam.grad_cam(small, x, "0").shape == (4, 30, 30)
    assert cam.cam(small, x, "2", classes=1).shape == (4, 30, 30)
    assert cam.guided_backprop(small, x).shape == (4, 32, 32, 3)
    assert activations.layer_activations(small, x)["0"].shape == (4, 30, 30, 4) and _cpu(small)


def test_mixed_precision_only_on_the_gpu(monkeypatch):
    assert training.amp_dtype(torch.device("cpu")) is None
    assert isinstance(training.autocast(torch.device("cpu")), contextlib.nullcontext)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert training.amp_dtype(CUDA) == torch.bfloat16
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    assert training.amp_dtype(CUDA) == torch.float16  # train_loop then scales the gradients
    monkeypatch.setattr(training, "AMP", False)
    assert training.amp_dtype(CUDA) is None
    assert training.loader_options() == {}  # on the CPU: one process, as ever
    monkeypatch.setattr(training, "device", lambda: CUDA)
    options = training.loader_options()
    assert options["num_workers"] >= 1 and options["pin_memory"] and options["persistent_workers"]

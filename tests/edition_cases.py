"""Bad-input cases that are the same in both editions, written once (framework-free).

This module imports neither torch nor TensorFlow: tests/torch/test_bad_input_torch.py and
tests/tf/test_bad_input_tf.py (each in its own process) build their models, tensors and files, name
them in an ``Edition`` and add ``shared_cases(edition)`` to the few cases only their framework has.
A case here holds both editions to one expectation; where the editions word a message differently
(the kind of model they want, Linear or Dense), the ``Edition`` carries the words.
"""

from __future__ import annotations

import importlib
import pkgutil
import shutil
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Callable

import numpy as np
import pytest

from bad_input import call, case, check, uncovered
from companion.book.runner import environment
from companion.data import ImageSet, load

T, V, F = TypeError, ValueError, FileNotFoundError


def nan(a):
    """A float copy of ``a`` whose first value is NaN."""
    a = np.array(a, dtype=float)
    a.flat[0] = np.nan
    return a


def inputs(image_size: int) -> SimpleNamespace:
    """The framework-free inputs of the tables: pictures of ``image_size`` (uint8 and too hot),
    a shapes set, labels beyond a 4-class model, a convolution, and grey pictures for SimCLR."""
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, (2, image_size, image_size, 3), dtype=np.uint8)
    grey = rng.integers(0, 256, (4, 16, 16, 1), dtype=np.uint8)
    return SimpleNamespace(
        rng=rng,
        imgs=imgs,
        img=imgs[0],
        hot=np.full((2, image_size, image_size, 3), 300.0),
        data=load("shapes", n=4, image_size=image_size),
        nine=ImageSet(imgs, [0, 7], [str(i) for i in range(9)]),  # labels beyond 4 classes
        x=np.zeros((1, 4, 4, 1)),
        w=np.ones((3, 3, 1, 2)),
        grey=grey,
        grey_set=ImageSet(grey, [0, 1, 0, 1], ["a", "b"]),
    )


@dataclass(kw_only=True)
class Edition:
    """What the shared tables need of one edition: its modules, its objects and its words."""

    package: ModuleType  # the edition, companion.torch or companion.tf (its modules are read)
    # framework-free inputs (``inputs(image_size)``) and a folder for files
    data: SimpleNamespace
    tmp: Path
    # models: a 4-class shapes_net, MobileNetV2, a transfer model, a DenseNet-121, the triplet
    # embedding (its stem features and top), a siamese model, a conv-only model and its layer
    net: object
    mnet: object
    tnet: object
    dense: object
    emb: object
    stem: object
    top: object
    siamese: object
    conv_only: object
    conv_only_layer: str
    # SimCLR: a model, a linear model (and a frozen one), features (and with a NaN)
    sim: object
    enc: object
    frozen: object
    feats: object
    nan_feats: object
    zeros: Callable  # zeros(*shape): a tensor of the framework
    linear_head: Callable  # a fresh linear layer for train_linear on 3 features, 2 classes
    fc_layer: object  # a linear layer alone (not a model with an fc)
    # files: a training checkpoint, one of another model, a folder that is not there
    ckpt: Path
    other: Path
    missing: Path
    no_dir: Path
    simclr_ext: str  # ".pt" or ".npz"
    foreign_ext: str  # the other edition's: ".keras" or ".pt"
    foreign_name: str  # "TensorFlow/Keras" or "PyTorch"
    simclr_cut: Path  # a SimCLR checkpoint cut short
    unexpected: Path  # a pretraining checkpoint with a key the encoder lacks...
    unexpected_key: str  # ...that key without its 'backbone.' prefix
    not_simclr: Path  # a checkpoint whose keys do not start with 'backbone.'
    corrupt_weights: Callable  # MobileNetV2 from ImageNet weights cut short
    missing_weights: Callable  # MobileNetV2 with no ImageNet weights in the cache
    # words
    module: str  # what a function that wants a model says: "torch.nn.Module", "a keras.Model"
    module_or_layer: str  # the same, where a layer will do
    conv_class: str  # the name of the convolution class, "Conv2d" or "Conv2D"
    valid_names: str  # what an unknown layer of ``net`` is told
    linear: str  # "Linear" or "Dense"
    densenet: str  # "a torchvision DenseNet" or "a Keras DenseNet"
    transfer_net: str  # "a TransferNet" or "a transfer_model(...)"
    embedding: str  # "an EmbeddingNet" or "an embedding_model(...)"
    fc: str  # "Linear fc" or "Dense fc"
    head: str  # what train_linear wants: "nn.Linear" or "Dense layer"
    simclr_module: str  # what SimCLR's functions want: "nn.Module" or "a Keras model"

    def __getattr__(self, name: str) -> ModuleType:
        """The edition's module ``name`` (``e.cam`` is companion.<edition>.cam)."""
        if name.startswith("_") or name not in MODULES:
            raise AttributeError(name)
        return importlib.import_module(f"{self.package.__name__}.{name}")


MODULES = (
    "activations",
    "backbones",
    "cam",
    "models",
    "sampling",
    "shapes_net",
    "simclr",
    "training",
    "transfer",
    "triplet",
)


def built_with(variables: dict, build: Callable) -> Callable:
    """A function that calls ``build()`` with the environment ``variables`` set, then restored."""

    def run():
        with environment(variables):
            return build()

    return run


def sampling_cases(e: Edition) -> list:
    d = e.data
    return [
        case(e.sampling.augment, d.hot, expected="[0, 1] or [0, 255]"),
        case(e.sampling.augment, d.img, expected="N x H x W x C"),
        case(e.sampling.augment, "x", error=T, expected="N x H x W x C"),
    ]


def activations_cases(e: Edition) -> list:
    a, net, imgs = e.activations, e.net, e.data.imgs
    return [
        case(a.layer_names, "x", error=T, expected=e.module),
        case(a.layer_names, net, e.conv_class, error=T, expected="a layer class"),
        case(a.layer_names, None, error=T, expected=e.module),
        case(a.check_layers, net, ["nope"], expected=e.valid_names),
        case(a.check_layers, net, "conv1", error=T, expected="a list of layer names"),
        case(a.check_layers, "x", ["conv1"], error=T, expected=e.module),
        case(a.layer_activations, net, imgs / 255, expected="uint8"),
        case(a.layer_activations, net, imgs, ["nope"], expected="valid names"),
        case(a.layer_activations, net, imgs[:0], expected="at least one example"),
        case(a.layer_activations, net, imgs, "conv1", error=T, expected="list of layer"),
    ]


def shapes_net_cases(e: Edition) -> list:
    s, net = e.shapes_net, e.net
    return [
        case(s.shapes_net, 1, expected="n_classes >= 2"),
        case(s.shapes_net, 4, 0, expected="width >= 1"),
        case(s.shapes_net, 4.5, error=T, expected="must be an integer"),
        case(s.randomise, net, ["relu1"], expected="expected layers with weights"),
        case(s.randomise, net, ["nope"], expected="valid names"),
        case(s.randomise, net, "conv1", error=T, expected="list of layer names"),
    ]


def models_cases(e: Edition) -> list:
    m, x, w = e.models, e.data.x, e.data.w
    return [
        case(m.stacked_linear, 0, 2, 2, expected="n_in must be an integer in [1"),
        case(m.stacked_linear, 2.5, 2, 2, error=T, expected="must be an integer"),
        case(m.stacked_linear, 2, 2, -1, expected="n_out must be an integer in [1"),
        case(m.as_one_linear, m.stacked_linear(2, 2, 2, relu=True), expected="two linear layers"),
        case(m.as_one_linear, "x", expected="two linear layers"),
        case(m.as_one_linear, e.net, expected="two linear layers"),
        case(m.small_cnn, 1, expected="n_classes >= 2"),
        case(m.small_cnn, 10, widths=(), expected="at least one width"),
        case(m.small_cnn, 10, widths=(8,) * 5, expected="at most 4 blocks"),
        case(m.small_cnn, 10, 0, expected="in_channels must be an integer in [1"),
        case(m.conv2d, x[0], w, expected="images N x H x W x C"),
        case(m.conv2d, x, np.ones((5, 5, 1, 1)), expected="kernel <= 4"),
        case(m.conv2d, x, w, stride=0, expected="stride must be an integer in [1"),
        case(m.conv2d, x, w, padding=-1, expected="padding must be an integer in [0"),
    ]


def backbones_cases(e: Edition) -> list:
    b, mnet, imgs = e.backbones, e.mnet, e.data.imgs
    return [
        case(b.mobilenet_v2, "yes", error=T, expected="True or False"),
        call(
            b.mobilenet_v2,
            e.corrupt_weights,
            V,
            "is corrupt or was replaced (sha256 mismatch): "
            "delete it and run `python -m companion assets`",
        ),
        call(b.mobilenet_v2, e.missing_weights, F, "run `python -m companion assets`"),
        case(b.preprocess, imgs / 255, expected="uint8"),
        case(b.preprocess, e.data.img, expected="uint8 N x H x W x C"),
        *[
            case(b.feature_extractor, bad, error=T, expected="a MobileNetV2")
            for bad in ("x", e.net, None)
        ],
        case(b.predict_proba, mnet, imgs[:0], expected="non-empty"),
        case(b.predict_proba, mnet, imgs / 255, expected="uint8"),
        case(b.predict_proba, "x", imgs, error=T, expected=e.module),
        case(b.predict_proba, mnet, imgs, 0, expected="batch_size must be an integer in [1"),
        *[
            case(b.count_params, bad, error=T, expected=e.module_or_layer)
            for bad in ("x", None, [e.net])
        ],
        case(b.block_output, mnet, imgs, 19, expected="block must be in 0..18"),
        case(b.block_output, mnet, imgs / 255, 1, expected="uint8"),
        case(b.block_output, e.net, imgs, 1, error=T, expected="a MobileNetV2"),
    ]


def training_cases(e: Edition) -> list:
    t, net, d = e.training, e.net, e.data
    pair = "an ImageSet or an (inputs, labels) pair"
    return [
        case(t.to_float, d.imgs / 255, expected="uint8"),
        case(t.to_float, d.img, expected="uint8 N x H x W x C"),
        case(t.to_float, "x", error=T, expected="uint8 N x H x W x C"),
        case(t.loader, d.data, 0, expected="batch_size must be an integer in [1"),
        case(t.loader, d.data.subset([]), 8, expected="at least one example"),
        case(t.loader, "x", 8, error=T, expected=pair),
        case(t.predict, net, d.imgs[:0], expected="at least one example"),
        case(t.predict, "x", d.imgs, error=T, expected=e.module_or_layer),
        case(t.predict, net, d.imgs, batch_size=0, expected="batch_size must be an integer in [1"),
        case(t.predict, net, "x", error=T, expected="an array or tensor"),
        case(t.evaluate, net, d.data.subset([]), expected="at least one example"),
        case(t.evaluate, net, d.nine, expected="class indices in [0, 4)"),
        case(t.evaluate, net, "x", error=T, expected=pair),
        case(t.save_checkpoint, net, e.no_dir, error=F, expected="existing folder"),
        case(t.save_checkpoint, "x", e.ckpt, error=T, expected=e.module),
        case(t.load_checkpoint, net, e.missing, error=F, expected="does not exist"),
        case(t.load_checkpoint, net, e.other, expected=f"{e.other.name} does not fit this model"),
        case(t.load_checkpoint, "x", e.ckpt, error=T, expected=e.module),
        case(t.fit, net, d.nine, progress=False, expected="train labels: expected class indices"),
        case(t.fit, net, d.data, d.data, checkpoint=e.no_dir, error=F, expected="mkdir -p"),
        case(t.fit, net, d.data.subset([0, 1, 2, 3, 0]), batch_size=4, expected="batch of one"),
        case(t.trains_batchnorm, "x", error=T, expected=e.module),
        case(t.trains_batchnorm, None, error=T, expected=e.module),
        case(t.trains_batchnorm, d.data, error=T, expected=e.module),
        case(t.fit, net, d.data, epochs=-1, expected="epochs must be an integer in [0"),
        case(t.fit, net, d.data, trainer="adam", error=T, expected="a TrainerSpec"),
        case(t.fit, net, d.data, keep_best=True, expected="need a validation set"),
        case(
            t.fit,
            net,
            d.data,
            steps_per_epoch=0,
            expected="steps_per_epoch must be an integer in [1",
        ),
        case(
            t.fit,
            net,
            d.data,
            steps_per_epoch=2.5,
            error=T,
            expected="steps_per_epoch must be an integer",
        ),
    ]


def cam_cases(e: Edition) -> list:
    c, net, imgs = e.cam, e.net, e.data.imgs
    conv = "expected a convolutional layer"
    return [
        *[
            kind_case
            for kind in (c.BaseCAM, c.CAM, c.GradCAM)
            for kind_case in (
                case(kind, net, "nope", expected="valid names"),
                case(kind, net, 3, error=T, expected="non-empty string"),
                case(kind, net, "relu4", 3, error=T, expected="a function of the images"),
            )
        ],
        case(
            c.CAM,
            e.conv_only,
            e.conv_only_layer,
            expected=f"ends in global average pooling and a {e.linear} layer",
        ),
        case(c.cam, net, imgs[:0], "relu4", expected="at least one example"),
        case(c.cam, net, imgs, "relu4", 9, expected="class indices must be in [0, 4)"),
        case(c.cam, net, imgs, "relu2", expected="the layer right before pooling"),
        case(c.cam, net, imgs, "fc", expected=conv),
        case(c.grad_cam, net, imgs, "fc", expected=conv),
        case(c.grad_cam, net, imgs[:0], "relu4", expected="at least one example"),
        case(c.grad_cam, net, imgs, "relu4", [0], expected="one class index or 2"),
        case(c.grad_cam, net, imgs / 255, "relu4", expected="uint8"),
        case(c.guided_backprop, net, imgs[:0], expected="at least one example"),
        case(c.guided_backprop, net, imgs, 7, expected="class indices must be in [0, 4)"),
        case(c.guided_backprop, "x", imgs, error=T, expected=e.module),
        case(c.guided_grad_cam, net, imgs, "fc", expected=conv),
        case(c.guided_grad_cam, net, imgs[:0], "relu4", expected="at least one example"),
        case(c.guided_grad_cam, net, imgs, "nope", expected="valid names"),
        case(c.filter_pattern, net, "conv1", 99, steps=1, expected="has 2 filters"),
        case(c.filter_pattern, net, "fc", 0, steps=1, expected=conv),
        case(c.filter_pattern, net, "conv1", 0, size=0, expected="size must be an integer in [8"),
        case(c.filter_pattern, net, "conv1", [], expected="at least one filter"),
    ]


def transfer_cases(e: Edition) -> list:
    t, tnet, imgs = e.transfer, e.tnet, e.data.imgs
    n_classes, one_of = "n_classes must be an integer in [1", "one of [121, 169, 201]"
    return [
        case(t.new_head, 0, expected=n_classes),
        case(t.new_head, 2, 0, expected="n_features must be an integer in [1"),
        case(t.new_head, 2, dropout=2, expected="dropout must be in [0, 1]"),
        case(t.transfer_model, 0, expected=n_classes),
        case(t.transfer_model, 2.5, error=T, expected="must be an integer"),
        case(t.transfer_model, 2, "no", error=T, expected="True or False"),
        *[  # replaced by backbones.count_params(model, trainable_only=True) where it is gone
            case(t.trainable_params, bad, error=T, expected=e.module)
            for bad in ("x", None, [e.net])
            if hasattr(t, "trainable_params")
        ],
        case(t.set_level, tnet, 5, expected="one of (1, 2, 3, 4)"),
        case(t.set_level, tnet, 3, 99, expected="unfreeze_at must be a block index"),
        case(t.set_level, e.net, 2, error=T, expected=e.transfer_net),
        case(t.set_level, tnet, 4, freeze_batchnorm="yes", error=T, expected="True or False"),
        case(t.extract_features, tnet, imgs[:0], expected="non-empty"),
        case(t.extract_features, tnet, imgs / 255, expected="uint8"),
        case(t.extract_features, e.net, imgs, error=T, expected=e.transfer_net),
        case(t.densenet, 100, expected=one_of),
        case(t.densenet, 121, "yes", error=T, expected="True or False"),
        case(t.densenet, "121", expected=one_of),
        case(t.densenet, True, expected=one_of),
        case(t.densenet_transfer, 0, expected=n_classes),
        case(t.densenet_transfer, 2, 100, expected=one_of),
        *[
            c
            for f in (t.dense_block_inputs, t.layer_channels, t.block_connections)
            for c in (
                case(f, e.dense, 9, expected="block must be in 1..4"),
                case(f, e.net, 1, error=T, expected=e.densenet),
                case(f, e.dense, 1.5, error=T, expected="must be an integer"),
            )
        ],
        *[
            case(t.densenet_anatomy, bad, error=T, expected=e.densenet)
            for bad in (e.net, "x", None)
        ],
    ]


def triplet_cases(e: Edition) -> list:
    t, emb, stem, imgs, zeros = e.triplet, e.emb, e.stem, e.data.imgs, e.zeros
    return [
        case(t.positive_augment, imgs / 255, expected="uint8"),
        case(t.positive_augment, e.data.img, expected="uint8 N x H x W x C"),
        case(t.positive_augment, imgs[:0], expected="non-empty"),
        *[
            case(t.trainable_summary, bad, error=T, expected=e.embedding)
            for bad in ("x", e.net, None)
        ],
        case(t.stem_features, emb, imgs / 255, expected="uint8"),
        case(t.stem_features, emb, imgs[:0], expected="non-empty"),
        case(t.stem_features, "x", imgs, error=T, expected=e.embedding),
        case(t.embed, emb, imgs / 255, expected="uint8"),
        case(t.embed, emb, e.data.img, expected="uint8 N x H x W x C"),
        case(t.embed, "x", imgs, error=T, expected=e.embedding),
        case(t.triplet_loss, zeros(4), zeros(4), -1, expected="margin must be >= 0"),
        case(t.SiameseModel, "x", error=T, expected="a siamese_network(top)"),
        case(t.SiameseModel, e.siamese.network, -1, expected="margin must be >= 0"),
        case(
            t.SiameseModel,
            e.siamese.network,
            "m",
            error=T,
            expected="margin must be a finite number",
        ),
        case(t.fit_siamese, e.siamese, (stem, stem), expected="(anchor, positive, negative) tuple"),
        case(t.semi_hard_negatives, zeros(2, 3), [0, 1], expected="B x B distance matrix"),
        case(t.semi_hard_negatives, zeros(2, 2), [0], expected="expected 2 labels"),
        case(t.semi_hard_triplet_loss, [0], zeros(2, 2), expected="expected 2 labels"),
        case(t.semi_hard_triplet_loss, [0, 1], zeros(2, 2), -1, expected="margin must be"),
        case(t.fit_supervised, e.top, (stem, [0]), expected="expected 4 labels"),
        case(t.fit_supervised, e.top, (stem, [0, 0, 1, 1]), margin=-1, expected="margin must be"),
    ]


def simclr_cases(e: Edition) -> list:
    s, d, tmp = e.simclr, e.data, e.tmp
    grey, grey_set, enc, sim = d.grey, d.grey_set, e.enc, e.sim
    images, positive = "uint8 N x H x W x C images", "must be an integer in [1, inf)"
    missing = tmp / f"missing{e.simclr_ext}"
    features, labels = np.ones((4, 3)), [0, 1, 1, 0]
    probe = (np.ones((2, 3)), [0, 1])
    ext = e.simclr_ext
    folder = tmp / f"a-folder{ext}"  # a checkpoint path that is a folder
    folder.mkdir(parents=True, exist_ok=True)
    return [
        case(s.augmentation, 4, expected="image_size >= 8"),
        case(s.augmentation, 16, 2, expected="1 or 3 channels"),
        case(s.augmentation, "16", error=T, expected="image_size must be an integer"),
        case(s.augmentation, 16, 1, 2.0, expected="min_scale must be in"),
        case(s.augment_batch, d.img, None, expected=images),
        case(s.augment_batch, "x", None, error=T, expected=images),
        case(s.augment_batch, grey, 5, error=T, expected="callable augmentation"),
        case(s.two_views, grey, None, 1, expected="n_views must be >= 2"),
        case(s.two_views, grey, None, 2.5, error=T, expected="n_views must be an integer"),
        case(s.two_views, grey[:0], None, expected="at least one example"),
        case(s.two_views, grey, 5, error=T, expected="callable augmentation"),
        case(s.build_encoder, "vgg", expected="arch must be one of"),
        case(s.build_encoder, "small", 2, expected="in_channels must be 1 or 3"),
        case(s.build_encoder, "small", 1, 0, expected=f"width {positive}"),
        case(s.projection_head, 0, expected=f"feature_dim {positive}"),
        case(s.projection_head, 8, 0, expected=f"out_dim {positive}"),
        case(s.projection_head, 8.5, error=T, expected="feature_dim must be an integer"),
        case(s.SimCLRModel, "vgg", expected="arch must be one of"),
        case(s.SimCLRModel, "small", 2, expected="in_channels must be 1 or 3"),
        case(s.SimCLRModel, "small", 1, 4, 0, expected=f"out_dim {positive}"),
        case(s.linear_model, 1, expected="n_classes must be >= 2"),
        case(s.linear_model, "2", error=T, expected="n_classes must be an integer"),
        case(s.linear_model, 2, "vgg", expected="arch must be one of"),
        case(s.info_nce_loss, e.zeros(7, 3), 4, expected="4 x 2 = 8 rows, got 7"),
        case(s.info_nce_loss, e.feats, 4, 2, 0.0, expected="temperature must be a number > 0"),
        case(s.info_nce_loss, e.feats[0], 4, expected="2-D tensor"),
        case(s.info_nce_loss, e.nan_feats, 4, expected="finite values"),
        case(
            s.save_checkpoint, enc, tmp / f"net{e.foreign_ext}", expected=f"end in {e.simclr_ext}"
        ),
        case(
            s.save_checkpoint, "net", tmp / f"net{e.simclr_ext}", error=T, expected=e.simclr_module
        ),
        case(s.save_checkpoint, enc, 5, error=T, expected="file path"),
        case(s.load_checkpoint, missing, error=F, expected="no checkpoint at"),
        case(s.load_checkpoint, e.simclr_cut, expected="could not read it"),
        case(s.load_checkpoint, tmp / f"x{e.foreign_ext}", expected=e.foreign_name),
        case(s.load_checkpoint, 5, error=T, expected="file path"),
        case(s.pretrain, sim, grey, batch_size=8, expected="at least batch_size = 8"),
        # the checkpoint is checked before the first step, not when the first epoch ends
        case(
            s.pretrain,
            sim,
            grey,
            batch_size=2,
            checkpoint=e.no_dir.parent / f"x{ext}",
            error=F,
            expected="mkdir -p",
        ),
        case(
            s.pretrain,
            sim,
            grey,
            batch_size=2,
            checkpoint=folder,
            error=OSError,
            expected="is a folder",
        ),
        case(
            s.pretrain,
            sim,
            grey,
            batch_size=2,
            checkpoint=e.tmp / f"x{e.foreign_ext}",
            expected=f"a path ending in {ext}",
        ),
        case(s.pretrain, sim, grey[0], batch_size=2, expected=images),
        case(s.pretrain, sim, grey, batch_size=2, temperature=0, expected="a number > 0"),
        case(s.pretrain, e.net, grey, batch_size=2, error=T, expected="a SimCLRModel"),
        case(s.pretrain, sim, grey, batch_size=1, expected="batch_size must be an integer in [2"),
        case(
            s.load_encoder,
            e.unexpected,
            2,
            width=2,
            expected=f"unexpected keys ['{e.unexpected_key}']",
        ),
        case(s.load_encoder, missing, 2, error=F, expected="no checkpoint at"),
        case(s.load_encoder, e.simclr_cut, 2, expected="could not read it"),
        case(s.load_encoder, e.not_simclr, 2, width=2, expected="start with 'backbone.'"),
        *[
            case(f, bad, error=T, expected=e.fc)
            for f, bads in (
                (s.reset_fc, (None, s.build_encoder(width=2), e.fc_layer)),
                (s.freeze_for_linear_eval, (None, s.build_encoder(width=2), "model")),
            )
            for bad in bads
        ],
        case(s.extract_features, e.net, grey, error=T, expected="an Encoder or a SimCLRModel"),
        case(s.extract_features, enc, grey[0], expected="N x H x W x C images"),
        case(s.extract_features, enc, grey[:0], expected="non-empty"),
        case(s.extract_features, enc, grey, 0, expected="batch_size must be an integer in [1"),
        case(s.projections, enc, grey, error=T, expected="a SimCLRModel"),
        case(s.projections, sim, grey[0], expected="N x H x W x C images"),
        case(s.projections, sim, grey[:0], expected="non-empty"),
        case(s.projections, sim, grey, 0, expected="batch_size must be an integer in [1"),
        case(s.train_linear, e.linear_head(), features, [0, 1, 2, 0], expected="[0, 2)"),
        case(s.train_linear, e.linear_head(), nan(features), labels, expected="finite"),
        case(s.train_linear, "fc", features, labels, error=T, expected=e.head),
        case(s.linear_evaluation, enc, grey_set, grey_set, expected="freeze_for_linear_eval"),
        case(s.linear_evaluation, e.frozen, grey, grey_set, error=T, expected="an ImageSet"),
        case(s.linear_evaluation, e.net, grey_set, grey_set, error=T, expected="an Encoder"),
        case(
            s.linear_probe,
            features,
            labels,
            *probe,
            1,
            expected="n_classes must be an integer in [2",
        ),
        case(s.linear_probe, np.ones(4), labels, *probe, 2, expected="N x D features"),
        case(s.linear_probe, nan(features), labels, *probe, 2, expected="finite"),
        case(s.linear_probe, features, [0, 1, 5, 0], *probe, 2, expected="[0, 2)"),
        case(s.train_supervised, e.net, grey_set, error=T, expected="an Encoder"),
        case(s.train_supervised, enc, grey, error=T, expected="an ImageSet"),
        case(
            s.train_supervised, enc, grey_set, augment=5, error=T, expected="callable augmentation"
        ),
        case(s.predict_top1, "model", grey_set, error=T, expected=e.simclr_module),
        case(s.predict_top1, enc, grey, error=T, expected="an ImageSet"),
        case(s.predict_top1, enc, grey_set.subset([]), expected="non-empty"),
    ]


def shared_cases(e: Edition) -> list:
    """Every case that both editions share, module by module."""
    return [
        *sampling_cases(e),
        *activations_cases(e),
        *shapes_net_cases(e),
        *models_cases(e),
        *backbones_cases(e),
        *training_cases(e),
        *cam_cases(e),
        *transfer_cases(e),
        *triplet_cases(e),
        *simclr_cases(e),
    ]


def suite(cases: list, package: ModuleType, tmp: Path) -> tuple:
    """The tests of an edition's table, to assign to names in its test module: every case raises
    one line naming what was expected; every public function of ``package`` has three cases;
    ``tmp`` is removed at the end."""
    prefix = f"{package.__name__}."
    modules = sorted(m.name for m in pkgutil.walk_packages(package.__path__, prefix))

    @pytest.fixture(scope="module", autouse=True)
    def cleanup():
        yield
        shutil.rmtree(tmp, ignore_errors=True)

    @pytest.mark.parametrize(
        "c", cases, ids=[f"{c.name.removeprefix(prefix)}-{i}" for i, c in enumerate(cases)]
    )
    def test_bad_input_raises_one_line_naming_what_was_expected(c):
        check(c)

    def test_every_public_function_has_three_bad_input_cases():
        missing = uncovered(cases, modules, {})  # said here: pytest does not rewrite this module
        assert not missing, f"public functions with fewer than 3 bad-input cases: {missing}"

    return (
        cleanup,
        test_bad_input_raises_one_line_naming_what_was_expected,
        test_every_public_function_has_three_bad_input_cases,
    )


# --- the silent failures both editions once had --------------------------------------------------
def check_float_pictures_are_augmented_as_pictures(augment, rng) -> None:
    """Float pictures in [0, 1] are augmented as the pictures they are, not as black ones."""
    pictures = rng.random((3, 16, 16, 3))
    as_uint8 = np.round(pictures * 255).astype(np.uint8)
    out = augment(pictures, seed=1)
    assert out.dtype == np.uint8 and out.mean() > 50  # was 0 or 1 everywhere: black
    np.testing.assert_array_equal(out, augment(as_uint8, seed=1))


def with_alpha(images: np.ndarray) -> np.ndarray:
    """uint8 pictures with an opaque alpha channel added (preprocessing must drop it)."""
    return np.concatenate([images, np.full((*images.shape[:3], 1), 255, np.uint8)], -1)

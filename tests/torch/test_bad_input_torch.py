"""Bad input is never silent (PyTorch edition): every public function, given bad input, raises one
line that says what it expected. The cases both editions share are in tests/edition_cases.py; this
file builds the torch objects they need and adds the cases only torch has (the harness is
tests/bad_input.py)."""

import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import companion.torch
from bad_input import case
from companion import weights
from companion.book.runner import environment
from companion.torch import (
    backbones,
    cam,
    sampling,
    shapes_net,
    simclr,
    training,
    transfer,
    triplet,
)
from edition_cases import (
    Edition,
    built_with,
    F,
    T,
    check_float_pictures_are_augmented_as_pictures,
    inputs,
    shared_cases,
    suite,
    with_alpha,
)

TMP = Path(tempfile.mkdtemp(prefix="bad-input-torch-"))
D = inputs(image_size=16)
IMGS, IMG, DATA, GREY = D.imgs, D.img, D.data, D.grey
torch.manual_seed(0)
NET = shapes_net.shapes_net(4, width=2)
MNET = backbones.mobilenet_v2(pretrained=False)
EMB = triplet.embedding_model(pretrained=False, image_size=32)
STEM = triplet.stem_features(EMB, np.zeros((4, 32, 32, 3), np.uint8))
SIAMESE = triplet.SiameseModel(triplet.siamese_network(EMB.top))
CONV_ONLY = nn.Sequential(nn.Conv2d(3, 2, 1))
A = torch.zeros(4, 8)
CKPT, OTHER, CUT = TMP / "net.pt", TMP / "other.pt", TMP / "cut.pt"
training.save_checkpoint(NET, CKPT)
training.save_checkpoint(shapes_net.shapes_net(2, width=2), OTHER)
CUT.write_bytes(CKPT.read_bytes()[:200])
UNEXPECTED = TMP / "unexpected.pt"  # a pretraining checkpoint with a key the encoder lacks
torch.save({"backbone.body.extra.weight": torch.zeros(1)}, UNEXPECTED)
FEATS = torch.ones(8, 3)
NAN_FEATS = FEATS.clone()
NAN_FEATS[0, 0] = float("nan")
FROZEN = simclr.linear_model(2, width=2)
OPT = torch.optim.SGD(nn.Linear(1, 1).parameters(), lr=0.1)
simclr.freeze_for_linear_eval(FROZEN)


def truncated_weights():
    """MobileNetV2 with ImageNet weights, from a checkpoint cut in half (under a TORCH_HOME of
    its own)."""
    home = TMP / "torch-home"
    target = home / "hub" / "checkpoints" / weights.CHECKPOINT
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(weights.torch_checkpoint(), "rb") as f:
        target.write_bytes(f.read(1 << 20))
    with environment({"TORCH_HOME": str(home)}):
        return backbones.mobilenet_v2()


TORCH = Edition(
    package=companion.torch,
    data=D,
    tmp=TMP,
    net=NET,
    mnet=MNET,
    tnet=transfer.TransferNet(MNET.features, 1280, 2),
    dense=transfer.densenet(121),
    emb=EMB,
    stem=STEM,
    top=EMB.top,
    siamese=SIAMESE,
    conv_only=CONV_ONLY,
    conv_only_layer="0",
    sim=simclr.SimCLRModel(width=2),
    enc=simclr.linear_model(2, width=2),
    frozen=FROZEN,
    feats=FEATS,
    nan_feats=NAN_FEATS,
    zeros=torch.zeros,
    linear_head=lambda: nn.Linear(3, 2),
    fc_layer=nn.Linear(2, 2),
    ckpt=CKPT,
    other=OTHER,
    missing=TMP / "missing.pt",
    no_dir=TMP / "no-such-folder" / "x.pt",
    simclr_ext=".pt",
    foreign_ext=".keras",
    foreign_name="TensorFlow/Keras",
    simclr_cut=CUT,
    unexpected=UNEXPECTED,
    unexpected_key="body.extra.weight",
    not_simclr=CKPT,
    corrupt_weights=truncated_weights,
    missing_weights=built_with({"TORCH_HOME": str(TMP / "empty-home")}, backbones.mobilenet_v2),
    module="torch.nn.Module",
    module_or_layer="torch.nn.Module",
    conv_class="Conv2d",
    valid_names="valid names: conv1",
    linear="Linear",
    densenet="a torchvision DenseNet",
    transfer_net="a TransferNet",
    embedding="an EmbeddingNet",
    fc="Linear fc",
    head="nn.Linear",
    simclr_module="nn.Module",
)

TORCH_ONLY = [
    # training: the GPU plumbing
    case(training.loader_options, "yes", error=T, expected="True or False"),
    case(training.loader_options, 1, error=T, expected="True or False"),
    case(training.loader_options, None, error=T, expected="True or False"),
    case(training.amp_dtype, "gpu", expected="a device name like 'cpu' or 'cuda:0'"),
    case(training.amp_dtype, 2.5, error=T, expected="a torch.device or its name"),
    case(training.amp_dtype, [], error=T, expected="a torch.device or its name"),
    case(training.autocast, "gpu", expected="a device name like 'cpu' or 'cuda:0'"),
    case(training.autocast, 2.5, error=T, expected="a torch.device or its name"),
    case(training.autocast, [], error=T, expected="a torch.device or its name"),
    case(training.full_precision, np.zeros(2), error=T, expected="a torch tensor"),
    case(training.full_precision, None, error=T, expected="a torch tensor"),
    case(training.full_precision, "x", error=T, expected="a torch tensor"),
    case(training.infer, "x", "x", IMGS, 2, error=T, expected="torch.nn.Module"),
    case(training.infer, TORCH.net, 3, IMGS, 2, error=T, expected="a function of a batch"),
    case(training.infer, TORCH.net, TORCH.net, IMGS[:0], 2, expected="at least one example"),
    case(training.infer, TORCH.net, TORCH.net, IMGS, 0, expected="batch_size must be"),
    # sampling
    *[
        case(sampling.balanced_sampler, bad, error=T, expected="an ImageSet")
        for bad in ("x", None, IMGS)
    ],
    # backbones
    case(backbones.mobilenet_v2, 1, error=T, expected="True or False"),
    case(backbones.preprocess, np.zeros((1, 2, 2, 2), np.uint8), expected="1 or 3 or 4 channels"),
    case(backbones.export_mobilenet_v2, 3, error=T, expected="file path"),
    case(backbones.export_mobilenet_v2, TORCH.no_dir, error=F, expected="existing folder"),
    case(backbones.export_mobilenet_v2, None, error=T, expected="file path"),
    case(backbones.block_output, MNET, IMGS, 1.5, error=T, expected="must be an integer"),
    # training
    case(training.loader, DATA, 8, sampler=3, error=T, expected="a torch Sampler"),
    case(training.save_checkpoint, NET, 3, error=T, expected="file path"),
    case(training.load_checkpoint, NET, CUT, expected="cut.pt is not a readable checkpoint"),
    case(training.read_run, CUT, expected="cut.pt is not a readable run state"),
    case(training.read_run, CKPT, expected="net.pt is not a train_loop run state"),
    case(training.read_run, TMP / "none.pt", error=FileNotFoundError, expected="resume=path"),
    case(training.generators, [], error=T, expected="a torch DataLoader"),
    case(training.generators, None, error=T, expected="a torch DataLoader"),
    case(training.generators, NET, error=T, expected="a torch DataLoader"),
    case(
        training.train_loop,
        NET,
        lambda m, b: None,
        [],
        1,
        OPT,
        resume=TMP / "r.keras",
        expected="ending in .pt",
    ),
    # transfer
    case(transfer.TransferNet, "x", 1280, 2, error=T, expected="a pretrained trunk"),
    case(
        transfer.TransferNet, MNET.features, 1280, 0, expected="n_classes must be an integer in [1"
    ),
    case(transfer.TransferNet, MNET.features, 0, 2, expected="n_features must be an integer in [1"),
    case(transfer.replace_classifier, CONV_ONLY, 2, expected="no linear `classifier` or `fc`"),
    case(
        transfer.replace_classifier, TORCH.dense, 0, expected="n_classes must be an integer in [1"
    ),
    case(transfer.replace_classifier, "x", 2, error=T, expected="a torchvision classifier"),
    case(transfer.densenet_transfer, 2, 121, "no", error=T, expected="True or False"),
    # triplet
    case(triplet.EmbeddingNet, "x", EMB.top, error=T, expected="torch.nn.Module"),
    case(triplet.EmbeddingNet, EMB.stem, None, error=T, expected="torch.nn.Module"),
    case(triplet.EmbeddingNet, 3, 3, error=T, expected="torch.nn.Module"),
    case(triplet.embedding_model, False, trainable_from=0, expected="block index in 1..18"),
    case(triplet.embedding_model, False, 16, expected="image_size >= 32"),
    case(triplet.embedding_model, False, 32, embedding_dim=0, expected="embedding_dim >= 1"),
    case(triplet.embed_cached, EMB, np.zeros((2, 3)), expected="N x C x H x W"),
    case(triplet.embed_cached, EMB, np.zeros((0, 1, 1, 1)), expected="non-empty"),
    case(triplet.embed_cached, "x", STEM, error=T, expected="an EmbeddingNet or its top"),
    case(triplet.DistanceLayer().forward, A, A[0], A, expected="B x D embeddings"),
    case(triplet.DistanceLayer().forward, A, A[:3], A, expected="of one shape B x D"),
    case(triplet.DistanceLayer().forward, "x", A, A, error=T, expected="B x D embeddings"),
    case(triplet.triplet_loss, [1.0], [1.0], error=T, expected="a 1-D distance batch"),
    case(triplet.UnitLength().forward, "x", error=T, expected="B x D embeddings"),
    case(triplet.UnitLength().forward, torch.zeros(4), expected="B x D embeddings"),
    case(triplet.UnitLength().forward, torch.zeros(2, 3, 4), expected="B x D embeddings"),
    case(triplet.evaluate_loss, "x", (STEM,) * 3, error=T, expected="a SiameseModel"),
    case(triplet.evaluate_loss, SIAMESE, (STEM, STEM, STEM[:1]), expected="differ in length"),
    case(triplet.evaluate_loss, SIAMESE, (STEM,) * 3, 0, expected="batch_size"),
    case(triplet.triplet_loss, torch.zeros(4), torch.zeros(3), expected="two equal non-empty"),
    *[
        case(f, bad, error=T, expected="torch.nn.Module")
        for f in (triplet.SiameseNetwork, triplet.siamese_network)
        for bad in ("x", None, 3)
    ],
    case(triplet.fit_siamese, SIAMESE, (STEM,) * 3, score="x", error=T, expected="score: expected"),
    case(triplet.fit_siamese, SIAMESE, (STEM, STEM, STEM[:1]), expected="differ in length"),
    case(triplet.fit_siamese, SIAMESE, (STEM[:1],) * 3, expected="at least 2 training triplets"),
    case(triplet.fit_siamese, SIAMESE, (STEM,) * 3, epochs=-1, expected="epochs >= 0"),
    case(triplet.pairwise_distances, np.zeros((2, 2)), error=T, expected="a B x D torch tensor"),
    case(triplet.pairwise_distances, torch.zeros(0, 2), expected="non-empty B x D"),
    case(triplet.pairwise_distances, torch.zeros(2), expected="non-empty B x D"),
    case(triplet.semi_hard_negatives, np.zeros((2, 2)), [0, 1], error=T, expected="B x B torch"),
    case(triplet.semi_hard_triplet_loss, [0, 1], np.zeros((2, 2)), error=T, expected="tensor"),
    case(triplet.fit_supervised, EMB.top, (STEM,), expected="(stem_features, labels) tuple"),
    case(triplet.fit_supervised, EMB.top, (STEM[:1], [0]), expected="at least 2 training samples"),
    # simclr (Chapter 4)
    case(simclr.augment_batch, D.hot, None, expected="uint8 N x H x W x C images"),
    case(simclr.Encoder, "body", 8, error=T, expected="nn.Module"),
    case(simclr.Encoder, nn.Flatten(), 0, expected="feature_dim must be an integer in [1, inf)"),
    case(simclr.Encoder, nn.Flatten(), "8", error=T, expected="feature_dim must be an integer"),
    case(simclr.build_encoder, "small", 1, 4, "fc", error=T, expected="nn.Module"),
    case(simclr.info_nce_loss, np.ones((8, 3)), 4, expected="2-D tensor"),
    case(
        simclr.train_linear,
        nn.Linear(3, 2),
        np.ones((4, 2)),
        [0, 1, 1, 0],
        expected="N x 3 features",
    ),
    # training's one loop and the frozen-BatchNorm rule
    case(training.train_loop, "net", print, [], 1, OPT, error=T, expected="a torch.nn.Module"),
    case(training.train_loop, NET, None, [], 1, OPT, error=T, expected="step: expected a function"),
    case(training.train_loop, NET, print, [], -1, OPT, expected="epochs must be an integer in [0"),
    case(training.train_loop, NET, print, [], 1, "adam", error=T, expected="torch.optim.Optimizer"),
    *[
        case(training.freeze_frozen_batchnorm, bad, error=T, expected="a torch.nn.Module")
        for bad in ("net", None, NET.state_dict())
    ],
]
CASES = shared_cases(TORCH) + TORCH_ONLY

(
    _cleanup,
    test_bad_input_raises_one_line_naming_what_was_expected,
    test_every_public_function_has_three_bad_input_cases,
) = suite(CASES, companion.torch, TMP)


def test_float_pictures_are_augmented_as_pictures_not_black():
    check_float_pictures_are_augmented_as_pictures(sampling.augment, D.rng)


def test_four_channel_pictures_lose_alpha_in_preprocess():
    torch.testing.assert_close(backbones.preprocess(with_alpha(IMGS)), backbones.preprocess(IMGS))


def test_the_model_is_left_as_it_was_after_a_bad_layer():
    NET.train()
    with pytest.raises(ValueError, match="convolutional layer"):
        cam.grad_cam(NET, IMGS, "fc")
    assert NET.training and not any(m._forward_hooks for m in NET.modules())

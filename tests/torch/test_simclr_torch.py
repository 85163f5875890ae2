"""companion.torch.simclr against the numpy reference, hand-derived values and the article's
protocol."""

import math

import numpy as np
import pytest
import torch

from companion import simclr as core
from companion.data import ImageSet
from companion.torch import simclr
import simclr_cases as cases


def _images(n=16, size=16, channels=1, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, size, size, channels), dtype=np.uint8)


@pytest.mark.parametrize("temperature", cases.TEMPERATURES)
def test_logits_and_labels_equal_the_numpy_reference(temperature):
    logits, labels = simclr.info_nce_loss(
        torch.from_numpy(cases.FEATURES_B4), cases.BATCH, 2, temperature
    )
    expected, expected_labels = core.info_nce_logits(cases.FEATURES_B4, cases.BATCH, 2, temperature)
    assert tuple(logits.shape) == (8, 7) and labels.tolist() == [0] * 8
    np.testing.assert_allclose(logits.numpy(), expected, rtol=1e-5, atol=1e-5)
    assert labels.tolist() == expected_labels.tolist()
    loss = torch.nn.functional.cross_entropy(logits, labels).item()
    assert loss == pytest.approx(
        core.info_nce(cases.FEATURES_B4, cases.BATCH, 2, temperature), rel=1e-5
    )


def test_identical_embeddings_give_log_2n_minus_1():
    logits, labels = simclr.info_nce_loss(torch.from_numpy(cases.identical(8)), 8, 2, 0.2)
    assert torch.nn.functional.cross_entropy(logits, labels).item() == pytest.approx(
        math.log(15), rel=1e-6
    )


def test_separated_pairs_at_low_temperature_give_near_zero():
    logits, labels = simclr.info_nce_loss(torch.from_numpy(cases.separated()), cases.BATCH, 2, 0.01)
    assert torch.nn.functional.cross_entropy(logits, labels).item() < 1e-6


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: simclr.info_nce_loss(torch.zeros(7, 3), 4, 2, 0.1), "4 x 2 = 8 rows, got 7"),
        (
            lambda: simclr.info_nce_loss(torch.ones(8, 3), 4, 2, 0.0),
            "temperature must be a number > 0, got 0.0",
        ),
        (lambda: simclr.info_nce_loss(torch.ones(8), 4, 2, 0.1), "2-D tensor"),
        (lambda: simclr.build_encoder("vgg"), "arch must be one of"),
        (
            lambda: simclr.pretrain(simclr.SimCLRModel(width=4), _images(4), batch_size=8),
            "at least batch_size = 8",
        ),
    ],
)
def test_bad_input_fails_with_one_line(call, message):
    with pytest.raises(ValueError, match=message) as error:
        call()
    assert "\n" not in str(error.value)


def test_two_views_are_stacked_view_after_view_and_differ():
    torch.manual_seed(0)
    images = _images(4)
    views = simclr.two_views(images, simclr.augmentation(16, 1))
    assert tuple(views.shape) == (8, 1, 16, 16) and views.dtype == torch.float32
    assert 0 <= views.min() and views.max() <= 1
    assert not torch.equal(views[:4], views[4:])
    plain = simclr.two_views(images, None)
    assert torch.equal(plain[:4], plain[4:])  # no augmentation: two identical copies


@pytest.mark.parametrize(
    "arch, dim",
    [
        ("small", 32),
        ("resnet18", 512),
        ("resnet18-cifar", 512),
    ],
)
def test_encoders_give_feature_vectors(arch, dim):
    model = simclr.SimCLRModel(arch, in_channels=1, width=8, out_dim=16)
    x = torch.rand(2, 1, 16, 16)
    assert tuple(model.backbone.body(x).shape) == (2, dim)
    assert tuple(model(x).shape) == (2, 16)
    conv1 = getattr(model.backbone.body, "conv1", None)
    if arch == "resnet18":  # torchvision's stock trunk, as sthalles/SimCLR: 7x7/2 stem, max-pool
        assert (conv1.in_channels, conv1.kernel_size, conv1.stride) == (1, (7, 7), (2, 2))
        assert isinstance(model.backbone.body.maxpool, torch.nn.MaxPool2d)
    if arch == "resnet18-cifar":  # SimCLR's CIFAR setting: 3x3/1 stem, no max-pool
        assert (conv1.in_channels, conv1.kernel_size, conv1.stride) == (1, (3, 3), (1, 1))
        assert isinstance(model.backbone.body.maxpool, torch.nn.Identity)


def test_resnet18_is_torchvisions_stock_network():
    from torchvision.models import resnet18

    stock = resnet18(weights=None)
    stock.fc = torch.nn.Identity()
    body = simclr.build_encoder("resnet18", in_channels=3).body
    assert {k: v.shape for k, v in body.state_dict().items()} == {
        k: v.shape for k, v in stock.state_dict().items()
    }
    model = simclr.SimCLRModel("resnet18", in_channels=3, out_dim=128)
    head = [type(m) for m in model.backbone.fc]  # sthalles' projection head: Linear-ReLU-Linear
    assert head == [torch.nn.Linear, torch.nn.ReLU, torch.nn.Linear]
    assert model.backbone.fc[0].in_features == model.backbone.fc[0].out_features == 512


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    model = simclr.SimCLRModel(width=4, out_dim=8)
    path = tmp_path_factory.mktemp("ckpt") / "simclr.pt"
    history = simclr.pretrain(
        model,
        _images(16),
        epochs=2,
        batch_size=8,
        temperature=0.5,
        augment=simclr.augmentation(16, 1),
        checkpoint=path,
        progress=False,
    )
    return model, path, history


def test_pretraining_writes_a_checkpoint_that_round_trips(checkpoint):
    model, path, history = checkpoint
    assert len(history["loss"]) == 2 and all(np.isfinite(history["loss"]))
    assert not list(path.parent.glob("*.part*"))  # written atomically: no temporary file left
    state = simclr.load_checkpoint(path)
    assert state.keys() == model.state_dict().keys()
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())
    assert any(k.startswith("backbone.fc.") for k in state) and all(
        k.startswith("backbone.") for k in state
    )


def test_a_collapsed_encoder_scores_no_contrastive_top1():
    model = simclr.SimCLRModel(width=4, out_dim=8)
    for parameter in model.parameters():  # every output 0: every logit ties with the positive
        torch.nn.init.zeros_(parameter)
    augment = simclr.augmentation(16, 1)
    history = simclr.pretrain(model, _images(8), 1, 8, 0.5, augment, progress=False)
    assert history["top1"] == [0.0]  # argmax took the first of the tied logits, the positive: 1.0


def test_load_encoder_strips_the_prefix_and_drops_the_head(checkpoint):
    model, path, _ = checkpoint
    encoder = simclr.load_encoder(path, n_classes=3, width=4)
    for name, value in encoder.state_dict().items():
        if not name.startswith("fc."):
            assert torch.equal(value, model.state_dict()["backbone." + name]), name
    assert tuple(encoder.fc.weight.shape) == (3, 16)


def test_checkpoints_with_unexpected_keys_or_from_keras_are_refused(checkpoint, tmp_path):
    _, path, _ = checkpoint
    state = simclr.load_checkpoint(path)
    torch.save({**state, "backbone.extra.weight": torch.zeros(1)}, tmp_path / "extra.pt")
    with pytest.raises(ValueError, match=r"unexpected keys \['body.extra.weight'\]|extra"):
        simclr.load_encoder(tmp_path / "extra.pt", 3, width=4)
    with pytest.raises(
        ValueError, match=r"body.0.weight has shape \(4, 1, 3, 3\) in the checkpoint"
    ):
        simclr.load_encoder(path, 3, width=8)  # another encoder's shapes: keys agree, sizes do not
    (tmp_path / "model.keras").write_bytes(b"PK")
    with pytest.raises(ValueError, match="TensorFlow/Keras"):
        simclr.load_encoder(tmp_path / "model.keras", 3, width=4)


def test_linear_evaluation_leaves_the_encoder_bit_identical(checkpoint):
    _, path, _ = checkpoint
    encoder = simclr.load_encoder(path, n_classes=3, width=4)
    trainable = simclr.freeze_for_linear_eval(encoder)
    assert trainable == ["fc.weight", "fc.bias"]
    before = {k: v.clone() for k, v in encoder.state_dict().items()}
    rng = np.random.default_rng(1)
    train = ImageSet(_images(24, seed=2), rng.integers(0, 3, 24), ["a", "b", "c"])
    test = ImageSet(_images(12, seed=3), rng.integers(0, 3, 12), ["a", "b", "c"])
    result = simclr.linear_evaluation(encoder, train, test, epochs=3, batch_size=8)
    after = encoder.state_dict()
    for name, value in before.items():  # weights, BatchNorm running statistics and counters
        if not name.startswith("fc."):
            assert torch.equal(after[name], value), f"{name} moved during linear evaluation"
    assert not torch.equal(after["fc.weight"], before["fc.weight"])
    assert 0 <= result["top1"] <= result["top5"] == 1.0  # 3 classes: top-5 is capped at top-3
    assert result["features"]["train"].shape == (24, 16)


def test_linear_evaluation_refuses_an_unfrozen_encoder():
    with pytest.raises(ValueError, match="freeze_for_linear_eval"):
        simclr.linear_evaluation(simclr.linear_model(3, width=4), None, None)


def test_linear_probe_learns_separable_features():
    x = np.repeat(np.eye(3, dtype=np.float32), 10, axis=0)
    y = np.repeat(np.arange(3), 10)
    result = simclr.linear_probe(x, y, x, y, 3, epochs=50, batch_size=10, lr=0.1)
    assert result["top1"] == 1.0


def test_supervised_training_runs_and_scores(checkpoint):
    torch.manual_seed(0)
    model = simclr.linear_model(2, width=4)
    data = ImageSet(_images(16, seed=5), np.arange(16) % 2, ["a", "b"])
    history = simclr.train_supervised(
        model, data, epochs=1, batch_size=8, augment=simclr.augmentation(16, 1, strength=0, blur=0)
    )
    assert len(history["loss"]) == 1
    assert 0 <= simclr.predict_top1(model, data) <= 1


def test_supervised_training_augments_only_the_training_images():
    torch.manual_seed(0)
    model = simclr.linear_model(2, width=4)
    train = ImageSet(_images(16, seed=5), np.arange(16) % 2, ["a", "b"])
    val = ImageSet(_images(6, seed=6), np.arange(6) % 2, ["a", "b"])
    seen = []

    def augment(image):  # counts the images it is given
        seen.append(image.shape)
        return image

    history = simclr.train_supervised(
        model, train, epochs=2, batch_size=8, augment=augment, val=val, keep_best=True
    )
    assert len(seen) == 2 * 16  # every training image, every epoch; never a validation image
    assert len(history["val_accuracy"]) == 2
    assert history["best"]["val_accuracy"] == max(history["val_accuracy"])
    assert simclr.predict_top1(model, val) == history["best"]["val_accuracy"]  # best restored


def _unfolded_linear(x, y, epochs, batch_size, lr, weight_decay, seed):
    """train_linear's recipe written out: AdamW, one randperm of a seeded generator per epoch."""
    torch.manual_seed(seed)
    fc = torch.nn.Linear(x.shape[1], 2)
    optimizer = torch.optim.AdamW(fc.parameters(), lr=lr, weight_decay=weight_decay)
    generator = torch.Generator().manual_seed(seed)
    x, y = torch.from_numpy(x), torch.from_numpy(y)
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=generator)
        for i in range(0, len(x), batch_size):
            idx = order[i : i + batch_size]
            loss = torch.nn.functional.cross_entropy(fc(x[idx]), y[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return fc


def test_standardisation_is_folded_into_the_layer():
    """The folded layer on raw features predicts what an unfolded one trained on z-scores does."""
    x = np.random.default_rng(0).normal(5, 3, size=(40, 4)).astype(np.float32)
    y = (x[:, 0] > 5).astype(np.int64)
    z = ((x - x.mean(0)) / x.std(0)).astype(np.float32)  # the standardisation, in numpy
    settings = {"epochs": 5, "batch_size": 10, "lr": 0.05, "weight_decay": 1e-4, "seed": 3}
    unfolded = _unfolded_linear(z, y, **settings)
    with torch.no_grad():
        expected = unfolded(torch.from_numpy(z)).numpy()
    for standardize in (True, False):
        torch.manual_seed(settings["seed"])
        fc = torch.nn.Linear(4, 2)
        simclr.train_linear(fc, x, y, standardize=standardize, **settings)
        with torch.no_grad():
            got = fc(torch.from_numpy(x)).numpy()
        assert np.allclose(got, expected, rtol=1e-4, atol=1e-4) == standardize
    assert np.abs(expected).max() > 1  # the layer did train away from its small initial weights


def _patterns(n, seed, size=16):
    """Three classes of grey 16 x 16 textures: horizontal stripes, vertical stripes, a checkerboard,
    each of random frequency, phase, brightness and contrast, with noise."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 3
    yy, xx = np.mgrid[:size, :size].astype(np.float32)
    freq, phase = rng.uniform(0.6, 1.2, (n, 1, 1)), rng.uniform(0, 2 * np.pi, (n, 1, 1))
    stripes = np.sin(freq * np.where((labels == 0)[:, None, None], yy, xx) + phase)
    checker = np.sin(freq * yy + phase) * np.sin(freq * xx + phase)
    wave = np.where((labels == 2)[:, None, None], checker, stripes)
    level, contrast = rng.uniform(60, 190, (n, 1, 1)), rng.uniform(20, 60, (n, 1, 1))
    images = level + contrast * wave + rng.normal(0, 20, (n, size, size))
    return np.clip(images, 0, 255).astype(np.uint8)[..., None], labels


def test_pretraining_makes_features_that_group_the_classes():
    """kNN on the encoder's features: chance is 1/3; random weights do better (the textures differ
    in the responses they excite), contrastive pretraining clearly better still."""
    (train, train_labels), (test, test_labels) = _patterns(128, 0), _patterns(150, 1)
    torch.manual_seed(0)
    model = simclr.SimCLRModel("small", in_channels=1, width=8, out_dim=32)

    def knn():
        features = [simclr.extract_features(model, images) for images in (train, test)]
        return core.knn_accuracy(features[0], train_labels, features[1], test_labels, k=10)

    before = knn()
    history = simclr.pretrain(
        model,
        train,
        epochs=20,
        batch_size=32,
        lr=1e-3,
        temperature=0.2,
        augment=simclr.augmentation(16, 1, min_scale=0.5, blur=0),
        progress=False,
    )
    after = knn()
    assert after >= 0.8 and after >= before + 0.1, (before, after)
    assert history["loss"][-1] < history["loss"][0] - 0.5


def test_reset_fc_gives_the_linear_layer_fresh_weights():
    model = simclr.linear_model(3, width=4)
    with torch.no_grad():
        model.fc.weight.fill_(7.0)
    simclr.reset_fc(model)
    assert not torch.any(model.fc.weight == 7.0)


def test_pretraining_records_the_spread_and_warns_when_the_projections_collapse():
    images = np.random.default_rng(0).integers(0, 256, (32, 16, 16, 1), dtype=np.uint8)
    torch.manual_seed(0)
    model = simclr.SimCLRModel("small", 1, 4, 8)
    history = simclr.pretrain(model, images, 1, 16, 0.5, lr=1e-3, progress=False)
    projections = simclr.training.predict(model, images[: simclr.SPREAD_IMAGES])
    assert history["spread"] == [pytest.approx(core.spread(projections), rel=1e-5)]
    with torch.no_grad():  # the head's last layer outputs its bias alone: one point
        model.backbone.fc[-1].weight.zero_()
    with pytest.warns(
        RuntimeWarning, match=r"epoch 1: the embeddings' spread is \S+, down .*at least 1e-06"
    ):
        simclr.pretrain(model, images, 1, 16, 0.5, lr=1e-12, progress=False)


def test_projections_are_the_head_applied_to_the_encoder_features_in_eval_mode():
    torch.manual_seed(0)
    model = simclr.SimCLRModel(width=4, out_dim=8)
    images = _images(6)
    features = simclr.extract_features(model, images, batch_size=4)
    with torch.no_grad():
        expected = model.backbone.fc(torch.as_tensor(features)).numpy()
    model.train()  # projections must switch BatchNorm to its running statistics itself
    got = simclr.projections(model, images, batch_size=4)
    assert got.shape == (6, 8) and got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)

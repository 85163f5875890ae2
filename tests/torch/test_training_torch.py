"""The training helper (PyTorch): schedules, step validation, best weights, atomic checkpoints."""

import numpy as np
import pytest
import torch

from cases import points
from companion.torch import training
from companion.training import TrainerSpec, classifier_trainer, sgd_trainer


def _linear(weight):
    model = torch.nn.Linear(2, 2, bias=False)
    with torch.no_grad():
        model.weight.copy_(torch.tensor(weight, dtype=torch.float32))
    return model


def test_fifteen_percent_cut_and_steplr_learning_rates():
    train = points()
    h = training.fit(
        _linear([[1, 0], [-1, 0]]),
        train,
        epochs=5,
        batch_size=4,
        preprocess=None,
        trainer=classifier_trainer(lr=5e-5, decay_every=2, validate_every=0),
        progress=False,
    )
    np.testing.assert_allclose(h["lr"], [5e-5, 5e-5, 4.25e-5, 4.25e-5, 3.6125e-5], rtol=1e-12)
    model = _linear([[1, 0], [-1, 0]])
    h = training.fit(
        model,
        train,
        epochs=5,
        batch_size=4,
        preprocess=None,
        trainer=sgd_trainer(lr=0.1, step_size=2, gamma=0.1),
        progress=False,
    )
    np.testing.assert_allclose(h["lr"], [0.1, 0.1, 0.01, 0.01, 0.001], rtol=1e-12)
    assert len(h["seconds"]) == 5


def test_sgd_momentum_step_by_hand():
    # one weight, loss = cross-entropy of logits (w*x, 0) -> gradient known in closed form
    model = torch.nn.Linear(1, 2, bias=False)
    with torch.no_grad():
        model.weight.zero_()
    x, y = np.ones((1, 1), np.float32), np.zeros(1, np.int64)
    training.fit(
        model,
        (x, y),
        epochs=2,
        batch_size=1,
        preprocess=None,
        trainer=TrainerSpec("sgd", lr=1.0, momentum=0.5),
        progress=False,
    )
    # step 1: p = (0.5, 0.5), grad = (-0.5, 0.5), v = grad, w = (0.5, -0.5)
    # step 2: p0 = sigmoid(1), grad = (p0 - 1, 1 - p0), v = 0.5 v + grad, w -= v
    p0 = 1 / (1 + np.exp(-1.0))
    v = 0.5 * np.array([-0.5, 0.5]) + np.array([p0 - 1, 1 - p0])
    np.testing.assert_allclose(
        model.weight.detach().numpy().ravel(), np.array([0.5, -0.5]) - v, rtol=1e-6
    )


def test_step_validation_starts_at_min_epoch():
    h = training.fit(
        _linear([[1, 0], [-1, 0]]),
        points(8),
        points(8),
        epochs=3,
        batch_size=2,
        preprocess=None,
        trainer=classifier_trainer(lr=1e-3, decay_every=1, validate_every=2, min_epoch=1),
        progress=False,
    )
    assert [s for s, _ in h["val_steps"]] == [6, 8, 10, 12]  # 4 steps an epoch, epochs 1 and 2 only


def test_best_checkpoint_is_the_best_validation_not_the_last(tmp_path):
    torch.manual_seed(0)
    model = _linear([[1, 0], [-1, 0]])  # perfect on the validation set
    ckpt = tmp_path / "best.pt"
    h = training.fit(
        model,
        points(flip=True),
        points(),
        epochs=6,
        batch_size=8,
        preprocess=None,
        trainer=TrainerSpec("sgd", lr=1.0),
        checkpoint=ckpt,
        progress=False,
    )
    assert (
        h["val_accuracy"][0] == 1.0 and h["val_accuracy"][-1] == 0.0
    )  # training on flipped labels ruins it
    assert h["best"] == {"val_accuracy": 1.0, "step": 1}
    assert (
        training.evaluate(model, points(), preprocess=None)["accuracy"] == 1.0
    )  # best weights restored
    restored = training.load_checkpoint(_linear([[0, 0], [0, 0]]), ckpt)
    assert torch.equal(restored.weight, model.weight)


def test_interrupted_write_leaves_the_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "best.pt"
    training.save_checkpoint(_linear([[1, 2], [3, 4]]), path)

    def crash(obj, f, *args, **kwargs):
        with open(f, "wb") as handle:
            handle.write(b"PK\x03\x04 half a zip")
        raise KeyboardInterrupt

    monkeypatch.setattr(training.torch, "save", crash)
    with pytest.raises(KeyboardInterrupt):
        training.save_checkpoint(_linear([[5, 6], [7, 8]]), path)
    monkeypatch.undo()
    restored = training.load_checkpoint(_linear([[0, 0], [0, 0]]), path)
    np.testing.assert_array_equal(restored.weight.detach().numpy(), [[1, 2], [3, 4]])
    assert [p.name for p in tmp_path.iterdir()] == ["best.pt"]


class Payload:
    pass


def test_checkpoints_load_tensors_only(tmp_path):
    torch.save({"weight": Payload()}, tmp_path / "evil.pt")
    with pytest.raises(Exception, match="Weights only load failed"):
        training.load_checkpoint(_linear([[0, 0], [0, 0]]), tmp_path / "evil.pt")


def test_plain_fit_still_works_and_checks_its_arguments():
    h = training.fit(
        _linear([[1, 0], [-1, 0]]),
        points(),
        points(),
        epochs=2,
        batch_size=4,
        lr=0.01,
        preprocess=None,
        progress=False,
    )
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "lr", "seconds"} <= set(
        h
    ) and "best" not in h
    with pytest.raises(ValueError, match="validation set"):
        training.fit(
            _linear([[1, 0], [-1, 0]]), points(), keep_best=True, preprocess=None, progress=False
        )
    frozen = _linear([[1, 0], [-1, 0]]).requires_grad_(False)
    with pytest.raises(ValueError, match="no trainable"):
        training.fit(frozen, points(), preprocess=None, progress=False)
    with pytest.raises(TypeError, match="ImageSet or an"):
        training.loader([1, 2], 2)


class _Counting(torch.nn.Module):
    """A linear layer that notes the examples of every training batch it sees."""

    def __init__(self):
        super().__init__()
        self.fc, self.seen = torch.nn.Linear(1, 2), []

    def forward(self, x):
        if self.training:
            self.seen.append(x[:, 0].tolist())
        return self.fc(x)


def test_steps_per_epoch_gives_equal_steps_whatever_the_data_size():
    # 10 examples (value = index), batches of 4: passes of 3 batches (4, 4, 2)
    x, y = np.arange(10, dtype=np.float32)[:, None], np.arange(10) % 2
    model = _Counting()
    h = training.fit(
        model, (x, y), epochs=2, batch_size=4, preprocess=None, progress=False, steps_per_epoch=5
    )
    assert len(model.seen) == 10 and len(h["loss"]) == 2  # 2 epochs x 5 steps
    # the stream runs on across epochs: steps 1-3 one pass, 4-6 the next, 7-9 a third
    for first in (0, 3, 6):
        assert sorted(v for batch in model.seen[first : first + 3] for v in batch) == list(
            range(10)
        )
    assert model.seen[0] != model.seen[3]  # each pass reshuffles
    # without steps_per_epoch an epoch is one pass: 3 steps; a 4 times larger set takes 4 times more
    for n, steps in ((10, 3), (40, 10)):
        model = _Counting()
        xs, ys = np.arange(n, dtype=np.float32)[:, None], np.arange(n) % 2
        training.fit(model, (xs, ys), epochs=1, batch_size=4, preprocess=None, progress=False)
        assert len(model.seen) == steps


class _Recorder:
    """A train_loop callback noting every step and epoch it is told of."""

    def __init__(self):
        self.steps, self.epochs = [], []

    def on_step_end(self, model, epoch, step):
        self.steps.append((epoch, step))

    def on_epoch_end(self, model, epoch, history):
        self.epochs.append((epoch, len(history["loss"])))


def _square_error(model, batch):
    """loss = mean((w x - t)^2); totals: the sum of |w x - t| over the batch."""
    x, t = batch
    error = model(x[:, None])[:, 0] - t
    return error.square().mean(), {"error": error.abs().sum().item()}, len(x)


def test_train_loop_takes_the_hand_derived_sgd_step():
    # x = (1, 3), t = 0. Epoch 1, w = 2: loss = (2^2 + 6^2) / 2 = 20, error = (2 + 6) / 2 = 4,
    # dloss/dw = (2*2*1 + 2*6*3) / 2 = 20, so SGD at lr 1/8 takes w to 2 - 20/8 = -0.5.
    # Epoch 2, w = -0.5, lr halved: loss = (0.25 + 2.25) / 2 = 1.25, error = (0.5 + 1.5) / 2 = 1,
    # dloss/dw = (-1 - 9) / 2 = -5, w = -0.5 + 5/16 = -0.1875 (all exact in binary)
    model = torch.nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        model.weight.fill_(2.0)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.125)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 1, 0.5)
    batch = (torch.tensor([1.0, 3.0]), torch.zeros(2))
    recorder, rng = _Recorder(), torch.get_rng_state()
    h = training.train_loop(
        model,
        _square_error,
        [batch],
        2,
        optimizer,
        scheduler=scheduler,
        validate=lambda m: {"w": m.weight.item(), "training": m.training},
        callbacks=[recorder],
        progress=False,
    )
    assert set(h) == {"loss", "error", "lr", "seconds", "val_w", "val_training"}
    assert h["loss"] == [20.0, 1.25] and h["error"] == [4.0, 1.0]
    assert h["lr"] == [0.125, 0.0625] and h["val_w"] == [-0.5, -0.1875]
    assert h["val_training"] == [True, True] and len(h["seconds"]) == 2  # as training left it
    assert model.weight.item() == -0.1875 and model.weight.device.type == "cpu"
    assert recorder.steps == [(0, 1), (1, 2)] and recorder.epochs == [(0, 1), (1, 2)]
    assert torch.equal(torch.get_rng_state(), rng)  # the loop draws no random numbers


def test_train_loop_weights_the_means_by_batch_size_and_asks_for_each_epochs_batches():
    # lr 0 keeps w = 1: the batches (2) and (1, 1, 1) have losses 4 and 1, errors 2 and 3
    model = torch.nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        model.weight.fill_(1.0)
    asked = []

    def batches(epoch):
        asked.append(epoch)
        return [(torch.tensor([2.0]), torch.zeros(1)), (torch.ones(3), torch.zeros(3))]

    h = training.train_loop(
        model,
        _square_error,
        batches,
        2,
        torch.optim.SGD(model.parameters(), lr=0.0),
        progress=False,
    )
    assert asked == [0, 1]
    assert h["loss"] == [7 / 4] * 2 and h["error"] == [5 / 4] * 2  # (4 + 3) / 4, (2 + 3) / 4
    assert set(h) == {"loss", "error", "lr", "seconds"}


def test_frozen_batchnorm_stays_in_eval_mode():
    model = torch.nn.Sequential(torch.nn.BatchNorm1d(2), torch.nn.BatchNorm1d(2))
    model[0].requires_grad_(False)
    model.train()
    assert training.freeze_frozen_batchnorm(model) is model
    assert [m.training for m in model] == [False, True]


def test_a_batch_of_one_for_a_training_batchnorm_is_refused_before_any_step():
    class Frozen(torch.nn.Sequential):  # as TransferNet: frozen BatchNorm stays in eval mode
        def train(self, mode=True):
            return training.freeze_frozen_batchnorm(super().train(mode))

    x, y = points(9)  # 9 in batches of 4: a last batch of one
    model = Frozen(torch.nn.BatchNorm1d(2), torch.nn.Linear(2, 2))
    before = [p.detach().clone() for p in model.parameters()]
    with pytest.raises(
        ValueError, match="9 training examples in batches of 4 leave a batch of one"
    ):
        training.fit(model, (x, y), batch_size=4, preprocess=None, progress=False)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))
    model[0].requires_grad_(False)  # frozen: eval mode, its running statistics
    assert not training.trains_batchnorm(model)
    history = training.fit(model, (x, y), batch_size=4, preprocess=None, progress=False)
    assert np.isfinite(history["loss"]).all()


def test_a_non_finite_loss_stops_training_before_its_step_and_is_never_saved(tmp_path):
    x, y = points(8)
    x[5] = np.nan  # in the third batch of two
    model = _linear([[1.0, 0.0], [0.0, 1.0]])
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    loss = torch.nn.CrossEntropyLoss()

    def step(model, batch):
        inputs, labels = batch
        return loss(model(inputs), labels), {}, len(labels)

    batches = [(torch.from_numpy(x[i : i + 2]), torch.from_numpy(y[i : i + 2])) for i in (0, 2, 4)]
    with pytest.raises(FloatingPointError, match=r"the loss at epoch 1, step 3 is not finite"):
        training.train_loop(model, step, batches, 1, optimizer, progress=False)
    assert torch.isfinite(model.weight).all()  # two good steps, and not the third
    good = training.save_checkpoint(model, tmp_path / "model.pt")
    with torch.no_grad():
        model.weight[0, 0] = float("inf")
    with pytest.raises(FloatingPointError, match=r"weight weight at .*model.pt is not finite"):
        training.save_checkpoint(model, good)
    assert torch.isfinite(training.load_checkpoint(_linear([[0.0] * 2] * 2), good).weight).all()

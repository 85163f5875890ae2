"""The training helper (Keras fit with callbacks): schedules, step validation, best weights,
checkpoints."""

import keras
import numpy as np
import pytest

from cases import points
from companion.tf import training
from companion.training import TrainerSpec, classifier_trainer, sgd_trainer


def _linear(weight):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2, use_bias=False)])
    model.layers[0].set_weights([np.array(weight, np.float32).T])
    return model


def test_fifteen_percent_cut_and_steplr_learning_rates():
    h = training.fit(
        _linear([[1, 0], [-1, 0]]),
        points(),
        epochs=5,
        batch_size=4,
        preprocess=None,
        trainer=classifier_trainer(lr=5e-5, decay_every=2, validate_every=0),
        progress=False,
    )
    np.testing.assert_allclose(h["lr"], [5e-5, 5e-5, 4.25e-5, 4.25e-5, 3.6125e-5], rtol=1e-6)
    h = training.fit(
        _linear([[1, 0], [-1, 0]]),
        points(),
        epochs=5,
        batch_size=4,
        preprocess=None,
        trainer=sgd_trainer(lr=0.1, step_size=2, gamma=0.1),
        progress=False,
    )
    np.testing.assert_allclose(h["lr"], [0.1, 0.1, 0.01, 0.01, 0.001], rtol=1e-6)
    assert len(h["seconds"]) == 5


def test_sgd_momentum_step_by_hand():
    model = keras.Sequential(
        [keras.Input((1,)), keras.layers.Dense(2, use_bias=False, kernel_initializer="zeros")]
    )
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
    p0 = 1 / (1 + np.exp(-1.0))  # see the PyTorch test: same two steps
    v = 0.5 * np.array([-0.5, 0.5]) + np.array([p0 - 1, 1 - p0])
    np.testing.assert_allclose(
        model.layers[0].kernel.numpy().ravel(), np.array([0.5, -0.5]) - v, rtol=1e-6
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
    assert [s for s, _ in h["val_steps"]] == [6, 8, 10, 12]


def test_best_checkpoint_is_the_best_validation_not_the_last(tmp_path):
    model = _linear([[1, 0], [-1, 0]])
    ckpt = tmp_path / "best.keras"
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
    assert h["val_accuracy"][0] == 1.0 and h["val_accuracy"][-1] == 0.0
    assert h["best"] == {"val_accuracy": 1.0, "step": 1}
    assert training.evaluate(model, points(), preprocess=None)["accuracy"] == 1.0
    restored = training.load_checkpoint(_linear([[0, 0], [0, 0]]), ckpt)
    np.testing.assert_array_equal(restored.layers[0].kernel.numpy(), model.layers[0].kernel.numpy())


def test_interrupted_write_leaves_the_previous_checkpoint(tmp_path):
    path = tmp_path / "best.keras"
    training.save_checkpoint(_linear([[1, 2], [3, 4]]), path)
    model = _linear([[5, 6], [7, 8]])

    def crash(filepath, *args, **kwargs):
        with open(filepath, "wb") as handle:
            handle.write(b"PK\x03\x04 half a zip")
        raise KeyboardInterrupt

    model.save = crash
    with pytest.raises(KeyboardInterrupt):
        training.save_checkpoint(model, path)
    restored = training.load_checkpoint(_linear([[0, 0], [0, 0]]), path)
    np.testing.assert_array_equal(
        restored.layers[0].kernel.numpy(), np.array([[1, 2], [3, 4]], np.float32).T
    )
    assert [p.name for p in tmp_path.iterdir()] == ["best.keras"]


def test_checkpoints_load_in_safe_mode(tmp_path):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Lambda(lambda x: x * 2)])
    model.save(tmp_path / "lambda.keras")
    with pytest.raises(ValueError, match="safe_mode"):
        training.load_checkpoint(model, tmp_path / "lambda.keras")
    with pytest.raises(ValueError, match=".keras"):
        training.save_checkpoint(model, tmp_path / "best.h5")


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
    frozen = _linear([[1, 0], [-1, 0]])
    frozen.trainable = False
    with pytest.raises(ValueError, match="no trainable"):
        training.fit(frozen, points(), preprocess=None, progress=False)


class _Count(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.steps = 0

    def on_train_batch_end(self, batch, logs=None):
        self.steps += 1


def test_steps_per_epoch_gives_equal_steps_whatever_the_data_size():
    # 10 and 40 examples, batches of 4: passes of 3 and 10 batches; 2 epochs of 5 steps for both
    for n, plain_steps in ((10, 3), (40, 10)):
        x, y = np.arange(n, dtype=np.float32)[:, None], np.arange(n) % 2
        model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(2)])
        count = _Count()
        h = training.fit(
            model,
            (x, y),
            epochs=2,
            batch_size=4,
            preprocess=None,
            progress=False,
            steps_per_epoch=5,
            callbacks=[count],
        )
        assert count.steps == 10 and len(h["loss"]) == 2
        count = _Count()
        training.fit(
            model,
            (x, y),
            epochs=1,
            batch_size=4,
            preprocess=None,
            progress=False,
            callbacks=[count],
        )
        assert count.steps == plain_steps  # by epochs: steps grow with the data


def test_a_batch_of_one_for_a_training_batchnorm_is_refused_before_any_step():
    x, y = points(9)  # 9 in batches of 4: a last batch of one
    model = keras.Sequential(
        [keras.Input((2,)), keras.layers.BatchNormalization(), keras.layers.Dense(2)]
    )
    before = [w.copy() for w in model.get_weights()]
    with pytest.raises(
        ValueError, match="9 training examples in batches of 4 leave a batch of one"
    ):
        training.fit(model, (x, y), batch_size=4, preprocess=None, progress=False)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    model.layers[0].trainable = False  # frozen: inference mode, its moving statistics
    assert not training.trains_batchnorm(model)
    history = training.fit(model, (x, y), batch_size=4, preprocess=None, progress=False)
    assert np.isfinite(history["loss"]).all()


def test_a_non_finite_loss_stops_fit_in_graph_mode_and_is_never_saved(tmp_path):
    x, y = points(8)
    x[5] = np.nan  # in one of four batches of two (fit shuffles)
    model = _linear([[1.0, 0.0], [0.0, 1.0]])
    good = training.save_checkpoint(model, tmp_path / "model.keras")
    with pytest.raises(FloatingPointError, match=r"the loss at epoch 1, step [1-4] is not finite"):
        training.fit(model, (x, y), batch_size=2, preprocess=None, progress=False)
    # Keras applied that step before its callback saw the loss: the weights are NaN now
    with pytest.raises(FloatingPointError, match=r"weight .*kernel at .*model.keras is not finite"):
        training.save_checkpoint(model, good)
    loaded = training.load_checkpoint(_linear([[0.0] * 2] * 2), good)
    np.testing.assert_array_equal(loaded.layers[0].kernel.numpy(), np.eye(2))


def test_weight_bytes_counts_every_weight_in_float32():
    dense = keras.layers.Dense(3)
    dense.build((None, 5))
    assert training.weight_bytes(dense) == 4 * (5 * 3 + 3)  # kernel and bias, 4 bytes each

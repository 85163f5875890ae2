"""Resume (issue 22, item 1), Keras edition: every trainer continued from its ``Resume`` file ends
with the weights and history of an uninterrupted run. Keras reads one endless stream of batches
(``epoch_stream``) and a resumed run skips the batches of the finished epochs, so it reads the
same batches; on one CPU thread setting the arithmetic repeats, so the weights are compared
exactly (tolerance 0). ``test_kill_resume_tf.py`` kills real processes."""

import keras
import numpy as np
import pytest

from companion.data import ImageSet
from companion.tf import sampling, simclr, training, triplet
from companion.training import sgd_trainer

RNG = np.random.default_rng(0)
X = RNG.integers(0, 256, (70, 8, 8, 1), dtype=np.uint8)
Y = RNG.integers(0, 3, 70)
TOLERANCE = 0.0


def _net():
    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(4, 3),
            keras.layers.BatchNormalization(),
            keras.layers.ReLU(),
            keras.layers.Flatten(),
            keras.layers.Dense(3),
        ]
    )


def _largest_difference(a, b):
    wa, wb = a.get_weights(), b.get_weights()
    assert len(wa) == len(wb)
    return max(float(np.abs(p - q).max()) for p, q in zip(wa, wb))


def _without_seconds(history):
    return {k: v for k, v in history.items() if k != "seconds"}


def _interrupt_after(monkeypatch, epochs: int):
    """Runs stop (KeyboardInterrupt) once their Resume file holds ``epochs`` epochs."""
    save = training.Resume.on_epoch_end

    def interrupted(self, epoch, logs=None):
        save(self, epoch, logs)
        if epoch + 1 == epochs:
            raise KeyboardInterrupt

    monkeypatch.setattr(training.Resume, "on_epoch_end", interrupted)


def _resumed(train, make, path, epochs, stops, monkeypatch):
    """``train(model, epochs, resume)`` interrupted after each of ``stops`` epochs, each time
    continued on a freshly made model, as a new process would; the last model and history."""
    for stop in stops:
        _interrupt_after(monkeypatch, stop)
        with pytest.raises(KeyboardInterrupt):
            train(make(), epochs, path)
        monkeypatch.undo()
    model = make()
    history = train(model, epochs, path)
    assert not path.exists(), "a finished run keeps its resume file"
    return model, history


FIT_CASES = {
    "sgd, steplr, best weights, step validation": dict(
        trainer=sgd_trainer(0.05, 0.9, 2, 0.5), keep_best=True, val=(X[:20], Y[:20])
    ),
    "an endless balanced stream": dict(steps_per_epoch=3, balanced=True),
}


@pytest.mark.parametrize("options", FIT_CASES.values(), ids=FIT_CASES.keys())
def test_fit_resumed_ends_as_an_uninterrupted_run(tmp_path, monkeypatch, options):
    def train(model, epochs, resume=None):
        kwargs = {k: v for k, v in options.items() if k != "balanced"}
        if options.get("balanced"):
            data = ImageSet(X, Y, ["a", "b", "c"])
            kwargs["dataset"] = sampling.balanced_dataset(data, 16, seed=1)
        return training.fit(
            model, (X, Y), epochs=epochs, batch_size=16, progress=False, resume=resume, **kwargs
        )

    whole = _net()
    expected = train(whole, 5)
    model, history = _resumed(train, _net, tmp_path / "run.npz", 5, [1, 3], monkeypatch)
    assert _largest_difference(model, whole) <= TOLERANCE
    assert _without_seconds(history) == _without_seconds(expected)


def test_pretrain_resumed_ends_as_an_uninterrupted_run(tmp_path, monkeypatch):
    images = RNG.integers(0, 256, (48, 16, 16, 1), dtype=np.uint8)

    def make():
        keras.utils.set_random_seed(3)
        return simclr.SimCLRModel("small", 1, 4, 8)

    def train(model, epochs, resume=None):
        return simclr.pretrain(
            model, images, epochs, 16, 0.5, lr=1e-2, seed=2, progress=False, resume=resume
        )

    whole = make()
    expected = train(whole, 4)
    model, history = _resumed(train, make, tmp_path / "run.npz", 4, [2], monkeypatch)
    assert _largest_difference(model, whole) <= TOLERANCE
    assert _without_seconds(history) == _without_seconds(expected)


def test_linear_probe_and_triplet_trainers_resume_exactly(tmp_path, monkeypatch):
    features = RNG.normal(size=(40, 6)).astype(np.float32)
    labels = RNG.integers(0, 3, 40)
    stems = features.reshape(40, 1, 1, 6)  # the triplet trainers take N x H x W x C stem maps

    def linear():
        keras.utils.set_random_seed(4)
        return keras.layers.Dense(3)

    def top():
        keras.utils.set_random_seed(5)
        stem = keras.Input((1, 1, 6))
        return keras.Model(stem, keras.layers.Dense(8)(keras.layers.Flatten()(stem)))

    triplets = tuple(RNG.normal(size=(30, 1, 1, 6)).astype(np.float32) for _ in "apn")
    trainers = {
        "linear": (
            linear,
            lambda m, e, r: simclr.train_linear(m, features, labels, e, 16, 1e-2, seed=1, resume=r),
            lambda m: m,
        ),
        "supervised": (
            top,
            lambda m, e, r: triplet.fit_supervised(
                m, (stems, labels), None, e, 8, 1e-2, progress=False, resume=r
            ),
            lambda m: m,
        ),
        "siamese": (
            lambda: triplet.SiameseModel(triplet.siamese_network(top())),
            lambda m, e, r: triplet.fit_siamese(
                m, triplets, triplets, e, 8, 1e-2, progress=False, resume=r
            ),
            lambda m: m.network,
        ),
    }
    for name, (make, train, weights_of) in trainers.items():
        whole = make()
        expected = train(whole, 4, None)
        path = tmp_path / f"{name}.npz"
        model, history = _resumed(train, make, path, 4, [2], monkeypatch)
        assert _largest_difference(weights_of(model), weights_of(whole)) <= TOLERANCE, name
        assert _without_seconds(history) == _without_seconds(expected), name


@pytest.fixture
def saved(tmp_path, monkeypatch):
    """A resume file of 2 epochs, left by an interrupted run."""
    path = tmp_path / "run.npz"
    _interrupt_after(monkeypatch, 2)
    with pytest.raises(KeyboardInterrupt):
        training.fit(_net(), (X, Y), epochs=3, batch_size=16, progress=False, resume=path)
    monkeypatch.undo()
    assert training.read_run(path)["epoch"] == 2
    return path


def test_a_run_with_other_settings_is_refused_by_name(saved):
    with pytest.raises(ValueError, match=rf"{saved} holds a run with other settings \(batch_size"):
        training.fit(_net(), (X, Y), epochs=3, batch_size=8, progress=False, resume=saved)


def test_a_truncated_or_foreign_resume_file_is_refused_by_name(saved, tmp_path):
    saved.write_bytes(saved.read_bytes()[:500])
    with pytest.raises(ValueError, match=rf"{saved}.*not a readable run state.*delete it"):
        training.fit(_net(), (X, Y), epochs=3, batch_size=16, progress=False, resume=saved)
    other = tmp_path / "other.npz"
    np.savez(other, a=np.zeros(2))
    with pytest.raises(ValueError, match=r"is not a Resume run state"):
        training.read_run(other)


def test_a_resume_file_for_another_model_is_refused(saved):
    other = keras.Sequential(
        [keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(3)]
    )
    with pytest.raises(ValueError, match=r"does not fit this run"):
        training.fit(other, (X, Y), epochs=3, batch_size=16, progress=False, resume=saved)


def test_resume_paths_are_checked_before_the_first_step(tmp_path):
    with pytest.raises(ValueError, match=r"expected a path ending in \.npz"):
        training.fit(_net(), (X, Y), progress=False, resume=tmp_path / "run.pt")
    with pytest.raises(FileNotFoundError, match=r"mkdir -p"):
        training.fit(_net(), (X, Y), progress=False, resume=tmp_path / "no" / "run.npz")

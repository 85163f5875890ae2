"""Resume (issue 22, item 1): every PyTorch trainer continued from its resume file ends with the
weights and history of an uninterrupted run, bit for bit (the CPU runs one process, so the same
operations in the same order give the same floats). An interruption is a run stopped after some
epochs (here: asked for fewer); ``test_kill_resume_torch.py`` kills real processes."""

import numpy as np
import pytest
import torch

from companion.torch import simclr, training, triplet
from companion.torch.sampling import balanced_sampler
from companion.data import ImageSet
from companion.training import sgd_trainer

RNG = np.random.default_rng(0)
X = RNG.integers(0, 256, (70, 8, 8, 1), dtype=np.uint8)
Y = RNG.integers(0, 3, 70)


def _net():
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3),
        torch.nn.BatchNorm2d(4),
        torch.nn.ReLU(),
        torch.nn.Flatten(),
        torch.nn.Linear(144, 3),
    )


def _same_weights(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def _without_seconds(history):
    return {k: v for k, v in history.items() if k != "seconds"}


def _resumed(train, make, tmp_path, epochs, stops):
    """``train(model, epochs, resume)`` run through ``stops`` (fewer epochs first), each time on a
    freshly made model, as a new process would; returns the last model and history."""
    path = tmp_path / "run.pt"
    for stop in [*stops, epochs]:
        model = make()
        history = train(model, stop, path)
    return model, history


FIT_CASES = {
    "sgd, steplr, best weights, step validation": dict(
        trainer=sgd_trainer(0.05, 0.9, 2, 0.5), keep_best=True, val=(X[:20], Y[:20])
    ),
    "an endless stream of a balanced sampler": dict(
        steps_per_epoch=3, sampler=balanced_sampler(ImageSet(X, Y, ["a", "b", "c"]), seed=1)
    ),
}


@pytest.mark.parametrize("options", FIT_CASES.values(), ids=FIT_CASES.keys())
def test_fit_resumed_ends_as_an_uninterrupted_run(tmp_path, options):
    def train(model, epochs, resume=None):
        if "sampler" in options:  # a sampler draws from its own generator: a fresh one each run
            options["sampler"] = balanced_sampler(ImageSet(X, Y, ["a", "b", "c"]), seed=1)
        return training.fit(
            model, (X, Y), epochs=epochs, batch_size=16, progress=False, resume=resume, **options
        )

    whole = _net()
    expected = train(whole, 5)
    model, history = _resumed(train, _net, tmp_path, 5, [1, 3])
    assert _same_weights(model, whole)
    assert _without_seconds(history) == _without_seconds(expected)


def test_a_finished_run_removes_its_file_and_one_killed_after_its_last_save_trains_no_more(
    tmp_path, monkeypatch
):
    path, kept, save = tmp_path / "run.pt", tmp_path / "kept.pt", training._Run.save

    def keeping(run, *args):  # a copy of the file as a run killed after its last save leaves it
        save(run, *args)
        kept.write_bytes(path.read_bytes())

    def train(model):
        steps = []

        def step(model, batch):
            steps.append(1)
            return _square_error(model, batch)

        history = training.train_loop(
            model, step, [BATCH], 2, torch.optim.SGD(model.parameters(), 0.1),
            progress=False, resume=path,
        )  # fmt: skip
        return history, len(steps)

    first = _line()
    monkeypatch.setattr(training._Run, "save", keeping)
    history, steps = train(first)
    monkeypatch.undo()
    assert steps == 2 and not path.exists()
    kept.rename(path)
    again = _line()
    assert train(again) == (history, 0)
    assert _same_weights(again, first) and not path.exists()


BATCH = (torch.tensor([[1.0], [2.0]]), torch.tensor([[3.0], [5.0]]))


def _line():
    torch.manual_seed(0)
    return torch.nn.Linear(1, 1)


def _square_error(model, batch):
    x, y = batch
    return (model(x) - y).square().mean(), {}, len(x)


def test_pretrain_resumed_ends_as_an_uninterrupted_run(tmp_path):
    images = RNG.integers(0, 256, (48, 16, 16, 1), dtype=np.uint8)

    def make():
        torch.manual_seed(3)
        return simclr.SimCLRModel("small", 1, 4, 8)

    def train(model, epochs, resume=None):
        return simclr.pretrain(
            model, images, epochs, 16, 0.5, lr=1e-2, seed=2, progress=False, resume=resume
        )

    whole = make()
    expected = train(whole, 4)
    model, history = _resumed(train, make, tmp_path, 4, [1, 2])
    assert _same_weights(model, whole)
    assert _without_seconds(history) == _without_seconds(expected)


def test_linear_probe_and_triplet_trainers_resume_exactly(tmp_path):
    features = RNG.normal(size=(40, 6)).astype(np.float32)
    labels = RNG.integers(0, 3, 40)
    stems = features.reshape(40, 6, 1, 1)  # the triplet trainers take N x C x H x W stem maps

    def linear():
        torch.manual_seed(4)
        return torch.nn.Linear(6, 3)

    def top():
        torch.manual_seed(5)
        return torch.nn.Sequential(
            torch.nn.Flatten(), torch.nn.Linear(6, 8), torch.nn.BatchNorm1d(8)
        )

    triplets = tuple(RNG.normal(size=(30, 6, 1, 1)).astype(np.float32) for _ in "apn")
    trainers = {
        "linear": (
            linear,
            lambda m, e, r: simclr.train_linear(m, features, labels, e, 16, 1e-2, seed=1, resume=r),
        ),
        "supervised": (
            top,
            lambda m, e, r: triplet.fit_supervised(
                m, (stems, labels), None, e, 8, 1e-2, progress=False, resume=r
            ),
        ),
        "siamese": (
            lambda: triplet.SiameseModel(triplet.siamese_network(top())),
            lambda m, e, r: triplet.fit_siamese(
                m, triplets, triplets, e, 8, 1e-2, progress=False, resume=r
            ),
        ),
    }
    for name, (make, train) in trainers.items():
        (tmp_path / name).mkdir()
        whole = make()
        expected = train(whole, 4, None)
        model, history = _resumed(train, make, tmp_path / name, 4, [2])
        assert _same_weights(model, whole), name
        assert _without_seconds(history) == _without_seconds(expected), name


@pytest.fixture
def saved(tmp_path, monkeypatch):
    """A resume file of 2 epochs, left by a run interrupted (KeyboardInterrupt) after saving."""
    path, save = tmp_path / "run.pt", training._Run.save

    def interrupted(run, epoch, history, count):
        save(run, epoch, history, count)
        if epoch == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(training._Run, "save", interrupted)
    with pytest.raises(KeyboardInterrupt):
        training.fit(_net(), (X, Y), epochs=3, batch_size=16, progress=False, resume=path)
    monkeypatch.undo()
    assert training.read_run(path)["epoch"] == 2
    return path


def test_a_run_with_other_settings_is_refused_by_name(saved):
    with pytest.raises(
        ValueError,
        match=rf"{saved} holds a run with other settings \(batch_size 16, now 8\): delete it",
    ):
        training.fit(_net(), (X, Y), epochs=3, batch_size=8, progress=False, resume=saved)


def test_a_run_longer_than_asked_is_refused(saved):
    with pytest.raises(ValueError, match=r"holds 2 epochs, more than the 1 asked"):
        training.fit(_net(), (X, Y), epochs=1, batch_size=16, progress=False, resume=saved)


def test_a_truncated_or_foreign_resume_file_is_refused_by_name(saved, tmp_path):
    saved.write_bytes(saved.read_bytes()[:500])
    with pytest.raises(ValueError, match=rf"{saved}.*not a readable run state.*delete it"):
        training.fit(_net(), (X, Y), epochs=3, batch_size=16, progress=False, resume=saved)
    weights = tmp_path / "weights.pt"
    training.save_checkpoint(_net(), weights)
    with pytest.raises(ValueError, match=r"is not a train_loop run state"):
        training.read_run(weights)


def test_a_resume_file_for_another_model_is_refused(saved):
    other = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 3))
    with pytest.raises(ValueError, match=r"does not fit this run"):
        training.fit(other, (X, Y), epochs=3, batch_size=16, progress=False, resume=saved)


def test_resume_paths_are_checked_before_the_first_step(tmp_path):
    with pytest.raises(ValueError, match=r"expected a path ending in \.pt"):
        training.fit(_net(), (X, Y), progress=False, resume=tmp_path / "run.keras")
    with pytest.raises(FileNotFoundError, match=r"mkdir -p"):
        training.fit(_net(), (X, Y), progress=False, resume=tmp_path / "no" / "run.pt")

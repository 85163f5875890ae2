"""The imbalanced binary task and the framework-free resampling helpers."""

import numpy as np
import pytest

from companion import imbalance
from companion.data import ImageSet


def make(labels):
    labels = np.asarray(labels)
    images = np.arange(len(labels), dtype=np.uint8).reshape(
        -1, 1, 1, 1
    )  # image value = original index
    return ImageSet(images, labels, [f"c{i}" for i in range(labels.max() + 1)])


def test_binary_task_ratio_and_labels():
    data = make([0] * 100 + [1] * 50 + [2] * 30)
    task = imbalance.binary_task(data, minority=2, ratio=20, n_majority=100)
    assert task.counts().tolist() == [100, 5] and task.class_names == ["other", "c2"]
    original = data.labels[task.images[:, 0, 0, 0]]
    np.testing.assert_array_equal(task.labels, original == 2)
    assert len(np.unique(task.images)) == len(task)  # drawn without replacement


def test_binary_task_refuses_impossible_sizes():
    with pytest.raises(ValueError, match="cannot draw"):
        imbalance.binary_task(make([0] * 100 + [1] * 2), minority=1, ratio=20, n_majority=100)


def test_undersample_keeps_the_rarest_class():
    data = make([0] * 40 + [1] * 4)
    small = imbalance.undersample(data)
    assert small.counts().tolist() == [4, 4]
    assert set(small.images[small.labels == 1, 0, 0, 0]) == {40, 41, 42, 43}


def test_balanced_weights_by_hand():
    np.testing.assert_allclose(imbalance.balanced_weights([0, 0, 0, 1]), [1 / 3, 1 / 3, 1 / 3, 1])


def test_oversample_fills_up_with_altered_copies():
    data = make([0] * 10 + [1] * 2)
    flipped = imbalance.oversample(data, augment=lambda x, seed: 255 - x)
    assert flipped.counts().tolist() == [10, 10]
    copies = flipped.images[flipped.labels == 1, 0, 0, 0]
    assert sorted(copies)[:2] == [10, 11] and set(
        copies[np.isin(copies, [10, 11], invert=True)]
    ) <= {244, 245}


def test_step_budget_gives_every_set_up_the_plain_steps():
    # the cpu lab: 10 000 + 500 images, undersampled 500 + 500, oversampled 10 000 + 10 000
    plan = imbalance.step_budget(
        {"plain": 10_500, "undersample": 1_000, "oversample": 20_000}, batch_size=64, epochs=5
    )
    # ceil(10 500 / 64) = 165 batches an epoch, 5 epochs: 825 steps for everyone
    assert {name: row["steps"] for name, row in plan.items()} == {
        "plain": 825,
        "undersample": 825,
        "oversample": 825,
    }
    assert plan["undersample"]["steps_per_epoch"] == 165
    # trained by epochs instead: ceil(1000 / 64) = 16 and ceil(20 000 / 64) = 313 a epoch
    assert (
        plan["undersample"]["steps_by_epochs"] == 80
        and plan["oversample"]["steps_by_epochs"] == 1565
    )
    # 825 steps of 64 images = 52 800 images seen: 52.8 passes over 1000, 2.64 over 20 000
    assert plan["undersample"]["passes"] == pytest.approx(52.8)
    assert plan["oversample"]["passes"] == pytest.approx(2.64)


def test_step_budget_reference_and_exact_division():
    plan = imbalance.step_budget({"a": 128, "b": 32}, batch_size=32, epochs=2, reference="b")
    assert plan["a"]["steps"] == plan["b"]["steps"] == 2 and plan["a"]["passes"] == 0.5
    with pytest.raises(ValueError, match="one of the set-ups"):
        imbalance.step_budget({"a": 128}, 32, 2)


@pytest.mark.parametrize(
    "mean, sd, verdict",
    [
        (0.60, 0.02, "helps"),  # 0.60 - 0.50 = 0.10 > 0.02 + 0.03
        (0.54, 0.02, "no clear effect"),  # 0.04 <= 0.05
        (0.55, 0.02, "no clear effect"),  # 0.05 is not beyond 0.05: equal counts as no effect
        (0.40, 0.01, "hurts"),  # 0.10 > 0.04
    ],
)
def test_effect_only_beyond_the_two_spreads(mean, sd, verdict):
    assert imbalance.effect(mean, sd, 0.50, 0.03) == verdict

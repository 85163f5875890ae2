"""The imbalanced binary task and the framework-free resampling helpers."""
import numpy as np
import pytest

from companion import imbalance
from companion.data import ImageSet


def make(labels):
    labels = np.asarray(labels)
    images = np.arange(len(labels), dtype=np.uint8).reshape(-1, 1, 1, 1)  # image value = original index
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
    assert sorted(copies)[:2] == [10, 11] and set(copies[np.isin(copies, [10, 11], invert=True)]) <= {244, 245}

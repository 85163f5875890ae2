"""Chapter 2, framework-free: zero-shot mapping, resizing, DenseNet arithmetic, schedules, per-class
table."""

import numpy as np
import pytest

from companion import training, transfer
from companion.data import ImageSet
from companion.data.fashion import CLASS_NAMES
from companion.imagenet import imagenet_classes
from companion.images import resize_images
from companion.metrics import per_class_matrix, per_class_table, write_per_class_csv

FASHION = CLASS_NAMES


def test_dense_connections_is_the_arithmetic_series():
    for x in range(40):
        assert transfer.dense_connections(x) == sum(range(1, x + 1))
    assert transfer.dense_connections(24) == 300  # DenseNet121, block 3
    with pytest.raises(ValueError):
        transfer.dense_connections(-1)


def test_densenet_channels_by_hand():
    assert [c for _, c in transfer.densenet_channels(transfer.DENSENET_BLOCKS[121])] == [
        64,
        64 + 6 * 32,
        128,
        128 + 12 * 32,
        256,
        256 + 24 * 32,
        512,
        512 + 16 * 32,
    ]
    assert transfer.densenet_channels(transfer.DENSENET_BLOCKS[169])[-1] == (
        "denseblock4",
        640 + 32 * 32,
    )


def test_fifteen_percent_schedule_and_steplr():
    spec = training.classifier_trainer(lr=5e-5, decay_every=2)
    np.testing.assert_allclose(
        [spec.lr_at(e) for e in range(6)],
        [5e-5, 5e-5, 4.25e-5, 4.25e-5, 3.6125e-5, 3.6125e-5],
        rtol=1e-12,
    )
    sgd = training.sgd_trainer(lr=0.01, step_size=3, gamma=0.1)
    np.testing.assert_allclose(
        [sgd.lr_at(e) for e in range(7)], [0.01] * 3 + [0.001] * 3 + [1e-4], rtol=1e-12
    )
    assert sgd.momentum == 0.9 and sgd.optimizer == "sgd"
    assert training.TrainerSpec(lr=0.1).lr_at(100) == 0.1
    with pytest.raises(ValueError, match="optimizer"):
        training.TrainerSpec("rmsprop")


def test_zero_shot_takes_the_best_mapped_class():
    names = imagenet_classes()
    scores = np.zeros((3, 1000))
    scores[0, names.index("tabby")] = 9  # unmapped winner is ignored ...
    scores[0, names.index("jersey")] = 2  # ... the best mapped class decides
    scores[0, names.index("sandal")] = 1
    scores[1, names.index("cowboy boot")] = 5
    scores[2, names.index("mailbag")] = 3
    scores[2, names.index("gown")] = 2
    np.testing.assert_array_equal(transfer.zero_shot_predict(scores, FASHION), [0, 9, 8])
    columns, owners = transfer.imagenet_mapping(FASHION)
    assert FASHION.index("Shirt") not in owners and len(columns) == len(owners)


def test_zero_shot_mapping_errors():
    with pytest.raises(ValueError, match="not ImageNet"):
        transfer.imagenet_mapping(["a"], {"a": ["flying carpet"]})
    with pytest.raises(ValueError, match="no mapping entry"):
        transfer.imagenet_mapping(["a", "b"], {"a": ["sandal"]})
    with pytest.raises(ValueError, match="N x 1000"):
        transfer.zero_shot_predict(np.zeros((2, 10)), FASHION)


def test_resize_keeps_channels_and_values():
    images = np.full((2, 28, 28, 1), 7, np.uint8)
    out = resize_images(images, 64)
    assert out.shape == (2, 64, 64, 1) and out.dtype == np.uint8 and (out == 7).all()
    halves = np.zeros((1, 4, 4, 3), np.uint8)
    halves[:, :, 2:] = 200
    out = resize_images(halves, 8)
    assert (out[0, :, :3] == 0).all() and (
        out[0, :, 5:] == 200
    ).all()  # left stays dark, right bright
    with pytest.raises(ValueError, match="uint8"):
        resize_images(np.zeros((2, 4, 4, 1), np.float32), 8)


def test_split_per_class_is_disjoint_and_balanced():
    data = ImageSet(
        np.arange(60, dtype=np.uint8).reshape(60, 1, 1, 1), np.arange(60) % 3, ["a", "b", "c"]
    )
    train, val = transfer.split_per_class(data, 5, 3, seed=1)
    np.testing.assert_array_equal(train.counts(), [5, 5, 5])
    np.testing.assert_array_equal(val.counts(), [3, 3, 3])
    assert not set(train.images.ravel()) & set(val.images.ravel())
    with pytest.raises(ValueError, match="has 20 images"):
        transfer.split_per_class(data, 15, 6)


def test_per_class_table_counts_correct_over_total(tmp_path):
    table = per_class_table([0, 0, 1, 1, 1, 2], [0, 1, 1, 1, 0, 0], ["a", "b", "c"])
    assert list(table["correct"]) == [1, 2, 0] and list(table["total"]) == [2, 3, 1]
    assert list(table["fraction"]) == ["1/2", "2/3", "0/1"]
    np.testing.assert_allclose(table["accuracy"], [0.5, 0.6667, 0.0])
    table.to_csv(tmp_path / "per_class.csv")
    assert (tmp_path / "per_class.csv").read_text().splitlines()[2] == "b,2,3,2/3,0.6667"


def test_per_class_matrix_writes_every_cell_as_count_over_row_total(tmp_path):
    # true 0 0 1 1 1 2, predicted 0 1 1 1 0 0: counted by hand, row by row
    y_true, y_pred = [0, 0, 1, 1, 1, 2], [0, 1, 1, 1, 0, 0]
    table = per_class_matrix(y_true, y_pred, ["a", "b", "c"])
    assert table.values.tolist() == [
        ["1/2", "1/2", "0/2"],
        ["1/3", "2/3", "0/3"],
        ["1/1", "0/1", "0/1"],
    ]
    assert list(table.index) == list(table.columns) == ["a", "b", "c"]
    path = write_per_class_csv(tmp_path / "matrix.csv", y_true, y_pred, ["a", "b", "c"])
    assert path.read_text().splitlines() == [
        "true \\ predicted,a,b,c",
        "a,1/2,1/2,0/2",
        "b,1/3,2/3,0/3",
        "c,1/1,0/1,0/1",
    ]
    assert [p.name for p in tmp_path.iterdir()] == ["matrix.csv"]  # no temporary file left


def test_accuracy_vs_data_plot_draws_one_line_per_method():
    import pandas as pd

    from companion.plotting import plot_accuracy_vs_data

    table = pd.DataFrame({"level 2": [0.5, 0.7], "scratch": [np.nan, 0.4]}, index=[10, 50])
    ax = plot_accuracy_vs_data(table).axes[0]
    assert [len(line.get_xdata()) for line in ax.lines] == [2, 1]
    with pytest.raises(ValueError):
        plot_accuracy_vs_data(pd.DataFrame())

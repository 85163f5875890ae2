"""Classification metrics against values counted by hand on a small example."""

import numpy as np
import pytest

from companion import metrics

# 10 examples, 3 classes. Hand-counted confusion matrix (rows true, columns predicted):
#   true 0: predicted 0,0,0,1      -> [3, 1, 0]
#   true 1: predicted 1,1,2        -> [0, 2, 1]
#   true 2: predicted 2,0,2        -> [1, 0, 2]
Y_TRUE = [0, 0, 0, 0, 1, 1, 1, 2, 2, 2]
Y_PRED = [0, 0, 0, 1, 1, 1, 2, 2, 0, 2]
CM = np.array([[3, 1, 0], [0, 2, 1], [1, 0, 2]])


def test_confusion_matrix_by_hand():
    np.testing.assert_array_equal(metrics.confusion_matrix(Y_TRUE, Y_PRED, 3), CM)


def test_confusion_matrix_keeps_absent_classes():
    np.testing.assert_array_equal(
        metrics.confusion_matrix([0, 0], [0, 0], 3), [[2, 0, 0], [0, 0, 0], [0, 0, 0]]
    )


def test_class_report_by_hand():
    # class 2: TP = 2, FP = 1 (a true 1), FN = 1 (predicted 0) -> P = 2/3, R = 2/3, F1 = 2/3
    # class 0: TP = 3, FP = 1, FN = 1 -> P = 3/4, R = 3/4; accuracy = 7/10
    r2 = metrics.class_report(Y_TRUE, Y_PRED, positive=2, n_classes=3)
    assert r2 == pytest.approx({"accuracy": 0.7, "precision": 2 / 3, "recall": 2 / 3, "f1": 2 / 3})
    r1 = metrics.class_report(Y_TRUE, Y_PRED, positive=1, n_classes=3)
    # class 1: TP = 2, FP = 1, FN = 1
    assert r1["precision"] == pytest.approx(2 / 3) and r1["recall"] == pytest.approx(2 / 3)


def test_class_report_binary_imbalanced():
    # 20 negatives all right, 2 of 4 positives found, 1 false alarm
    y_true = [0] * 20 + [1] * 4
    y_pred = [0] * 19 + [1] + [1, 1, 0, 0]
    r = metrics.class_report(y_true, y_pred, positive=1)
    precision, recall = 2 / 3, 2 / 4
    assert r == pytest.approx(
        {
            "accuracy": 21 / 24,
            "precision": precision,
            "recall": recall,
            "f1": 2 * precision * recall / (precision + recall),
        }
    )


def test_never_predicting_the_minority_gives_zero_f1_but_high_accuracy():
    r = metrics.class_report([0] * 20 + [1], [0] * 21, positive=1)
    assert r["accuracy"] == pytest.approx(20 / 21) and r["f1"] == 0 and r["recall"] == 0


def test_per_class_accuracy():
    np.testing.assert_allclose(metrics.per_class_accuracy(CM), [3 / 4, 2 / 3, 2 / 3])


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="class indices"):
        metrics.confusion_matrix([0, 3], [0, 1], 3)
    with pytest.raises(ValueError, match="1-D"):
        metrics.confusion_matrix([0, 1], [0], 3)
    with pytest.raises(ValueError, match="positive"):
        metrics.class_report([0, 1], [0, 1], positive=2)

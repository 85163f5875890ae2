"""Evaluation metrics shared by the chapters (numpy and scikit-learn, framework-free)."""
from __future__ import annotations

import numpy as np
from sklearn import metrics as _sk


def _labels(y_true, y_pred, n_classes: int):
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape or y_true.ndim != 1:
        raise ValueError(f"expected two 1-D label arrays of one length, got {y_true.shape} and {y_pred.shape}")
    for name, y in (("y_true", y_true), ("y_pred", y_pred)):
        if len(y) and (y.min() < 0 or y.max() >= n_classes):
            raise ValueError(f"{name} must hold class indices in [0, {n_classes}), got {y.min()}..{y.max()}")
    return y_true, y_pred


def confusion_matrix(y_true, y_pred, n_classes: int) -> np.ndarray:
    """``n_classes`` x ``n_classes`` counts: row = true class, column = predicted class."""
    y_true, y_pred = _labels(y_true, y_pred, n_classes)
    return _sk.confusion_matrix(y_true, y_pred, labels=np.arange(n_classes))


def accuracy(y_true, y_pred) -> float:
    """Fraction of predictions equal to the labels."""
    return float(_sk.accuracy_score(y_true, y_pred))


def class_report(y_true, y_pred, positive: int, n_classes: int = 2) -> dict:
    """Accuracy, and precision, recall (sensitivity) and F1 of the class ``positive`` (0 where undefined)."""
    y_true, y_pred = _labels(y_true, y_pred, n_classes)
    if not 0 <= positive < n_classes:
        raise ValueError(f"positive must be a class index in [0, {n_classes}), got {positive}")
    precision, recall, f1, _ = _sk.precision_recall_fscore_support(
        y_true, y_pred, labels=[positive], average=None, zero_division=0)
    return {"accuracy": accuracy(y_true, y_pred), "precision": float(precision[0]),
            "recall": float(recall[0]), "f1": float(f1[0])}


def per_class_accuracy(cm: np.ndarray) -> np.ndarray:
    """Recall of every class from a confusion matrix (NaN for a class with no examples)."""
    cm = np.asarray(cm)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"expected a square confusion matrix, got shape {cm.shape}")
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.diag(cm) / cm.sum(1)

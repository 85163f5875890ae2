"""How a classifier is trained, framework-free: the optimizer, its step schedule and step
validation, which both editions' ``fit`` read (``companion.torch.training``,
``companion.tf.training``)."""

from __future__ import annotations

from dataclasses import dataclass

from . import checks
from .data import ImageSet, inputs_and_labels


@dataclass(frozen=True)
class TrainerSpec:
    """How ``fit`` trains: optimizer, step learning-rate schedule, step validation and its start.

    The learning rate of epoch ``e`` (from 0) is ``lr * gamma ** (e // step_size)``, torch's
    ``StepLR``.
    ``validate_every`` > 0 validates every that many steps once ``epoch >= min_epoch``; validation
    also
    runs at every epoch end, and only validations from ``min_epoch`` on compete for the best
    weights.
    """

    optimizer: str = "adam"
    lr: float = 1e-3
    momentum: float = 0.0
    step_size: int = 0
    gamma: float = 1.0
    validate_every: int = 0
    min_epoch: int = 0

    def __post_init__(self):
        if not isinstance(self.optimizer, str) or self.optimizer not in ("adam", "sgd"):
            raise ValueError(f"optimizer must be 'adam' or 'sgd', got {self.optimizer!r}")
        for key in ("lr", "momentum", "gamma"):
            checks.number(getattr(self, key), f"TrainerSpec.{key}")
        for key in ("step_size", "validate_every", "min_epoch"):
            checks.integer(getattr(self, key), f"TrainerSpec.{key}")
        if self.lr <= 0 or self.step_size < 0 or self.validate_every < 0 or self.min_epoch < 0:
            raise ValueError(
                f"lr must be > 0 and step_size, validate_every, min_epoch >= 0, got {self}"
            )

    def lr_at(self, epoch: int) -> float:
        """Learning rate of epoch ``epoch`` (0-based)."""
        return self.lr * self.gamma ** (epoch // self.step_size) if self.step_size else self.lr


def classifier_trainer(
    lr: float = 5e-5, decay_every: int = 2, validate_every: int = 10, min_epoch: int = 1
) -> TrainerSpec:
    """The article's classifier-only trainer: Adam, learning rate cut by 15 % every ``decay_every``
    epochs."""
    return TrainerSpec(
        "adam",
        lr,
        step_size=decay_every,
        gamma=0.85,
        validate_every=validate_every,
        min_epoch=min_epoch,
    )


def sgd_trainer(
    lr: float = 1e-3, momentum: float = 0.9, step_size: int = 7, gamma: float = 0.1
) -> TrainerSpec:
    """The article's second trainer: SGD with momentum and StepLR, a validation phase after every
    epoch."""
    return TrainerSpec("sgd", lr, momentum=momentum, step_size=step_size, gamma=gamma)


def fit_spec(trainer, lr, epochs, steps_per_epoch, val, keep_best, checkpoint) -> TrainerSpec:
    """The ``TrainerSpec`` both editions' ``fit`` run with (Adam at ``lr`` unless ``trainer`` is
    given), after checking the options: keeping the best weights, a checkpoint and step
    validation all need a validation set."""
    checks.integer(epochs, "epochs", 0)
    if steps_per_epoch is not None:
        checks.integer(steps_per_epoch, "steps_per_epoch", 1)
    spec = trainer or TrainerSpec("adam", lr)
    checks.instance(spec, TrainerSpec, "trainer", "a TrainerSpec")
    if (keep_best or checkpoint is not None or spec.validate_every) and val is None:
        raise ValueError("keep_best, checkpoint and step validation need a validation set (val=)")
    return spec


def check_last_batch(n: int, batch_size: int, batchnorm: bool) -> None:
    """Refuse ``n`` training examples in batches of ``batch_size`` that leave a batch of one when
    the model trains BatchNorm (``batchnorm``): one example has no batch statistics (PyTorch
    stops mid-epoch, Keras quietly outputs the layer's offset)."""
    checks.integer(n, "n", 1)
    checks.integer(batch_size, "batch_size", 1)
    checks.instance(batchnorm, bool, "batchnorm", "True or False")
    if batchnorm and n % batch_size == 1:
        other = next(b for b in range(batch_size + 1, n + 2) if n % b != 1)
        raise ValueError(
            f"{n} training examples in batches of {batch_size} leave a batch of one, which "
            f"BatchNorm cannot normalise: expected a batch_size that leaves none (e.g. {other})"
        )


def batch_arrays(data: ImageSet, batch_size: int) -> tuple:
    """The inputs and labels both editions' ``loader`` batch: a non-empty data set (an ImageSet
    or an ``(x, y)`` pair) and a batch size of at least 1."""
    x, y = inputs_and_labels(data)
    if len(x) == 0:
        raise ValueError("cannot make batches of an empty data set: expected at least one example")
    checks.integer(batch_size, "batch_size", 1)
    return x, y


RESUME_FIX = "delete it to start the run afresh"


def check_settings(path, saved: dict, now: dict) -> None:
    """Refuse a resume file made with other settings than this run's, in one line naming the
    file, the settings that differ (``name saved, now value``) and the fix."""
    checks.instance(saved, dict, "saved", "a dict of settings")
    checks.instance(now, dict, "now", "a dict of settings")
    if saved != now:
        names = sorted(set(saved) | set(now))
        changed = "; ".join(
            f"{name} {saved.get(name, '-')}, now {now.get(name, '-')}"
            for name in names
            if saved.get(name, "-") != now.get(name, "-")
        )
        raise ValueError(
            checks.file_error(path, f"holds a run with other settings ({changed})", RESUME_FIX)
        )

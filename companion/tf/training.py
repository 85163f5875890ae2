"""Training with Keras ``fit`` on ``tf.data`` pipelines built from ImageSets (or feature arrays).

``fit`` is the one training helper. A ``TrainerSpec`` (``companion.training``) picks the optimizer,
the
step schedule (``LearningRateScheduler``) and step validation (``Validation``, which also keeps the
best
validation weights and writes them atomically when given a checkpoint path).
"""

from __future__ import annotations

import functools
import json
import math
import time
import weakref
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from tqdm.auto import tqdm

from .. import checks, files
from ..data import ImageSet, inputs_and_labels
from ..training import (
    RESUME_FIX,
    TrainerSpec,
    batch_arrays,
    check_last_batch,
    check_settings,
    fit_spec,
)


def to_float(images) -> tf.Tensor:
    """uint8 N x H x W x C (array or tensor) -> float N x H x W x C in [0, 1]."""
    if not tf.is_tensor(images):
        images = checks.array(images, "images", what="uint8 N x H x W x C images", empty=True)
    x = tf.convert_to_tensor(images)
    if x.shape.rank != 4 or x.dtype != tf.uint8:
        raise ValueError(
            f"expected uint8 N x H x W x C images, got {x.dtype.name} {tuple(x.shape)}"
        )
    return tf.cast(x, tf.float32) / 255


def _apply(preprocess, x):
    return tf.convert_to_tensor(x) if preprocess is None else preprocess(x)


MIXED_POLICIES = ("mixed_float16", "mixed_bfloat16")


def use_mixed_precision(policy: str = "mixed_float16") -> str:
    """Compute in half precision when TensorFlow sees a GPU: set Keras' global dtype policy to
    ``policy`` (variables stay float32); on a CPU leave the policy as it is (float32). Returns the
    global policy's name. Call it before building models: a layer takes the policy in force when
    it is made. The companion's models end in float32 layers, so logits, embeddings and losses
    (info-NCE included) stay float32, and ``compile`` scales the loss for ``mixed_float16``."""
    if policy not in MIXED_POLICIES:
        raise ValueError(f"policy must be one of {MIXED_POLICIES}, got {policy!r}")
    if tf.config.list_physical_devices("GPU"):
        keras.mixed_precision.set_global_policy(policy)
    return keras.mixed_precision.global_policy().name


def batches(x, batch_size: int, preprocess=None) -> tf.data.Dataset:
    """``x`` (an array, a tensor, or a tuple of them) as a ``tf.data`` pipeline: batches in order,
    then ``preprocess`` on each whole batch (vectorised, in parallel), prefetched (AUTOTUNE), so the
    next batch is ready while the model (on the GPU when there is one) works on this one."""
    checks.integer(batch_size, "batch_size", 1)
    for part in x if isinstance(x, tuple) else (x,):
        checks.batch(part, "x", what="a batch (an array or tensor of N examples)")
    if preprocess is not None and not callable(preprocess):
        raise TypeError(
            f"preprocess: expected a function (or None), got {checks.describe(preprocess)}"
        )
    dataset = tf.data.Dataset.from_tensor_slices(x).batch(batch_size)
    if preprocess is not None:
        dataset = dataset.map(preprocess, num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.prefetch(tf.data.AUTOTUNE)


_TRACED = weakref.WeakKeyDictionary()  # model -> its inference graph, gone with the model


def _infer(model_ref, x):
    return tf.nest.map_structure(lambda t: tf.cast(t, tf.float32), model_ref()(x, training=False))


def _inference(model: keras.layers.Layer):
    """One traced function per model, reused by every call on that model. TensorFlow counts the
    tracings of every function made from one piece of code together and prints a warning after
    five in a row (a loop over ``block_output``'s sub-models, in Chapter 0): a ``partial`` has no
    code of its own, so each model's function is counted apart."""
    traced = _TRACED.get(model)
    if traced is None:  # a weak reference: the function must not keep its own key alive
        traced = tf.function(functools.partial(_infer, weakref.ref(model)), reduce_retracing=True)
        _TRACED[model] = traced
    return traced


def outputs(fn, x, batch_size: int, preprocess=None, progress: bool = False) -> np.ndarray:
    """``fn`` (a Keras model or layer, run in inference mode, or a function of a batch) over the
    ``batches`` of ``x``, as one traced graph; float32 numpy, rows in order. A progress bar past
    10 batches when ``progress``."""
    if isinstance(fn, keras.layers.Layer):
        step = _inference(fn)
    elif callable(fn):
        traced = tf.function(fn, reduce_retracing=True)

        def step(batch):
            return tf.cast(traced(batch), tf.float32)

    else:
        raise TypeError(f"fn: expected a Keras model or a function, got {checks.describe(fn)}")
    data = batches(x, batch_size, preprocess)
    total = -(-len(x) // batch_size)
    return np.concatenate(
        [
            step(batch).numpy()
            for batch in tqdm(data, total=total, leave=False, disable=not progress or total <= 10)
        ]
    )


def loader(
    data: ImageSet, batch_size: int, shuffle: bool = False, preprocess=to_float, seed: int = 0
) -> tf.data.Dataset:
    """A ``tf.data`` pipeline of (preprocessed inputs, labels) batches; ``preprocess=None`` keeps
    inputs."""
    x, y = batch_arrays(data, batch_size)
    dataset = tf.data.Dataset.from_tensor_slices((x, y))
    if shuffle:
        dataset = dataset.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    return (
        dataset.batch(batch_size)
        .map(lambda a, b: (_apply(preprocess, a), b), num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )


def predict(
    model: keras.Model, images: np.ndarray, preprocess=to_float, batch_size: int = 256
) -> np.ndarray:
    """Model outputs (logits) in inference mode, as float32 numpy; ``preprocess=None`` feeds arrays
    as they are. The batches come from a prefetching ``tf.data`` pipeline (``batches``)."""
    checks.instance(model, keras.layers.Layer, "model", "a keras.Model or layer")
    checks.batch(images, "images")
    checks.integer(batch_size, "batch_size", 1)
    return outputs(model, images, batch_size, lambda x: _apply(preprocess, x))


def evaluate(
    model: keras.Model, data: ImageSet, preprocess=to_float, batch_size: int = 256
) -> dict:
    """Cross-entropy loss and accuracy on ``data`` (an ImageSet or an ``(x, y)`` pair)."""
    x, y = inputs_and_labels(data)
    checks.batch(x, "data", what="a data set")
    logits = predict(model, x, preprocess, batch_size)
    y = checks.labels(y, "labels", logits.shape[1])
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(y, logits)
    return {"loss": float(loss), "accuracy": float(np.mean(logits.argmax(1) == y))}


def compile_classifier(model: keras.Model, lr: float = 1e-3, optimizer=None) -> keras.Model:
    """Compile for integer labels and logit outputs (Adam by default); run again after changing
    ``trainable``."""
    checks.instance(model, keras.Model, "model", "a keras.Model")
    if optimizer is None and checks.number(lr, "lr") <= 0:
        raise ValueError(f"lr must be > 0, got {lr}")
    model.compile(
        optimizer=optimizer or keras.optimizers.Adam(lr),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


def refuse_nonfinite(model: keras.layers.Layer, path) -> None:
    """Raise ``files.diverged`` when a weight or statistic of ``model`` is not finite, so a
    diverged model is never written over ``path``, the last good checkpoint."""
    checks.instance(model, keras.layers.Layer, "model", "a Keras model or layer")
    path = checks.path(path, "path")
    for weight in model.weights:
        value = keras.ops.convert_to_numpy(weight)
        if np.issubdtype(value.dtype, np.floating) and not np.isfinite(value).all():
            raise files.diverged(str(path), f"weight {weight.path}")


def save_checkpoint(model: keras.Model, path) -> Path:
    """Save the model (``.keras``) atomically (``files.atomic_write``); non-finite weights are
    never written (``refuse_nonfinite``)."""
    checks.instance(model, keras.Model, "model", "a keras.Model")
    path = checks.path(path, "path")
    if path.suffix != ".keras":
        raise ValueError(f"checkpoint paths end in .keras, got {path}")
    refuse_nonfinite(model, path)
    return files.atomic_write(path, model.save, "checkpoint")


def load_checkpoint(model: keras.Model, path) -> keras.Model:
    """Load the weights of a ``save_checkpoint`` file into ``model`` (read in Keras safe mode)."""
    checks.instance(model, keras.Model, "model", "a keras.Model")
    path = checks.existing_file(path, "checkpoint", "train with fit(..., checkpoint=path) first")
    try:
        saved = keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as err:  # a truncated zip, a file of another kind: Keras raises several kinds
        if "safe_mode" in str(err):  # holds code (a Lambda layer): refused
            raise ValueError(
                checks.file_error(
                    path,
                    "was refused by Keras safe_mode (it holds code, e.g. a Lambda layer)",
                    "load only checkpoints written by save_checkpoint",
                )
            ) from None
        raise ValueError(
            checks.file_error(
                path,
                f"is not a readable Keras checkpoint ({type(err).__name__})",
                checks.CHECKPOINT_FIX,
            )
        ) from None
    try:
        model.set_weights(saved.get_weights())
    except ValueError as err:
        raise ValueError(
            checks.file_error(
                path,
                f"does not fit this model ({checks.one_line(err)[:200]})",
                "load it into the model that saved it",
            )
        ) from None
    return model


class Validation(keras.callbacks.Callback):
    """Validates on ``val`` at every epoch end (adding ``val_loss`` and ``val_accuracy`` to the
    logs) and
    every ``every`` steps from epoch ``min_epoch`` on. With ``keep_best``, keeps the best weights
    (from
    ``min_epoch`` on), writes them to ``checkpoint`` when given, and restores them when training
    ends."""

    def __init__(
        self,
        val,
        preprocess=to_float,
        every: int = 0,
        min_epoch: int = 0,
        keep_best: bool = False,
        checkpoint=None,
    ):
        super().__init__()
        inputs_and_labels(val)  # an ImageSet or an (x, y) pair
        checks.integer(every, "every", 0)
        checks.integer(min_epoch, "min_epoch", 0)
        self.val, self.preprocess, self.every, self.min_epoch = val, preprocess, every, min_epoch
        self.keep_best, self.checkpoint = keep_best or checkpoint is not None, checkpoint
        self.best, self.best_step, self.weights, self.step, self.epoch, self.steps = (
            -1.0,
            None,
            None,
            0,
            0,
            [],
        )

    def state_dict(self) -> tuple[dict, list]:
        """What ``Resume`` saves: plain values, and the best weights as arrays."""
        plain = {"best": self.best, "best_step": self.best_step, "step": self.step}
        return plain | {"steps": self.steps, "kept": self.weights is not None}, self.weights or []

    def load_state_dict(self, plain: dict, arrays: list) -> None:
        self.best, self.best_step, self.step = plain["best"], plain["best_step"], plain["step"]
        self.steps = [tuple(s) for s in plain["steps"]]
        self.weights = list(arrays) if plain["kept"] else None

    def _offer(self, accuracy: float):
        if self.keep_best and accuracy > self.best:
            self.best, self.best_step, self.weights = accuracy, self.step, self.model.get_weights()
            if self.checkpoint is not None:
                save_checkpoint(self.model, self.checkpoint)

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        if self.every and self.epoch >= self.min_epoch and self.step % self.every == 0:
            accuracy = evaluate(self.model, self.val, self.preprocess)["accuracy"]
            self.steps.append((self.step, accuracy))
            self._offer(accuracy)

    def on_epoch_end(self, epoch, logs=None):
        scores = evaluate(self.model, self.val, self.preprocess)
        if logs is not None:
            logs["val_loss"], logs["val_accuracy"] = scores["loss"], scores["accuracy"]
        if epoch >= self.min_epoch:
            self._offer(scores["accuracy"])

    def on_train_end(self, logs=None):
        if self.weights is not None:
            self.model.set_weights(self.weights)


class EpochLog(keras.callbacks.Callback):
    """Learning rate at the start of every epoch and seconds per epoch (validation included); a
    non-finite loss stops training at once (``files.diverged``), before a checkpoint is written."""

    def __init__(self):
        super().__init__()
        self.lr, self.seconds, self.start = [], [], 0.0

    def state_dict(self) -> tuple[dict, list]:
        return {"lr": self.lr, "seconds": self.seconds}, []

    def load_state_dict(self, plain: dict, arrays: list) -> None:
        self.lr, self.seconds = list(plain["lr"]), list(plain["seconds"])

    def on_epoch_begin(self, epoch, logs=None):
        self.lr.append(float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)))
        self.start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            raise files.diverged(f"epoch {len(self.lr)}, step {batch + 1}", "the loss")

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self.start)


class Resume(keras.callbacks.Callback):
    """Makes a ``fit`` survive an interruption: after every epoch the whole run (every variable
    of the model, seed generators included, and of its optimizer; the epoch; the history; the
    ``state_dict()`` of ``keep``, e.g. ``Validation`` with its best weights and ``EpochLog``) is
    written to ``path`` (an ``.npz``) atomically, and a run that finds the file continues after
    its last epoch; a run that ends removes it. Use it with ``epoch_stream``: it gives ``fit``
    the first epoch and the batches from there on. ``config`` (the trainer's settings) is stored
    with it; a file made with other settings is refused.
    """

    FIX = RESUME_FIX

    def __init__(self, path, config: dict, keep=(), size: int = 0):
        super().__init__()
        self.path = files.checkpoint_target(path, ".npz", size=size)
        checks.instance(config, dict, "config", "a dict of the run's settings")
        for item in keep:
            if not hasattr(item, "load_state_dict"):
                raise TypeError(
                    f"keep: expected callbacks with state_dict(), got {checks.describe(item)}"
                )
        self.config, self.keep = json.loads(json.dumps(config)), list(keep)
        self.saved, self.history = None, {}
        if self.path.exists():
            self.saved = read_run(self.path)
            check_settings(self.path, self.saved["config"], self.config)
            self.history = self.saved["history"]

    @property
    def epoch(self) -> int:
        """The epochs the file holds (0 without a file): where the run continues."""
        return 0 if self.saved is None else self.saved["epoch"]

    def _variables(self) -> dict:
        optimizer = self.model.optimizer
        if optimizer is not None and not optimizer.built:  # as keras.callbacks.BackupAndRestore
            optimizer.build(self.model.trainable_variables)
        return {
            "model": self.model.variables,
            "optimizer": [] if optimizer is None else optimizer.variables,
        }

    def on_train_begin(self, logs=None):
        if self.saved is None:
            return
        try:
            for group, variables in self._variables().items():
                arrays = self.saved["arrays"][group]
                if len(arrays) != len(variables):
                    raise ValueError(f"{len(arrays)} saved {group} variables for {len(variables)}")
                for variable, value in zip(variables, arrays):
                    variable.assign(value)
            for i, (item, plain) in enumerate(zip(self.keep, self.saved["keep"], strict=True)):
                item.load_state_dict(plain, self.saved["arrays"][f"keep{i}"])
        except (ValueError, KeyError) as err:
            raise ValueError(
                checks.file_error(
                    self.path, f"does not fit this run ({checks.one_line(err)[:200]})", self.FIX
                )
            ) from None

    def on_train_end(self, logs=None):
        """The run is done: its file goes (as ``keras.callbacks.BackupAndRestore``'s), so a later
        run, perhaps of changed code, starts afresh instead of reading back this one."""
        if not self.model.stop_training:
            self.path.unlink(missing_ok=True)

    def on_epoch_end(self, epoch, logs=None):
        for name, value in (logs or {}).items():
            if name != "learning_rate":
                self.history.setdefault(name, []).append(float(value))
        refuse_nonfinite(self.model, self.path)
        arrays = {
            f"{group}/{i}": keras.ops.convert_to_numpy(v)
            for group, variables in self._variables().items()
            for i, v in enumerate(variables)
        }
        plains = []
        for k, item in enumerate(self.keep):
            plain, kept = item.state_dict()
            plains.append(plain)
            arrays |= {f"keep{k}/{i}": np.asarray(a) for i, a in enumerate(kept)}
        meta = {"epoch": epoch + 1, "config": self.config, "history": self.history, "keep": plains}
        arrays["meta"] = np.array(json.dumps(meta))
        files.atomic_write(self.path, lambda tmp: np.savez(tmp, **arrays), "run state")


def weight_bytes(model: keras.layers.Layer) -> int:
    """Bytes of ``model``'s weights in float32: what a ``Resume`` file's size is estimated
    from (``Resume(size=...)``)."""
    checks.instance(model, keras.layers.Layer, "model", "a Keras model or layer")
    return 4 * sum(int(np.prod(w.shape)) for w in model.weights)


def read_run(path) -> dict:
    """A ``Resume`` file: ``epoch``, ``config``, ``history``, ``keep`` (each kept object's plain
    state) and ``arrays`` (per group, ``model``, ``optimizer``, ``keep0``..., the arrays in
    order). Read without pickles."""
    path = checks.existing_file(path, "run state", "train with resume=path first")
    try:
        with np.load(path, allow_pickle=False) as saved:
            meta = json.loads(str(saved["meta"]))
            arrays = {}
            for key in saved.files:
                if key != "meta":
                    group, index = key.rsplit("/", 1)
                    arrays.setdefault(group, {})[int(index)] = saved[key]
    except KeyError:
        raise ValueError(checks.file_error(path, "is not a Resume run state", Resume.FIX)) from None
    except Exception as err:  # a truncated zip, another format: numpy raises several kinds
        raise ValueError(
            checks.file_error(
                path, f"is not a readable run state ({type(err).__name__})", Resume.FIX
            )
        ) from None
    meta["arrays"] = {
        group: [parts[i] for i in sorted(parts)] for group, parts in arrays.items()
    } | {group: [] for group in ("model", "optimizer") if group not in arrays}
    for k in range(len(meta.get("keep", []))):
        meta["arrays"].setdefault(f"keep{k}", [])
    return meta


def epoch_stream(batches: tf.data.Dataset, resume: Resume | None = None, steps: int | None = None):
    """``(batches, initial_epoch, steps_per_epoch)`` for ``fit``: the batches of one epoch as one
    endless stream (``repeat``; each pass of a seeded ``shuffle`` is the next permutation), an
    epoch ``steps`` of them (default: one pass). With ``resume`` the stream starts after the
    batches of the epochs its file holds (``skip``), so a resumed run reads the batches an
    uninterrupted one would. ``steps`` given means the batches are already endless, or hold every
    epoch's in turn: they are not repeated."""
    checks.instance(batches, tf.data.Dataset, "batches", "a tf.data.Dataset")
    if resume is not None:
        checks.instance(resume, Resume, "resume", "a training.Resume callback")
    if steps is None:
        steps = int(batches.cardinality())
        if steps < 1:
            raise ValueError(
                f"expected a finite, non-empty tf.data.Dataset (or steps_per_epoch), got one of "
                f"cardinality {steps}"
            )
        batches = batches.repeat()
    else:
        checks.integer(steps, "steps", 1)
    first = 0 if resume is None else resume.epoch
    return (batches.skip(first * steps) if first else batches), first, steps


def run_history(history, resume: Resume | None) -> dict:
    """Per-epoch lists of a ``fit``: Keras' ``history.history`` (this call's epochs), or with
    ``resume`` every epoch of the run, those before an interruption included."""
    checks.instance(history, keras.callbacks.History, "history", "a Keras History (fit's result)")
    if resume is not None:
        checks.instance(resume, Resume, "resume", "a training.Resume callback")
    if resume is None:
        return {k: list(v) for k, v in history.history.items() if k != "learning_rate"}
    return {k: list(v) for k, v in resume.history.items()}


def _optimizer(spec: TrainerSpec):
    if spec.optimizer == "sgd":
        return keras.optimizers.SGD(spec.lr, momentum=spec.momentum)
    return keras.optimizers.Adam(spec.lr)


def trains_batchnorm(model: keras.Model) -> bool:
    """Whether training updates a BatchNorm layer's batch statistics in ``model``: a trainable
    one (Keras runs a frozen BatchNormalization in inference mode)."""
    checks.instance(model, keras.Model, "model", "a keras.Model")

    def layers(parent):  # nested models too (a backbone inside the classifier)
        for layer in getattr(parent, "layers", []):
            yield layer
            yield from layers(layer)

    return any(
        isinstance(layer, keras.layers.BatchNormalization) and layer.trainable
        for layer in layers(model)
    )


def fit(
    model: keras.Model,
    train: ImageSet,
    val: ImageSet | None = None,
    epochs: int = 1,
    batch_size: int = 32,
    lr: float = 1e-3,
    preprocess=to_float,
    dataset: tf.data.Dataset | None = None,
    optimizer=None,
    callbacks=(),
    seed: int = 0,
    progress: bool = True,
    trainer: TrainerSpec | None = None,
    keep_best: bool = False,
    checkpoint=None,
    steps_per_epoch: int | None = None,
    resume=None,
) -> dict:
    """Compile and ``fit``; return per-epoch loss/accuracy (and val_ ones), lr and seconds.

    ``dataset`` overrides ``train``. ``trainer`` (default: Adam at ``lr``, constant) sets the
    optimizer,
    the step schedule and step validation; ``keep_best`` restores the best validation weights at the
    end;
    ``checkpoint`` (a ``.keras`` path) also receives them at each improvement. ``train``/``val`` may
    be
    ``(x, y)`` arrays (e.g. cached features) with ``preprocess=None``. ``steps_per_epoch`` repeats
    the
    batches endlessly and makes an epoch that many of them (Keras ``fit(steps_per_epoch=)``; a new
    shuffle at each pass), so data sets of different sizes get the same number of gradient steps
    (``companion.imbalance.step_budget``). ``resume`` (an ``.npz`` path): the run continues from
    there after an interruption (``Resume``).
    """
    checks.instance(model, keras.Model, "model", "a keras.Model")
    spec = fit_spec(trainer, lr, epochs, steps_per_epoch, val, keep_best, checkpoint)
    if checkpoint is not None:  # checked now, not after the first epoch
        checkpoint = files.checkpoint_target(checkpoint, ".keras")
    if dataset is None:
        n = len(batch_arrays(train, batch_size)[0])
        check_last_batch(n, batch_size, trains_batchnorm(model))
    outputs = getattr(model, "outputs", None)
    if dataset is None and outputs:  # labels without an output: one line, not Keras's 26
        checks.labels(inputs_and_labels(train)[1], "train labels", outputs[0].shape[-1])
    if not model.trainable_weights:
        raise ValueError("the model has no trainable weights: unfreeze some (set_level) before fit")
    compile_classifier(
        model, spec.lr, optimizer or _optimizer(spec)
    )  # again after any `trainable` change
    batches = dataset if dataset is not None else loader(train, batch_size, True, preprocess, seed)
    if steps_per_epoch:
        batches = batches.repeat()  # an epoch is steps_per_epoch batches of the endless stream
    schedule = [keras.callbacks.LearningRateScheduler(spec.lr_at)] if spec.step_size else []
    log = EpochLog()  # after the scheduler: it reads the learning rate the scheduler has set
    validation = (
        [Validation(val, preprocess, spec.validate_every, spec.min_epoch, keep_best, checkpoint)]
        if val is not None
        else []
    )  # eager, so Keras traces no second (test) graph
    run = None
    if resume is not None:
        size = 4 * weight_bytes(model)  # the weights, Adam's two moments, the best weights
        settings = {"trainer": repr(spec), "batch_size": batch_size, "seed": seed}
        settings |= {"steps_per_epoch": steps_per_epoch, "given_dataset": dataset is not None}
        if dataset is None:
            settings["examples"] = len(batch_arrays(train, batch_size)[0])
        run = Resume(resume, settings, keep=[*validation, log], size=size)
    batches, first, steps = epoch_stream(batches, run, steps_per_epoch)
    history = model.fit(
        batches,
        epochs=epochs,
        initial_epoch=first,
        verbose=2 if progress else 0,
        shuffle=False,
        steps_per_epoch=steps,
        callbacks=[*schedule, *validation, log, *callbacks, *([run] if run else [])],
    )
    out = {k: [float(v) for v in vs] for k, vs in run_history(history, run).items()}
    out |= {"lr": log.lr, "seconds": log.seconds}
    if validation:
        out["val_steps"] = validation[0].steps
        if validation[0].weights is not None:
            out["best"] = {"val_accuracy": validation[0].best, "step": validation[0].best_step}
    return out

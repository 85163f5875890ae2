"""The PyTorch edition's one training loop, and ``fit``, the classifier trainer built on it.

``train_loop`` runs epochs of ``step(model, batch)`` calls, the way Keras' ``fit`` runs a
``train_step`` (and pytorch-metric-learning a trainer's loss): the step computes a batch's loss
and statistics, the loop does everything else (device, train mode, gradients, optimizer and
schedule, per-epoch means, validation, timing, callbacks) and returns the one history format
every trainer of the edition shares: a dict of per-epoch lists with ``loss``, ``lr``, ``seconds``,
the step's statistics and ``val_*`` ones. ``fit`` (cross-entropy), ``simclr.pretrain``,
``simclr.train_linear``, ``triplet.fit_siamese`` and ``triplet.fit_supervised`` are each a step
function and a call of the loop.

On a GPU (``device()``) every trainer and every inference path of the edition runs there: models
and batches move to it (``_on_device``, ``_to``: pinned memory, non-blocking copies), the input
pipelines run in DataLoader worker processes (``loader_options``), and the forward passes run in
mixed precision (``autocast``: bfloat16 where the GPU has it, else float16 with a gradient scaler),
losses in float32. On the CPU none of that applies: the same single-process pipelines and float32
arithmetic as ever, so CPU results do not change.

In ``fit`` a ``TrainerSpec`` (``companion.training``) picks the optimizer, the StepLR schedule and
step validation; ``keep_best`` / ``checkpoint`` keep the best validation weights.
"""

from __future__ import annotations

import contextlib
import itertools
import multiprocessing
import os
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler, TensorDataset, default_collate
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


def device() -> torch.device:
    """Where training and inference run: the GPU when there is one (the gpu profile), else the
    CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


AMP = True  # mixed precision on a GPU (``autocast``); set False for float32 everywhere
INFER_WORKERS_FROM = 4  # inference batches from which a GPU run preprocesses in workers


def workers() -> int:
    """DataLoader worker processes on a GPU: one per CPU core this process may use, less one for
    the main process (at least 1, at most 16)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(16, cores - 1))


def loader_options(persistent: bool = True) -> dict:
    """The DataLoader keywords that keep a GPU fed: ``workers()`` processes (forked, so they share
    the arrays they read and need nothing pickled), pinned memory, persistent workers. On the CPU
    none (``{}``: one process, as before, so CPU runs stay as they were)."""
    checks.instance(persistent, bool, "persistent", "True or False")
    if device().type != "cuda":
        return {}
    options = {"num_workers": workers(), "pin_memory": True, "persistent_workers": persistent}
    if "fork" in multiprocessing.get_all_start_methods():
        options["multiprocessing_context"] = "fork"
    return options


def _device(here) -> torch.device:
    """``here`` (a torch.device or its name, e.g. 'cuda:0'; None: ``device()``) as a device."""
    if here is None:
        return device()
    if not isinstance(here, (torch.device, str)):
        raise TypeError(f"here: expected a torch.device or its name, got {checks.describe(here)}")
    try:
        return torch.device(here)
    except RuntimeError:
        raise ValueError(
            f"here: expected a device name like 'cpu' or 'cuda:0', got {here!r}"
        ) from None


def amp_dtype(here: torch.device | None = None) -> torch.dtype | None:
    """The mixed-precision type on a GPU: bfloat16 where it has it, else float16; ``None`` (float32)
    on the CPU or with ``AMP`` off."""
    here = _device(here)
    if not AMP or here.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def autocast(here: torch.device | None = None):
    """``torch.autocast`` at ``amp_dtype(here)`` on a GPU; on the CPU a context that does
    nothing."""
    dtype = amp_dtype(_device(here))
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast("cuda", dtype=dtype)


def full_precision(x: torch.Tensor) -> tuple[torch.Tensor, contextlib.AbstractContextManager]:
    """``x`` as float32 and a context with autocast off on its device: where a loss (logits,
    distances) is computed inside ``autocast``. On the CPU, ``x`` itself and a context that does
    nothing."""
    checks.instance(x, torch.Tensor, "x", "a torch tensor")
    if x.device.type != "cuda":
        return x.float(), contextlib.nullcontext()
    return x.float(), torch.autocast("cuda", enabled=False)


def _home(model: torch.nn.Module) -> torch.device:
    return next(itertools.chain(model.parameters(), model.buffers()), torch.empty(0)).device


@contextlib.contextmanager
def _on_device(model: torch.nn.Module):
    """``model`` on ``device()`` for the block, then back where it was (the CPU, or the GPU in
    the middle of ``train_loop``); yields the device."""
    home = _home(model)
    here = device()
    model.to(here)
    try:
        yield here
    finally:
        model.to(home)


def freeze_frozen_batchnorm(module: torch.nn.Module) -> torch.nn.Module:
    """Put every BatchNorm layer of ``module`` whose parameters are all frozen in eval mode, so a
    frozen part keeps its running statistics (as Keras does for frozen BatchNorm layers).

    Call it at the end of a ``train()`` override (``TransferNet``, ``triplet.EmbeddingNet``).
    """
    checks.instance(module, torch.nn.Module, "module", "a torch.nn.Module")
    for m in module.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm) and not any(
            p.requires_grad for p in m.parameters()
        ):
            m.eval()
    return module


def to_float(images) -> torch.Tensor:
    """uint8 N x H x W x C (array or tensor) -> float N x C x H x W in [0, 1]."""
    if not torch.is_tensor(images):
        images = checks.array(images, "images", what="uint8 N x H x W x C images", empty=True)
    x = torch.as_tensor(images)
    if x.ndim != 4 or x.dtype != torch.uint8:
        raise ValueError(f"expected uint8 N x H x W x C images, got {x.dtype} {tuple(x.shape)}")
    return x.permute(0, 3, 1, 2).float() / 255


def _apply(preprocess, x):
    return torch.as_tensor(x) if preprocess is None else preprocess(x)


class _Preprocessed:
    """A DataLoader ``collate_fn``: the default one, then ``preprocess`` on the inputs (in the
    loader's worker processes on a GPU)."""

    def __init__(self, preprocess):
        self.preprocess = preprocess

    def __call__(self, samples):
        x, y = default_collate(samples)
        return _apply(self.preprocess, x), y


def loader(
    data: ImageSet,
    batch_size: int,
    shuffle: bool = False,
    sampler: Sampler | None = None,
    seed: int = 0,
    preprocess=None,
) -> DataLoader:
    """Batches of (uint8 NHWC images, labels), or of (features, labels) for an ``(x, y)`` pair.

    ``preprocess`` (default: none) is applied to each batch's inputs by the loader itself. On a
    GPU the loader has ``loader_options()``: its worker processes read and preprocess the batches
    while the GPU trains.
    """
    x, y = batch_arrays(data, batch_size)
    if sampler is not None:
        checks.instance(
            sampler, Sampler, "sampler", "a torch Sampler (e.g. balanced_sampler(data))"
        )
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(
        TensorDataset(torch.from_numpy(x), torch.from_numpy(y)),
        batch_size=batch_size,
        shuffle=shuffle and sampler is None,
        sampler=sampler,
        generator=generator,
        collate_fn=None if preprocess is None else _Preprocessed(preprocess),
        **loader_options(),
    )


class _Slices(Dataset):
    """Item ``i``: ``preprocess`` of the ``i``-th slice of ``batch_size`` items."""

    def __init__(self, items, batch_size: int, preprocess):
        self.items, self.batch_size, self.preprocess = items, batch_size, preprocess

    def __len__(self):
        return -(-len(self.items) // self.batch_size)

    def __getitem__(self, i):
        start = i * self.batch_size
        return _apply(self.preprocess, self.items[start : start + self.batch_size])


def _inference_batches(items, batch_size: int, preprocess, desc: str | None = None):
    """The preprocessed slices of ``items``, in order: made one after another here, or on a GPU
    with ``INFER_WORKERS_FROM`` slices or more by the worker processes of a DataLoader."""
    slices = _Slices(items, batch_size, preprocess)
    options = loader_options(persistent=False)
    if options and len(slices) >= INFER_WORKERS_FROM:
        options["num_workers"] = min(options["num_workers"], len(slices))
        batches = DataLoader(slices, batch_size=None, **options)
    else:
        batches = (slices[i] for i in range(len(slices)))
    return tqdm(
        batches,
        desc=desc,
        total=len(slices),
        disable=desc is None or len(slices) <= 10,
        leave=False,
    )


@torch.no_grad()
def infer(model: torch.nn.Module, forward, items, batch_size: int, preprocess=to_float, desc=None):
    """``forward(x)`` (e.g. ``model`` itself, or a part of it) for the batches ``x`` of
    ``preprocess(items[i : i + batch_size])``, on ``device()`` (in ``autocast`` on a GPU), as one
    float32 numpy array on the CPU. ``model`` (the module ``forward`` uses) is put on the device
    for the call and back where it was; its mode is left as it is. ``desc`` names a progress bar
    (shown for more than 10 batches)."""
    checks.instance(model, torch.nn.Module, "model", "a torch.nn.Module")
    if not callable(forward):
        raise TypeError(f"forward: expected a function of a batch, got {checks.describe(forward)}")
    checks.batch(items, "items")
    checks.integer(batch_size, "batch_size", 1)
    outputs = []
    with _on_device(model) as here, autocast(here):
        for x in _inference_batches(items, batch_size, preprocess, desc):
            outputs.append(forward(_to(x, here)).float().cpu())
    return torch.cat(outputs).numpy()


def predict(
    model: torch.nn.Module, images: np.ndarray, preprocess=to_float, batch_size: int = 256
) -> np.ndarray:
    """Model outputs (logits) in eval mode, as float32 numpy; ``preprocess=None`` feeds arrays as
    they are. Runs on ``device()`` (``infer``); the model stays where it was."""
    checks.instance(model, torch.nn.Module, "model", "a torch.nn.Module")
    checks.batch(images, "images")
    checks.integer(batch_size, "batch_size", 1)
    model.eval()
    return infer(model, model, images, batch_size, preprocess)


def evaluate(
    model: torch.nn.Module, data: ImageSet, preprocess=to_float, batch_size: int = 256
) -> dict:
    """Cross-entropy loss and accuracy on ``data`` (an ImageSet or an ``(x, y)`` pair)."""
    x, y = inputs_and_labels(data)
    checks.batch(x, "data", what="a data set")
    logits = torch.from_numpy(predict(model, x, preprocess, batch_size))
    labels = torch.from_numpy(checks.labels(y, "labels", logits.shape[1]))
    return {
        "loss": torch.nn.functional.cross_entropy(logits, labels).item(),
        "accuracy": (logits.argmax(1) == labels).float().mean().item(),
    }


def save_checkpoint(model: torch.nn.Module, path) -> Path:
    """Write the state dict atomically (``files.atomic_write``); non-finite weights are never
    written (``files.diverged``)."""
    checks.instance(model, torch.nn.Module, "model", "a torch.nn.Module")
    state = _finite(model.state_dict(), path)
    return files.atomic_write(path, lambda tmp: torch.save(state, tmp), "checkpoint")


def _finite(state: dict, path) -> dict:
    """``state`` (a state dict), or ``files.diverged`` naming its first non-finite tensor: a
    diverged model is never written over ``path``."""
    broken = [k for k, v in state.items() if v.is_floating_point() and not v.isfinite().all()]
    if broken:
        raise files.diverged(str(path), f"weight {broken[0]}")
    return state


def load_checkpoint(model: torch.nn.Module, path) -> torch.nn.Module:
    """Load weights written by ``save_checkpoint`` (tensors only: ``weights_only=True``)."""
    checks.instance(model, torch.nn.Module, "model", "a torch.nn.Module")
    path = checks.existing_file(path, "checkpoint", "train with fit(..., checkpoint=path) first")
    try:
        state = torch.load(path, weights_only=True, map_location="cpu")
    except Exception as err:  # truncated zip, pickle or tensor data: torch raises several kinds
        if "Weights only load failed" in str(err):  # holds code, not just tensors: refused
            raise ValueError(
                checks.file_error(
                    path,
                    "was refused: Weights only load failed (it holds objects besides tensors)",
                    "load only checkpoints written by save_checkpoint",
                )
            ) from None
        raise ValueError(
            checks.file_error(
                path, f"is not a readable checkpoint ({type(err).__name__})", checks.CHECKPOINT_FIX
            )
        ) from None
    try:
        model.load_state_dict(state)
    except (RuntimeError, TypeError, AttributeError) as err:
        first = str(err).strip().splitlines()[-1] if str(err).strip() else type(err).__name__
        raise ValueError(
            checks.file_error(
                path,
                f"does not fit this model ({checks.one_line(first)[:200]})",
                "load it into the model that saved it",
            )
        ) from None
    return model


def _optimizer(model, spec: TrainerSpec):
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError(
            "the model has no trainable parameters: unfreeze some (set_level) before fit"
        )
    if spec.optimizer == "sgd":
        return torch.optim.SGD(params, lr=spec.lr, momentum=spec.momentum)
    return torch.optim.Adam(params, lr=spec.lr)


def _to(batch, here: torch.device):
    """Every tensor of a batch (a tensor, or a tuple or list of them) moved to ``here``; to a GPU
    without waiting (``non_blocking``: asynchronous from the pinned memory of a loader)."""
    non_blocking = here.type == "cuda"
    if torch.is_tensor(batch):
        return batch.to(here, non_blocking=non_blocking)
    return type(batch)(
        t.to(here, non_blocking=non_blocking) if torch.is_tensor(t) else t for t in batch
    )


def _total(value):
    """A step's loss times n, or a statistic's sum: a float64 tensor, left on its device until the
    epoch ends (no GPU synchronisation each step), or a number."""
    return value.detach().double() if torch.is_tensor(value) else value


def train_loop(
    model: torch.nn.Module,
    step,
    batches,
    epochs: int,
    optimizer: torch.optim.Optimizer,
    *,
    scheduler=None,
    validate=None,
    callbacks=(),
    progress: bool = True,
    steps: int | None = None,
    resume=None,
    keep=(),
    config: dict | None = None,
) -> dict:
    """Train ``model`` for ``epochs`` epochs of ``step`` calls; return the per-epoch history.

    ``step(model, batch)`` returns ``(loss, totals, n)``: the batch's mean loss (a tensor to
    backpropagate), a dict of sums over the batch's ``n`` examples (e.g. ``{"accuracy": number
    right}``) and ``n``. ``batches`` is an iterable passed over again each epoch (a DataLoader)
    or a function of the epoch (from 0) giving its batches; every tensor of a batch is moved to
    the model's device first. Each epoch records ``lr`` (at its start), sets ``model.train()``,
    runs the steps (``zero_grad``, ``backward``, ``optimizer.step()``), records the epoch's
    ``loss`` (the mean over its examples) and each total divided by the examples seen, steps
    ``scheduler``, records ``validate(model)`` (a dict; keys prefixed ``val_``) and ``seconds``.
    Each of ``callbacks`` may have ``on_step_end(model, epoch, step)`` (``step`` counts all the
    steps so far, from 1) and ``on_epoch_end(model, epoch, history)``.

    The model trains on ``device()`` and is back where it was at the end; every batch is moved
    there here, and nowhere else. On a GPU the steps run in ``autocast`` (float16 ones with a
    ``GradScaler``), and the epoch's sums stay on the GPU until it ends. The loop itself draws no
    random numbers, so a run repeats exactly given the batches' and the model's generators.
    ``steps`` (the number of batches an epoch, when ``batches`` has no length) only sizes the
    progress bar. A step's statistics may be numbers or tensors (summed without a GPU sync).

    ``resume`` (a ``.pt`` path) makes the run survive an interruption: after every epoch the
    whole run (``_Run.save``: weights, optimizer, schedule, epoch, history, torch's random state,
    the generators and stateful objects of ``keep`` and the callbacks' ``state_dict()``) is
    written there atomically, and a run that finds the file continues after its last epoch, so
    it ends with the weights an uninterrupted run ends with; a run that ends removes the file
    (as ``keras.callbacks.BackupAndRestore`` does). ``config`` (the trainer's settings)
    is stored with it; a file made with other settings is refused.
    """
    checks.instance(model, torch.nn.Module, "model", "a torch.nn.Module")
    if not callable(step):
        raise TypeError(
            f"step: expected a function (model, batch) -> (loss, totals, n), got "
            f"{checks.describe(step)}"
        )
    checks.integer(epochs, "epochs", 0)
    checks.instance(optimizer, torch.optim.Optimizer, "optimizer", "a torch.optim.Optimizer")
    run = None
    if resume is not None:
        run = _Run(resume, model, optimizer, scheduler, keep, callbacks, config or {})
    history, count, first = {"loss": [], "lr": [], "seconds": []}, 0, 0
    hooks = [(getattr(c, "on_step_end", None), getattr(c, "on_epoch_end", None)) for c in callbacks]
    with _on_device(model) as here:
        scaler = torch.amp.GradScaler("cuda") if amp_dtype(here) == torch.float16 else None
        if run is not None:
            run.scaler = scaler
            first, history, count = run.restore(epochs, history)
        for epoch in range(first, epochs):
            start, lr = time.perf_counter(), optimizer.param_groups[0]["lr"]
            model.train()
            epoch_batches = batches(epoch) if callable(batches) else batches
            sums, seen = {"loss": 0.0}, 0
            bar = tqdm(  # updated by hand: wrapping a DataLoader, tqdm.auto iterates it twice
                desc=f"epoch {epoch + 1}/{epochs}",
                disable=not progress,
                leave=False,
                total=steps or (len(epoch_batches) if hasattr(epoch_batches, "__len__") else None),
            )
            for batch in epoch_batches:
                bar.update()
                with autocast(here):
                    loss, totals, n = step(model, _to(batch, here))
                if not torch.isfinite(loss.detach()).all():  # before the step spreads it
                    raise files.diverged(f"epoch {epoch + 1}, step {count + 1}", "the loss")
                optimizer.zero_grad()
                if scaler is None:
                    loss.backward()
                    optimizer.step()
                else:
                    scaler.scale(loss).backward()
                    scaler.step(optimizer)
                    scaler.update()
                sums["loss"] = sums["loss"] + _total(loss) * n
                for name, total in totals.items():
                    sums[name] = sums.get(name, 0.0) + _total(total)
                seen, count = seen + n, count + 1
                for on_step_end, _ in hooks:
                    if on_step_end is not None:
                        on_step_end(model, epoch, count)
            bar.close()
            if scheduler is not None:
                scheduler.step()
            record = {
                name: float(total) / seen if seen else float("nan") for name, total in sums.items()
            }
            record["lr"] = lr
            if validate is not None:
                record |= {f"val_{name}": value for name, value in validate(model).items()}
            record["seconds"] = time.perf_counter() - start
            for name, value in record.items():
                history.setdefault(name, []).append(value)
            for _, on_epoch_end in hooks:
                if on_epoch_end is not None:
                    on_epoch_end(model, epoch, history)
            if run is not None:
                run.save(epoch + 1, history, count)
    if run is not None:  # done: a later run, perhaps of changed code, starts afresh
        run.path.unlink(missing_ok=True)
    return history


class _Run:
    """A ``train_loop`` run's resume file: everything that makes the next epoch what it would
    have been (see ``train_loop``)."""

    FIX = RESUME_FIX

    def __init__(self, path, model, optimizer, scheduler, keep, callbacks, config: dict):
        size = sum(t.numel() * t.element_size() for t in model.state_dict().values())
        self.path = files.checkpoint_target(path, ".pt", size=4 * size)  # + Adam's 2 moments
        for item in keep:
            if not isinstance(item, torch.Generator) and not hasattr(item, "load_state_dict"):
                raise TypeError(
                    f"keep: expected torch Generators or objects with state_dict(), got "
                    f"{checks.describe(item)}"
                )
        self.model, self.optimizer, self.scheduler = model, optimizer, scheduler
        self.keep = list(keep) + [c for c in callbacks if hasattr(c, "load_state_dict")]
        self.scaler, self.config = None, dict(config)

    def _states(self):
        return [
            k.get_state() if isinstance(k, torch.Generator) else k.state_dict() for k in self.keep
        ]

    def save(self, epoch: int, history: dict, count: int) -> None:
        state = {
            "epoch": epoch,
            "count": count,
            "config": self.config,
            "history": history,
            "model": _finite(self.model.state_dict(), self.path),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": None if self.scheduler is None else self.scheduler.state_dict(),
            "scaler": None if self.scaler is None else self.scaler.state_dict(),
            "rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "keep": self._states(),
        }
        files.atomic_write(self.path, lambda tmp: torch.save(state, tmp), "run state")

    def restore(self, epochs: int, history: dict) -> tuple[int, dict, int]:
        """The first epoch to run, the history and step count so far; everything else is put
        back as the file has it. Without a file: epoch 0, as it was."""
        if not self.path.exists():
            return 0, history, 0
        state = read_run(self.path)
        check_settings(self.path, state["config"], self.config)
        if state["epoch"] > epochs:
            raise ValueError(
                checks.file_error(
                    self.path,
                    f"holds {state['epoch']} epochs, more than the {epochs} asked",
                    self.FIX,
                )
            )
        try:
            self.model.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])
            if self.scheduler is not None:
                self.scheduler.load_state_dict(state["scheduler"])
            if self.scaler is not None and state["scaler"] is not None:
                self.scaler.load_state_dict(state["scaler"])
            if len(state["keep"]) != len(self.keep):
                raise ValueError(f"{len(state['keep'])} saved states for {len(self.keep)}")
            for item, saved in zip(self.keep, state["keep"]):
                (item.set_state if isinstance(item, torch.Generator) else item.load_state_dict)(
                    saved
                )
        except (RuntimeError, ValueError, KeyError, TypeError) as err:
            raise ValueError(
                checks.file_error(
                    self.path, f"does not fit this run ({checks.one_line(err)[:200]})", self.FIX
                )
            ) from None
        torch.set_rng_state(state["rng"])
        if state["cuda_rng"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda_rng"])
        return state["epoch"], state["history"], state["count"]


def read_run(path) -> dict:
    """The contents of a ``train_loop`` resume file (tensors and plain data only:
    ``weights_only=True``): ``epoch``, ``history``, ``model``, ``optimizer`` and the rest."""
    path = checks.existing_file(path, "run state", "train with resume=path first")
    try:
        state = torch.load(path, weights_only=True, map_location="cpu")
    except Exception as err:  # truncated zip, pickle or tensor data: torch raises several kinds
        raise ValueError(
            checks.file_error(path, f"is not a readable run state ({type(err).__name__})", _Run.FIX)
        ) from None
    if not isinstance(state, dict) or not {"epoch", "history", "model", "config"} <= set(state):
        raise ValueError(checks.file_error(path, "is not a train_loop run state", _Run.FIX))
    return state


class _Checkpoint:
    """A ``train_loop`` callback: ``save(module, path)`` after every epoch."""

    def __init__(self, module: torch.nn.Module, path, save=save_checkpoint):
        self.module, self.path, self.save = module, path, save

    def on_epoch_end(self, model, epoch, history):
        self.save(self.module, self.path)


class _Stream:
    """The batches of a DataLoader again and again, ``take(n)`` at a time; each pass reshuffles
    (the loader's generator). Its state (the generator's state when the pass began and the
    batches taken of it) lets a resumed run take the same batches next."""

    def __init__(self, batches: DataLoader):
        self.batches, self.start, self.taken, self.iterator = batches, None, 0, None
        self.generators = generators(batches)

    def take(self, n: int):
        for _ in range(n):
            while True:
                if self.iterator is None:
                    self.start, self.taken = [g.get_state() for g in self.generators], 0
                    self.iterator = iter(self.batches)
                try:
                    batch = next(self.iterator)
                    break
                except StopIteration:
                    self.iterator = None
            self.taken += 1
            yield batch

    def state_dict(self) -> dict:
        return {"start": self.start, "taken": self.taken}

    def load_state_dict(self, state: dict) -> None:
        self.start, self.taken, self.iterator = state["start"], state["taken"], None
        if self.start is not None:  # the same pass again, its batches taken so far skipped
            after = [g.get_state() for g in self.generators]
            for g, start in zip(self.generators, self.start):
                g.set_state(start)
            self.iterator = iter(self.batches)
            for _ in range(self.taken):
                next(self.iterator)
            for g, state in zip(self.generators, after):
                g.set_state(state)


def generators(batches: DataLoader) -> list[torch.Generator]:
    """The random generators a DataLoader's passes draw from (its own, its sampler's), once each:
    what a resumed run restores (``train_loop(keep=...)``)."""
    checks.instance(batches, DataLoader, "batches", "a torch DataLoader")
    found = [batches.generator, getattr(batches.sampler, "generator", None)]
    unique = []
    for g in found:
        if isinstance(g, torch.Generator) and all(g is not u for u in unique):
            unique.append(g)
    return unique


class _Best:
    """The best validation accuracy so far, its weights in memory and, optionally, on disk."""

    def __init__(self, model, checkpoint):
        self.model, self.checkpoint, self.accuracy, self.state, self.step = (
            model,
            checkpoint,
            -1.0,
            None,
            None,
        )

    def state_dict(self) -> dict:
        return {"accuracy": self.accuracy, "state": self.state, "step": self.step}

    def load_state_dict(self, state: dict) -> None:
        self.accuracy, self.state, self.step = state["accuracy"], state["state"], state["step"]

    def offer(self, accuracy: float, step: int):
        if accuracy > self.accuracy:
            self.accuracy, self.step = accuracy, step
            self.state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
            if self.checkpoint is not None:
                save_checkpoint(self.model, self.checkpoint)


class _Validation:
    """``fit``'s callback: validation every ``spec.validate_every`` steps from ``spec.min_epoch``
    on (``val_steps``), and the best weights (``best``) over those and the epoch-end
    validations."""

    def __init__(self, val, preprocess, spec: TrainerSpec, best: _Best | None):
        self.val, self.preprocess, self.spec, self.best = val, preprocess, spec, best
        self.val_steps, self.step = [], 0

    def on_step_end(self, model, epoch, step):
        self.step = step
        every = self.spec.validate_every
        if every and epoch >= self.spec.min_epoch and step % every == 0:
            accuracy = evaluate(model, self.val, self.preprocess)["accuracy"]
            self.val_steps.append((step, accuracy))
            if self.best is not None:
                self.best.offer(accuracy, step)
            model.train()

    def state_dict(self) -> dict:
        best = None if self.best is None else self.best.state_dict()
        return {"val_steps": list(self.val_steps), "step": self.step, "best": best}

    def load_state_dict(self, state: dict) -> None:
        self.val_steps, self.step = list(state["val_steps"]), state["step"]
        if self.best is not None:
            self.best.load_state_dict(state["best"])

    def on_epoch_end(self, model, epoch, history):
        if self.best is not None and epoch >= self.spec.min_epoch:
            self.best.offer(history["val_accuracy"][-1], self.step)


def trains_batchnorm(model: torch.nn.Module) -> bool:
    """Whether a BatchNorm layer of ``model`` is in training mode once ``model.train()`` runs, as
    the loop runs it (a model whose ``train`` keeps frozen ones in eval mode, as ``TransferNet``
    does with ``freeze_frozen_batchnorm``, counts those as not training). Every module's mode is
    left as it was."""
    checks.instance(model, torch.nn.Module, "model", "a torch.nn.Module")
    modes = {m: m.training for m in model.modules()}
    try:
        model.train()
        return any(
            isinstance(m, torch.nn.modules.batchnorm._BatchNorm) and m.training
            for m in model.modules()
        )
    finally:
        for m, mode in modes.items():
            m.training = mode


def fit(
    model: torch.nn.Module,
    train: ImageSet,
    val: ImageSet | None = None,
    epochs: int = 1,
    batch_size: int = 32,
    lr: float = 1e-3,
    preprocess=to_float,
    sampler: Sampler | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    seed: int = 0,
    progress: bool = True,
    trainer: TrainerSpec | None = None,
    keep_best: bool = False,
    checkpoint=None,
    steps_per_epoch: int | None = None,
    resume=None,
) -> dict:
    """Train with cross-entropy; return per-epoch loss/accuracy (and val_ ones), lr and seconds.

    ``trainer`` (default: Adam at ``lr``, constant) sets the optimizer, StepLR schedule and step
    validation. ``keep_best`` restores the weights of the best validation accuracy at the end;
    ``checkpoint`` also writes them there atomically at each improvement. ``train``/``val`` may be
    ``(x, y)`` arrays (e.g. cached features) with ``preprocess=None``. ``steps_per_epoch`` makes an
    epoch that many batches of one endless stream (a new shuffle at each pass over the data, as
    Keras ``fit(steps_per_epoch=)`` on a repeated dataset), so data sets of different sizes get the
    same number of gradient steps (``companion.imbalance.step_budget``). With ``val`` the history
    also has ``val_steps`` (the step validations: ``(step, accuracy)``), and with ``keep_best`` or
    ``checkpoint`` ``best`` (``val_accuracy`` and ``step``). ``resume`` (a ``.pt`` path): the run
    continues from there after an interruption (``train_loop``).
    """
    checks.instance(model, torch.nn.Module, "model", "a torch.nn.Module")
    spec = fit_spec(trainer, lr, epochs, steps_per_epoch, val, keep_best, checkpoint)
    if checkpoint is not None:  # checked now, not after the first epoch
        checkpoint = files.checkpoint_target(checkpoint)
    check_last_batch(len(batch_arrays(train, batch_size)[0]), batch_size, trains_batchnorm(model))
    optimizer = optimizer or _optimizer(model, spec)
    scheduler = (
        torch.optim.lr_scheduler.StepLR(optimizer, spec.step_size, spec.gamma)
        if spec.step_size
        else None
    )
    # on a GPU the loader's workers preprocess; on the CPU this process does, as it always has
    in_loader = device().type == "cuda"
    batches = loader(
        train,
        batch_size,
        shuffle=True,
        sampler=sampler,
        seed=seed,
        preprocess=preprocess if in_loader else None,
    )
    stream = _Stream(batches) if steps_per_epoch else None

    def epoch_batches(epoch):  # preprocessed on the CPU, then moved by the loop
        if stream is None and not in_loader:
            # fit's progress bar used to wrap the loader, and tqdm.auto makes an iterator it never
            # uses, which draws a seed from the loader's generator: this one keeps the batches of
            # every run made so far (notebooks and tolerances) exactly as they were
            iter(batches)
        for x, labels in stream.take(steps_per_epoch) if stream else batches:
            yield (x if in_loader else _apply(preprocess, x)), labels

    checked = []

    def step(model, batch):
        x, labels = batch
        logits = model(x)
        if not checked:  # labels without an output: one line, not "Target 7 is out of bounds"
            checks.labels(inputs_and_labels(train)[1], "train labels", logits.shape[1])
            checked.append(True)
        logits, full = full_precision(logits)
        with full:
            loss = torch.nn.functional.cross_entropy(logits, labels)
        return loss, {"accuracy": (logits.argmax(1) == labels).sum()}, len(labels)

    best = _Best(model, checkpoint) if keep_best or checkpoint is not None else None
    validation = _Validation(val, preprocess, spec, best) if val is not None else None
    history = train_loop(
        model,
        step,
        epoch_batches,
        epochs,
        optimizer,
        scheduler=scheduler,
        validate=None if val is None else lambda model: evaluate(model, val, preprocess),
        callbacks=[validation] if validation is not None else [],
        progress=progress,
        steps=steps_per_epoch or len(batches),
        resume=resume,
        keep=generators(batches) + ([stream] if stream else []),
        config={
            "trainer": repr(spec),
            "batch_size": batch_size,
            "seed": seed,
            "examples": len(batch_arrays(train, batch_size)[0]),
            "steps_per_epoch": steps_per_epoch,
        },
    )
    keys = ["loss", "accuracy", "lr", "seconds"] + (
        ["val_loss", "val_accuracy"] if val is not None else []
    )
    history = {key: [] for key in keys} | history  # every key, even after 0 epochs
    if validation is not None:
        history["val_steps"] = validation.val_steps
    if best is not None and best.state is not None:
        model.load_state_dict(best.state)
        history["best"] = {"val_accuracy": best.accuracy, "step": best.step}
    return history

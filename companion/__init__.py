"""Companion library of the book: framework-free core.

Importing ``companion`` imports neither TensorFlow nor torch; use ``companion.torch`` or
``companion.tf`` for one framework, never both in one process.
"""

from __future__ import annotations

import datetime
import os
import platform
import random
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

__all__ = [
    "Profile",
    "PROFILES",
    "profile",
    "describe_run",
    "device_name",
    "dry_run",
    "seed_everything",
    "record",
    "recorded",
]

PROFILE_ENV = "COMPANION_PROFILE"
DEFAULT_PROFILE = "cpu"  # interactive runs; pytest's default is smoke (conftest.py)
RUNS_ENV = "COMPANION_RUNS"  # where notebooks keep the resume files of their long trainings
DRY_RUN_ENV = "COMPANION_DRYRUN"  # "1": the gpu profile's choices with its compute knobs shrunk
_UNSET = object()


@dataclass(frozen=True)
class Profile:
    """Sizes of one execution profile; chapters read them instead of hard-coding sizes."""

    name: str
    n_train: int  # training images a chapter may use
    n_test: int  # test images (None-like values are spelled out by chapters)
    epochs: int
    batch_size: int
    image_size: int  # side of the square images fed to ImageNet backbones
    extra: dict = field(default_factory=dict, compare=False)
    dry: bool = False  # a gpu dry run: every choice of the gpu profile, its compute at smoke's

    def __post_init__(self):
        from .checks import integer

        if self.name not in ("smoke", "cpu", "gpu"):
            raise ValueError(f"profile name must be 'smoke', 'cpu' or 'gpu', got {self.name!r}")
        for key in ("n_train", "n_test", "epochs", "batch_size", "image_size"):
            integer(getattr(self, key), f"Profile.{key}", 1)

        if self.dry and self.name != "gpu":
            raise ValueError(f"only the gpu profile has a dry run, got dry=True for {self.name!r}")

    def pick(self, smoke, cpu, gpu):
        """This profile's value among three chapter-specific choices (data set, architecture,
        image size, counts that depend on the data): a dry run takes the gpu value."""
        return {"smoke": smoke, "cpu": cpu, "gpu": gpu}[self.name]

    def compute(self, smoke, cpu, gpu, dry=_UNSET):
        """This profile's value of a compute knob (epochs, steps, sweep grids, counts that do
        not depend on the data set): a gpu dry run takes ``dry``, by default smoke's value."""
        if self.dry:
            return smoke if dry is _UNSET else dry
        return self.pick(smoke, cpu, gpu)

    def resume_file(self, name: str):
        """Where a long training of a notebook keeps its resume file (``resume=``):
        ``$COMPANION_RUNS`` (default ``runs``, beside the notebook) / profile / ``name``, its
        folder made. ``None`` at the smoke profile and in a dry run: those runs are tests, and
        train from the start."""
        from .checks import text

        text(name, "name")
        if "/" in name or name.startswith("."):
            raise ValueError(f"name: expected a file name like 'ch4-pretrain.pt', got {name!r}")
        if self.name == "smoke" or self.dry:
            return None
        folder = Path(os.environ.get(RUNS_ENV) or "runs") / self.name
        folder.mkdir(parents=True, exist_ok=True)
        return folder / name

    @property
    def deterministic(self) -> bool:
        """Whether the frameworks run their deterministic kernels: not at the gpu profile, where
        cuDNN's fastest (non-deterministic) kernels cut the hours and the run is not compared
        digit by digit with any other."""
        return self.name != "gpu"


PROFILES = {
    "smoke": Profile("smoke", n_train=256, n_test=256, epochs=1, batch_size=32, image_size=96),
    "cpu": Profile("cpu", n_train=10_000, n_test=10_000, epochs=5, batch_size=64, image_size=160),
    "gpu": Profile("gpu", n_train=60_000, n_test=10_000, epochs=20, batch_size=128, image_size=224),
}


_RUN_PROFILE: list[Profile] = []  # the profile this run asked for last (seed_everything reads it)


def dry_run() -> bool:
    """Whether this process is a gpu dry run (``$COMPANION_DRYRUN`` is ``1``)."""
    value = os.environ.get(DRY_RUN_ENV, "")
    if value not in ("", "0", "1"):
        raise ValueError(f"${DRY_RUN_ENV} must be '1' (a gpu dry run) or '0', got {value!r}")
    return value == "1"


def profile(name: str | None = None) -> Profile:
    """The profile called ``name``; by default ``$COMPANION_PROFILE`` or ``cpu`` (a notebook run
    as it is shows the committed numbers; pytest's configuration, conftest.py, sets ``smoke``). With
    ``$COMPANION_DRYRUN=1`` the gpu profile is its dry run (compute knobs at smoke's values)."""
    name = name or os.environ.get(PROFILE_ENV) or DEFAULT_PROFILE
    if not isinstance(name, str) or name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}: expected one of {', '.join(PROFILES)}")
    chosen = PROFILES[name]
    if name == "gpu" and dry_run():
        chosen = replace(chosen, epochs=PROFILES["smoke"].epochs, dry=True)
    _RUN_PROFILE[:] = [chosen]
    return chosen


RUN_KEY = "companion_run"
FRAMEWORKS = ("torch", "tensorflow")


def cpu_model() -> str:
    """The CPU's model name (from /proc/cpuinfo where there is one)."""
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def _threads_setting() -> str:
    """The thread count the loaded framework was asked for, or ``"default"``: TensorFlow's
    kernels read ``TF_NUM_INTRAOP_THREADS`` (``OMP_NUM_THREADS`` leaves them at one per core),
    torch and numpy read ``OMP_NUM_THREADS``."""
    variable = "TF_NUM_INTRAOP_THREADS" if "tensorflow" in sys.modules else "OMP_NUM_THREADS"
    return os.environ.get(variable, "default")


def _gib(n_bytes) -> str:
    return f"{n_bytes / 2**30:.1f} GiB"


def device_name() -> str:
    """The accelerator the loaded framework computes on: ``"cuda: NVIDIA ... (80.0 GiB)"``,
    ``"GPU: ..."`` for TensorFlow, or ``"cpu"``; imports no framework."""
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        return f"cuda: {props.name} ({_gib(props.total_memory)})"
    tf = sys.modules.get("tensorflow")
    if tf is not None and (gpus := tf.config.list_physical_devices("GPU")):
        details = tf.config.experimental.get_device_details(gpus[0])
        return f"GPU: {details.get('device_name') or gpus[0].name}"
    return "cpu"


def describe_run(p: Profile) -> dict:
    """Show and return what a run's numbers depend on: profile, device, CPU, cores, threads and
    date. At the gpu profile (not its dry run) it fails when the framework sees no GPU."""
    if not isinstance(p, Profile):
        raise TypeError(f"describe_run takes companion.profile(...), got {type(p).__name__}")
    device = device_name()
    if p.name == "gpu" and not p.dry and device == "cpu":
        loaded = [name for name in FRAMEWORKS if name in sys.modules] or ["no framework"]
        raise RuntimeError(
            f"the gpu profile needs a GPU, but {loaded[0]} sees none: run at the cpu profile "
            f"(PROFILE = 'cpu'), or install the framework's CUDA build"
        )
    info = {
        "profile": p.name,
        **({"dry_run": "compute shrunk, not a result"} if p.dry else {}),
        "device": device,
        "deterministic": p.deterministic,
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "threads": _threads_setting(),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }
    for name in FRAMEWORKS:  # versions of the frameworks already imported; import none here
        if name in sys.modules:
            info[name] = getattr(sys.modules[name], "__version__", "?")
    text = " | ".join(f"{k}: {v}" for k, v in info.items())
    _show(text, {RUN_KEY: info})
    return info


def seed_everything(seed: int = 0, deterministic: bool | None = None) -> int:
    """Seed python, numpy and whichever of torch / TensorFlow is already imported.
    ``deterministic`` (by default: unless the run's profile is gpu, see ``Profile.deterministic``)
    asks the loaded framework for its deterministic kernels."""
    # checked before anything is set: child processes inherit PYTHONHASHSEED
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
        raise ValueError(f"seed must be an int in [0, 2**32) (numpy's range), got {seed!r}")
    if deterministic is None:
        deterministic = _RUN_PROFILE[0].deterministic if _RUN_PROFILE else True
    elif not isinstance(deterministic, bool):
        raise TypeError(f"deterministic must be True, False or None, got {deterministic!r}")
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed)
    torch = sys.modules.get("torch")  # seed only what is loaded: never import a framework here
    if torch is not None:
        torch.manual_seed(seed)
        torch.use_deterministic_algorithms(deterministic, warn_only=True)
        torch.backends.cudnn.benchmark = not deterministic  # fastest kernels, found by timing
    keras = sys.modules.get("keras")
    if keras is not None:
        keras.utils.set_random_seed(seed)  # python, numpy and TensorFlow
    return seed


_RECORDED: dict[str, object] = {}
METRIC_KEY = "companion_metric"


def _plain(value):
    """A JSON-friendly, rounded copy of ``value`` (numpy scalars become Python numbers)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):  # 4 decimals, or 3 significant digits for tiny values (errors)
        return round(value, 4) if value == 0 or abs(value) >= 1e-3 else float(f"{value:.3g}")
    if isinstance(value, (int, str, bool)) or value is None:
        return value
    raise TypeError(f"record() takes a number or a string, got {type(value).__name__}")


def record(name: str, value) -> None:
    """Report a headline number: shown in the notebook, glued for the book, collected by the
    runner."""
    if not isinstance(name, str):
        raise TypeError(f"record() takes a metric name as a string, got {type(name).__name__}")
    if not name or not name.replace("_", "").isalnum():
        raise ValueError(f"metric names are letters, digits and '_', got {name!r}")
    value = _plain(value)
    _RECORDED[name] = value
    if _show(f"{name} = {value}", {METRIC_KEY: {"name": name, "value": value}}):
        try:
            from myst_nb import glue

            glue(name, value, display=False)
        except ImportError:
            pass


def _show(text: str, metadata: dict) -> bool:
    """Display ``text`` with ``metadata`` in a notebook (True), or print it elsewhere (False)."""
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        get_ipython = None
    if get_ipython is None or get_ipython() is None:
        print(text)
        return False
    display({"text/plain": text}, metadata=metadata, raw=True)
    return True


def recorded() -> dict:
    """Everything recorded so far in this process."""
    return dict(_RECORDED)

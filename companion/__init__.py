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
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "Profile",
    "PROFILES",
    "profile",
    "describe_run",
    "seed_everything",
    "record",
    "recorded",
]

PROFILE_ENV = "COMPANION_PROFILE"


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

    def __post_init__(self):
        from .checks import integer

        if self.name not in ("smoke", "cpu", "gpu"):
            raise ValueError(f"profile name must be 'smoke', 'cpu' or 'gpu', got {self.name!r}")
        for key in ("n_train", "n_test", "epochs", "batch_size", "image_size"):
            integer(getattr(self, key), f"Profile.{key}", 1)

    def pick(self, smoke, cpu, gpu):
        """Return the value of this profile among three chapter-specific choices."""
        return {"smoke": smoke, "cpu": cpu, "gpu": gpu}[self.name]


PROFILES = {
    "smoke": Profile("smoke", n_train=256, n_test=256, epochs=1, batch_size=32, image_size=96),
    "cpu": Profile("cpu", n_train=10_000, n_test=10_000, epochs=5, batch_size=64, image_size=160),
    "gpu": Profile("gpu", n_train=60_000, n_test=10_000, epochs=20, batch_size=128, image_size=224),
}


def profile(name: str | None = None) -> Profile:
    """The profile called ``name``; by default ``$COMPANION_PROFILE`` or ``smoke``."""
    name = name or os.environ.get(PROFILE_ENV) or "smoke"
    if not isinstance(name, str) or name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}: expected one of {', '.join(PROFILES)}")
    return PROFILES[name]


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


def describe_run(p: Profile) -> dict:
    """Show and return what a run's numbers depend on: profile, CPU, cores, threads and date."""
    if not isinstance(p, Profile):
        raise TypeError(f"describe_run takes companion.profile(...), got {type(p).__name__}")
    info = {
        "profile": p.name,
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


def seed_everything(seed: int = 0) -> int:
    """Seed python, numpy and whichever of torch / TensorFlow is already imported."""
    # checked before anything is set: child processes inherit PYTHONHASHSEED
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
        raise ValueError(f"seed must be an int in [0, 2**32) (numpy's range), got {seed!r}")
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed)
    torch = sys.modules.get("torch")  # seed only what is loaded: never import a framework here
    if torch is not None:
        torch.manual_seed(seed)
        torch.use_deterministic_algorithms(True, warn_only=True)
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

"""Companion library of the book: framework-free core.

Importing ``companion`` imports neither TensorFlow nor torch; use ``companion.torch`` or
``companion.tf`` for one framework, never both in one process.
"""
from __future__ import annotations

import os
import random
import sys
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Profile", "PROFILES", "profile", "seed_everything", "record", "recorded"]

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
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}: expected one of {', '.join(PROFILES)}")
    return PROFILES[name]


def seed_everything(seed: int = 0) -> int:
    """Seed python, numpy and whichever of torch / TensorFlow is already imported."""
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
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
    """Report a headline number: shown in the notebook, glued for the book, collected by the runner."""
    if not name or not name.replace("_", "").isalnum():
        raise ValueError(f"metric names are letters, digits and '_', got {name!r}")
    value = _plain(value)
    _RECORDED[name] = value
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:  # plain Python: print is enough
        print(f"{name} = {value}")
        return
    if get_ipython() is None:
        print(f"{name} = {value}")
        return
    display(
        {"text/plain": f"{name} = {value}"},
        metadata={METRIC_KEY: {"name": name, "value": value}},
        raw=True,
    )
    try:
        from myst_nb import glue

        glue(name, value, display=False)
    except ImportError:
        pass


def recorded() -> dict:
    """Everything recorded so far in this process."""
    return dict(_RECORDED)

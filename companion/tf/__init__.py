"""TensorFlow/Keras edition of the companion. Imports TensorFlow, never torch."""

import os as _os
import sys as _sys

if "torch" in _sys.modules:
    raise ImportError(
        "torch is already imported: torch and TensorFlow must not share a process "
        "(restart the kernel and import only companion.tf)"
    )
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
_os.environ.setdefault("KERAS_BACKEND", "tensorflow")


def _import_tensorflow_quietly():
    """Import TensorFlow with C++ stderr silenced: its start-up log lines (CUDA probing, oneDNN)
    carry timestamps that would clutter every notebook and defeat output regression tests."""
    saved = _os.dup(2)
    try:
        with open(_os.devnull, "w") as devnull:
            _os.dup2(devnull.fileno(), 2)
            import tensorflow  # noqa: F401
    finally:
        _os.dup2(saved, 2)
        _os.close(saved)


_import_tensorflow_quietly()

"""PyTorch edition of the companion. Imports torch, never TensorFlow."""

import os as _os
import sys as _sys

if "tensorflow" in _sys.modules:
    raise ImportError(
        "TensorFlow is already imported: torch and TensorFlow must not share a process "
        "(restart the kernel and import only companion.torch)"
    )
_os.environ.setdefault("TORCH_CPP_LOG_LEVEL", "ERROR")

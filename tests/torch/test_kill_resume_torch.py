"""Kill and resume (issue 22): PyTorch training processes killed with SIGKILL (12 times for each
of two trainers, at random moments and inside checkpoint writes) leave only whole files, and the
run resumed after the last kill ends with exactly the weights of a run never interrupted."""

from pathlib import Path

import numpy as np
import pytest
import torch

from companion.torch import training
from kill_resume import Server, kill_until_done

CHILD = Path(__file__).with_name("kill_child_torch.py")


def _left_loads(folder: Path) -> int:
    """Every file a killed run left loads; returns the epochs its resume file holds."""
    if (folder / "weights.pt").exists():
        torch.load(folder / "weights.pt", weights_only=True)
    run = folder / "run.pt"
    return training.read_run(run)["epoch"] if run.exists() else 0


@pytest.mark.parametrize("trainer", ["fit", "pretrain"])
def test_killed_runs_resume_to_the_uninterrupted_weights(tmp_path, trainer):
    killed = tmp_path / "killed"
    killed.mkdir(), (tmp_path / "whole").mkdir()
    server = Server(CHILD, [trainer, tmp_path])
    try:
        server.run("whole")
        kills = kill_until_done(server, lambda: _left_loads(killed), 12, seed=len(trainer))
    finally:
        server.close()
    assert kills.in_write >= 3 and kills.random >= 3, kills
    assert kills.epochs_done == sorted(kills.epochs_done), f"a kill lost saved epochs: {kills}"
    assert max(kills.epochs_done) > 0, f"no kill landed after an epoch: {kills}"
    assert not [p.name for p in killed.iterdir() if ".part" in p.name], "temporaries left"
    expected, resumed = np.load(tmp_path / "whole/final.npz"), np.load(killed / "final.npz")
    assert sorted(expected) == sorted(resumed)
    largest = max(float(np.abs(expected[k] - resumed[k]).max()) for k in expected)
    print(f"\n{trainer}: {kills}, largest difference {largest}")
    assert largest == 0.0

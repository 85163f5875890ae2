"""Kill and resume (issue 22), Keras edition: training processes killed with SIGKILL (12 times
for each of two trainers, at random moments and inside checkpoint writes) leave only whole files,
and the run resumed after the last kill ends with the weights of a run never interrupted (to
``test_resume_tf.TOLERANCE``)."""

from pathlib import Path

import numpy as np
import pytest

from companion.tf import simclr, training
from kill_resume import Server, kill_until_done
from test_resume_tf import TOLERANCE

CHILD = Path(__file__).with_name("kill_child_tf.py")


def _left_loads(folder: Path, trainer: str) -> int:
    """Every file a killed run left loads; returns the epochs its resume file holds."""
    if trainer == "fit" and (folder / "weights.keras").exists():
        import keras

        keras.saving.load_model(folder / "weights.keras", compile=False, safe_mode=True)
    if trainer == "pretrain" and (folder / "weights.npz").exists():
        simclr.load_checkpoint(folder / "weights.npz")
    run = folder / "run.npz"
    return training.read_run(run)["epoch"] if run.exists() else 0


@pytest.mark.parametrize("trainer", ["fit", "pretrain"])
def test_killed_runs_resume_to_the_uninterrupted_weights(tmp_path, trainer):
    killed = tmp_path / "killed"
    killed.mkdir(), (tmp_path / "whole").mkdir()
    server = Server(CHILD, [trainer, tmp_path])
    try:
        server.run("whole")
        kills = kill_until_done(
            server, lambda: _left_loads(killed, trainer), 12, seed=len(trainer), window=6.0
        )
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
    assert largest <= TOLERANCE

"""Kill and resume (issue 22), Keras edition: training processes killed with SIGKILL (12 times
for each of two trainers, at random moments and inside checkpoint writes) leave only whole files,
and the run resumed after the last kill ends with the weights of a run never interrupted (to
``test_resume_tf.TOLERANCE``)."""

from pathlib import Path

import pytest

from companion.tf import simclr, training
from kill_resume import kill_and_compare
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
    largest = kill_and_compare(
        CHILD, trainer, tmp_path, lambda folder: _left_loads(folder, trainer), window=6.0
    )
    assert largest <= TOLERANCE

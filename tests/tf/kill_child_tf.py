"""The training process ``test_kill_resume_tf.py`` kills, as a fork server
(``fork_server.serve``): ``fit`` (SGD with momentum, StepLR, best weights and their checkpoint)
or ``pretrain`` (its augmentations draw from Keras seed generators) on fixed data, with
``resume=FOLDER/killed/run.npz`` or, for the reference, none (in ``FOLDER/whole``); the final
weights go to ``final.npz`` there. ``python kill_child_tf.py fit|pretrain FOLDER``."""

import sys
from pathlib import Path

import keras
import numpy as np

from companion.tf import simclr, training
from companion.training import sgd_trainer
from fork_server import serve

EPOCHS = 60  # more than 12 kills can get through, so every kill lands in a run
trainer, folder = sys.argv[1], Path(sys.argv[2])


def train(resume: bool) -> None:
    out = folder / ("killed" if resume else "whole")
    run = out / "run.npz" if resume else None
    rng = np.random.default_rng(0)
    keras.utils.set_random_seed(0)
    if trainer == "fit":
        x, y = rng.integers(0, 256, (300, 12, 12, 1), dtype=np.uint8), rng.integers(0, 3, 300)
        model = keras.Sequential(
            [
                keras.Input((12, 12, 1)),
                keras.layers.Conv2D(8, 3),
                keras.layers.BatchNormalization(),
                keras.layers.ReLU(),
                keras.layers.Flatten(),
                keras.layers.Dense(3),
            ]
        )
        schedule = sgd_trainer(0.05, 0.9, 3, 0.5)
        training.fit(
            model, (x, y), (x[:100], y[:100]), EPOCHS, 16, trainer=schedule,
            checkpoint=out / "weights.keras", progress=False, resume=run,
        )  # fmt: skip
    else:
        images = rng.integers(0, 256, (128, 16, 16, 1), dtype=np.uint8)
        model = simclr.SimCLRModel("small", 1, 8, 16)
        simclr.pretrain(
            model, images, EPOCHS, 32, 0.5, lr=1e-3, checkpoint=out / "weights.npz", seed=1,
            progress=False, resume=run,
        )  # fmt: skip
    np.savez(out / "final.npz", *model.get_weights())


serve(train)

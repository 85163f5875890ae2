"""The training process ``test_kill_resume_torch.py`` kills, as a fork server
(``fork_server.serve``): ``fit`` (SGD with momentum, StepLR, best weights and their checkpoint)
or ``pretrain`` (its augmentations draw from torch's global generator) on fixed data, with
``resume=FOLDER/killed/run.pt`` or, for the reference, none (in ``FOLDER/whole``); the final
weights go to ``weights.npz`` there. ``python kill_child_torch.py fit|pretrain FOLDER``."""

import sys
from pathlib import Path

import numpy as np
import torch

from companion.torch import simclr, training
from companion.training import sgd_trainer
from fork_server import serve

EPOCHS = 60  # more than 12 kills can get through, so every kill lands in a run
trainer, folder = sys.argv[1], Path(sys.argv[2])
torch.set_num_threads(1)


def train(resume: bool) -> None:
    out = folder / ("killed" if resume else "whole")
    run = out / "run.pt" if resume else None
    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    if trainer == "fit":
        x, y = rng.integers(0, 256, (300, 12, 12, 1), dtype=np.uint8), rng.integers(0, 3, 300)
        model = torch.nn.Sequential(
            torch.nn.Conv2d(1, 8, 3),
            torch.nn.BatchNorm2d(8),
            torch.nn.ReLU(),
            torch.nn.Flatten(),
            torch.nn.Linear(800, 3),
        )
        schedule = sgd_trainer(0.05, 0.9, 3, 0.5)
        training.fit(
            model, (x, y), (x[:100], y[:100]), EPOCHS, 16, trainer=schedule,
            checkpoint=out / "weights.pt", progress=False, resume=run,
        )  # fmt: skip
    else:
        images = rng.integers(0, 256, (128, 16, 16, 1), dtype=np.uint8)
        model = simclr.SimCLRModel("small", 1, 8, 16)
        simclr.pretrain(
            model, images, EPOCHS, 32, 0.5, lr=1e-3, checkpoint=out / "weights.pt", seed=1,
            progress=False, resume=run,
        )  # fmt: skip
    np.savez(out / "final.npz", **{k: v.numpy() for k, v in model.state_dict().items()})


serve(train)

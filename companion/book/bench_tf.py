"""The TensorFlow edition's side of ``make bench``, in a process of its own (TensorFlow and torch
never share one): info-NCE and Grad-CAM on the arrays the torch side wrote, checked against its
numbers, then timed. ``python -m companion.book.bench_tf IN.npz OUT.json [--repeats N]``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from .. import checks
from .bench import REPEATS, TEMPERATURE, _agree, _scaled, timings

LAYER = "out_relu"  # Keras's name of MobileNetV2's last convolutional block (torch: features.18)


def _info_nce_rows(arrays, repeats: int) -> list:
    import tensorflow as tf

    from ..tf import simclr

    rows = []
    for batch in (256, 1024):
        x = tf.constant(arrays[f"features_{batch}"])

        @tf.function(reduce_retracing=True)
        def forward(x, batch=batch):
            return simclr.cross_entropy(*simclr.info_nce_loss(x, batch, 2, TEMPERATURE))

        @tf.function(reduce_retracing=True)
        def forward_backward(x, forward=forward):
            with tf.GradientTape() as tape:
                tape.watch(x)
                loss = forward(x)
            return loss, tape.gradient(loss, x)

        value, gradient = forward_backward(x)
        agreement = (
            _agree(value, arrays[f"loss_{batch}"], 1e-5, "Δ loss vs torch")
            + "; "
            + _agree(gradient, arrays[f"grad_{batch}"], 1e-7, "max Δ grad vs torch")
        )
        for name, f in (("forward", forward), ("fwd+bwd", forward_backward)):
            times = timings({"ours": lambda f=f: f(x)}, repeats)
            rows.append(_tf_row(f"info-NCE {name}", f"batch {batch}", times, agreement))
    return rows


def _tf_row(torch_comparison: str, size: str, times: dict, agreement: str) -> dict:
    return {
        "comparison": f"{torch_comparison} (TensorFlow edition)",
        "torch_comparison": torch_comparison,
        "size": size,
        "ours": list(times["ours"]),
        "agreement": agreement,
    }


def _grad_cam_rows(arrays, repeats: int) -> list:
    from ..tf import backbones, cam

    images, classes = arrays["images"], arrays["classes"]
    ours = cam.GradCAM(backbones.mobilenet_v2(), LAYER, backbones.preprocess)

    def maps():
        return _scaled(ours(images, classes))

    agreement = _agree(maps(), arrays["maps"], 1e-4, "max Δ map vs torch")
    times = timings({"ours": maps}, min(repeats, 5))
    return [_tf_row("Grad-CAM", "8 x 224 px", times, agreement)]


def main(argv=None) -> int:
    """Read the torch side's arrays, write the rows (JSON) the torch side puts in its table."""
    parser = argparse.ArgumentParser(prog="python -m companion.book.bench_tf", description=__doc__)
    parser.add_argument("inputs", help="the .npz the torch side wrote")
    parser.add_argument("outputs", help="where to write the rows (.json)")
    parser.add_argument("--repeats", type=int, default=REPEATS, help="timed rounds")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats: expected a whole number >= 1, got {args.repeats}")
    arrays = dict(np.load(checks.existing_file(args.inputs, "inputs", "run make bench")))
    import keras
    import tensorflow as tf

    rows = _info_nce_rows(arrays, args.repeats) + _grad_cam_rows(arrays, args.repeats)
    versions = {"tensorflow": tf.__version__, "keras": keras.__version__}
    Path(args.outputs).write_text(json.dumps({"rows": rows, "versions": versions}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

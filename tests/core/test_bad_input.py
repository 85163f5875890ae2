"""Bad input is never silent: every public function of the framework-free core, given bad input,
raises one line that says what it expected (tables of cases; the harness is tests/bad_input.py)."""

import gzip
import json
import os
import pkgutil
import shutil
import tempfile
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
from PIL import Image

import companion
from bad_input import call, case, check, uncovered
from companion import (
    checks,
    conv,
    files,
    imagenet,
    images,
    imbalance,
    metrics,
    plotting,
    results,
    retrieval,
    saliency,
    simclr,
    toy,
    training,
    transfer,
    triplet,
    weights,
)
from companion import data
from companion.book import (
    assets,
    assignments,
    bench,
    bench_tf,
    cli,
    colab,
    colab_path,
    dryrun,
    extension,
    lab,
    layout,
    pages,
    results_page,
    runner,
    tolerances,
)
from companion.data import ImageSet, fashion, fetch, folder, imageset, load, online, photos, shapes

ROOT = Path(__file__).resolve().parents[2]
TMP = Path(tempfile.mkdtemp(prefix="bad-input-"))  # files the cases read; removed at the end
MISSING = TMP / "missing.bin"
NOT_TAR = TMP / "cut.tar.gz"
NOT_TAR.write_bytes(gzip.compress(b"not a tar archive")[:20])
CUT_GZ = TMP / "cut-idx.gz"
CUT_GZ.write_bytes(gzip.compress(bytes(range(200)))[:30])
SHORT_IDX = TMP / "short-idx.gz"
SHORT_IDX.write_bytes(gzip.compress(b"ab"))
CUT_JSON = TMP / "cut.json"
CUT_JSON.write_text('{"notebooks/torch/05_x.ipynb": {"fram')
LIST_JSON = TMP / "list.json"
LIST_JSON.write_text("[1, 2]")
NOT_NOTEBOOK = TMP / "not-a-notebook.ipynb"
NOT_NOTEBOOK.write_text("{ this is not json")
LOST = TMP / "lost-notebook"  # _toc.yml lists a notebook that is not there
LOST.mkdir()
(LOST / "_toc.yml").write_text("root: intro\nchapters:\n- file: notebooks/torch/01_lost\n")
HTML = TMP / "html"  # a built book: only its front page
HTML.mkdir()
(HTML / "index.html").write_text("<html></html>")
NO_TOC = TMP / "no-toc"
NO_TOC.mkdir()
BAD_TOC = TMP / "bad-toc"
BAD_TOC.mkdir()
(BAD_TOC / "_toc.yml").write_text("format: [unclosed\n")
CUT_SHARD, LIST_SHARD = TMP / "cut-shard", TMP / "list-shard"
for folder_, text in ((CUT_SHARD, '{"notebooks/torch/01_x.ipynb": {"metr'), (LIST_SHARD, "[]")):
    folder_.mkdir()
    (folder_ / "results-1of2.json").write_text(text)
NULL_ENTRY = TMP / "null-entry.json"
NULL_ENTRY.write_text('{"notebooks/torch/01_x.ipynb": null}')
NO_PARAMETERS = TMP / "no-parameters.ipynb"
nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]), NO_PARAMETERS)
CONFLICTED = TMP / "conflicted.ipynb"
CONFLICTED.write_text('<<<<<<< HEAD\n{"cells": []}\n=======\n{}\n>>>>>>> theirs\n')
EMPTY_CLASS = TMP / "empty-class"
(EMPTY_CLASS / "cats").mkdir(parents=True)
CORRUPT_IMAGE = TMP / "corrupt-image"
(CORRUPT_IMAGE / "cats").mkdir(parents=True)
(CORRUPT_IMAGE / "cats" / "a.png").write_bytes(b"\x89PNG\r\n\x1a\n cut")

RNG = np.random.default_rng(0)
IMGS = RNG.integers(0, 256, (2, 8, 8, 3), dtype=np.uint8)
IMG = IMGS[0]
DATA = load("shapes", n=8, image_size=16)
UNEVEN = DATA.subset([0, 1, 2, 4, 5])
MAPS = RNG.random((2, 4, 4), dtype=np.float32)
MAP = MAPS[0]
NAN_MAPS = MAPS.copy()
NAN_MAPS[0, 1, 1] = np.nan
NAN_MAP = NAN_MAPS[0]
HOT = np.full((2, 8, 8, 3), 300.0)  # no pixel range fits
X, W = np.zeros((1, 4, 4, 1)), np.ones((3, 3, 1, 2))
BOXES = np.array([[0, 0, 2, 2], [1, 1, 3, 3]])
EMB = RNG.normal(size=(4, 3))
FEATS = RNG.normal(size=(8, 4)).astype(np.float32)  # 2 views of a batch of 4
NOTEBOOK = nbformat.v4.new_notebook()
TABLE = retrieval.feature_table(EMB)
NB_PATH = "notebooks/torch/05_visualising_cnns.ipynb"
XY = ["x", "y"]
FRAME, SERIES = pd.DataFrame({"a": [0.5]}, index=[10]), pd.Series([0.5], index=[10])


def nan(a):
    a = np.array(a, dtype=float)
    a.flat[0] = np.nan
    return a


STEPS_NAN = simclr.info_nce_steps(FEATS, 4)  # a similarity matrix with one NaN
STEPS_NAN["similarity"] = nan(STEPS_NAN["similarity"])
BAND = {"metric": "m", "reason": "r", "at_least": 0.5}
RESULTS = pd.DataFrame({"linear top-1": [0.5], "kNN top-1": [0.4]}, index=["SimCLR"])
SWEEP = pd.DataFrame({"temperature": [0.1, 0.5], "batch size": [8, 8], "kNN top-1": [0.3, 0.4]})

T, V, F = TypeError, ValueError, FileNotFoundError
CASES = [
    # companion
    case(companion.Profile, "fast", 1, 1, 1, 1, 1, expected="'smoke', 'cpu' or 'gpu'"),
    case(companion.Profile, "cpu", 0, 1, 1, 1, 1, expected="n_train must be an integer in [1"),
    case(companion.Profile, "cpu", 1.5, 1, 1, 1, 1, error=T, expected="must be an integer"),
    case(companion.profile, "fast", expected="expected one of smoke"),
    case(companion.PROFILES["cpu"].resume_file, "", expected="name must be"),
    case(companion.PROFILES["cpu"].resume_file, "a/b.pt", expected="a file name like"),
    case(companion.PROFILES["cpu"].resume_file, 3, error=T, expected="name must be"),
    case(companion.profile, ["cpu"], expected="expected one of"),
    case(companion.profile, 3, expected="expected one of"),
    case(companion.describe_run, "cpu", error=T, expected="companion.profile(...)"),
    case(companion.describe_run, None, error=T, expected="companion.profile(...)"),
    case(companion.describe_run, {"name": "cpu"}, error=T, expected="companion.profile(...)"),
    case(companion.seed_everything, 2**40, expected="[0, 2**32)"),
    case(companion.seed_everything, -1, expected="[0, 2**32)"),
    case(companion.seed_everything, 1.5, expected="an int"),
    case(companion.seed_everything, "3", expected="an int"),
    case(companion.record, 3, 1.0, error=T, expected="as a string"),
    case(companion.record, "a b", 1.0, expected="letters, digits"),
    case(companion.record, "", 1.0, expected="letters, digits"),
    case(companion.record, "x", [1], error=T, expected="a number or a string"),
    # companion.checks
    case(checks.integer, "a", "n", error=T, expected="must be an integer"),
    case(checks.integer, True, "n", error=T, expected="must be an integer"),
    case(checks.integer, 5, "n", 0, 3, expected="in [0, 3)"),
    case(checks.flag, 1, "joint", error=T, expected="joint must be True or False, got int 1"),
    case(checks.flag, "yes", "normalise", error=T, expected="True or False, got str 'yes'"),
    case(checks.flag, None, "keep_best", error=T, expected="keep_best must be True or False, got"),
    case(checks.number, "x", "lr", error=T, expected="finite number"),
    case(checks.number, float("nan"), "lr", expected="finite number"),
    case(checks.number, 5, "alpha", 0, 1, expected="in [0, 1]"),
    case(checks.text, 3, "name", error=T, expected="non-empty string"),
    case(checks.text, "", "name", expected="non-empty string"),
    case(checks.text, None, "name", error=T, expected="non-empty string"),
    case(checks.array, "abc", "x", 2, error=T, expected="expected a 2-D array"),
    case(checks.array, [[1], [2, 3]], "x", error=T, expected="of numbers"),
    case(checks.array, np.zeros(3), "x", 2, expected="expected a 2-D array"),
    case(checks.array, [], "x", expected="non-empty"),
    case(checks.array, [np.nan], "x", finite=True, expected="finite values"),
    case(checks.labels, [0.5], error=T, expected="integer class indices"),
    case(checks.labels, [0, 5], n_classes=3, expected="[0, 3)"),
    case(checks.labels, [[0]], expected="1-D array of class indices"),
    case(checks.labels, [0, 1], n=3, expected="expected 3 labels"),
    case(checks.to_uint8, np.array([-1.0]), expected="[0, 1] or [0, 255]"),
    case(checks.to_uint8, np.array([np.nan]), expected="finite pixel"),
    case(checks.to_uint8, np.array([70000]), expected="8- or 16-bit"),
    case(checks.to_uint8, np.array(["a"]), error=T, expected="uint8, 16-bit or float"),
    case(checks.images, IMG, expected="N x H x W x C"),
    case(checks.images, np.zeros((1, 2, 2, 2), np.uint8), expected="1 or 3 or 4 channels"),
    case(checks.images, IMGS / 255, expected="uint8"),
    case(checks.images, IMGS[:0], expected="non-empty"),
    case(checks.maps, MAP, expected="N x H x W"),
    case(checks.maps, NAN_MAPS, expected="finite"),
    case(checks.maps, "x", error=T, expected="N x H x W"),
    case(checks.conv_geometry, 3, 5, expected="kernel <= 3"),
    case(checks.conv_geometry, 3, 1, 0, expected="stride must be an integer in [1"),
    case(checks.conv_geometry, 3, 1, 1, -1, expected="padding must be an integer in [0"),
    case(checks.conv_geometry, 3.5, 1, error=T, expected="must be an integer"),
    case(checks.path, 3, error=T, expected="file path"),
    case(checks.path, None, error=T, expected="file path"),
    case(checks.path, "", expected="file path"),
    case(checks.existing_file, MISSING, error=F, expected="does not exist"),
    case(checks.existing_file, TMP, error=F, expected="not a file"),
    case(checks.existing_file, 3, error=T, expected="file path"),
    case(files.verify_sha256, MISSING, "0" * 64, "fix it", error=F, expected="missing: fix it"),
    case(files.verify_sha256, CUT_JSON, "0" * 64, "fix it", expected="sha256 mismatch): fix it"),
    case(files.verify_sha256, 3, "0" * 64, "fix it", error=T, expected="file path"),
    case(checks.instance, "x", int, "n", "an int", error=T, expected="n: expected an int"),
    case(checks.instance, None, (int, float), "x", "a number", error=T, expected="a number"),
    case(checks.instance, 1.5, int, "n", "an int", error=T, expected="an int"),
    case(checks.batch, "x", error=T, expected="an array or tensor"),
    case(checks.batch, IMG, ndim=4, expected="a 4-D batch"),
    case(checks.batch, IMGS[:0], expected="at least one example"),
    case(checks.batch, np.float32(1), expected="at least one example"),
    case(checks.names, "conv1", error=T, expected="a list of layer names"),
    case(checks.names, 3, error=T, expected="a list of layer names"),
    case(checks.names, ["conv1", 2], error=T, expected="(strings)"),
    case(checks.image_batch, "x", error=T, expected="an N x H x W x C batch"),
    case(checks.image_batch, IMG, expected="an N x H x W x C batch"),
    case(checks.image_batch, IMGS[:0], expected="at least one example"),
    case(checks.layer_kinds, "Conv2d", "nn.Conv2d", error=T, expected="a layer class such as"),
    case(checks.layer_kinds, (), "nn.Conv2d", error=T, expected="such as nn.Conv2d"),
    case(checks.layer_kinds, (int, 3), "nn.Conv2d", error=T, expected="a layer class"),
    case(checks.known_layers, ["c9"], {"c1": 1, "c2": 2}, expected="valid names: c1, c2"),
    case(checks.known_layers, "c1", {"c1": 1}, error=T, expected="a list of layer names"),
    case(checks.known_layers, [""], {"c1": 1}, expected="unknown layer(s) ['']"),
    # companion.images
    case(images.as_rgb_uint8, np.zeros((2, 2, 5), np.uint8), expected="H x W x C picture"),
    case(images.as_rgb_uint8, HOT[0], expected="[0, 1] or [0, 255]"),
    case(images.as_rgb_uint8, "x", error=T, expected="H x W x C picture"),
    case(images.as_rgb_uint8, IMGS, expected="H x W x C picture"),
    case(images.center_crop_resize, IMG, 0, expected="size must be an integer in [1"),
    case(images.center_crop_resize, IMG, 2.5, error=T, expected="size must be an integer"),
    case(images.center_crop_resize, IMG, 8, 0, expected="crop_fraction must be in"),
    case(images.center_crop_resize, None, 8, error=T, expected="H x W x C picture"),
    case(images.to_rgb_batch, IMG, expected="N x H x W x C"),
    case(images.to_rgb_batch, np.zeros((1, 2, 2, 2)), expected="1, 3 or 4 channels"),
    case(images.to_rgb_batch, "x", error=T, expected="N x H x W x C"),
    # companion.imagenet
    case(imagenet.top_k, np.zeros((2, 10)), expected="N x 1000"),
    case(imagenet.top_k, np.zeros(1000), expected="N x 1000"),
    case(imagenet.top_k, np.zeros((1, 1000)), 0, expected="k must be an integer in [1"),
    case(imagenet.top_k, nan(np.zeros((1, 1000))), expected="finite"),
    # companion.conv
    case(conv.output_size, 3, 5, expected="kernel <= 3"),
    case(conv.output_size, 5, 3, 0, expected="stride must be"),
    case(conv.output_size, 5, 3, 1, -1, expected="padding must be"),
    case(conv.output_size, 5.0, 3, error=T, expected="must be an integer"),
    case(conv.check_conv, X[0], W, expected="images N x H x W x C"),
    case(conv.check_conv, X, np.ones((3, 3, 2, 1)), expected="KH x KW x 1 x C_out"),
    case(conv.check_conv, X, W, [1, 2, 3], expected="2 biases"),
    case(conv.check_stacked_linear, 0, 2, 2, expected="n_in must be an integer in [1"),
    case(conv.check_stacked_linear, 2, 2.5, 2, error=T, expected="n_hidden must be an integer"),
    case(conv.check_stacked_linear, 2, 2, -1, expected="n_out must be an integer in [1"),
    case(conv.two_linear, None, expected="two linear layers and nothing between"),
    case(conv.two_linear, [1, 2, 3], expected="two linear layers and nothing between"),
    case(conv.two_linear, [], expected="stacked_linear(..., relu=False)"),
    case(conv.check_small_cnn, 1, 1, (8,), expected="n_classes >= 2"),
    case(conv.check_small_cnn, 10, 1, 8, expected="at least one width"),
    case(conv.check_small_cnn, 10, 1, (8,) * 5, expected="at most 4 blocks"),
    case(conv.check_small_cnn, 10, 0, (8,), expected="in_channels must be an integer in [1"),
    case(conv.check_small_cnn, 10, 1, (8, 0), expected="widths must be an integer in [1"),
    case(conv.conv2d, X[0], W, expected="images N x H x W x C"),
    case(conv.conv2d, X, np.ones((5, 5, 1, 1)), expected="kernel <= 4"),
    case(conv.conv2d, X, W, stride=0, expected="stride must be an integer in [1"),
    case(conv.conv2d, X, W, padding=-1, expected="padding must be an integer in [0"),
    case(conv.conv2d, "x", W, error=T, expected="images N x H x W x C"),
    case(conv.conv_matrix, W[0], (4, 4, 1), expected="KH x KW x C_in x C_out"),
    case(conv.conv_matrix, W, (4, 4), expected="(H, W, C)"),
    case(conv.conv_matrix, np.ones((3, 3, 2, 1)), (4, 4, 1), expected="input channels"),
    case(conv.conv_matrix, W, (2, 2, 1), expected="kernel <= 2"),
    case(conv.pool2d, X[0], expected="maps N x H x W x C"),
    case(conv.pool2d, X, 5, expected="kernel <= 4"),
    case(conv.pool2d, X, 2, 0, expected="stride must be an integer in [1"),
    case(conv.pool2d, X, mode="min", expected="'max' or 'avg'"),
    case(conv.shift_change, X[0, ..., 0], W, expected="one H x W x C image"),
    case(conv.shift_change, X[0], W, 0, expected="0 < shift < W"),
    case(conv.shift_change, X[0], W[0], expected="KH x KW x C_in x C_out"),
    # companion.saliency
    case(saliency.target_classes, 1.5, 2, 3, expected="one class index or 2"),
    case(saliency.target_classes, [0, 5], 2, 3, expected="[0, 3)"),
    case(saliency.target_classes, [0], 2, 3, expected="one class index or 2"),
    case(saliency.check_preprocess, 3, error=T, expected="a function of the images"),
    case(saliency.check_preprocess, None, error=T, expected="a function of the images"),
    case(saliency.check_preprocess, "to_float", error=T, expected="a function of the images"),
    case(
        saliency.check_cam_layer, "fc", (2, 4), "N x C x h x w", lambda: ["c1"], expected="e.g. c1"
    ),
    case(saliency.check_cam_layer, "x", (2,), "N x h x w x C", list, expected="N x h x w x C maps"),
    case(saliency.check_cam_layer, "fc", (2, 4), "N", list, expected="a convolutional layer"),
    case(saliency.cam_classifier, [], "Linear", expected="global average pooling and a Linear"),
    case(saliency.cam_classifier, [], "Dense", expected="and a Dense layer"),
    case(saliency.cam_classifier, (), "Dense", expected="CAM needs a model that ends in"),
    case(saliency.check_cam_channels, "relu2", 8, 16, expected="the layer right before pooling"),
    case(saliency.check_cam_channels, "relu2", 8, 16, expected="has 8 channels"),
    case(saliency.check_cam_channels, "relu2", 16, 8, expected="the classifier takes 8"),
    case(saliency.filter_request, "conv1", [], 128, 30, 8, expected="at least one filter"),
    case(saliency.filter_request, "conv1", 0, 4, 30, 8, expected="size must be an integer in [8"),
    case(saliency.filter_request, "conv1", 0, 8, -1, 8, expected="steps must be an integer in"),
    case(saliency.filter_request, "conv1", 0, 8, 1, -1, expected="jitter must be an integer in"),
    case(saliency.filter_request, 3, 0, 8, 1, 1, error=T, expected="layer must be a non-empty"),
    case(saliency.filter_request, "c", [1.5], 8, 1, 1, error=T, expected="filters must be an int"),
    case(saliency.check_filters, "conv1", [0, 2], 2, expected="has 2 filters, got indices [0, 2]"),
    case(saliency.check_filters, "conv1", [-1], 2, expected="has 2 filters"),
    case(saliency.check_filters, "conv1", [5], 4, expected="layer 'conv1' has 4 filters"),
    case(saliency.check_shapes_net, 1, 16, expected="n_classes >= 2"),
    case(saliency.check_shapes_net, 4, 0, expected="width >= 1"),
    case(saliency.check_shapes_net, 4.5, 16, error=T, expected="must be an integer"),
    case(saliency.check_reinitialisable, ["relu1"], "weights", expected="no weights to re-init"),
    case(saliency.check_reinitialisable, ["gap"], "parameters", expected="no parameters"),
    case(saliency.check_reinitialisable, ["a", "b"], "weights", expected="layers with weights"),
    case(saliency.target_classes, 0, 0, 3, expected="n_images must be an integer in [1"),
    case(saliency.normalise, MAP, expected="N x H x W"),
    case(saliency.normalise, NAN_MAPS, expected="finite"),
    case(saliency.normalise, "x", error=T, expected="N x H x W"),
    case(saliency.normalise, np.zeros((0, 2, 2)), expected="non-empty"),
    case(saliency.resize, MAPS, 0, expected="size (height) must be an integer in [1"),
    case(saliency.resize, MAPS, (4,), expected="size (height)"),
    case(saliency.resize, MAP, 4, expected="N x H x W"),
    case(saliency.resize, NAN_MAPS, 4, expected="finite"),
    case(saliency.to_mask, NAN_MAP, expected="finite"),
    case(saliency.to_mask, MAP, 0, expected="fraction in (0, 1] or 'otsu'"),
    case(saliency.to_mask, MAP, "mean", expected="fraction in (0, 1] or 'otsu'"),
    case(saliency.to_mask, MAPS, expected="one H x W map"),
    case(saliency.contours, MAPS > 0.5, expected="one H x W mask"),
    case(saliency.contours, "x", error=T, expected="one H x W mask"),
    case(saliency.contours, [], expected="one H x W mask"),
    case(saliency.largest_box, MAPS > 0.5, expected="one H x W mask"),
    case(saliency.largest_box, None, error=T, expected="one H x W mask"),
    case(saliency.largest_box, nan(MAP), expected="finite"),
    case(saliency.boxes_from_maps, NAN_MAPS, 8, expected="finite"),
    case(saliency.boxes_from_maps, MAPS, 0, expected="size (height) must be"),
    case(saliency.boxes_from_maps, MAPS, 8, 2, expected="fraction in (0, 1]"),
    case(saliency.boxes_from_maps, MAP, 8, expected="N x H x W"),
    case(saliency.rank_correlation, MAPS, MAPS[:1], expected="of one shape"),
    case(saliency.rank_correlation, NAN_MAPS, MAPS, expected="finite"),
    case(saliency.rank_correlation, MAP, MAP, expected="N x H x W"),
    case(saliency.heatmap, MAPS, expected="one H x W map"),
    case(saliency.heatmap, NAN_MAP, expected="finite"),
    case(saliency.heatmap, MAP, 0, expected="size (height) must be"),
    case(saliency.overlay, IMG[..., 0], MAP, expected="H x W x 3 picture"),
    case(saliency.overlay, IMG, NAN_MAP, expected="finite"),
    case(saliency.overlay, HOT[0], MAP, expected="[0, 1] or [0, 255]"),
    case(saliency.overlay, IMG, MAP, 2, expected="alpha must be in [0, 1]"),
    case(saliency.draw_localisation, IMG[..., 0], expected="H x W x 3 picture"),
    case(saliency.draw_localisation, IMG, box=[1, 2, 3], expected="(x0, y0, x1, y1)"),
    case(
        saliency.draw_localisation,
        IMG,
        np.zeros((3, 3), bool),
        expected="mask of the picture's size",
    ),
    case(saliency.draw_localisation, HOT[0], expected="[0, 1] or [0, 255]"),
    case(saliency.to_picture, IMG, expected="N x H x W x C arrays"),
    case(saliency.to_picture, nan(IMGS), expected="finite"),
    case(saliency.to_picture, "x", error=T, expected="N x H x W x C arrays"),
    case(saliency.gradient_magnitude, IMG, expected="N x H x W x C gradients"),
    case(saliency.gradient_magnitude, nan(IMGS), expected="finite"),
    case(saliency.gradient_magnitude, None, error=T, expected="N x H x W x C gradients"),
    # companion.metrics
    case(metrics.confusion_matrix, [0, 1], [0], 2, expected="of one length"),
    case(metrics.confusion_matrix, [0, 3], [0, 1], 2, expected="[0, 2)"),
    case(metrics.confusion_matrix, [0.5], [0], 2, error=T, expected="integer class indices"),
    case(metrics.confusion_matrix, [0], [0], 0, expected="n_classes must be an integer in [1"),
    case(metrics.accuracy, [0, 1], [0], expected="of one length"),
    case(metrics.accuracy, [], [], expected="at least one label"),
    case(metrics.accuracy, "ab", "ab", error=T, expected="1-D array of class indices"),
    case(metrics.class_report, [0, 1], [0, 1], 2, expected="positive must be an integer in [0, 2)"),
    case(metrics.class_report, [0, 1], [0, 1], 1.5, error=T, expected="positive must be an int"),
    case(metrics.class_report, [0, 4], [0, 1], 1, expected="[0, 2)"),
    case(metrics.per_class_accuracy, np.zeros((2, 3)), expected="square confusion matrix"),
    case(metrics.per_class_accuracy, np.zeros(3), expected="square confusion matrix"),
    case(metrics.per_class_accuracy, [[-1]], expected="counts >= 0"),
    case(metrics.per_class_accuracy, "x", error=T, expected="square confusion matrix"),
    case(metrics.box_iou, BOXES[:, :3], BOXES, expected="N x 4 boxes"),
    case(metrics.box_iou, BOXES, BOXES[:1], expected="of one length"),
    case(metrics.box_iou, nan(BOXES), BOXES, expected="finite"),
    case(metrics.centred_boxes, BOXES[:, :3], 8, expected="N x 4 boxes"),
    case(metrics.centred_boxes, BOXES, 0, expected="image_size must be in [1, inf]"),
    case(metrics.centred_boxes, BOXES, "x", error=T, expected="finite number"),
    case(metrics.pointing_game, MAPS, MAPS[:1] > 0, expected="of one shape"),
    case(metrics.pointing_game, NAN_MAPS, MAPS > 0, expected="finite"),
    case(metrics.pointing_game, MAPS, MAPS > 0, -1, expected="tolerance must be in [0"),
    case(metrics.per_class_table, [0], [0], "ab", error=T, expected="list of names"),
    case(metrics.per_class_table, [0, 5], [0, 1], ["a", "b"], expected="[0, 2)"),
    case(metrics.per_class_table, [], [], [], error=T, expected="non-empty list of names"),
    case(metrics.per_class_matrix, [0], [0], "ab", error=T, expected="list of names"),
    case(metrics.per_class_matrix, [0, 5], [0, 1], ["a", "b"], expected="[0, 2)"),
    case(metrics.per_class_matrix, [0, 1], [0], ["a", "b"], expected="of one length"),
    case(metrics.write_per_class_csv, 3, [0], [0], ["a"], error=T, expected="file path"),
    case(
        metrics.write_per_class_csv,
        "/no/such/folder/x.csv",
        [0],
        [0],
        ["a"],
        error=FileNotFoundError,
        expected="does not exist",
    ),
    case(
        metrics.write_per_class_csv,
        "x.csv",
        [0],
        [0],
        [],
        error=T,
        expected="non-empty list of names",
    ),
    case(metrics.ranking_scores, [True], [1], expected="Q x K booleans"),
    case(metrics.ranking_scores, [[True]], [1, 2], expected="Q x K hits and Q counts"),
    case(metrics.ranking_scores, [[True]], [0], expected="nothing to retrieve"),
    case(metrics.ranking_scores, [[True]], [2], expected="fewer than R = 2"),
    case(metrics.precision_recall, EMB[0], [0], expected="N x D embeddings"),
    case(metrics.precision_recall, EMB, [0, 1, 2, 3], expected="no class has two members"),
    case(metrics.precision_recall, EMB, [0, 0, 1, 1], 1, expected="levels must be an integer"),
    case(metrics.retrieval_scores, EMB[0], [0], expected="N x D embeddings"),
    case(metrics.retrieval_scores, EMB, [0, 1], expected="one label per embedding"),
    case(metrics.retrieval_scores, EMB, [0, 1, 2, 3], expected="no class has two members"),
    case(metrics.retrieval_scores, nan(EMB), [0, 0, 1, 1], expected="finite"),
    # companion.toy
    case(toy.center, np.zeros((2, 2, 2)), expected="H x W grey image"),
    case(toy.center, "x", error=T, expected="H x W grey image"),
    case(toy.center, [[np.nan]], expected="finite"),
    case(toy.sign_weights, 0, expected="1 <= n <= 16"),
    case(toy.sign_weights, 17, expected="1 <= n <= 16"),
    case(toy.sign_weights, 2.0, error=T, expected="must be an integer"),
    case(toy.best_weights, np.zeros((5, 5)), expected="at most 16 pixels"),
    case(toy.best_weights, np.zeros((2, 2, 2)), expected="H x W grey image"),
    case(toy.best_weights, "x", error=T, expected="H x W grey image"),
    case(toy.responses_table, [], error=T, expected="non-empty dict"),
    case(toy.responses_table, {}, error=T, expected="non-empty dict"),
    case(toy.responses_table, {"a": np.zeros((2, 2, 2))}, expected="H x W grey image"),
    # companion.imbalance
    case(imbalance.binary_task, DATA, 9, expected="minority must be an integer in [0, 4)"),
    case(imbalance.binary_task, DATA, 0, 0, expected="ratio must be an integer in [1"),
    case(imbalance.binary_task, "x", 0, error=T, expected="an ImageSet"),
    case(imbalance.binary_task, DATA, 0, 2, 10**6, expected="cannot draw"),
    case(imbalance.undersample, "x", error=T, expected="an ImageSet"),
    case(imbalance.undersample, None, error=T, expected="an ImageSet"),
    case(imbalance.undersample, IMGS, error=T, expected="an ImageSet"),
    case(imbalance.balanced_weights, [], expected="non-empty"),
    case(imbalance.balanced_weights, [[0]], expected="1-D array of class indices"),
    case(imbalance.balanced_weights, [0.5], error=T, expected="integer class indices"),
    case(imbalance.balanced_weights, [-1, 0], expected="class indices >= 0"),
    case(imbalance.oversample_index, [], expected="non-empty"),
    case(imbalance.oversample_index, [[0]], expected="1-D array of class indices"),
    case(imbalance.oversample_index, ["a"], error=T, expected="class indices"),
    case(imbalance.oversample, "x", error=T, expected="an ImageSet"),
    case(imbalance.oversample, UNEVEN, 3, error=T, expected="augment(images, seed)"),
    case(imbalance.oversample, UNEVEN, lambda im, s: im / 255.0, expected="uint8"),
    case(imbalance.step_budget, {}, 64, 5, error=T, expected="non-empty dict"),
    case(
        imbalance.step_budget,
        {"plain": 0},
        64,
        5,
        expected="sizes['plain'] must be an integer in [1",
    ),
    case(imbalance.step_budget, {"a": 10}, 64, 5, expected="one of the set-ups"),
    case(
        imbalance.step_budget, {"plain": 10}, 0, 5, expected="batch_size must be an integer in [1"
    ),
    case(imbalance.effect, "x", 0.1, 0.5, 0.1, error=T, expected="mean must be a finite number"),
    case(imbalance.effect, 0.5, -0.1, 0.5, 0.1, expected="standard deviations >= 0"),
    case(
        imbalance.effect, 0.5, 0.1, float("nan"), 0.1, expected="ref_mean must be a finite number"
    ),
    # companion.data
    case(load, "mnist", expected="expected one of fashion-mnist"),
    case(load, ["shapes"], expected="expected one of"),
    case(load, "shapes", "dev", expected="expected one of train, val, test"),
    case(load, "shapes", bogus=1, error=T, expected="unexpected option"),
    case(load, "shapes", n=0, expected="n must be an integer in [1"),
    # companion.data.fetch
    case(files.sha256sum, MISSING, error=F, expected="does not exist"),
    case(files.sha256sum, TMP, error=F, expected="not a file"),
    case(files.sha256sum, 3, error=T, expected="file path"),
    case(fetch.check_url, "ftp://example.org/x", expected="http(s)://host"),
    case(fetch.check_url, 3, error=T, expected="non-empty string"),
    case(fetch.check_url, "not a url", expected="http(s)://host"),
    case(fetch.fetch_file, "ftp://example.org/x.h5", "0" * 64, "", expected="http(s)://host"),
    case(fetch.fetch_file, 3, "0" * 64, "", error=T, expected="non-empty string"),
    case(fetch.fetch_file, "http://example.org/x.h5", "xyz", "", expected="64 hex digits"),
    case(data.keras_densenet_weights, 120, True, expected="121, 169 or 201"),
    case(data.keras_densenet_weights, True, True, expected="121, 169 or 201"),
    case(data.keras_densenet_weights, 121, "yes", error=T, expected="True or False"),
    case(data.skipped_offline, "", ConnectionError("x"), expected="non-empty string"),
    case(data.skipped_offline, 3, ConnectionError("x"), error=T, expected="non-empty string"),
    case(data.skipped_offline, "DenseNet", "offline", error=T, expected="exception"),
    case(fetch.download, "http://example.org/x", TMP / "x", "0" * 63, expected="64 hex digits"),
    case(fetch.download, "ftp://example.org/x", TMP / "x", None, expected="http(s)://host"),
    case(fetch.download, "http://example.org/x", 3, None, error=T, expected="file path"),
    case(fetch.download, "http://example.org/x", TMP / "x", "abc", expected="64 hex digits"),
    case(fetch.safe_extract, MISSING, TMP / "out", error=F, expected="does not exist"),
    case(fetch.safe_extract, NOT_TAR, TMP / "out", expected="download it again"),
    case(fetch.safe_extract, CUT_JSON, 3, error=T, expected="file path"),
    case(fetch.fetch_archive, 3, "0" * 64, "x", "", error=T, expected="non-empty string"),
    case(fetch.fetch_archive, "ftp://example.org/x.tgz", "0" * 64, "x", "", expected="http(s)://"),
    case(
        fetch.fetch_archive,
        "http://example.org/x.tgz",
        "0" * 64,
        3,
        "",
        error=T,
        expected="non-empty string",
    ),
    # companion.data.fashion
    case(fashion.read_idx, MISSING, error=F, expected="apt-get install"),
    case(fashion.read_idx, CUT_GZ, expected="not a readable gzip file"),
    case(fashion.read_idx, SHORT_IDX, expected="not an idx file"),
    case(fashion.load_fashion_mnist, "val", expected="expected 'train' or 'test'"),
    case(fashion.load_fashion_mnist, 3, expected="expected 'train' or 'test'"),
    case(fashion.load_fashion_mnist, None, expected="expected 'train' or 'test'"),
    # companion.data.folder
    case(folder.scan_folder, MISSING, error=F, expected="expected a folder"),
    case(folder.scan_folder, NO_TOC, expected="no class sub-folders"),
    case(folder.scan_folder, 3, error=T, expected="file path"),
    case(folder.scan_folder, EMPTY_CLASS, expected="holds no images"),
    case(folder.load_folder, MISSING, error=F, expected="expected a folder"),
    case(folder.load_folder, CORRUPT_IMAGE, 0, expected="image_size must be an integer in [1"),
    case(folder.load_folder, CORRUPT_IMAGE, expected="skip_unreadable=True"),
    case(folder.write_folder, "x", TMP / "w", error=T, expected="an ImageSet"),
    case(folder.write_folder, DATA, 3, error=T, expected="file path"),
    case(folder.write_folder, None, TMP / "w", error=T, expected="an ImageSet"),
    # companion.data.imageset
    case(ImageSet, IMGS / 255, [0, 1], ["a", "b"], expected="uint8 N x H x W x C"),
    case(ImageSet, IMG, [0, 1], ["a", "b"], expected="uint8 N x H x W x C"),
    case(ImageSet, IMGS, [0, 5], ["a", "b"], expected="one per class name"),
    case(ImageSet, IMGS, [0], ["a", "b"], expected="expected 2 labels"),
    case(ImageSet, IMGS, [0, 1], "ab", error=T, expected="list of names"),
    case(ImageSet, IMGS, [0, 1], ["a", "a"], expected="each name once, got ['a'] twice"),
    case(DATA.subset, [0, 99], error=IndexError, expected="indices in [0, 8)"),
    case(DATA.subset, [True, False], expected="boolean mask of 8"),
    case(DATA.subset, [0.5], error=T, expected="integer indices"),
    case(DATA.per_class, 0, expected="n must be an integer in [1"),
    case(imageset.inputs_and_labels, "x", error=T, expected="an ImageSet or an (inputs, labels)"),
    case(imageset.inputs_and_labels, (np.zeros(3), np.zeros(2)), error=T, expected="of one length"),
    case(imageset.inputs_and_labels, None, error=T, expected="an ImageSet"),
    # companion.data.online (each fails before any download)
    case(online.load_tf_flowers, "val", expected="expected 'train' or 'test'"),
    case(online.load_tf_flowers, "train", 0, expected="image_size must be an integer in [1"),
    case(online.load_tf_flowers, "train", 96, 1.5, expected="test_fraction must be in (0, 1)"),
    case(online.load_stl10, "val", expected="'unlabeled'"),
    case(online.load_stl10, 3, expected="'unlabeled'"),
    case(online.load_stl10, None, expected="'unlabeled'"),
    # companion.data.photos
    case(photos.photo, "dog", expected="expected one of chelsea"),
    case(photos.photo, 3, expected="expected one of"),
    case(photos.photo, ["chelsea"], expected="expected one of"),
    case(photos.load_sample_photos, 0, expected="image_size must be an integer in [1"),
    case(photos.load_sample_photos, "x", error=T, expected="must be an integer"),
    case(photos.load_sample_photos, 32, "chelsea", error=T, expected="a list of photo names"),
    case(photos.load_sample_photos, 32, ["dog"], expected="expected one of"),
    # companion.data.shapes
    case(shapes.make_shape, 3, 64, 0, error=T, expected="numpy Generator"),
    case(shapes.make_shape, RNG, 8, 0, expected="size must be an integer in [16"),
    case(shapes.make_shape, RNG, 64, 4, expected="label must be an integer in [0, 4)"),
    case(shapes.load_shapes, "dev", expected="expected one of train"),
    case(shapes.load_shapes, "train", 0, expected="n must be an integer in [1"),
    case(shapes.load_shapes, "train", 8, 8, expected="image_size must be an integer in [16"),
    case(shapes.load_shapes, "train", 8, 16, -1, expected="seed must be an integer in [0"),
    # companion.book.cli (argparse prints one error line and exits with 2)
    case(dryrun.write_stl10, TMP, error=F, expected="archive path in an existing folder"),
    case(dryrun.write_stl10, MISSING / "x.tgz", error=F, expected="archive path in an existing"),
    case(dryrun.write_stl10, 3, error=T, expected="file path"),
    case(dryrun.write_flowers, TMP, error=F, expected="archive path in an existing folder"),
    case(dryrun.write_flowers, TMP / "f.tgz", -1, expected="seed must be an integer in [0"),
    case(dryrun.write_flowers, TMP / "f.tgz", "0", error=T, expected="seed must be an integer"),
    case(dryrun.make_fakes, 3, error=T, expected="file path"),
    case(dryrun.make_fakes, None, error=T, expected="file path"),
    case(dryrun.make_fakes, ["x"], error=T, expected="file path"),
    case(dryrun.serve, MISSING, error=F, expected="folder of files to serve"),
    case(dryrun.serve, CUT_JSON, error=F, expected="folder of files to serve"),
    case(dryrun.serve, 3, error=T, expected="file path"),
    case(dryrun.dry_environment, TMP, "ftp://x/", expected="http(s)://host"),
    case(dryrun.dry_environment, TMP, 3, error=T, expected="non-empty string"),
    case(dryrun.dry_environment, 3, "http://127.0.0.1/", error=T, expected="file path"),
    case(dryrun.dry_run, TMP, 0, expected="shards must be an integer in [1"),
    case(dryrun.dry_run, TMP, 4, "", expected="non-empty string"),
    case(dryrun.dry_run, TMP, 4, None, "yes", error=T, expected="True or False"),
    case(dryrun.main, ["--shards", "x"], error=SystemExit, expected="invalid int value"),
    case(dryrun.main, ["--bogus"], error=SystemExit, expected="unrecognized arguments"),
    case(dryrun.main, ["--shards"], error=SystemExit, expected="expected one argument"),
    case(cli.main, ["frobnicate"], error=SystemExit, expected="invalid choice"),
    case(cli.main, ["run", "--profile", "fast"], error=SystemExit, expected="invalid choice"),
    case(cli.main, ["run", "--framework", "jax"], error=SystemExit, expected="invalid choice"),
    case(cli.main, ["run", "--shard", "3/2"], error=SystemExit, expected="i/n with 1 <= i <= n"),
    case(cli.main, [], error=SystemExit, expected="required"),
    # companion.plotting
    case(plotting.show_images, [], expected="non-empty batch of pictures"),
    case(plotting.show_images, HOT, expected="[0, 1] or [0, 255]"),
    case(plotting.show_images, IMGS, ["a"], expected="one per picture"),
    case(plotting.show_images, IMGS, ncols=0, expected="ncols must be an integer in [1"),
    case(plotting.show_feature_maps, MAP, expected="H x W x C feature map"),
    case(plotting.show_feature_maps, MAPS, 0, expected="n must be an integer in [1"),
    case(plotting.show_feature_maps, NAN_MAPS, expected="finite"),
    case(plotting.plot_toy, {}, {}, error=T, expected="non-empty dict"),
    case(
        plotting.plot_toy,
        {"a": np.zeros((2, 2))},
        {"b": np.ones((2, 2))},
        expected="the same names",
    ),
    case(
        plotting.plot_toy,
        {"a": np.zeros((2, 2, 2))},
        {"a": np.ones((2, 2))},
        expected="H x W grey image",
    ),
    case(plotting.plot_confusion_matrix, np.zeros((2, 2)), ["a"], expected="1 x 1 matrix"),
    case(plotting.plot_confusion_matrix, np.zeros((2, 2)), "ab", error=T, expected="list of names"),
    case(plotting.plot_confusion_matrix, nan(np.zeros((2, 2))), ["a", "b"], expected="finite"),
    case(plotting.plot_history, [1], error=T, expected="history dict"),
    case(plotting.plot_history, {}, expected="history dict with 'loss'"),
    case(plotting.plot_history, "loss", error=T, expected="history dict"),
    case(plotting.plot_activation_maps, {}, expected="non-empty dict"),
    case(plotting.plot_activation_maps, {"a": MAP}, expected="H x W x C map"),
    case(plotting.plot_activation_maps, [MAPS], expected="non-empty dict"),
    case(plotting.show_overlays, IMGS, {"a": MAPS[:1]}, expected="expected 2 maps"),
    case(plotting.show_overlays, IMG, {"a": MAPS}, expected="N x H x W x C"),
    case(plotting.show_overlays, IMGS, [MAPS], error=T, expected="non-empty dict"),
    case(plotting.plot_accuracy_vs_data, FRAME[:0], expected="non-empty DataFrame"),
    case(plotting.plot_accuracy_vs_data, [1, 2], error=T, expected="pandas DataFrame"),
    case(plotting.plot_accuracy_vs_data, None, error=T, expected="pandas DataFrame"),
    case(plotting.show_triplets, [], IMGS, IMGS, expected="non-empty batch"),
    case(plotting.show_triplets, IMGS, IMGS, IMGS, 0, expected="n must be an integer in [1"),
    case(plotting.show_triplets, HOT, IMGS, IMGS, expected="[0, 1] or [0, 255]"),
    case(plotting.show_retrieval, IMGS, [IMGS, IMGS], [0.5, 0.4], expected="Q x k similarities"),
    case(plotting.show_retrieval, IMGS, [IMGS], np.ones((2, 2)), expected="one row of results"),
    case(
        plotting.show_retrieval,
        IMGS,
        [IMGS[:1], IMGS[:1]],
        np.ones((2, 2)),
        expected="2 pictures per query",
    ),
    case(plotting.plot_embeddings_2d, {"a": EMB[0]}, [0, 1, 0], XY, expected="x D embeddings"),
    case(plotting.plot_embeddings_2d, [EMB], [0, 1, 0, 1], ["x", "y"], error=T, expected="dict"),
    case(plotting.plot_embeddings_2d, {"a": EMB}, [0, 1], ["x", "y"], expected="2 x D embeddings"),
    case(plotting.plot_embeddings_2d, {"a": EMB}, [0, 1, 0, 1], "xy", error=T, expected="list of"),
    case(plotting.plot_scores, FRAME[:0], expected="non-empty DataFrame"),
    case(plotting.plot_scores, None, error=T, expected="pandas DataFrame"),
    case(plotting.plot_scores, [1], error=T, expected="pandas DataFrame"),
    case(plotting.plot_precision_recall, {}, error=T, expected="a non-empty dict"),
    case(plotting.plot_precision_recall, {"a": [1]}, expected="expected (recall, precision)"),
    case(plotting.plot_precision_recall, {"a": ([0, 1], [1])}, expected="of one length"),
    case(plotting.plot_curve, SERIES[:0], "x", "y", expected="non-empty Series"),
    case(plotting.plot_curve, [1, 2], "x", "y", error=T, expected="pandas Series"),
    case(plotting.plot_curve, SERIES, "x", "y", [1], error=T, expected="dict {name: value}"),
    # companion.results
    case(results.article_number, 2, "x", error=T, expected="chapter must be a non-empty string"),
    case(results.article_number, "02", None, error=T, expected="metric name must be a non-empty"),
    case(results.article_number, "", "x", expected="chapter must be a non-empty string"),
    case(results.chapter_of, 3, error=T, expected="file path"),
    case(results.chapter_of, "notebooks/torch/intro.ipynb", expected="like notebooks/torch/05_x"),
    case(results.chapter_of, None, error=T, expected="file path"),
    case(results.load_reference, MISSING, error=F, expected="make notebooks"),
    case(results.load_reference, CUT_JSON, expected="not valid JSON"),
    case(results.load_reference, LIST_JSON, expected="does not map notebook paths"),
    case(results.load_reference, 3, error=T, expected="file path"),
    case(results.load_reference, NULL_ENTRY, expected="holds no whole result for notebooks/"),
    case(results.read_results, MISSING, "fix it", error=F, expected="does not exist: fix it"),
    case(results.read_results, NULL_ENTRY, "fix it", expected="no whole result for notebooks/"),
    case(results.read_results, LIST_JSON, "fix it", expected="does not map notebook paths"),
    case(results.read_results, CUT_JSON, "", expected="non-empty string"),
    case(tolerances.tolerance, 3, 0.5, error=T, expected="non-empty string"),
    case(tolerances.tolerance, "x", [1], error=T, expected="a number, string or bool"),
    case(tolerances.tolerance, "", 0.5, expected="non-empty string"),
    case(tolerances.within, 3, 0.5, 0.5, error=T, expected="non-empty string"),
    case(tolerances.within, "x", [1], 0.5, error=T, expected="a number, string or bool"),
    case(tolerances.within, "", 0.5, 0.5, expected="non-empty string"),
    case(tolerances.compare, [], {}, error=T, expected="dict {metric: value}"),
    case(tolerances.compare, {}, None, error=T, expected="dict {metric: value}"),
    case(tolerances.compare, "a", {}, error=T, expected="dict {metric: value}"),
    case(results.chapter_table, "x.ipynb", expected="like notebooks/torch/05_x"),
    case(results.chapter_table, 3, expected="like notebooks/torch/05_x"),
    case(results.chapter_table, NB_PATH, [1], error=T, expected="metrics: expected a dict"),
    case(results_page.gpu_target, {}, "x", {}, error=T, expected="a list of bands"),
    case(results_page.gpu_target, [], "", {}, expected="non-empty string"),
    case(results_page.gpu_target, [], "x", {"jax": {}}, error=T, expected="'torch' or"),
    case(results_page.gpu_target, [3], "x", {}, error=T, expected="expected a band"),
    case(tolerances.load_bands, MISSING, expected="holds no gpu bands"),
    case(tolerances.load_bands, LIST_JSON, expected="holds no gpu bands"),
    case(tolerances.load_bands, 3, error=T, expected="file path"),
    case(tolerances.bands_for, [], NB_PATH, error=T, expected="{chapter: [band, ...]}"),
    case(tolerances.bands_for, {"05": 3}, NB_PATH, error=T, expected="{chapter: [band, ...]}"),
    case(tolerances.bands_for, {}, "x.ipynb", expected="notebooks/torch/ or"),
    case(tolerances.checked_band, None, error=T, expected="expected a band"),
    case(tolerances.checked_band, {**BAND, "framework": "jax"}, expected="'torch' or"),
    case(tolerances.checked_band, {**BAND, "above": "x"}, expected="'at_least' and/or"),
    case(tolerances.band_text, 3, error=T, expected="expected a band"),
    case(tolerances.band_text, {"metric": "m", "reason": "r"}, expected="'at_least' and/or"),
    case(tolerances.band_text, {"metric": "m", "reason": ""}, expected="non-empty string"),
    case(tolerances.check_band, [], {}, error=T, expected="expected a band"),
    case(tolerances.check_band, BAND, [], error=T, expected="dict {metric: value}"),
    case(tolerances.check_band, {**BAND, "below": 1}, {}, expected="'at_least' and/or"),
    case(tolerances.check_gpu_results, [], [], error=T, expected="{notebook path: result entry}"),
    case(tolerances.check_gpu_results, {"x": 3}, [], error=T, expected="{notebook path: result"),
    case(tolerances.check_gpu_results, {}, NB_PATH, error=T, expected="list of notebook paths"),
    case(tolerances.check_gpu, MISSING, error=F, expected="does not exist"),
    case(tolerances.check_gpu, CUT_JSON, expected="not valid JSON"),
    case(tolerances.check_gpu, 3, error=T, expected="file path"),
    case(checks.notebook_paths, NB_PATH, error=T, expected="list of notebook paths"),
    case(checks.notebook_paths, 3, error=T, expected="list of notebook paths"),
    case(checks.notebook_paths, [NB_PATH, 3], error=T, expected="(strings)"),
    case(results_page.results_page, [], error=T, expected="{notebook path: result entry}"),
    case(results_page.results_page, {"x": {}}, expected="like notebooks/torch/05_x"),
    case(
        results_page.results_page,
        {"notebooks/jax/05_x.ipynb": {"framework": "jax"}},
        expected="'torch' or 'tensorflow'",
    ),
    # companion.transfer
    case(transfer.imagenet_mapping, ["Nope"], expected="no mapping entry"),
    case(transfer.imagenet_mapping, "Shirt", error=T, expected="a list of names"),
    case(transfer.imagenet_mapping, ["Shirt"], expected="names no ImageNet class"),
    case(transfer.imagenet_mapping, ["a"], {"a": ["no such"]}, expected="not ImageNet class names"),
    case(transfer.imagenet_mapping, ["a"], [1], error=T, expected="a dict"),
    case(transfer.zero_shot_predict, np.zeros((2, 10)), ["Bag"], expected="N x 1000"),
    case(transfer.zero_shot_predict, nan(np.zeros((2, 1000))), ["Bag"], expected="finite"),
    case(transfer.zero_shot_predict, np.zeros((2, 1000)), ["Nope"], expected="no mapping entry"),
    case(images.resize_images, IMGS / 255, 4, expected="uint8"),
    case(images.resize_images, IMG, 4, expected="N x H x W x C"),
    case(images.resize_images, IMGS, 0, expected="size must be an integer in [1"),
    case(images.resize_images, IMGS, 2.5, error=T, expected="size must be an integer"),
    case(data.resized, "x", 8, error=T, expected="an ImageSet"),
    case(data.resized, DATA, 0, expected="size must be an integer in [1"),
    case(data.resized, None, 8, error=T, expected="an ImageSet"),
    case(transfer.split_per_class, DATA, 1000, 1, expected="asked for"),
    case(transfer.split_per_class, "x", 1, 1, error=T, expected="an ImageSet"),
    case(transfer.split_per_class, DATA, 0, 1, expected="n_train must be an integer in [1"),
    case(transfer.dense_connections, -1, expected="layers must be an integer in [0"),
    case(transfer.dense_connections, 1.5, error=T, expected="must be an integer"),
    case(transfer.dense_connections, "3", error=T, expected="must be an integer"),
    case(transfer.densenet_channels, "abc", error=T, expected="layers per dense block"),
    case(transfer.densenet_channels, (6, 0), expected="layers per block must be an integer in [1"),
    case(transfer.densenet_channels, (6,), 0, expected="growth_rate must be an integer in [1"),
    case(training.TrainerSpec, "rmsprop", expected="'adam' or 'sgd'"),
    case(training.TrainerSpec, "adam", 0, expected="lr must be > 0"),
    case(training.TrainerSpec, "adam", "x", error=T, expected="lr must be a finite number"),
    case(training.TrainerSpec, "adam", 0.1, step_size=1.5, error=T, expected="must be an integer"),
    case(training.classifier_trainer, 0, expected="lr must be > 0"),
    case(training.classifier_trainer, 0.1, -1, expected="step_size"),
    case(training.classifier_trainer, "x", error=T, expected="lr must be a finite number"),
    case(training.sgd_trainer, -1, expected="lr must be > 0"),
    case(training.sgd_trainer, 0.1, 0.9, -1, expected="step_size"),
    case(training.sgd_trainer, 0.1, "x", error=T, expected="momentum must be a finite number"),
    # companion.retrieval
    case(retrieval.cosine_similarity, [1, 2], [1, 2, 3], expected="of one length"),
    case(retrieval.cosine_similarity, [0, 0], [1, 1], expected="non-zero feature vectors"),
    case(retrieval.cosine_similarity, "ab", [1], error=T, expected="a feature vector"),
    case(retrieval.cosine_similarity, [np.nan, 1], [1, 1], expected="finite"),
    case(retrieval.feature_table, EMB[0], expected="N x D"),
    case(retrieval.feature_table, EMB, ["a.jpg"], expected="file names"),
    case(retrieval.feature_table, nan(EMB), expected="NaN"),
    case(retrieval.search_rowwise, EMB[0], TABLE, 0, expected="k must be in 1..4"),
    case(retrieval.search_rowwise, EMB[0], "table", error=T, expected="feature_table(...)"),
    case(retrieval.search_rowwise, EMB[0], TABLE, 1.5, error=T, expected="k must be an integer"),
    case(retrieval.normalise, EMB[0], expected="N x D"),
    case(retrieval.normalise, nan(EMB), expected="NaN"),
    case(retrieval.normalise, "x", error=T, expected="N x D"),
    case(retrieval.search, [[1.0, 0], [0, 0]], EMB[:, :2], 1, expected="zero vectors at rows [1]"),
    case(retrieval.search, EMB, EMB, 0, expected="k must be in 1..4"),
    case(retrieval.search, EMB, EMB[:, :2], expected="dimensions"),
    case(retrieval.search, EMB[:2], EMB, exclude_self=True, expected="exclude_self"),
    case(retrieval.search, EMB, EMB, batch_size=0, expected="batch_size must be an integer in [1"),
    # companion.triplet
    case(triplet.select_classes, DATA, ["dog"], expected="expected names from"),
    case(triplet.select_classes, "x", ["circle"], error=T, expected="an ImageSet"),
    case(triplet.select_classes, DATA, "circle", error=T, expected="non-empty list of names"),
    case(triplet.select_classes, DATA, ["circle"], 10**6, expected="fewer than 1000000"),
    case(triplet.chapter_data, "mnist", expected="dataset must be one of"),
    case(triplet.chapter_data, "fashion-mnist", 0, expected="n_per_class must be an integer in [1"),
    case(triplet.chapter_data, "fashion-mnist", image_size=0, expected="image_size must be"),
    case(triplet.resized_split, "shapes", "train", 0, 8, expected="a positive number of images"),
    case(triplet.resized_split, "shapes", "train", 4, 0, expected="image_size must be"),
    case(triplet.resized_split, "shapes", "dev", 4, 8, expected="expected one of train"),
    case(triplet.random_negatives, 0, expected="positive number of anchors"),
    case(triplet.random_negatives, 1.5, expected="positive number of anchors"),
    case(triplet.random_negatives, "3", expected="positive number of anchors"),
    case(triplet.all_negatives_loss, np.zeros(3), np.zeros(3), 0.2, expected="N x D anchors"),
    case(triplet.all_negatives_loss, np.zeros((1, 2)), np.zeros((1, 2)), 0.2, expected="N >= 2"),
    case(
        triplet.all_negatives_loss,
        np.full((2, 2), np.nan),
        np.zeros((2, 2)),
        0.2,
        expected="finite embeddings",
    ),
    case(triplet.same_class_rate, [0, 1], [0], expected="of one length"),
    case(triplet.same_class_rate, [0, 1], [0, 5], expected="concat(anchors, positives): 0..3"),
    case(triplet.same_class_rate, [], [], expected="of one length"),
    case(triplet.same_class_rate, [0.5], [0], error=T, expected="integer class indices"),
    case(triplet.oracle_negatives, [1, 1, 1], expected="at least two classes, got 1"),
    case(triplet.oracle_negatives, [], expected="at least two classes, got 0"),
    case(triplet.oracle_negatives, [0.5, 1], error=T, expected="integer class indices"),
    case(triplet.check_crop_fraction, 0, expected="crop_fraction must be in (0, 1], got 0"),
    case(triplet.check_crop_fraction, 1.5, expected="crop_fraction must be in (0, 1], got 1.5"),
    case(triplet.check_crop_fraction, "x", error=T, expected="finite number"),
    case(triplet.train_val_split, 1, expected="n >= 2"),
    case(triplet.train_val_split, 4, 0.1, expected="leaves an empty part"),
    case(triplet.train_val_split, 4, 0.9, expected="leaves an empty part"),
    case(triplet.train_val_split, 10, 1.5, expected="0 < train_fraction < 1"),
    case(triplet.train_val_split, 10, "x", error=T, expected="finite number"),
    case(triplet.train_val_split, 2.5, error=T, expected="must be an integer"),
    case(triplet.semi_hard_reference, np.zeros((2, 3)), [0, 1], expected="B x B distance matrix"),
    case(triplet.semi_hard_reference, np.zeros((2, 2)), [0.5, 1], error=T, expected="integer"),
    case(triplet.semi_hard_reference, nan(np.zeros((2, 2))), [0, 1], expected="finite"),
    # companion.book.runner
    case(runner.notebooks_in_toc, NO_TOC, error=F, expected="run from the book's root"),
    case(runner.notebooks_in_toc, 3, error=T, expected="file path"),
    case(runner.notebooks_in_toc, BAD_TOC, expected="not valid YAML"),
    case(runner.framework_of, "notebooks/jax/x.ipynb", expected="notebooks/torch/ or"),
    case(runner.framework_of, 3, error=T, expected="file path"),
    case(runner.framework_of, "x.ipynb", expected="notebooks/torch/ or"),
    case(runner.kernel_died, "Kernel died", error=T, expected="an exception"),
    case(runner.kernel_died, None, error=T, expected="an exception"),
    case(runner.kernel_died, RuntimeError, error=T, expected="an exception"),
    case(runner.select, [NB_PATH], "jax", expected="'torch', 'tensorflow' or None"),
    case(runner.expected_seconds, "abc", error=T, expected="list of notebook paths"),
    case(runner.expected_seconds, [3], error=T, expected="list of notebook paths"),
    case(runner.expected_seconds, [NB_PATH], "fast", expected="expected one of smoke"),
    case(runner.shards, [NB_PATH], 0, {NB_PATH: 1}, expected="n must be an integer in [1"),
    case(runner.shards, [NB_PATH], 2, [], error=T, expected="{notebook path: seconds}"),
    case(runner.shards, [NB_PATH], 2, {NB_PATH: -1}, expected="finite number of seconds >= 0"),
    case(runner.shards, [NB_PATH], 2, {}, expected="finite number of seconds >= 0"),
    case(runner.finished_results, CUT_SHARD, "results-1of2", [], "gpu", expected="not valid JSON"),
    case(runner.finished_results, LIST_SHARD, "results-1of2", [], "gpu", expected="does not map"),
    case(runner.finished_results, TMP, "", [], "gpu", expected="non-empty string"),
    case(runner.finished_results, TMP, "results", [], "fast", expected="expected one of smoke"),
    case(runner.select, "abc", error=T, expected="list of notebook paths"),
    case(runner.select, [NB_PATH], shard="0/2", expected="i/n with 1 <= i <= n"),
    case(runner.select, [NB_PATH], only=3, error=T, expected="a string or None"),
    *[
        case(f, bad, error=T, expected="a notebook (nbformat.read")
        for bad in ("x", None, {})
        for f in (runner.recorded_metrics, runner.run_info, runner.title_of)
    ],
    case(runner.entry_of, "notebooks/jax/x.ipynb", NOTEBOOK, expected="notebooks/torch/ or"),
    case(runner.entry_of, "notebooks/torch/x.ipynb", "x", error=T, expected="a notebook"),
    case(runner.entry_of, 3, NOTEBOOK, error=T, expected="file path"),
    case(runner.drop_injected_parameters, MISSING, error=F, expected="does not exist"),
    case(runner.drop_injected_parameters, NOT_NOTEBOOK, expected="not a readable notebook"),
    case(runner.drop_injected_parameters, 3, error=T, expected="file path"),
    case(runner.execute, NO_TOC, NB_PATH, TMP, "smoke", error=F, expected="_toc.yml"),
    case(
        runner.execute,
        ROOT,
        "notebooks/torch/99_nope.ipynb",
        TMP,
        "smoke",
        error=F,
        expected="a path from _toc.yml",
    ),
    case(runner.execute, ROOT, NB_PATH, TMP, "fast", expected="expected one of smoke"),
    case(runner.execute, ROOT, NB_PATH, TMP, "smoke", -1, expected="seed must be an integer in [0"),
    case(runner.results_markdown, [], error=T, expected="{notebook path: entry}"),
    case(runner.results_markdown, {"x": {}}, expected="missing ['framework'"),
    case(runner.results_markdown, None, error=T, expected="{notebook path: entry}"),
    case(runner.write_results, {}, MISSING, error=F, expected="output folder"),
    case(runner.write_results, {"x": {}}, TMP, expected="missing ['framework'"),
    case(runner.write_results, {}, TMP, "", expected="non-empty string"),
    case(runner.merge_results, NO_TOC, error=F, expected="--shard i/n"),
    case(runner.merge_results, CUT_SHARD, expected="results-1of2.json is not valid JSON"),
    case(runner.merge_results, LIST_SHARD, expected="does not map notebook paths"),
    case(runner.merge_results, 3, error=T, expected="file path"),
    case(runner.runnable, CONFLICTED, expected="holds merge-conflict markers: resolve"),
    case(runner.runnable, NO_PARAMETERS, expected="no code cell tagged 'parameters'"),
    case(runner.runnable, NOT_NOTEBOOK, expected="is not a notebook"),
    case(runner.runnable, MISSING, error=F, expected="restore it with git"),
    case(runner.build_book, NO_TOC, TMP, TMP, error=F, expected="_toc.yml"),
    case(runner.build_book, 3, TMP, TMP, error=T, expected="file path"),
    case(runner.build_book, ROOT, 3, TMP, error=T, expected="file path"),
    *[
        call(
            runner.environment, lambda v=v: runner.environment(v).__enter__(), T, "dict of strings"
        )
        for v in ([], {"A": 1}, {1: "x"})
    ],
    case(runner.execute_all, NO_TOC, [], TMP, "smoke", error=F, expected="_toc.yml"),
    case(runner.execute_all, ROOT, ["x.ipynb"], TMP, "smoke", expected="notebooks/torch/ or"),
    case(runner.execute_all, ROOT, [], TMP, "fast", expected="expected one of smoke"),
    case(runner.committed_results, NO_TOC, error=F, expected="_toc.yml"),
    case(runner.committed_results, 3, error=T, expected="file path"),
    case(runner.committed_results, None, error=T, expected="file path"),
    case(runner.committed_results, LOST, error=F, expected="01_lost.ipynb is listed in _toc.yml"),
    case(runner.write_committed_results, NO_TOC, error=F, expected="_toc.yml"),
    case(runner.write_committed_results, 3, error=T, expected="file path"),
    case(runner.write_committed_results, None, error=T, expected="file path"),
    case(runner.run, ROOT, "fast", expected="expected one of smoke"),
    case(runner.run, NO_TOC, "smoke", error=F, expected="_toc.yml"),
    case(runner.run, ROOT, "smoke", "jax", expected="'torch', 'tensorflow' or None"),
    case(runner.run, ROOT, "smoke", shard="x", expected="i/n with 1 <= i <= n"),
    case(runner.check, ROOT, "fast", expected="expected one of smoke"),
    case(runner.check, NO_TOC, error=F, expected="_toc.yml"),
    case(runner.check, ROOT, "cpu", "jax", expected="'torch', 'tensorflow' or None"),
    # companion.book.extension
    case(extension.chapters, NO_TOC, error=F, expected="_toc.yml does not exist or is not a file"),
    case(extension.chapters, 3, error=T, expected="file path"),
    case(extension.chapters, BAD_TOC, expected="not a jupyter-book table of contents"),
    case(extension.chapter_figure, "x", error=T, expected="a notebook (nbformat.read)"),
    case(extension.chapter_figure, NOTEBOOK, 3, error=T, expected="marker must be a non-empty"),
    case(extension.chapter_figure, None, error=T, expected="a notebook (nbformat.read)"),
    case(extension.as_png, "x", error=T, expected="None or ('png' or 'jpeg', bytes)"),
    case(extension.as_png, ("gif", b""), error=T, expected="None or ('png' or 'jpeg', bytes)"),
    case(extension.as_png, ("jpeg", b"garbage"), expected="the bytes of a JPEG picture"),
    case(extension.run_times, [], error=T, expected="runner.entry_of(...)"),
    *[
        case(extension.accessible_markup, bad, error=T, expected="the HTML of a page as a str")
        for bad in (None, b"<p>", ["<p>"])
    ],
    case(extension.run_times, {"x": {}}, error=T, expected="with a 'framework'"),
    case(extension.run_times, None, error=T, expected="runner.entry_of(...)"),
    *[
        case(extension.setup, app, error=T, expected="the Sphinx application")
        for app in (None, "x", object())
    ],
    # companion.files
    case(files.atomic_write, 3, print, error=T, expected="path must be a file path"),
    case(
        files.atomic_write,
        TMP / "missing" / "x.csv",
        print,
        error=F,
        expected="missing does not exist: expected a file path in an existing folder",
    ),
    case(
        files.atomic_write,
        TMP / "x.csv",
        None,
        error=T,
        expected="write: expected a function of the temporary path, got NoneType",
    ),
    # companion.book.pages, companion.book.layout
    case(pages.check_book, NO_TOC, None, "chromium", error=F, expected="run `make book` first"),
    case(pages.check_book, 3, None, "chromium", error=T, expected="file path"),
    case(pages.check_book, HTML, None, 3, error=T, expected="chromium must be a non-empty"),
    case(pages.check_book, HTML, None, "chromium", 0, expected="timeout_s must be > 0"),
    case(
        pages.check_book,
        HTML,
        None,
        "chromium",
        axe=TMP / "missing.js",
        error=F,
        expected="`make axe` installs axe-core from npm",
    ),
    *[
        case(layout.fit_lines, bad, error=T, expected="a code cell's source (str)")
        for bad in (3, None, b"x = 1")
    ],
    *[
        case(layout.lay_out, bad, error=T, expected="a notebook's JSON")
        for bad in ([], {"cells": [{}]}, {})
    ],
    *[
        case(layout.long_cells, bad, error=T, expected="a notebook's JSON")
        for bad in (None, {"cells": [{"source": "x"}]}, {"cells": "x"})
    ],
    # companion.book.colab_path
    case(colab_path.colab_copy, MISSING, "u", TMP / "c.ipynb", error=F, expected="git checkout"),
    case(colab_path.colab_copy, NO_PARAMETERS, "u", TMP / "c.ipynb", expected="run `make format`"),
    case(
        colab_path.colab_copy, ROOT / NB_PATH, 3, TMP / "c.ipynb", error=T, expected="url must be"
    ),
    case(colab_path.rehearse, ROOT, [], TMP / "r", expected="at least one notebook path"),
    case(colab_path.rehearse, ROOT, NB_PATH, TMP / "r", error=T, expected="notebook paths"),
    case(colab_path.rehearse, 3, [NB_PATH], TMP / "r", error=T, expected="root must be a file"),
    case(colab_path.main, ["--frobnicate"], error=SystemExit, expected="unrecognized arguments"),
    case(colab_path.main, ["a"], error=SystemExit, expected="unrecognized arguments"),
    case(colab_path.main, ["--out"], error=SystemExit, expected="expected one argument"),
    # companion.book.lab
    case(lab.copy_cleared, "notebooks/torch/01.ipynb", TMP, error=T, expected="notebook paths"),
    case(lab.copy_cleared, [str(MISSING)], TMP, error=F, expected="git checkout -- "),
    case(lab.copy_cleared, [NB_PATH], 3, error=T, expected="root must be a file path"),
    case(lab.saved_problems, MISSING, error=F, expected="does not exist or is not a file"),
    case(lab.saved_problems, NOT_NOTEBOOK, expected="expected a saved .ipynb"),
    case(lab.saved_problems, None, error=T, expected="notebook must be a file path"),
    case(lab.check_lab, [], TMP, "chromium", expected="at least one notebook path"),
    case(lab.check_lab, [NB_PATH], TMP, "chromium", 0, expected="jobs"),
    case(lab.check_lab, [NB_PATH], TMP, "chromium", 1, 0, expected="timeout_s must be > 0"),
    case(lab.main, ["--frobnicate"], error=SystemExit, expected="unrecognized arguments"),
    case(lab.main, ["--jobs", "0"], error=SystemExit, expected="expected --jobs >= 1"),
    case(lab.main, ["--timeout", "x"], error=SystemExit, expected="invalid float value"),
    case(pages.main, ["--frobnicate"], error=SystemExit, expected="unrecognized arguments"),
    case(pages.main, ["a", "b"], error=SystemExit, expected="unrecognized arguments"),
    case(pages.main, ["--screens"], error=SystemExit, expected="expected one argument"),
    case(layout.main, [], error=SystemExit, expected="required: paths"),
    case(layout.main, ["--frobnicate"], error=SystemExit, expected="required: paths"),
    case(layout.main, ["--check"], error=SystemExit, expected="required: paths"),
    # companion.simclr (Chapter 4; cases on its own checks, which this work did not change)
    case(simclr.check_views, 3, 2, 2, expected="batch_size x n_views = 2 x 2 = 4 rows"),
    case(simclr.check_views, 4, 0, 2, expected="batch_size must be an int >= 2"),
    case(simclr.check_views, 4, 2, 1, expected="n_views must be an int >= 2"),
    case(simclr.check_temperature, 0, expected="a number > 0"),
    case(simclr.check_temperature, "x", expected="a number > 0"),
    case(simclr.check_temperature, float("nan"), expected="a number > 0"),
    case(simclr.view_labels, 0, expected="batch_size must be an int >= 2"),
    case(simclr.view_labels, 2.5, expected="batch_size must be an int >= 2"),
    case(simclr.view_labels, 2, 0, expected="n_views must be an int >= 2"),
    case(simclr.similarity_matrix, FEATS, 3, expected="3 x 2 = 6 rows, got 8"),
    case(simclr.similarity_matrix, FEATS[0], 4, expected="a 2-D array (rows x dimensions)"),
    case(simclr.similarity_matrix, FEATS, 0, expected="batch_size must be an int >= 2"),
    case(simclr.info_nce_steps, FEATS, 3, expected="3 x 2 = 6 rows, got 8"),
    case(simclr.info_nce_steps, FEATS, 4, 2, 0, expected="temperature must be a number > 0"),
    case(simclr.info_nce_steps, FEATS[0], 4, expected="a 2-D array (rows x dimensions)"),
    case(simclr.info_nce_logits, FEATS, 3, expected="3 x 2 = 6 rows, got 8"),
    case(simclr.info_nce_logits, FEATS, 4, 2, -1, expected="temperature must be a number > 0"),
    case(simclr.info_nce_logits, FEATS, 4, 1, expected="n_views must be an int >= 2"),
    case(simclr.info_nce, FEATS, 3, expected="3 x 2 = 6 rows, got 8"),
    case(simclr.info_nce, FEATS, 4, 2, 0, expected="temperature must be a number > 0"),
    case(simclr.info_nce, FEATS[0], 4, expected="a 2-D array (rows x dimensions)"),
    case(simclr.cross_entropy, np.zeros((2, 3)), [[0], [1]], expected="N x C logits and N labels"),
    case(simclr.cross_entropy, np.zeros((2, 3)), [0], expected="N x C logits and N labels"),
    case(simclr.cross_entropy, np.zeros(3), [0], expected="N x C logits and N labels"),
    case(simclr.topk_accuracy, np.zeros((2, 3)), [0, 1], (5,), expected="k must be in 1..3"),
    case(simclr.topk_accuracy, np.zeros((2, 3)), [0], expected="N x C logits and N labels"),
    case(simclr.topk_accuracy, np.zeros(3), [0], expected="N x C logits and N labels"),
    case(simclr.knn_accuracy, FEATS, [0] * 8, FEATS, [0] * 8, 0, expected="k must be in 1..8"),
    case(simclr.knn_accuracy, FEATS, [0], FEATS, [0] * 8, expected="k must be in 1..8"),
    case(simclr.knn_accuracy, FEATS[0], [0], FEATS, [0] * 8, expected="2-D feature arrays"),
    case(simclr.strip_backbone, "x", expected="a non-empty dict of named weights"),
    case(simclr.strip_backbone, {"a": 1}, expected="start with 'backbone.'"),
    case(simclr.strip_backbone, None, expected="a non-empty dict of named weights"),
    case(simclr.check_keys, ["a"], [], expected="does not fit the encoder: missing keys ['a']"),
    case(simclr.check_keys, [], ["b"], expected="unexpected keys ['b']"),
    case(simclr.check_keys, ["a", "b"], ["a"], expected="missing keys ['b']"),
    case(triplet.check_score, "x", error=T, expected="score: expected a function of no argument"),
    case(triplet.check_score, 3, error=T, expected="score: expected a function of no argument"),
    case(triplet.check_score, [len], error=T, expected="returning {name: number}, got list"),
    case(triplet.score_values, lambda: [1], error=T, expected="a non-empty dict {name: number}"),
    case(triplet.score_values, lambda: {}, error=T, expected="a non-empty dict {name: number}"),
    case(triplet.score_values, lambda: {"m": float("nan")}, expected="'m' must be a finite number"),
    case(triplet.score_values, lambda: {1: 0.5}, error=T, expected="must be a non-empty string"),
    case(simclr.alignment, FEATS, FEATS[:4], expected="two non-empty N x D arrays of one shape"),
    case(
        simclr.alignment,
        FEATS[0],
        FEATS[0],
        expected="view1: expected N x D features of first views, got shape (4,)",
    ),
    case(simclr.alignment, FEATS, FEATS, -1, expected="alpha must be in [0, inf], got -1"),
    case(simclr.uniformity, FEATS[:1], expected="N x D features with N >= 2, got (1, "),
    case(
        simclr.uniformity,
        FEATS[0],
        expected="features: expected N x D features (N >= 2), got shape (4,)",
    ),
    case(simclr.uniformity, FEATS, -1, expected="t must be in [0, inf], got -1"),
    case(simclr.check_shapes, {"a": (1,)}, {"a": (2,)}, expected="(1,) in the encoder"),
    case(simclr.check_shapes, {"a": (1,)}, {"a": (1, 2)}, expected="(1,) in the encoder"),
    case(simclr.check_shapes, {"w": (3, 3)}, {"w": (3,)}, expected="(3, 3) in the encoder"),
    case(simclr.label_fraction, [0, 1], 0, expected="fraction must be in (0, 1]"),
    case(simclr.label_fraction, [0, 1], 2, expected="fraction must be in (0, 1]"),
    case(simclr.label_fraction, [0, 1], float("nan"), expected="fraction must be in (0, 1]"),
    case(simclr.embed_2d, FEATS, 0, "umap", expected="'tsne' or 'pca'"),
    case(simclr.embed_2d, FEATS[0], expected="at least 5 feature rows"),
    case(simclr.spread, FEATS[:1], expected="N >= 2"),
    case(simclr.spread, FEATS[0], expected="N x D features"),
    case(simclr.spread, [[np.nan, 1.0], [1.0, 2.0]], expected="finite"),
    case(simclr.warn_if_collapsed, "x", 1, 1.0, error=T, expected="spread must be a finite number"),
    case(simclr.warn_if_collapsed, 0.5, 0, 1.0, expected="epoch must be an integer in [1"),
    case(simclr.warn_if_collapsed, 0.5, 1, None, error=T, expected="largest must be"),
    case(simclr.embed_2d, FEATS[:3], expected="at least 5 feature rows"),
    case(plotting.plot_embedding, FEATS, [0], ["a"], expected="N x 2 points and N labels"),
    case(plotting.plot_embedding, FEATS[0], [0], ["a"], expected="N x 2 points and N labels"),
    case(plotting.plot_embedding, "x", [0], ["a"], expected="N x 2 points and N labels"),
    # the checks both editions' trainers, transfer levels and triplets share
    case(training.fit_spec, None, 1e-3, -1, None, None, False, None, expected="epochs must be"),
    case(training.fit_spec, None, 1e-3, 1, 0, None, False, None, expected="steps_per_epoch must"),
    case(
        training.fit_spec, "sgd", 1e-3, 1, None, None, False, None, error=T, expected="TrainerSpec"
    ),
    case(
        training.fit_spec, None, 1e-3, 1, None, None, True, None, expected="need a validation set"
    ),
    case(training.batch_arrays, (IMGS[:0], np.zeros(0)), 4, expected="empty data set"),
    case(files.checkpoint_target, TMP, error=IsADirectoryError, expected="is a folder"),
    case(files.checkpoint_target, MISSING / "x.pt", error=F, expected="mkdir -p"),
    case(files.checkpoint_target, TMP / "x.pt", ".keras", expected="a path ending in .keras"),
    case(files.checkpoint_target, TMP / "x.pt", 3, error=T, expected="a file suffix"),
    case(files.checkpoint_target, 3, error=T, expected="file path"),
    case(files.checkpoint_target, TMP / "x.pt", ".pt", -1, expected="size must be an integer"),
    case(files.checkpoint_target, TMP / "x.pt", ".pt", 2**62, error=OSError, expected="needed"),
    case(files.remove_stale_parts, 3, error=T, expected="file path"),
    case(files.remove_stale_parts, None, error=T, expected="file path"),
    case(files.remove_stale_parts, "", expected="path"),
    case(training.check_settings, TMP, None, {}, error=T, expected="a dict of settings"),
    case(training.check_settings, TMP, {}, [], error=T, expected="a dict of settings"),
    case(training.check_settings, TMP, {"lr": 1}, {"lr": 2}, expected="(lr 1, now 2): delete it"),
    case(training.check_last_batch, 9, 4, True, expected="a batch of one, which BatchNorm"),
    case(training.check_last_batch, 9, 8, True, expected="leaves none (e.g. 9)"),
    case(training.check_last_batch, 0, 4, True, expected="n must be an integer in [1"),
    case(training.check_last_batch, 9, 4, "yes", error=T, expected="True or False"),
    case(training.batch_arrays, DATA, 0, expected="batch_size must be an integer in [1"),
    case(training.batch_arrays, "x", 4, error=T, expected="ImageSet"),
    case(transfer.check_level, 5, False, expected="level must be one of (1, 2, 3, 4)"),
    case(transfer.check_level, True, False, expected="level must be one of"),
    case(
        transfer.check_level, 2, "yes", error=T, expected="freeze_batchnorm must be True or False"
    ),
    case(transfer.check_densenet, 100, True, expected="depth must be one of [121, 169, 201]"),
    case(transfer.check_densenet, True, True, expected="depth must be one of"),
    case(transfer.check_densenet, 121, 1, error=T, expected="pretrained must be True or False"),
    case(triplet.check_margin, -0.1, expected="margin must be >= 0"),
    case(triplet.check_margin, "x", error=T, expected="margin must be a finite number"),
    case(triplet.check_margin, float("nan"), expected="margin must be a finite number"),
    case(triplet.check_triplet_shapes, FEATS, FEATS[:2], FEATS, expected="of one shape B x D"),
    case(triplet.check_triplet_shapes, FEATS, FEATS, FEATS[:, :2], expected="of one shape B x D"),
    case(triplet.check_triplet_shapes, FEATS[0], FEATS, FEATS, expected="of one shape B x D"),
    # companion.simclr: the checks added for Chapter 4 (NaN, wrong types, empty, out of range)
    case(simclr.check_augmentation, 4, 3, 0.2, 0.5, 0.5, expected="image_size >= 8"),
    case(simclr.check_augmentation, 32, 2, 0.2, 0.5, 0.5, expected="1 or 3 channels"),
    case(simclr.check_augmentation, 32, 3, 1.5, 0.5, 0.5, expected="min_scale must be"),
    case(simclr.check_n_views, 1, expected="n_views must be >= 2"),
    case(simclr.check_n_views, 2.0, error=T, expected="n_views must be an integer"),
    case(simclr.check_n_views, "2", error=T, expected="n_views must be an integer"),
    case(simclr.check_encoder, "vgg", 1, 8, expected="arch must be one of"),
    case(simclr.check_encoder, "small", 2, 8, expected="in_channels must be 1 or 3"),
    case(simclr.check_encoder, "small", 1, 0, expected="width must be an integer in [1"),
    case(simclr.check_n_classes, 1, expected="n_classes must be >= 2"),
    case(simclr.check_n_classes, None, error=T, expected="n_classes must be an integer"),
    case(simclr.check_n_classes, 2.5, error=T, expected="n_classes must be an integer"),
    case(simclr.pretraining_images, IMGS / 255, 2, 1, expected="uint8 N x H x W x C images"),
    case(simclr.pretraining_images, IMGS[:1], 2, 1, expected="need at least batch_size = 2"),
    case(simclr.pretraining_images, IMGS, 1, 1, expected="batch_size must be an integer in [2"),
    case(simclr.probe_scores, FEATS[0], [0], expected="N x C logits"),
    case(simclr.probe_scores, FEATS, [0], expected="N x C logits and N labels"),
    case(simclr.probe_scores, FEATS, [9] * 8, expected="class indices in [0, 4)"),
    case(simclr.probe_features, FEATS, FEATS, 1, expected="n_classes must be an integer in [2"),
    case(simclr.probe_features, FEATS[0], FEATS, 2, expected="train_features"),
    case(simclr.probe_features, FEATS, FEATS * np.nan, 2, expected="finite"),
    case(simclr.similarity_matrix, nan(FEATS), 4, expected="finite values"),
    case(simclr.similarity_matrix, "x", 4, error=T, expected="a 2-D array (rows x dimensions)"),
    case(simclr.info_nce_steps, nan(FEATS), 4, expected="finite values"),
    case(simclr.info_nce_logits, nan(FEATS), 4, expected="finite values"),
    case(simclr.info_nce, nan(FEATS), 4, expected="finite values"),
    case(simclr.info_nce, np.zeros((0, 3)), 4, expected="8 rows, got 0"),
    case(simclr.cross_entropy, np.zeros((2, 3)), [0, 3], expected="class indices in [0, 3)"),
    case(simclr.cross_entropy, np.zeros((2, 3)), [0, -1], expected="class indices in [0, 3)"),
    case(simclr.cross_entropy, np.zeros((2, 3)), [0.5, 1.0], error=T, expected="integer class"),
    case(simclr.check_keys, "ab", ["a"], error=T, expected="a collection of key names"),
    case(simclr.check_keys, ["a"], None, error=T, expected="a collection of key names"),
    case(simclr.check_shapes, [("a", (1,))], {"a": (1,)}, error=T, expected="a dict {key: shape}"),
    case(simclr.check_shapes, {"a": (1,)}, None, error=T, expected="a dict {key: shape}"),
    case(simclr.check_shapes, {"a": (1,)}, {"b": (1,)}, expected="missing key 'a'"),
    case(simclr.label_fraction, [[0, 1], [1, 0]], 0.5, expected="1-D array of class indices"),
    case(simclr.label_fraction, [], 0.5, expected="non-empty 1-D array of class indices"),
    case(simclr.label_fraction, [0, 1], "0.5", error=T, expected="fraction must be in (0, 1]"),
    case(simclr.embed_2d, nan(FEATS), expected="finite values"),
    case(simclr.embed_2d, "x", error=T, expected="N x D features"),
    case(plotting.plot_two_views, IMGS[0], IMGS[0], IMGS[0], expected="N x H x W x C pictures"),
    case(plotting.plot_two_views, IMGS, IMGS[:1], IMGS, expected="as many views as originals"),
    case(plotting.plot_two_views, "x", IMGS, IMGS, error=T, expected="N x H x W x C pictures"),
    case(plotting.plot_two_views, IMGS[:0], IMGS[:0], IMGS[:0], expected="non-empty"),
    case(plotting.plot_info_nce, "x", error=T, expected="the dict info_nce_steps returns"),
    case(plotting.plot_info_nce, {"logits": FEATS}, expected="the dict info_nce_steps returns"),
    case(plotting.plot_info_nce, STEPS_NAN, expected="finite values"),
    case(plotting.plot_loss, [], expected="non-empty 1-D list of losses"),
    case(plotting.plot_loss, {}, expected="non-empty dict of named curves"),
    case(plotting.plot_loss, [1.0, float("nan")], expected="finite values"),
    case(plotting.plot_loss, "x", error=T, expected="1-D list of losses"),
    case(plotting.plot_results, [1], error=T, expected="pandas DataFrame"),
    case(plotting.plot_results, RESULTS[:0], expected="non-empty DataFrame"),
    case(plotting.plot_results, RESULTS, ("top-5",), expected="columns ['top-5']"),
    case(
        plotting.plot_results, RESULTS, references=[0.5], error=T, expected="dict {name: accuracy}"
    ),
    case(plotting.plot_sweep, None, error=T, expected="pandas DataFrame"),
    case(plotting.plot_sweep, SWEEP[:0], expected="non-empty DataFrame"),
    case(plotting.plot_sweep, SWEEP.drop(columns="batch size"), expected="'batch size'"),
    case(plotting.plot_sweep, SWEEP.assign(temperature=0.0), expected="temperatures > 0"),
    case(plotting.plot_sweep, SWEEP, baselines=[0.5], error=T, expected="baselines: expected"),
    case(plotting.plot_sweep, SWEEP, baselines={"floor": "x"}, error=T, expected="finite number"),
]

# --- assignments: sources, otter's results and submissions --------------------------------------
ASSIGNMENTS = TMP / "assignments-root"
(ASSIGNMENTS / "assignments" / "torch").mkdir(parents=True)
ODD_SOURCE = ASSIGNMENTS / "assignments" / "jax" / "01_x.ipynb"
ODD_SOURCE.parent.mkdir()
ODD_SOURCE.write_text("{}")
BADLY_NAMED = ASSIGNMENTS / "assignments" / "torch" / "first.ipynb"
BADLY_NAMED.write_text("{}")
SOURCE = ASSIGNMENTS / "assignments" / "torch" / "01_cnn_basics.ipynb"
SOURCE.write_text("not json")
PLAIN_NB = TMP / "plain.ipynb"
nbformat.write(nbformat.v4.new_notebook(), PLAIN_NB)
NO_SUBMISSIONS = TMP / "no-submissions"
NO_SUBMISSIONS.mkdir()
OTTER_RESULTS = {"tests": [{"name": "q1", "score": 1.0, "max_score": 1.0}]}
ASSIGNMENT_CASES = [
    case(assignments.sources, 3, error=T, expected="file path"),
    case(assignments.sources, TMP, error=F, expected="assignments/torch/NN_<topic>.ipynb"),
    case(assignments.sources, ROOT, only=1, error=T, expected="non-empty string"),
    case(assignments.assignment_name, MISSING, error=F, expected="restore it with git"),
    case(assignments.assignment_name, ODD_SOURCE, expected="assignments/<torch|tensorflow>/"),
    case(assignments.assignment_name, BADLY_NAMED, expected="NN_<topic>.ipynb"),
    case(assignments.output_dir, None, error=T, expected="file path"),
    case(assignments.output_dir, ODD_SOURCE, expected="assignments/<torch|tensorflow>/"),
    case(assignments.output_dir, SOURCE, out=3, error=T, expected="file path"),
    case(assignments.autograder_zip, SOURCE, TMP, error=F, expected="run make assignments"),
    case(assignments.autograder_zip, BADLY_NAMED, expected="NN_<topic>.ipynb"),
    case(assignments.autograder_zip, 3, error=T, expected="file path"),
    case(assignments.read_notebook, MISSING, error=F, expected="restore it with git"),
    case(assignments.read_notebook, SOURCE, expected="is not a notebook"),
    case(assignments.read_notebook, [], error=T, expected="file path"),
    case(assignments.solution_lines, SOURCE, expected="is not a notebook"),
    case(assignments.solution_lines, MISSING, error=F, expected="restore it with git"),
    case(assignments.solution_lines, ODD_SOURCE, expected="assignments/<torch|tensorflow>/"),
    case(assignments.clean, {}, error=T, expected="a notebook"),
    case(assignments.clean, None, error=T, expected="a notebook"),
    case(assignments.clean, "x.ipynb", error=T, expected="a notebook"),
    case(assignments.build, MISSING, error=F, expected="restore it with git"),
    case(assignments.build, BADLY_NAMED, expected="NN_<topic>.ipynb"),
    case(assignments.build, 3, error=T, expected="file path"),
    case(assignments.run, MISSING, PLAIN_NB, error=F, expected="run make assignments"),
    case(assignments.run, PLAIN_NB, MISSING, error=F, expected="submission"),
    case(assignments.run, PLAIN_NB, PLAIN_NB, strict=1, error=T, expected="True or False"),
    case(assignments.scores, [], error=T, expected="results.json"),
    case(assignments.scores, {"tests": None}, error=T, expected="results.json"),
    case(assignments.scores, "x", error=T, expected="results.json"),
    case(assignments.public_passed, OTTER_RESULTS, expected="'Public Tests' entry"),
    case(assignments.public_passed, {}, error=T, expected="results.json"),
    case(assignments.public_passed, None, error=T, expected="results.json"),
    case(assignments.name_of, PLAIN_NB, expected="names no otter assignment"),
    case(assignments.name_of, SOURCE, expected="resubmit the .ipynb"),
    case(assignments.name_of, MISSING, error=F, expected="resubmit the .ipynb"),
    case(assignments.grade, NO_SUBMISSIONS, TMP / "g.csv", error=F, expected="SUBMISSIONS=<folder"),
    case(assignments.grade, MISSING, TMP / "g.csv", error=F, expected="SUBMISSIONS=<folder"),
    case(assignments.grade, NO_SUBMISSIONS, 3, error=T, expected="file path"),
    case(assignments.main, [], error=SystemExit, expected="required"),
    case(assignments.main, ["publish"], error=SystemExit, expected="invalid choice"),
    case(assignments.main, ["grade"], error=SystemExit, expected="required"),
    case(
        assignments.main, ["build", "--jobs", "0"], error=SystemExit, expected="whole number >= 1"
    ),
]
CASES += ASSIGNMENT_CASES + [
    case(colab.assets_for, "notebooks/jax/01_x.ipynb", expected="notebooks/<torch|tensorflow>/"),
    case(colab.assets_for, "notebooks/torch/intro.ipynb", expected="NN_<topic>.ipynb"),
    case(colab.assets_for, 1, error=T, expected="file path"),
    case(colab.setup_cell, "notebooks/torch/01_x.md", expected="NN_<topic>.ipynb"),
    case(colab.setup_cell, "01_x.ipynb", expected="notebooks/<torch|tensorflow>/"),
    case(colab.setup_cell, None, error=T, expected="file path"),
    case(assets.install_all, "torch-weights", error=T, expected="list of asset names"),
    case(assets.install_all, [1], error=T, expected="list of asset names"),
    case(assets.install_all, ["weights"], expected="torch-weights, keras-weights"),
    case(simclr.logit_columns, 0, 2, expected="batch_size must be an int >= 2"),
    case(simclr.logit_columns, 4, 1, expected="n_views must be an int >= 2"),
    case(simclr.logit_columns, 4.0, 2, expected="batch_size must be an int"),
    case(bench.timings, [print], error=T, expected="a dict {name: function"),
    case(bench.timings, {"a": 1}, error=T, expected="a dict {name: function}"),
    case(bench.timings, {"a": print}, 0, expected="repeats must be an integer in [1"),
    case(bench.search_figure, "rows", TMP / "f.svg", error=T, expected="list of bench rows"),
    case(bench.search_figure, [], TMP / "f.svg", expected="no search row"),
    case(bench.search_figure, [{"comparison": "x"}], 3, error=T, expected="file path"),
    case(bench.notebook_seconds, 3, error=T, expected="file path"),
    case(bench.notebook_seconds, TMP, error=F, expected="_toc.yml"),
    case(bench.notebook_seconds, LOST, error=F, expected="listed in _toc.yml but missing"),
    case(bench.performance_page, "rows", {}, {}, error=T, expected="list of bench rows"),
    case(bench.performance_page, [{}], [], {}, error=T, expected="machine() of the run"),
    case(bench.performance_page, [], {}, {}, expected="rows and the machine of one bench run"),
    case(bench.main, ["--repeats", "0"], error=SystemExit, expected="whole number >= 1"),
    case(bench.main, ["--repeats", "x"], error=SystemExit, expected="invalid int value"),
    case(bench.main, ["--bogus"], error=SystemExit, expected="unrecognized arguments"),
    case(bench_tf.main, [], error=SystemExit, expected="required"),
    case(
        bench_tf.main,
        ["a.npz", "b.json", "--repeats", "0"],
        error=SystemExit,
        expected="whole number >= 1",
    ),
    case(bench_tf.main, [str(MISSING), "b.json"], error=F, expected="run make bench"),
]

# Public names that take input but accept any value by design (message formatters).
EXEMPT = {
    "companion.checks.describe": "formats any value for an error message",
    "companion.checks.one_line": "squeezes any text onto one line",
    "companion.checks.file_error": "formats a message from any file, problem and fix",
    "companion.files.diverged": "formats the message of a diverged run from any place and name",
    "companion.results.cell_text": (
        "shows any recorded value (number, string, None) as a table cell"
    ),
}
CORE_MODULES = sorted(
    m.name
    for m in pkgutil.walk_packages(companion.__path__, "companion.")
    if not m.name.startswith(("companion.torch", "companion.tf")) and m.name != "companion.__main__"
) + ["companion"]


@pytest.fixture(autouse=True)
def _quiet_cache(monkeypatch):
    """Downloads and assets point at an empty folder: no case touches the real cache."""
    monkeypatch.setenv("COMPANION_CACHE", str(TMP / "cache"))
    monkeypatch.setenv("TORCH_HOME", str(TMP / "torch"))


@pytest.fixture(scope="module", autouse=True)
def _cleanup():
    yield
    shutil.rmtree(TMP, ignore_errors=True)


@pytest.mark.parametrize(
    "c", CASES, ids=[f"{c.name.removeprefix('companion.')}-{i}" for i, c in enumerate(CASES)]
)
def test_bad_input_raises_one_line_naming_what_was_expected(c, capsys):
    check(c, capsys)


def test_every_public_function_has_three_bad_input_cases():
    assert not uncovered(CASES, CORE_MODULES, EXEMPT)


# --- the silent failures the robustness review found -------------------------------------------
def test_sixteen_bit_png_and_float_tiff_are_scaled_not_clipped(tmp_path):
    (tmp_path / "grey").mkdir()
    ramp = np.linspace(0, 65535, 64, dtype=np.uint16).reshape(8, 8)
    Image.fromarray(ramp).save(tmp_path / "grey" / "a.png")
    Image.fromarray((ramp / 65535).astype(np.float32)).save(tmp_path / "grey" / "b.tif")
    data = folder.load_folder(tmp_path)
    expected = np.round(ramp / 257).astype(np.uint8)
    np.testing.assert_array_equal(data.images[0, ..., 0], expected)  # was all 255 but the first
    assert np.abs(data.images[1, ..., 0].astype(int) - expected).max() <= 1  # was all black
    assert (data.images[..., 0] == data.images[..., 2]).all()


def test_nan_maps_are_refused_not_turned_into_empty_masks_and_boxes():
    for f in (
        saliency.to_mask,
        lambda m: saliency.normalise(m[None]),
        lambda m: saliency.boxes_from_maps(m[None], 8),
    ):
        with pytest.raises(ValueError, match="1 NaN or infinite"):
            f(NAN_MAP)


def test_to_rgb_batch_drops_alpha_instead_of_making_twelve_channels():
    rgba = RNG.integers(0, 256, (2, 4, 4, 4), dtype=np.uint8)
    np.testing.assert_array_equal(images.to_rgb_batch(rgba), rgba[..., :3])


def test_imageset_refuses_a_label_without_a_class_name_but_keeps_unlabelled():
    with pytest.raises(ValueError, match=r"class indices in \[0, 2\)"):
        ImageSet(IMGS, [0, 2], ["a", "b"])
    unlabelled = ImageSet(IMGS, [-1, 1], ["a", "b"])
    np.testing.assert_array_equal(unlabelled.counts(), [0, 1])


def test_seed_everything_checks_the_seed_before_touching_pythonhashseed(monkeypatch):
    monkeypatch.setenv("PYTHONHASHSEED", "7")
    with pytest.raises(ValueError, match="2\\*\\*32"):
        companion.seed_everything(2**40)
    assert os.environ["PYTHONHASHSEED"] == "7"


def test_float_pictures_in_zero_one_are_drawn_as_pictures_not_black():
    picture = RNG.random((8, 8, 3))
    as_uint8 = np.round(picture * 255).astype(np.uint8)
    np.testing.assert_array_equal(saliency.draw_localisation(picture), as_uint8)  # was 0 or 1
    np.testing.assert_array_equal(saliency.overlay(picture, MAP), saliency.overlay(as_uint8, MAP))
    np.testing.assert_array_equal(images.as_rgb_uint8(picture), as_uint8)


def test_weights_are_verified_at_load_naming_the_file_and_the_command(monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(TMP / "torch-bad"))
    monkeypatch.setenv("COMPANION_CACHE", str(TMP / "cache-bad"))
    checkpoint, port = weights.torch_checkpoint(), weights.keras_port()
    checkpoint.parent.mkdir(parents=True)
    checkpoint.write_bytes(b"truncated")
    with pytest.raises(ValueError, match="mobilenet_v2-b0353104.pth is corrupt.*companion assets"):
        weights.verified_torch_checkpoint()
    port.write_bytes(b"replaced")
    port.with_suffix(".sha256").write_text("0" * 64 + "\n")
    with pytest.raises(ValueError, match="from_torch.weights.h5 is corrupt.*companion assets"):
        weights.verified_keras_port()
    port.with_suffix(".sha256").unlink()
    with pytest.raises(FileNotFoundError, match="sha256.*companion assets"):
        weights.verified_keras_port()


def test_a_verified_file_is_hashed_once_per_size_and_mtime(monkeypatch, tmp_path):
    file = tmp_path / "w.bin"
    file.write_bytes(b"weights")
    digest = files.sha256sum(file)
    calls = []
    monkeypatch.setattr(files, "sha256sum", lambda p: calls.append(p) or digest)
    for _ in range(3):
        files.verify_sha256(file, digest, "fix")
    assert len(calls) == 1
    file.write_bytes(b"other weights")  # a new size (and mtime): hashed again
    with pytest.raises(ValueError, match="sha256 mismatch"):
        monkeypatch.setattr(files, "sha256sum", lambda p: "0" * 64)
        files.verify_sha256(file, digest, "fix")


def test_write_results_leaves_no_partial_file(tmp_path):
    runner.write_results({}, tmp_path, "results-1of2")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results-1of2.json", "results-1of2.md"]
    assert json.loads((tmp_path / "results-1of2.json").read_text()) == {}


def test_the_harness_fails_on_silence_two_lines_or_a_message_without_the_expectation():
    def raise_(message):
        raise ValueError(message)

    for c in (
        call("x", lambda: None, V, "expected"),  # silent: no exception
        call("x", lambda: raise_("expected a\nsecond line"), V, "expected"),
        call("x", lambda: raise_("went wrong"), V, "expected"),
        call("x", lambda: raise_("expected x"), T, "expected"),
    ):  # another exception type
        with pytest.raises((AssertionError, pytest.fail.Exception, ValueError)):
            check(c)

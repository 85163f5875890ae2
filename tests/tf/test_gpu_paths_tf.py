"""What keeps a GPU fed and safe in the Keras edition, checked on a CPU: every training,
prediction and feature path reads a prefetching ``tf.data`` pipeline; mixed precision switches on
only where a GPU is visible and leaves logits, embeddings and losses in float32; SimCLR's views
are drawn per image in one batched call; the gpu profile's ResNet-18 is torchvision's; DenseNet's
ImageNet weights come through the companion's verified download."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from cases import points
from companion.data import ImageSet
from companion.tf import backbones, models, simclr, training, transfer, triplet


def _ops(dataset: tf.data.Dataset) -> list[str]:
    """The kinds of the pipeline's stages (its serialised graph's node ops)."""
    graph = tf.compat.v1.GraphDef.FromString(dataset._as_serialized_graph().numpy())
    return [node.op for node in graph.node]


def _assert_prefetching(dataset):
    assert isinstance(dataset, tf.data.Dataset), type(dataset)
    ops = _ops(dataset)
    assert "PrefetchDataset" in ops, ops


def _images(n=6, size=32, channels=3, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, size, size, channels), np.uint8)


# --- the pipelines --------------------------------------------------------------------------------
def test_loader_batches_then_maps_in_parallel_then_prefetches():
    data = ImageSet(_images(), np.arange(6) % 2, ["a", "b"])
    ops = _ops(training.loader(data, 4, shuffle=True))
    assert (
        ops.index("BatchDatasetV2")
        < ops.index("ParallelMapDatasetV2")
        < ops.index("PrefetchDataset")
    ), ops


@pytest.fixture(scope="module")
def nets():
    tf.keras.utils.set_random_seed(0)
    embedding = triplet.embedding_model(pretrained=False, image_size=32)
    return {
        "mobilenet": backbones.mobilenet_v2(pretrained=False, image_size=32),
        "transfer": transfer.transfer_model(3, pretrained=False, image_size=32),
        "embedding": embedding,
        "encoder": simclr.build_encoder("small", 3, width=4),
        "simclr": simclr.SimCLRModel("small", 3, width=4),
    }


INFERENCE = {
    "training.predict": lambda n: training.predict(n["encoder"], _images()),
    "training.evaluate": lambda n: training.evaluate(
        simclr.linear_model(2, "small", 3, 4), ImageSet(_images(), np.arange(6) % 2, ["a", "b"])
    ),
    "transfer.extract_features": lambda n: transfer.extract_features(n["transfer"], _images()),
    "simclr.extract_features": lambda n: simclr.extract_features(n["encoder"], _images()),
    "simclr.projections": lambda n: simclr.projections(n["simclr"], _images()),
    "triplet.embed": lambda n: triplet.embed(n["embedding"], _images()),
    "triplet.stem_features": lambda n: triplet.stem_features(n["embedding"], _images()),
    "triplet.embed_cached": lambda n: triplet.embed_cached(
        n["embedding"], triplet.stem_features(n["embedding"], _images())
    ),
    "backbones.predict_proba": lambda n: backbones.predict_proba(n["mobilenet"], _images()),
    "backbones.block_output": lambda n: backbones.block_output(n["mobilenet"], _images(), 3),
}


@pytest.mark.parametrize("path", INFERENCE)
def test_inference_paths_read_a_prefetching_pipeline(path, nets, monkeypatch):
    seen = []

    def spy(*args, **kwargs):
        seen.append(original(*args, **kwargs))
        return seen[-1]

    original = training.batches
    monkeypatch.setattr(training, "batches", spy)
    out = INFERENCE[path](nets)
    assert seen, f"{path} did not read its batches from training.batches"
    for dataset in seen:
        _assert_prefetching(dataset)
    if not isinstance(out, dict):  # evaluate's scores are numbers
        assert out.dtype == np.float32


def test_pipeline_outputs_equal_the_models_own_calls(nets):
    """The pipeline changes where the batches come from, not the numbers: bit-identical to calling
    the model batch by batch, as the companion did before (so committed cpu runs stay valid)."""
    images = _images(10)
    model = nets["mobilenet"]
    direct = np.concatenate(
        [
            tf.nn.softmax(model(backbones.preprocess(images[i : i + 4]), training=False)).numpy()
            for i in range(0, 10, 4)
        ]
    )
    np.testing.assert_array_equal(backbones.predict_proba(model, images, batch_size=4), direct)


def test_many_models_trace_one_graph_each_without_retracing_warnings(caplog):
    """A loop over sub-models (block_output's, in Chapter 0) printed TensorFlow's retracing
    warning into the notebook when one global function took the model as an argument."""
    x = np.ones((3, 2), np.float32)
    models = [keras.Sequential([keras.Input((2,)), keras.layers.Dense(n)]) for n in range(1, 8)]
    with caplog.at_level("WARNING", logger="tensorflow"):
        for model in models:  # one call each: TensorFlow warns after five tracings in a row
            assert training.outputs(model, x, 2).shape == (3, model.outputs[0].shape[-1])
    assert not [r for r in caplog.records if "retracing" in r.getMessage()]
    assert training._inference(models[0]) is training._inference(models[0])  # the graph reused


class _Fed(Exception):
    pass


def _training_calls():
    x, y = points()
    features = np.random.default_rng(0).normal(size=(8, 2, 2, 4)).astype(np.float32)
    labels = np.arange(8) % 2
    pattern = _images(16, 16, 1)

    def top():
        inputs = keras.Input((2, 2, 4))
        return keras.Model(inputs, keras.layers.Dense(3)(keras.layers.Flatten()(inputs)))

    return {
        "training.fit": lambda: training.fit(
            keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)]),
            (x, y),
            preprocess=None,
            progress=False,
        ),
        "simclr.pretrain": lambda: simclr.pretrain(
            simclr.SimCLRModel(width=4), pattern, batch_size=8, progress=False
        ),
        "simclr.train_linear": lambda: simclr.train_linear(keras.layers.Dense(2), x, y, epochs=1),
        "simclr.train_supervised": lambda: simclr.train_supervised(
            simclr.linear_model(2, width=4), ImageSet(pattern, np.arange(16) % 2, ["a", "b"])
        ),
        "triplet.fit_siamese": lambda: triplet.fit_siamese(
            triplet.SiameseModel(triplet.siamese_network(top())),
            (features, features, features),
            progress=False,
        ),
        "triplet.fit_supervised": lambda: triplet.fit_supervised(
            top(), (features, labels), progress=False
        ),
    }


TRAINING = [
    "training.fit",
    "simclr.pretrain",
    "simclr.train_linear",
    "simclr.train_supervised",
    "triplet.fit_siamese",
    "triplet.fit_supervised",
]


@pytest.mark.parametrize("path", TRAINING)
def test_training_paths_feed_fit_a_prefetching_dataset(path, monkeypatch):
    fed = []

    def fit(self, x=None, *args, **kwargs):
        fed.append(x)
        raise _Fed  # seen what fit is given: no need to train

    monkeypatch.setattr(keras.Model, "fit", fit)
    with pytest.raises(_Fed):
        _training_calls()[path]()
    _assert_prefetching(fed[0])


# --- SimCLR's views -------------------------------------------------------------------------------
def test_views_are_drawn_per_image_in_one_batched_call():
    """Eight copies of one image, augmented in one call: the crops differ from image to image
    (per-image randomness, not one draw for the whole batch)."""
    images = np.repeat(_images(1, 16, 1), 8, axis=0)
    views = simclr.two_views(images, simclr.augmentation(16, 1, strength=0, blur=0)).numpy()
    distinct = {views[i].tobytes() for i in range(8)}
    assert len(distinct) >= 6, len(distinct)


# --- mixed precision ------------------------------------------------------------------------------
@pytest.fixture
def policy():
    yield
    keras.mixed_precision.set_global_policy("float32")


def _gpus(monkeypatch, gpus):
    real = tf.config.list_physical_devices

    def listed(device_type=None):
        return list(gpus) if device_type == "GPU" else real(device_type)

    monkeypatch.setattr(tf.config, "list_physical_devices", listed)


def test_mixed_precision_stays_off_without_a_gpu(policy, monkeypatch):
    _gpus(monkeypatch, [])
    assert training.use_mixed_precision() == "float32"
    assert keras.mixed_precision.global_policy().name == "float32"
    with pytest.raises(ValueError, match="policy must be one of"):
        training.use_mixed_precision("float16")


def test_mixed_precision_on_a_gpu_keeps_logits_and_losses_float32(policy, monkeypatch):
    with monkeypatch.context() as m:
        _gpus(m, ["a GPU"])
        assert training.use_mixed_precision() == "mixed_float16"
    assert keras.mixed_precision.global_policy().name == "mixed_float16"
    x = np.random.default_rng(0).random((4, 28, 28, 1), np.float32)
    cnn = training.compile_classifier(models.small_cnn(3, widths=(4,)))
    assert cnn.get_layer("conv1").compute_dtype == "float16"  # the work runs in half precision
    logits = cnn(x)
    assert logits.dtype == tf.float32
    loss = cnn.compute_loss(x=x, y=np.array([0, 1, 2, 0]), y_pred=logits)
    assert loss.dtype == tf.float32 and np.isfinite(float(loss))
    assert isinstance(cnn.optimizer, keras.optimizers.LossScaleOptimizer)

    head = transfer.new_head(3, 8)
    assert head(np.ones((2, 8), np.float32)).dtype == tf.float32
    model = simclr.SimCLRModel("small", 1, width=4, out_dim=8)
    projections = model(x[:, :16, :16])
    assert model.backbone.body.compute_dtype == "float16" and projections.dtype == tf.float32
    assert simclr.linear_model(3, width=4)(x[:, :16, :16]).dtype == tf.float32
    assert simclr.extract_features(model, _images(4, 16, 1)).dtype == np.float32

    half = tf.cast(projections, tf.float16)  # info-NCE of half-precision features: in float32
    logits, labels = simclr.info_nce_loss(half, 2, 2, 0.5)
    assert logits.dtype == tf.float32
    assert simclr.cross_entropy(tf.cast(logits, tf.float16), labels).dtype == tf.float32

    fresh = simclr.SimCLRModel("small", 1, width=4, out_dim=8)  # pretrain sets up a new model
    history = simclr.pretrain(fresh, _images(8, 16, 1), batch_size=4, progress=False)
    assert np.isfinite(history["loss"]).all()


# --- the gpu profile's ResNet-18 ------------------------------------------------------------------
def test_resnet18_is_torchvisions_layout():
    """torchvision's resnet18 without fc: 11,689,512 - (512 x 1000 + 1000) = 11,176,512
    parameters for 3 channels; a 7x7 stride-2 stem and a stride-2 max-pool, so 96 px gives
    3 x 3 maps before pooling (96 / 32)."""
    encoder = simclr.build_encoder("resnet18", 3)
    assert backbones.count_params(encoder.body) == 11_176_512
    body = encoder.body
    assert body.get_layer("stem_conv").kernel.shape == (7, 7, 3, 64)
    assert body.get_layer("stem_conv").strides == (2, 2)
    assert isinstance(body.get_layer("stem_pool"), keras.layers.MaxPooling2D)
    before_pool = keras.Model(body.inputs, body.get_layer("pool").input)
    assert tuple(before_pool(tf.zeros((1, 96, 96, 3))).shape) == (1, 3, 3, 512)


def test_resnet18_cifar_keeps_simclrs_small_image_stem():
    body = simclr.build_encoder("resnet18-cifar", 3).body
    assert body.get_layer("stem_conv").kernel.shape == (3, 3, 3, 64)
    assert "stem_pool" not in [layer.name for layer in body.layers]
    before_pool = keras.Model(body.inputs, body.get_layer("pool").input)
    assert tuple(before_pool(tf.zeros((1, 32, 32, 3))).shape) == (1, 4, 4, 512)
    assert backbones.count_params(body) == 11_176_512 - 7 * 7 * 3 * 64 + 3 * 3 * 3 * 64


# --- DenseNet's ImageNet weights ------------------------------------------------------------------
@pytest.mark.parametrize("include_top", [False, True])
def test_pretrained_densenet_loads_the_verified_download(include_top, tmp_path, monkeypatch):
    """``densenet(pretrained=True)`` builds from the file ``companion.data`` downloads (here a
    weights file saved from a random DenseNet, served by a stand-in for the downloader)."""
    from keras.src.legacy.saving import legacy_h5_format
    import h5py

    from companion.data import online

    tf.keras.utils.set_random_seed(1)
    size = {"image_size": 32} if not include_top else {}
    saved = transfer.densenet(121, include_top=include_top, **size)
    suffix = "" if include_top else "_notop"
    path = tmp_path / f"densenet121_weights_tf_dim_ordering_tf_kernels{suffix}.h5"
    with h5py.File(path, "w") as f:  # Keras's own (legacy h5) format, as the real file
        legacy_h5_format.save_weights_to_hdf5_group(f, saved)
    asked = []

    def fetch_file(url, checksum, hint):
        asked.append(url)
        return path

    monkeypatch.setattr(online, "fetch_file", fetch_file)
    loaded = transfer.densenet(121, pretrained=True, include_top=include_top, **size)
    assert asked and asked[0].endswith(path.name)
    for a, b in zip(saved.get_weights(), loaded.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)

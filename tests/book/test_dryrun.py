"""The gpu dry run's stand-ins load through the real code path: served on 127.0.0.1 through the
mirror, verified by its checksums, extracted into the cache, read by the real loaders."""

import json
import urllib.request

import numpy as np
import pytest

from companion import data
from companion.book import dryrun
from companion.files import sha256sum


@pytest.fixture
def mirror(tmp_path, monkeypatch):
    """The dry run's environment around a folder of stand-ins (no framework weights)."""
    served = tmp_path / "served"
    served.mkdir()
    files = [dryrun.write_stl10(served / "stl10_binary.tar.gz")]
    files.append(dryrun.write_flowers(served / "flower_photos.tgz"))
    (tmp_path / "checksums.json").write_text(json.dumps({p.name: sha256sum(p) for p in files}))
    server = dryrun.serve(served)
    env = dryrun.dry_environment(tmp_path, f"http://127.0.0.1:{server.server_port}/")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    yield env
    server.shutdown()


def test_stl10_stand_in_shows_a_transposed_or_mixed_layout(mirror):
    train = data.load("stl10", "train")
    per_class = dryrun.STL10_SPLITS["train"]
    assert train.images.shape == (10 * per_class, 96, 96, 3)
    assert train.class_names == dryrun.STL10_CLASSES
    np.testing.assert_array_equal(np.bincount(train.labels), [per_class] * 10)
    rows, cols = np.meshgrid(np.arange(96), np.arange(96), indexing="ij")
    image = train.images[-1]
    np.testing.assert_array_equal(image[..., 0], 2 * rows)  # red counts rows, not columns
    np.testing.assert_array_equal(image[..., 1], 2 * cols)
    assert (image[..., 2] == 25 * train.labels[-1]).all() and train.labels[-1] == 9
    assert len(data.load("stl10", "unlabeled")) == dryrun.STL10_UNLABELED


def test_flowers_stand_in_has_the_real_class_counts(mirror):
    train = data.load("tf-flowers", "train", image_size=8)
    test = data.load("tf-flowers", "test", image_size=8)
    assert train.class_names == sorted(dryrun.FLOWER_COUNTS)
    counts = np.bincount(train.labels) + np.bincount(test.labels)
    assert dict(zip(train.class_names, counts.tolist())) == dryrun.FLOWER_COUNTS
    assert len(test) == round(0.2 * sum(dryrun.FLOWER_COUNTS.values()))


def test_the_dry_run_reaches_nothing_but_its_mirror(mirror):
    with pytest.raises(ConnectionError, match="127.0.0.1.*HTTP 404"):  # asked of the mirror
        data.download("http://example.org/weights.pth", data.cache_dir() / "w.pth", None)
    with pytest.raises(OSError):  # what the frameworks' hubs use: urllib with the proxies
        urllib.request.urlopen("https://download.pytorch.org/models/x.pth", timeout=5)
    assert str(data.cache_dir()) == mirror["COMPANION_CACHE"]  # stand-ins never in the real one


def test_an_offline_skip_is_an_error_in_a_dry_run(mirror, monkeypatch, capsys):
    with pytest.raises(RuntimeError, match="a gpu dry run serves every download"):
        data.skipped_offline("DenseNet121 on tf-flowers", ConnectionError("refused"))
    monkeypatch.delenv("COMPANION_DRYRUN")
    data.skipped_offline("DenseNet121 on tf-flowers", ConnectionError("refused"))
    assert "DenseNet121 on tf-flowers: skipped, offline (refused)" in capsys.readouterr().out

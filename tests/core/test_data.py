import socket
import tarfile
import time
import warnings

import numpy as np
import pytest
from PIL import Image

from companion import data
from companion.data import fetch as dl
from companion.images import center_crop_resize


def test_unknown_dataset_split_and_option_say_what_is_valid():
    with pytest.raises(ValueError, match="fashion-mnist"):
        data.load("mnist")
    with pytest.raises(ValueError, match="train, test"):
        data.load("fashion-mnist", "validation")
    with pytest.raises(TypeError, match="colour"):
        data.load("shapes", "train", colour="red")


def test_fashion_mnist_matches_the_published_counts():
    test = data.load("fashion-mnist", "test")
    assert test.images.shape == (10_000, 28, 28, 1) and test.images.dtype == np.uint8
    np.testing.assert_array_equal(test.counts(), np.full(10, 1000))
    train = data.load("fashion-mnist", "train")
    assert (
        len(train) == 60_000 and train.labels[0] == 9
    )  # the first training image is an ankle boot
    assert train.class_names[9] == "Ankle boot"


def test_shapes_are_deterministic_balanced_and_boxed():
    a = data.load("shapes", "train", n=40, image_size=48, seed=1)
    b = data.load("shapes", "train", n=40, image_size=48, seed=1)
    np.testing.assert_array_equal(a.images, b.images)
    assert not np.array_equal(
        a.images, data.load("shapes", "test", n=40, image_size=48, seed=1).images
    )
    np.testing.assert_array_equal(a.counts(), [10, 10, 10, 10])
    for mask, (x0, y0, x1, y1) in zip(a.masks, a.boxes):
        ys, xs = np.nonzero(mask)
        assert (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1) == (x0, y0, x1, y1)
        assert 0 <= x0 < x1 <= 48 and 0 <= y0 < y1 <= 48
    assert a.subset(a.labels == 2).masks.shape == (10, 48, 48)


def test_per_class_draws_at_most_n_of_each_class():
    shapes = data.load("shapes", n=40, image_size=32)
    np.testing.assert_array_equal(shapes.per_class(3).counts(), [3, 3, 3, 3])


def test_sample_photos_are_cropped_squares():
    photos = data.load("sample-photos", image_size=64)
    assert photos.images.shape == (len(data.PHOTOS), 64, 64, 3)
    assert photos.names[0] == "chelsea"


def test_center_crop_keeps_the_middle():
    image = np.zeros((100, 200, 3), np.uint8)
    image[:, 50:150] = 255  # a white square in the middle of a wide picture
    out = center_crop_resize(image, 50, crop_fraction=1.0)
    assert out.shape == (50, 50, 3) and out[:, 1:-1].min() == 255  # edges blend with the black


def _write_png(path, value=0):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((8, 8, 3), value, np.uint8)).save(path)


def test_image_folder_skips_junk_with_one_warning(tmp_path):
    for cls in ("cats", "dogs"):
        for i in range(2):
            _write_png(tmp_path / cls / f"{i}.png", 40 * i)
    (tmp_path / "cats" / ".DS_Store").write_bytes(b"\0\1")
    (tmp_path / "dogs" / "Thumbs.db").write_bytes(b"\0")
    (tmp_path / "dogs" / "notes.txt").write_text("not an image")
    (tmp_path / ".DS_Store").write_bytes(b"\0")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        folder = data.load_folder(tmp_path)
    assert len(caught) == 1 and "skipped 4 non-image" in str(caught[0].message)
    assert folder.class_names == ["cats", "dogs"] and folder.images.shape == (4, 8, 8, 3)
    np.testing.assert_array_equal(folder.labels, [0, 0, 1, 1])


def test_image_folder_fails_on_empty_class_and_corrupt_image(tmp_path):
    _write_png(tmp_path / "a" / "0.png")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "readme.txt").write_text("x")
    with pytest.raises(ValueError, match="holds no images"):
        data.load_folder(tmp_path)
    (tmp_path / "b" / "broken.jpg").write_bytes(b"this is not a jpeg")
    with pytest.raises(ValueError, match="broken.jpg.*skip_unreadable"):
        data.load_folder(tmp_path)
    with pytest.warns(UserWarning, match="unreadable"):
        with pytest.warns(UserWarning, match="non-image"):
            with pytest.raises(ValueError, match=r"\['b'\] .* hold no readable images"):
                data.load_folder(tmp_path, skip_unreadable=True)  # b would be empty: still an error


def test_image_folder_without_classes_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="no class sub-folders"):
        data.load_folder(tmp_path)
    with pytest.raises(FileNotFoundError):
        data.load_folder(tmp_path / "missing")


def test_write_folder_round_trips(tmp_path):
    shapes = data.load("shapes", n=8, image_size=16)
    back = data.load_folder(data.write_folder(shapes, tmp_path))
    assert back.class_names == sorted(shapes.class_names)
    assert sorted(map(bytes, back.images.reshape(8, -1))) == sorted(
        map(bytes, shapes.images.reshape(8, -1))
    )


def test_online_datasets_fail_fast_offline(monkeypatch, tmp_path):
    monkeypatch.setenv("COMPANION_CACHE", str(tmp_path))
    for proxy in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "COMPANION_MIRROR"):
        monkeypatch.delenv(proxy, raising=False)

    def unreachable(address, timeout=None, *args, **kwargs):
        raise OSError("network is unreachable")

    monkeypatch.setattr(socket, "create_connection", unreachable)
    start = time.perf_counter()
    for name in ("tf-flowers", "stl10"):
        with pytest.raises(ConnectionError, match="'shapes'.*'fashion-mnist'"):
            data.load(name, "train")
    assert time.perf_counter() - start < 2


def test_download_keeps_a_verified_file_and_rejects_a_wrong_one(monkeypatch, tmp_path):
    path = tmp_path / "blob"
    path.write_bytes(b"hello")
    good = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"  # sha256("hello")
    assert dl.download("http://example.invalid/blob", path, good) == path
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")  # nothing listens on the discard port
    with pytest.raises(ConnectionError):
        dl.download("http://example.invalid/blob", path, "0" * 64)


def test_safe_extract_refuses_paths_outside_the_target(tmp_path):
    evil = tmp_path / "evil.tar"
    payload = tmp_path / "payload.txt"
    payload.write_text("x")
    with tarfile.open(evil, "w") as tar:
        tar.add(payload, arcname="../escaped.txt")
    with pytest.raises(tarfile.TarError):
        dl.safe_extract(evil, tmp_path / "out")
    assert not (tmp_path / "escaped.txt").exists()

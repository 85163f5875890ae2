"""Colab's install path (companion.book.colab_path): the pieces of the rehearsal `make check-colab`
runs whole."""

import subprocess

import nbformat
import pytest

from companion.book import colab, colab_path

new_code = nbformat.v4.new_code_cell


def test_colab_copy_installs_from_the_clone_with_colab_module_present(tmp_path):
    setup = new_code(colab.setup_cell("notebooks/torch/00_first_pretrained_cnn.ipynb"))
    source = tmp_path / "00_first_pretrained_cnn.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[setup, new_code("x = 1")]), source)
    url = "file://localhost/tmp/clone"
    copy = nbformat.read(colab_path.colab_copy(source, url, tmp_path / "copy.ipynb"), 4)
    assert [c.source for c in copy.cells[2:]] == ["x = 1", colab_path.WHERE_FROM]
    assert copy.cells[0].source == colab_path.COLAB_MODULE
    assert f'COMPANION = "git+{url}@{colab.RELEASE}"' in copy.cells[1].source
    assert colab.REPOSITORY not in copy.cells[1].source
    namespace = {}
    exec(colab_path.COLAB_MODULE, namespace)  # the set-up cell's test passes
    assert "google.colab" in namespace["sys"].modules
    del namespace["sys"].modules["google.colab"]


def test_frameworks_environment_holds_torch_but_not_the_companion(tmp_path):
    site = colab_path._frameworks_venv(tmp_path / "venv")
    assert colab_path._installed_here(site) == []
    python = tmp_path / "venv" / "bin" / "python"
    probe = (
        "import importlib.util as u; print(bool(u.find_spec('torch')), u.find_spec('companion'))"
    )
    out = subprocess.run([python, "-c", probe], cwd=tmp_path, capture_output=True, text=True)
    assert out.stdout.split() == ["True", "None"]
    with pytest.raises(FileExistsError, match="expected a new folder"):
        colab_path._frameworks_venv(tmp_path / "venv")

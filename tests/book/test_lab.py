"""The JupyterLab check (companion.book.lab) fails where a student would see a failure."""

import nbformat
import pytest

from companion.book import lab, pages

new_code = nbformat.v4.new_code_cell
PLANTED = [
    # leave=False, as the companion's bars: gone when done, counted while they show (for
    # seconds: a bar closed before the page drew it would never have shown)
    new_code(
        "import time\nfrom tqdm.auto import tqdm\n\n"
        "for _ in tqdm(range(4), leave=False):\n    time.sleep(1)"
    ),
    new_code('raise ValueError("planted")'),
    new_code('print("never reached")'),
]


def _write(path, cells):
    """A notebook naming the python3 kernel as the book's do (JupyterLab asks otherwise)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    kernel = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": kernel}), path)


def test_copies_are_cleared_and_saved_problems_name_each_cell(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ran = [new_code("1 + 1", execution_count=1), *PLANTED]
    ran[1].execution_count = 2
    ran[2].execution_count = 3
    ran[2].outputs = [nbformat.v4.new_output("error", ename="ValueError", evalue="planted")]
    _write(tmp_path / "notebooks" / "a.ipynb", ran)
    (copy,) = lab.copy_cleared(["notebooks/a.ipynb"], tmp_path / "root")
    cleared = nbformat.read(copy, as_version=4)
    assert [c.execution_count for c in cleared.cells] == [None] * 4
    assert [c.outputs for c in cleared.cells] == [[]] * 4
    assert lab.saved_problems(copy) == [f"cell {n} was not executed" for n in (1, 2, 3, 4)]
    assert lab.saved_problems("notebooks/a.ipynb") == [
        "cell 3: ValueError: planted",
        "cell 4 was not executed",
    ]


@pytest.mark.skipif(
    pages._find_chromium() is None, reason="no Chromium: `make chromium` installs it"
)
def test_jupyterlab_run_catches_an_error_and_shows_the_progress_widget(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _write(tmp_path / "notebooks" / "clean.ipynb", [new_code("print(6 * 7)")])
    _write(tmp_path / "notebooks" / "planted.ipynb", PLANTED)
    found = lab.check_lab(
        ["notebooks/clean.ipynb", "notebooks/planted.ipynb"],
        tmp_path / "out",
        pages._find_chromium(),
        jobs=2,
        timeout_s=240,
    )
    assert found["notebooks/clean.ipynb"]["problems"] == []
    assert found["notebooks/planted.ipynb"]["problems"] == [
        "cell 2: ValueError: planted",
        "cell 3 was not executed",
    ]
    assert found["notebooks/planted.ipynb"]["widgets"] == 1  # tqdm's bar, rendered as a widget
    assert found["notebooks/clean.ipynb"]["widgets"] == 0
    saved = nbformat.read(tmp_path / "out/root/notebooks/clean.ipynb", as_version=4)
    assert saved.cells[0].outputs[0]["text"] == "42\n"  # saved through JupyterLab
    assert (tmp_path / "out" / "notebooks__planted.ipynb.png").stat().st_size > 10_000


@pytest.mark.skipif(
    pages._find_chromium() is None, reason="no Chromium: `make chromium` installs it"
)
def test_a_page_that_keeps_reloading_is_rerun_then_given_up(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(lab, "GRACE_S", 5)
    # the page reloads itself mid-run: the check's script is gone and never reports
    reload = "from IPython.display import Javascript\n\nJavascript('location.reload()')"
    _write(tmp_path / "notebooks" / "reloads.ipynb", [new_code(reload)])
    found = lab.check_lab(
        ["notebooks/reloads.ipynb"], tmp_path / "out", pages._find_chromium(), timeout_s=40
    )
    problem, *saved = found["notebooks/reloads.ipynb"]["problems"]
    # the script came back after each reload, until the deadline ended the last one
    assert found["notebooks/reloads.ipynb"]["reloads"] >= 1
    assert problem.endswith(f"(after {found['notebooks/reloads.ipynb']['reloads']} page reloads)")
    assert 40 <= found["notebooks/reloads.ipynb"]["seconds"] < 40 + lab.GRACE_S + 30

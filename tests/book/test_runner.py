import json
import os
import subprocess
import sys

import nbformat
import pytest

from companion.book import runner

TOC = """format: jb-book
root: intro
chapters:
  - file: notebooks/torch/01_demo
  - file: notebooks/tensorflow/01_demo
  - file: notebooks/torch/02_broken
"""


def _notebook(path, code):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    params = nbformat.v4.new_code_cell("PROFILE = None")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(code)]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


@pytest.fixture
def book(tmp_path):
    (tmp_path / "_toc.yml").write_text(TOC)
    record = (
        "import companion\ncompanion.record('profile_name', companion.profile(PROFILE).name)\n"
        "companion.record('answer', 6 * 7)"
    )
    _notebook(tmp_path / "notebooks/torch/01_demo.ipynb", record)
    _notebook(tmp_path / "notebooks/tensorflow/01_demo.ipynb", record)
    _notebook(
        tmp_path / "notebooks/torch/02_broken.ipynb", "raise RuntimeError('deliberate failure')"
    )
    return tmp_path


def test_toc_order_and_selection(book):
    paths = runner.notebooks_in_toc(book)
    assert paths == [
        "notebooks/torch/01_demo.ipynb",
        "notebooks/tensorflow/01_demo.ipynb",
        "notebooks/torch/02_broken.ipynb",
    ]
    assert runner.select(paths, framework="tensorflow") == [paths[1]]
    assert runner.select(paths, only="torch/0") == [paths[0], paths[2]]
    assert runner.select(paths, shard="2/2") == [paths[1]]
    assert runner.select(paths, shard="1/2") == [paths[0], paths[2]]
    with pytest.raises(ValueError, match="i/n"):
        runner.select(paths, shard="3/2")


def test_run_collects_metrics_and_reports_failures(book, capsys):
    out = book / "out"
    code = runner.run(book, profile="cpu", out=out)
    assert code == 1  # the broken notebook fails the run
    results = json.loads((out / "results.json").read_text())
    demo = results["notebooks/torch/01_demo.ipynb"]
    assert demo["metrics"] == {"profile_name": "cpu", "answer": 42}
    assert demo["framework"] == "torch" and demo["profile"] == "cpu" and demo["seconds"] > 0
    assert results["notebooks/tensorflow/01_demo.ipynb"]["framework"] == "tensorflow"
    assert "deliberate failure" in results["notebooks/torch/02_broken.ipynb"]["error"]
    assert "FAILED" in (out / "results.md").read_text()
    assert (out / "notebooks/torch/01_demo.ipynb").exists()


def test_cli_runs_a_selection(book):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "companion",
            "run",
            "--only",
            "01_demo",
            "--framework",
            "torch",
            "--out",
            "o",
        ],
        cwd=book,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "[1/1] notebooks/torch/01_demo.ipynb" in result.stdout
    assert (
        json.loads((book / "o/results.json").read_text())["notebooks/torch/01_demo.ipynb"][
            "metrics"
        ]["answer"]
        == 42
    )
    bad = subprocess.run(
        [sys.executable, "-m", "companion", "run", "--profile", "huge"],
        cwd=book,
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and "invalid choice: 'huge'" in bad.stderr


def test_shards_write_their_own_results_and_merge(book):
    out = book / "out"
    assert runner.run(book, profile="smoke", only="01_demo", shard="1/2", out=out) == 0
    assert runner.run(book, profile="smoke", only="01_demo", shard="2/2", out=out) == 0
    merged = runner.merge_results(out)
    assert sorted(merged) == ["notebooks/tensorflow/01_demo.ipynb", "notebooks/torch/01_demo.ipynb"]
    assert json.loads((out / "results.json").read_text()) == merged


def test_inplace_run_replaces_notebooks_drops_injected_cell_and_keeps_run_info(book, monkeypatch):
    from companion import results

    monkeypatch.setattr(results, "REFERENCE_FILE", book / "reference.json")
    (book / "book").mkdir()
    code = (
        "import os, companion\nP = companion.profile(PROFILE)\ncompanion.describe_run(P)\n"
        "companion.record('answer', 6 * 7)\nprint(os.environ.get(results.MAKING_REFERENCE))"
    )
    code = code.replace("results.MAKING_REFERENCE", repr(results.MAKING_REFERENCE))
    _notebook(book / "notebooks/torch/01_demo.ipynb", code)
    assert runner.run(book, profile="cpu", only="torch/01", out=book / "out", inplace=True) == 0
    committed = nbformat.read(book / "notebooks/torch/01_demo.ipynb", as_version=4)
    assert [c.source for c in committed.cells][0] == "PROFILE = None"  # papermill's cell is gone
    assert (
        committed.cells[1].outputs[0]["data"]["text/plain"].startswith("profile: cpu | cpu: ")
    )  # describe_run
    assert committed.cells[1].outputs[-1]["text"] == "1\n"  # the kernel knew it makes the reference
    assert results.MAKING_REFERENCE not in os.environ  # and this process is as it was
    entry = json.loads((book / "reference.json").read_text())["notebooks/torch/01_demo.ipynb"]
    assert entry["metrics"] == {"answer": 42} and entry["run"]["profile"] == "cpu"
    assert entry["run"]["cores"] >= 1 and entry["seconds"] > 0
    assert "| `answer` | 42 |" in (book / "book/results.md").read_text()
    # the failing notebook is not copied over its committed version
    assert runner.run(book, profile="cpu", only="02_broken", out=book / "out", inplace=True) == 1
    assert (
        nbformat.read(book / "notebooks/torch/02_broken.ipynb", as_version=4).cells[1].outputs == []
    )


def test_check_passes_on_a_reproduced_run_and_fails_on_drift(book, monkeypatch, capsys):
    from companion import results

    monkeypatch.setattr(results, "REFERENCE_FILE", book / "reference.json")
    (book / "book").mkdir()
    assert runner.run(book, profile="cpu", only="torch/01", out=book / "out", inplace=True) == 0
    assert runner.check(book, "cpu", only="torch/01", out=book / "c") == 0
    assert "| answer | 42 | 42 | exact | yes |" in capsys.readouterr().out
    nb = nbformat.read(book / "notebooks/torch/01_demo.ipynb", as_version=4)
    nb.cells[1].source = nb.cells[1].source.replace(
        "6 * 7", "41"
    )  # the code changed, outputs did not
    nbformat.write(nb, book / "notebooks/torch/01_demo.ipynb")
    assert runner.check(book, "cpu", only="torch/01", out=book / "c") == 1
    assert "| answer | 42 | 41 | exact | NO |" in capsys.readouterr().out

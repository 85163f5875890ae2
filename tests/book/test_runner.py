import json
import os
import subprocess
import sys

import nbformat
import pytest

from companion.book import runner, tolerances

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
    described = committed.cells[1].outputs[0]["data"]["text/plain"]
    assert described.startswith("profile: cpu | ") and " | cpu: " in described  # describe_run
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


ROOT = runner._root(os.path.join(os.path.dirname(__file__), "..", "..")).resolve()


def _old_split(paths, n):
    """The split before issue 20: every n-th notebook in reading order."""
    return [paths[i::n] for i in range(n)]


@pytest.mark.parametrize("profile", ["cpu", "gpu"])
def test_shards_balance_the_committed_run_times(profile):
    paths = runner.notebooks_in_toc(ROOT)
    costs = runner.expected_seconds(paths, profile)
    assert sorted(costs) == sorted(paths) and all(c > 0 for c in costs.values())
    simclr = [p for p in paths if "/04_" in p]
    assert len(simclr) == 2
    for n in range(1, 7):
        split = [runner.select(paths, shard=f"{i}/{n}", costs=costs) for i in range(1, n + 1)]
        assert sorted(p for shard in split for p in shard) == sorted(paths)  # each exactly once
        assert split == runner.shards(paths, n, costs)
        assert all(shard == [p for p in paths if p in shard] for shard in split)  # reading order
        if profile == "gpu" and n >= 2:  # the longest two never share a job
            assert [sum(p in shard for p in simclr) for shard in split].count(1) == 2
    new = max(sum(costs[p] for p in shard) for shard in runner.shards(paths, 4, costs))
    old = max(sum(costs[p] for p in shard) for shard in _old_split(paths, 4))
    assert new < old
    # the old split put each SimCLR notebook beside a long Chapter 2
    assert [p for p in _old_split(paths, 4)[0] if "/02_" in p or "/04_" in p] == [
        "notebooks/torch/02_transfer_learning.ipynb",
        "notebooks/torch/04_simclr.ipynb",
    ]


def test_shards_go_longest_first_to_the_least_loaded():
    paths = ["notebooks/torch/a.ipynb", "notebooks/torch/b.ipynb", "notebooks/torch/c.ipynb"]
    paths.append("notebooks/torch/d.ipynb")
    costs = dict(zip(paths, [5, 3, 3, 1]))
    # a (5) to shard 1, b (3) to 2, c (3) to 2 (3 < 5), d (1) to 1 (5 < 6): 6 and 6
    assert runner.shards(paths, 2, costs) == [[paths[0], paths[3]], [paths[1], paths[2]]]
    assert runner.select(paths, shard="2/2", costs=costs) == paths[1:3]
    assert runner.shards(paths, 6, costs)[4:] == [[], []]  # more shards than notebooks
    with pytest.raises(ValueError, match="expected a finite number of seconds"):
        runner.shards(paths, 2, {paths[0]: 1})
    with pytest.raises(ValueError, match="i/n"):
        runner.select(paths, shard="2", costs=costs)


def test_expected_seconds_scale_the_cpu_run_for_the_gpu_profile():
    paths = runner.notebooks_in_toc(ROOT)
    cpu, gpu = runner.expected_seconds(paths, "cpu"), runner.expected_seconds(paths, "gpu")
    reference = json.loads((ROOT / "companion/data/reference_cpu.json").read_text())
    assert (
        cpu["notebooks/torch/04_simclr.ipynb"]
        == reference["notebooks/torch/04_simclr.ipynb"]["seconds"]
    )
    assert gpu["notebooks/torch/04_simclr.ipynb"] == 30 * cpu["notebooks/torch/04_simclr.ipynb"]
    # a notebook with no recorded time costs the median of the others
    unknown = "notebooks/torch/09_new.ipynb"
    costs = runner.expected_seconds(paths + [unknown], "cpu")
    ordered = sorted(cpu.values())
    assert costs[unknown] == (ordered[5] + ordered[6]) / 2


def _fake_papermill(monkeypatch, fail_at=None):
    """papermill's execute_notebook replaced by one that records 'answer' = the call's number and
    is interrupted (as a killed job is) at call ``fail_at``; the list of executed inputs."""
    import papermill

    calls = []

    def execute_notebook(source, target, parameters, **kwargs):
        calls.append(source)
        if len(calls) == fail_at:
            raise KeyboardInterrupt  # not an Exception: the runner does not catch it
        nb = nbformat.read(source, as_version=4)
        nb.cells[1].outputs = [
            nbformat.v4.new_output(
                "display_data",
                data={"text/plain": f"answer = {len(calls)}"},
                metadata={runner.METRIC_KEY: {"name": "answer", "value": len(calls)}},
            )
        ]
        nb.metadata["papermill"] = {"duration": 1.5, "parameters": parameters}
        nbformat.write(nb, target)

    monkeypatch.setattr(papermill, "execute_notebook", execute_notebook)
    return calls


def test_results_are_on_disk_after_each_notebook(book, monkeypatch):
    out = book / "out"
    _fake_papermill(monkeypatch, fail_at=2)
    with pytest.raises(KeyboardInterrupt):
        runner.run(book, profile="gpu", out=out)
    results = json.loads((out / "results.json").read_text())
    assert list(results) == ["notebooks/torch/01_demo.ipynb"]  # the first, finished before
    assert results["notebooks/torch/01_demo.ipynb"]["metrics"] == {"answer": 1}
    assert results["notebooks/torch/01_demo.ipynb"]["profile"] == "gpu"
    assert "| notebooks/torch/01_demo.ipynb | torch | gpu |" in (out / "results.md").read_text()
    # a shard writes its own file the same way
    _fake_papermill(monkeypatch, fail_at=2)
    with pytest.raises(KeyboardInterrupt):
        runner.run(book, profile="gpu", out=out, shard="1/1")
    assert list(json.loads((out / "results-1of1.json").read_text())) == [
        "notebooks/torch/01_demo.ipynb"
    ]


def test_resume_keeps_what_finished_at_the_same_profile(book, monkeypatch, capsys):
    out = book / "out"
    _fake_papermill(monkeypatch, fail_at=2)
    with pytest.raises(KeyboardInterrupt):
        runner.run(book, profile="gpu", out=out)
    calls = _fake_papermill(monkeypatch)
    assert runner.run(book, profile="gpu", out=out, resume=True) == 0
    assert [os.path.basename(os.path.dirname(c)) for c in calls] == ["tensorflow", "torch"]
    assert calls[1].endswith("02_broken.ipynb")  # the first notebook was kept, not re-run
    assert "kept from the earlier run" in capsys.readouterr().out
    results = json.loads((out / "results.json").read_text())
    assert list(results) == runner.notebooks_in_toc(book)  # reading order
    assert results["notebooks/torch/01_demo.ipynb"]["metrics"] == {"answer": 1}
    # another profile runs everything again; so does a run without --resume
    calls = _fake_papermill(monkeypatch)
    assert runner.run(book, profile="smoke", out=out, resume=True) == 0
    assert len(calls) == 3
    calls = _fake_papermill(monkeypatch)
    assert runner.run(book, profile="smoke", out=out) == 0
    assert len(calls) == 3
    # a gpu dry run keeps no real gpu run's notebooks
    assert runner.run(book, profile="gpu", out=out) == 0
    monkeypatch.setenv("COMPANION_DRYRUN", "1")
    calls = _fake_papermill(monkeypatch)
    assert runner.run(book, profile="gpu", out=out, resume=True) == 0
    assert len(calls) == 3


def test_kernels_inherit_the_environment(book, monkeypatch):
    monkeypatch.setenv("COMPANION_MIRROR", "http://127.0.0.1:9/mirror")
    code = "import os\nprint(os.environ.get('COMPANION_MIRROR'))"
    _notebook(book / "notebooks/torch/01_demo.ipynb", code)
    assert runner.run(book, profile="smoke", only="torch/01", out=book / "out") == 0
    executed = nbformat.read(book / "out/notebooks/torch/01_demo.ipynb", as_version=4)
    assert executed.cells[1].outputs[0]["text"] == "http://127.0.0.1:9/mirror\n"


def test_build_path_imports_no_framework_and_no_papermill():
    code = (
        "import sys\nfrom companion.book import cli, runner, results_page, extension\n"
        "heavy = {'torch', 'tensorflow', 'keras', 'papermill'} & set(sys.modules)\n"
        "assert not heavy, heavy"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_a_notebook_that_cannot_run_as_asked_is_refused_before_any_runs(book, monkeypatch):
    calls = _fake_papermill(monkeypatch)
    broken = book / "notebooks/torch/02_broken.ipynb"
    text = broken.read_text()
    broken.write_text("<<<<<<< HEAD\n" + text + "=======\n" + text + ">>>>>>> theirs\n")
    with pytest.raises(ValueError, match=r"02_broken.ipynb holds merge-conflict markers: resolve"):
        runner.run(book, profile="cpu", out=book / "out")
    nb = nbformat.read(book / "notebooks/torch/01_demo.ipynb", as_version=4)
    del nb.cells[0].metadata["tags"]  # papermill would add PROFILE at the top: its own ran
    nbformat.write(nb, broken)
    with pytest.raises(ValueError, match=r"02_broken.ipynb has no code cell tagged 'parameters'"):
        runner.check(book, profile="cpu", out=book / "out")
    assert calls == [] and not (book / "out").exists()  # refused before the first notebook


def test_a_results_file_with_a_null_or_partial_entry_is_refused(book, tmp_path):
    out = tmp_path / "shards"
    out.mkdir()
    whole = {"framework": "torch", "profile": "gpu", "seconds": 1.0, "metrics": {}}
    for entry, shown in ((None, "None"), ({"framework": "torch", "metrics": {}}, "dict")):
        (out / "results-1of2.json").write_text(json.dumps({"a.ipynb": whole, "b.ipynb": entry}))
        with pytest.raises(
            ValueError, match=rf"results-1of2.json holds no whole result for b.*{shown}"
        ):
            runner.merge_results(out)
    with pytest.raises(ValueError, match="results-1of2.json holds no whole result for b.ipynb"):
        tolerances.check_gpu(out / "results-1of2.json", book)


DIES_ONCE = """import os, pathlib, signal, companion
P = companion.profile(PROFILE)
runs = pathlib.Path(os.environ["COMPANION_RUNS"])  # where its trainings resume from
runs.mkdir(parents=True, exist_ok=True)
if not (runs / "died").exists() or ALWAYS:
    (runs / "died").write_text("once")
    os.kill(os.getpid(), signal.SIGKILL)  # the kernel dies, as when it runs out of memory
companion.record("resumed_from", (runs / "died").read_text())"""


@pytest.mark.parametrize("always", [False, True])
def test_a_notebook_whose_kernel_died_runs_again_and_finds_its_resume_files(book, always):
    path = "notebooks/torch/01_demo.ipynb"
    _notebook(book / path, DIES_ONCE.replace("ALWAYS", str(always)))
    out = book / "out"
    entry = runner.execute(book, path, out, "cpu")
    if always:  # a kernel that dies every time: reported after RESTARTS runs again
        assert entry["restarts"] == runner.RESTARTS and "DeadKernelError" in entry["error"]
    else:
        assert "error" not in entry and entry["restarts"] == 1
        assert entry["metrics"] == {"resumed_from": "once"}
    assert (out / "runs" / "died").is_file()  # $COMPANION_RUNS was out/runs
    assert "COMPANION_RUNS" not in os.environ


def test_only_a_dead_kernel_counts_as_one():
    from nbclient.exceptions import DeadKernelError

    assert runner.kernel_died(DeadKernelError("Kernel died"))
    assert not runner.kernel_died(RuntimeError("deliberate failure"))
    with pytest.raises(TypeError, match="error: expected an exception"):
        runner.kernel_died("Kernel died")

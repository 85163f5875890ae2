"""The reproduction tolerances, the chapter tables, and the committed evidence staying
consistent."""

import json
import re
from pathlib import Path

import nbformat
import pytest

import companion
from companion import results
from companion.book import results_page, runner, tolerances

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = runner.notebooks_in_toc(ROOT)


@pytest.mark.parametrize(
    "name, committed, new, ok",
    [
        ("top1_label_chelsea", "Egyptian cat", "Egyptian cat", True),
        ("top1_label_chelsea", "Egyptian cat", "tiger cat", False),
        ("n_params", 3504872, 3504873, False),
        ("test_accuracy", 0.80, 0.829, True),  # 0.029 <= 0.03
        ("test_accuracy", 0.80, 0.832, False),  # 0.032 > 0.03
        ("test_accuracy", 0.80, None, False),  # missing in the new run
        ("test_accuracy", 0.80, float("nan"), False),
        ("conv_max_abs_diff", 2.9e-6, 3.3e-7, True),  # both tiny: rounding, not a bug
        ("conv_max_abs_diff", 2.9e-6, 0.2, False),
        ("level4_epoch_seconds", 5.0, 14.9, True),  # within x3
        ("level4_epoch_seconds", 5.0, 1.6, False),
        ("search_speedup_vs_rowwise", 300.0, 150.0, True),  # speed-ups depend on the machine: x3
        ("search_speedup_vs_rowwise", 300.0, 90.0, False),
        ("triplet_val_loss", 0.04, 0.059, True),  # a unit-sphere loss: within x1.5
        ("triplet_val_loss", 0.04, 0.061, False),
        ("triplet_val_loss", 0.04, 0.026, False),
        ("supervised_epochs", 37, 27, True),  # an int with a tolerance: ± 10 epochs
        ("supervised_epochs", 37, 26, False),
        ("chosen_batch_size", 64, 65, False),  # an int without one: exact
    ],
)
def test_tolerances_by_kind(name, committed, new, ok):
    assert tolerances.within(name, committed, new) is ok


def test_compare_lists_every_committed_metric():
    rows = tolerances.compare({"a_accuracy": 0.5, "n": 3}, {"a_accuracy": 0.51})
    assert [(r["metric"], r["tolerance"], r["ok"]) for r in rows] == [
        ("a_accuracy", "± 0.03", True),
        ("n", "exact", False),
    ]


def test_chapter_table_sets_this_run_beside_the_reference_and_the_article():
    reference = {"notebooks/torch/02_x.ipynb": {"metrics": {"level4_test_accuracy": 0.8, "old": 1}}}
    companion.profile("smoke")  # the profile the notebook asked for names its column
    table = results.chapter_table(
        "notebooks/torch/02_x.ipynb", {"level4_test_accuracy": 0.3}, reference
    )
    assert list(table.index) == ["level4_test_accuracy", "old"]
    assert table.loc["level4_test_accuracy", "this run (smoke)"] == "0.3"
    assert table.loc["level4_test_accuracy", "committed cpu run"] == "0.8"
    assert table.loc["level4_test_accuracy", "article"] == results.article_number(
        "02", "level4_test_accuracy"
    )
    assert table.loc["old", "this run (smoke)"] == ""
    with pytest.raises(ValueError, match="notebooks/torch/05_x.ipynb"):
        results.chapter_table("05", {}, reference)


def test_missing_reference_names_the_command_that_makes_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="make notebooks"):
        results.load_reference(tmp_path / "none.json")


def test_reference_and_results_page_are_those_of_the_committed_notebooks():
    committed = runner.committed_results(ROOT)
    assert results.load_reference() == json.loads(json.dumps(committed)), (
        "companion/data/reference_cpu.json is stale: run `python -m companion results`"
    )
    page = (ROOT / "book/results.md").read_text()
    assert page == results_page.results_page(committed), (
        "book/results.md is stale: run `python -m companion results`"
    )
    for entry in committed.values():
        for name in entry["metrics"]:
            assert f"| `{name}` |" in page


def test_committed_notebooks_hold_a_cpu_run_and_compare_portable_cells():
    for path in NOTEBOOKS:
        notebook = nbformat.read(ROOT / path, as_version=4)
        assert runner.run_info(notebook).get("profile") == "cpu", f"{path}: not a cpu-profile run"
        marked = [
            c
            for c in notebook.cells
            if c.cell_type == "code" and "# NBVAL_CHECK_OUTPUT" in c.source
        ]
        assert len(marked) >= 5, f"{path}: {len(marked)} cells compared by nbval, expected >= 5"


GLUE = re.compile(r"\{glue(?::\w+)?\}`([^`:]+\.ipynb)::(\w+)")


def test_theory_pages_glue_only_what_the_notebooks_record():
    for page in sorted((ROOT / "book").glob("*.md")):
        for target, key in GLUE.findall(page.read_text()):
            notebook = (page.parent / target).resolve()
            assert notebook.exists(), f"{page.name} glues from a missing notebook {target}"
            metrics = runner.recorded_metrics(nbformat.read(notebook, as_version=4))
            assert key in metrics, f"{page.name} glues {key!r}, which {target} does not record"


def test_the_run_that_makes_the_reference_is_its_own_committed_column(monkeypatch, capsys):
    monkeypatch.setenv(results.MAKING_REFERENCE, "1")
    table = results.chapter_table("notebooks/torch/05_x.ipynb", {"shapes_test_accuracy": 0.99}, {})
    assert table.loc["shapes_test_accuracy", "committed cpu run"] == "0.99"
    assert "make notebooks" in capsys.readouterr().out

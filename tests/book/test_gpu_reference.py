"""What a good gpu run is: the gpu bands, their check of a gpu run's results.json, the check
command, and the results page's targets."""

import copy
import json
from pathlib import Path

import pytest

from companion import results
from companion.book import cli, results_page, runner, tolerances

ROOT = Path(__file__).resolve().parents[2]
BANDS = tolerances.load_bands()
SIMCLR = "notebooks/torch/04_simclr.ipynb"


def passing_run() -> dict:
    """A hand-made gpu run that meets every band: the cpu reference at the gpu profile, with the
    raw pixels' MAP@R at what colour flower photos give (the cpu run's Fashion-MNIST pixels retrieve
    better than its ImageNet features)."""
    run = copy.deepcopy(results.load_reference())
    for path, entry in run.items():
        entry["profile"] = "gpu"
        if "03_" in path:
            entry["metrics"]["map_at_r_pixels"] = 0.2
    return run


@pytest.mark.parametrize(
    "band, metrics, ok",
    [
        ({"at_least": 0.6928}, {"m": 0.70}, True),
        ({"at_least": 0.6928}, {"m": 0.6928}, True),
        ({"at_least": 0.6928}, {"m": 0.69}, False),
        ({"at_most": 0.1}, {"m": 0.2}, False),
        ({"at_least": 0.2, "at_most": 0.5}, {"m": 0.3}, True),
        ({"at_least": 0.2, "at_most": 0.5}, {"m": 0.6}, False),
        ({"at_least": 0.2}, {"m": float("nan")}, False),
        ({"at_least": 0.2}, {"m": "0.3"}, False),
        ({"equals": "Egyptian cat"}, {"m": "Egyptian cat"}, True),
        ({"equals": "Egyptian cat"}, {"m": "tiger cat"}, False),
        ({"above": "floor"}, {"m": 0.8, "floor": 0.7}, True),
        ({"above": "floor"}, {"m": 0.7, "floor": 0.7}, False),  # above is strict
        ({"above": "floor"}, {"m": 0.6, "floor": 0.7}, False),
    ],
)
def test_a_band_passes_and_fails_on_hand_made_results(band, metrics, ok):
    row = tolerances.check_band({"metric": "m", "reason": "why", **band}, metrics)
    assert row["ok"] is ok
    assert (row["problem"] == "") is ok


def test_a_missing_metric_fails_and_names_it():
    band = {"metric": "simclr_linear_top1", "at_least": 0.6928, "reason": "the article"}
    row = tolerances.check_band(band, {"random_linear_top1": 0.4})
    assert not row["ok"] and "simclr_linear_top1 is missing" in row["problem"]
    relative = {"metric": "simclr_linear_top1", "above": "random_linear_top1", "reason": "floor"}
    row = tolerances.check_band(relative, {"simclr_linear_top1": 0.7})
    assert not row["ok"] and "random_linear_top1" in row["problem"]


def test_a_run_missing_failed_or_not_at_gpu_fails():
    run = passing_run()
    del run[SIMCLR]
    run["notebooks/tensorflow/04_simclr.ipynb"]["profile"] = "cpu"
    run["notebooks/torch/05_visualising_cnns.ipynb"]["error"] = "CUDA out of memory"
    paths = [
        SIMCLR,
        "notebooks/tensorflow/04_simclr.ipynb",
        "notebooks/torch/05_visualising_cnns.ipynb",
    ]
    report = tolerances.check_gpu_results(run, paths)
    problems = {p: [r["problem"] for r in rows if not r["ok"]] for p, rows in report.items()}
    assert f"{SIMCLR} is not in the results" in problems[SIMCLR]
    assert "simclr_linear_top1 is missing from the results" in problems[SIMCLR]
    assert problems["notebooks/tensorflow/04_simclr.ipynb"] == ["a 'cpu' run, not a gpu one"]
    assert "CUDA out of memory" in problems["notebooks/torch/05_visualising_cnns.ipynb"][0]


def test_every_band_names_metrics_the_notebooks_record():
    reference = results.load_reference()
    for chapter, bands in BANDS.items():
        paths = [p for p in reference if results.chapter_of(p) == chapter]
        assert paths, f"gpu bands for chapter {chapter}, which no notebook has"
        for band in bands:
            for path in paths:
                if band.get("framework") not in (None, reference[path]["framework"]):
                    continue
                for name in (band["metric"], band.get("above")):
                    assert name is None or name in reference[path]["metrics"], (
                        f"gpu band of chapter {chapter} names {name!r}, which {path} does not "
                        "record: rename it in companion/data/gpu_bands.json"
                    )


def test_malformed_bands_are_refused(tmp_path):
    for band in (
        {"metric": "m", "at_least": 0.5},  # no reason
        {"metric": "m", "reason": "r"},  # no bound
        {"metric": "m", "reason": "r", "at_least": 0.5, "above": "n"},  # two kinds
        {"metric": "m", "reason": "r", "at_least": "0.5"},
        {"metric": "m", "reason": "r", "above": "n", "framework": "jax"},
    ):
        file = tmp_path / "bands.json"
        file.write_text(json.dumps({"chapters": {"04": [band]}}))
        with pytest.raises((TypeError, ValueError), match="bands.json, chapter 04, band 0"):
            tolerances.load_bands(file)


def check(monkeypatch, tmp_path, capsys, run, *extra) -> tuple[int, str]:
    file = tmp_path / "results.json"
    file.write_text(json.dumps(run))
    monkeypatch.chdir(ROOT)
    code = cli.main(["check", "--profile", "gpu", "--results", str(file), *extra])
    return code, capsys.readouterr().out


def test_check_passes_a_good_gpu_run_and_fails_a_bad_one(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(runner, "execute_all", None)  # a gpu check executes nothing
    code, out = check(monkeypatch, tmp_path, capsys, passing_run())
    assert code == 0, out
    assert "every gpu band passed" in out
    n_bands = sum(len(tolerances.bands_for(BANDS, p)) for p in runner.notebooks_in_toc(ROOT))
    assert out.count("\npass | ") == n_bands
    top1 = results.load_reference()[SIMCLR]["metrics"]["simclr_linear_top1"]
    assert f"pass | simclr_linear_top1 | {top1} | ≥ 0.6928 | the gpu profile is" in out

    bad = passing_run()
    bad[SIMCLR]["metrics"]["simclr_linear_top1"] = 0.5
    del bad[SIMCLR]["metrics"]["simclr_knn_top1"]
    code, out = check(monkeypatch, tmp_path, capsys, bad, "--only", "04")
    assert code == 1
    assert "FAIL | simclr_linear_top1 | 0.5 | ≥ 0.6928 |" in out
    assert "simclr_linear_top1 0.5 is below 0.6928" in out
    assert "simclr_knn_top1 is missing from the results" in out
    assert "3 gpu band(s) failed" in out  # below the article, below random weights, missing


def test_check_at_gpu_needs_results_and_cpu_takes_none(monkeypatch, tmp_path):
    monkeypatch.chdir(ROOT)
    for argv in (["check", "--profile", "gpu"], ["check", "--results", str(tmp_path / "r.json")]):
        with pytest.raises(SystemExit) as exit_:
            cli.main(argv)
        assert exit_.value.code == 2


def test_results_page_shows_the_gpu_targets_beside_the_article():
    reference = results.load_reference()
    page = results_page.results_page(reference)
    assert "no gpu run has been published yet" in page
    assert "| article | gpu target | tolerance of the check |" in page
    row = next(line for line in page.splitlines() if line.startswith("| `simclr_linear_top1` |"))
    assert "| 0.6928 (code author: 0.7445) | ≥ 0.6928; > `random_linear_top1` |" in row
    for chapter, bands in BANDS.items():
        for band in bands:
            assert f"- gpu target `{band['metric']}` " in page, (chapter, band["metric"])

    gpu = passing_run()
    gpu[SIMCLR]["metrics"]["simclr_linear_top1"] = 0.5
    page = results_page.results_page(gpu)
    assert "no gpu run has been published yet" not in page
    row = next(line for line in page.splitlines() if line.startswith("| `simclr_linear_top1` |"))
    assert "≥ 0.6928 (PyTorch MISSED, Keras met)" in row

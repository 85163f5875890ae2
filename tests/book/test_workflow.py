"""The GPU workflow and the set-up it runs: what GitHub needs to publish the book, the cached
.venv, shards as many as the runner balances, and a set-up that needs no root."""

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from companion.book import assets, runner

ROOT = Path(__file__).resolve().parents[2]
GPU_WORKFLOW = ROOT / ".github" / "workflows" / "book-gpu.yml"
FRAMEWORK = re.compile(r"\b(torch|tensorflow|keras|--all-extras|--extra (torch|tf))\b")


def _workflow(path=GPU_WORKFLOW):
    workflow = yaml.safe_load(path.read_text())
    assert isinstance(workflow, dict) and "jobs" in workflow, f"{path}: not a workflow"
    return workflow


def _runs(job) -> list[str]:
    return [step["run"] for step in job["steps"] if "run" in step]


def _uses(job, action) -> list[dict]:
    return [s for s in job["steps"] if s.get("uses", "").split("@")[0] == action]


def _make_recipe(target: str) -> str:
    """What ``make -n target`` would run here (nothing is run)."""
    result = subprocess.run(
        ["make", "-n", "-B", target], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_publish_may_deploy_pages():
    publish = _workflow()["jobs"]["publish"]
    assert publish["environment"]["name"] == "github-pages"
    assert "steps.deployment.outputs.page_url" in publish["environment"]["url"]
    assert publish["permissions"] == {"contents": "read", "pages": "write", "id-token": "write"}
    assert [s.get("id") for s in _uses(publish, "actions/deploy-pages")] == ["deployment"]
    assert publish["needs"] == "execute"


def test_every_job_can_check_out_the_repository():
    for name, job in _workflow()["jobs"].items():
        if "permissions" in job:  # setting permissions drops the defaults
            assert job["permissions"].get("contents") == "read", name


def test_the_venv_is_cached_on_the_lock():
    for name, job in _workflow()["jobs"].items():
        (cache,) = _uses(job, "actions/cache")
        assert cache["with"]["path"] == ".venv", name
        key = cache["with"]["key"]
        assert "hashFiles('uv.lock', 'pyproject.toml')" in key and "runner.os" in key, name
        step = job["steps"].index(cache)
        first_make = min(i for i, s in enumerate(job["steps"]) if "make " in s.get("run", ""))
        assert step < first_make, f"{name}: restore the .venv before make installs it"


def test_shards_match_the_runner():
    execute = _workflow()["jobs"]["execute"]
    shards = execute["strategy"]["matrix"]["shard"]
    assert shards == list(range(1, runner.GPU_SHARDS + 1))
    assert execute["strategy"]["fail-fast"] is False  # one shard's failure keeps the others
    (command,) = [r for r in _runs(execute) if "companion run" in r]
    assert "--profile gpu" in command
    assert f"--shard ${{{{ matrix.shard }}}}/{runner.GPU_SHARDS} " in command
    (upload,) = _uses(execute, "actions/upload-artifact")
    assert upload["if"] == "always()" and upload["with"]["path"] in command


def test_publish_builds_html_without_the_frameworks():
    publish = _workflow()["jobs"]["publish"]
    runs = _runs(publish)
    assert not [r for r in runs if "make setup" in r or FRAMEWORK.search(r)], runs
    assert any("make book-html" in r for r in runs)
    recipe = _make_recipe("book-html")
    assert "--extra book" in recipe and "companion build --out _build/executed" in recipe
    assert not FRAMEWORK.search(recipe) and "--all-extras" not in recipe
    assert "companion assets" not in recipe  # no weights, no data


def test_setup_needs_neither_npm_nor_chromium():
    recipe = _make_recipe("setup")
    assert "companion assets" in recipe
    assert "npm" not in recipe and "mathjax" not in recipe.lower() and "chromium" not in recipe
    book = _make_recipe("book")
    assert "npm install" in book and "chromium" in book  # the book's own


def test_fashion_mnist_is_downloaded_without_root(monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    monkeypatch.setattr(assets, "fashion_dir", lambda: None)
    apt, loaded = [], []
    monkeypatch.setattr(assets.subprocess, "run", lambda *a, **k: apt.append(a))
    from companion.data import fashion

    monkeypatch.setattr(fashion, "load_fashion_mnist", lambda split, **k: loaded.append(split))
    assets.install_fashion_mnist()
    assert apt == [] and loaded == ["test", "train"]  # no apt; the loader downloads

    # offline: a message naming both ways to get it, and no crash of the other assets
    def offline(split, **k):
        raise ConnectionError("cannot reach fashion-mnist.s3-website.eu-central-1.amazonaws.com")

    monkeypatch.setattr(fashion, "load_fashion_mnist", offline)
    with pytest.raises(FileNotFoundError, match="could not be downloaded.*apt-get install"):
        assets.install_fashion_mnist()


def test_ci_runs_the_gpu_dry_run_as_a_job_of_its_own():
    jobs = _workflow(ROOT / ".github" / "workflows" / "ci.yml")["jobs"]
    runs = {name: [s.get("run", "") for s in job["steps"]] for name, job in jobs.items()}
    assert "make test" in runs["test"] and "make gpu-dryrun" not in runs["test"]
    assert "make gpu-dryrun" in runs["gpu-dryrun"] and "needs" not in jobs["gpu-dryrun"]
    assert all(job["timeout-minutes"] <= 90 for job in jobs.values())

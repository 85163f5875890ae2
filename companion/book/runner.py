"""Execute the book's notebooks with papermill and collect what they ``record``.

Each notebook runs in its own kernel process, so torch and TensorFlow editions never share one.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import yaml

from .. import FRAMEWORKS, METRIC_KEY, PROFILES, RUN_KEY, RUNS_ENV, checks, dry_run
from .. import results as reference_results
from ..files import atomic_write

BOOK_FILES = ["_config.yml", "_toc.yml", "book"]
# The GPU workflow's shards (.github/workflows/book-gpu.yml: one job each, --shard i/GPU_SHARDS).
GPU_SHARDS = 4
# A notebook's expected time at the gpu profile, as a multiple of the committed cpu run's: the gpu
# profile's work over the cpu profile's (images x epochs x pixels x model), divided by what a GPU
# gains over the 2 cores of the cpu run. Rough estimates, to balance the shards only, until a
# recorded gpu run replaces them. SimCLR dominates: 100 000 STL10 images x 100 epochs of a
# ResNet18 at 96 px against 10 000 x 25 epochs of a small CNN at 32 px (about 3600 times the work).
GPU_SCALE = {"00": 1.0, "01": 2.0, "02": 3.0, "03": 3.0, "04": 30.0, "05": 1.0}


def _root(root) -> Path:
    """The book's root folder: the one holding ``_toc.yml``."""
    root = checks.path(root, "root")
    if not (root / "_toc.yml").is_file():
        raise FileNotFoundError(
            checks.file_error(
                root / "_toc.yml", "does not exist", "run from the book's root folder"
            )
        )
    return root


def _notebook(notebook):
    if not hasattr(notebook, "cells") or not isinstance(notebook.cells, list):
        raise TypeError(
            f"expected a notebook (nbformat.read(...)), got {checks.describe(notebook)}"
        )
    return notebook


def _profile(profile) -> str:
    if not isinstance(profile, str) or profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}: expected one of {', '.join(PROFILES)}")
    return profile


def notebooks_in_toc(root: Path) -> list[str]:
    """Paths of the notebooks ``_toc.yml`` lists, in reading order."""
    toc_file = _root(root) / "_toc.yml"
    try:
        toc = yaml.safe_load(toc_file.read_text())
    except yaml.YAMLError as err:
        raise ValueError(
            checks.file_error(
                toc_file,
                f"is not valid YAML ({checks.one_line(err)})",
                "fix it or restore it with git",
            )
        ) from None
    found = []

    def walk(node):
        if isinstance(node, dict):
            name = node.get("file")
            if name and name.startswith("notebooks/"):
                found.append(name if name.endswith(".ipynb") else name + ".ipynb")
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(toc)
    return found


def framework_of(path: str) -> str:
    """``torch`` or ``tensorflow``, from the notebook's folder."""
    framework = checks.path(path, "path").parent.name
    if framework not in FRAMEWORKS:
        raise ValueError(
            f"expected a notebook under notebooks/torch/ or notebooks/tensorflow/, got {path!r}"
        )
    return framework


def expected_seconds(paths: list[str], profile: str = "cpu") -> dict[str, float]:
    """Each notebook's expected run time at ``profile``: the committed cpu run's seconds
    (``companion/data/reference_cpu.json``), times ``GPU_SCALE`` of its chapter at the gpu
    profile; a notebook without a recorded time costs the median of the others (1 if none has
    one)."""
    paths = checks.notebook_paths(paths)
    _profile(profile)
    try:
        reference = reference_results.load_reference(reference_results.REFERENCE_FILE)
    except (FileNotFoundError, ValueError):  # no committed run yet: every notebook alike
        reference = {}
    recorded = {}
    for path in paths:
        seconds = reference.get(path, {}).get("seconds") if isinstance(reference, dict) else None
        if isinstance(seconds, (int, float)) and math.isfinite(seconds) and seconds > 0:
            recorded[path] = float(seconds)
    known = sorted(recorded.values())
    fallback = (known[(len(known) - 1) // 2] + known[len(known) // 2]) / 2 if known else 1.0
    costs = {}
    for path in paths:
        scale = 1.0
        if profile == "gpu":
            name = checks.path(path, "path").name
            scale = GPU_SCALE.get(name[:2], 1.0)
        costs[path] = recorded.get(path, fallback) * scale
    return costs


def _shard(shard: str) -> tuple[int, int]:
    try:
        i, n = (int(x) for x in shard.split("/"))
        assert 1 <= i <= n
    except (ValueError, AssertionError):
        raise ValueError(f"--shard takes i/n with 1 <= i <= n, got {shard!r}") from None
    return i, n


def shards(paths: list[str], n: int, costs: dict[str, float]) -> list[list[str]]:
    """``paths`` split into ``n`` shards of about equal expected time: longest first, each to the
    least-loaded shard (ties: the earlier notebook, the lower shard), each shard in reading
    order. Deterministic, so every shard's job computes the same split."""
    paths = checks.notebook_paths(paths)
    checks.integer(n, "n", 1)
    if not isinstance(costs, dict):
        raise TypeError(f"costs: expected {{notebook path: seconds}}, got {checks.describe(costs)}")
    for path in paths:
        cost = costs.get(path)
        if not (
            isinstance(cost, (int, float))
            and not isinstance(cost, bool)
            and math.isfinite(cost)
            and cost >= 0
        ):
            raise ValueError(
                f"costs[{path!r}]: expected a finite number of seconds >= 0, got {cost!r}"
            )
    loads, members = [0.0] * n, [[] for _ in range(n)]
    for k in sorted(range(len(paths)), key=lambda k: (-costs[paths[k]], k)):
        j = min(range(n), key=lambda j: (loads[j], j))
        loads[j] += costs[paths[k]]
        members[j].append(k)
    return [[paths[k] for k in sorted(m)] for m in members]


def select(
    paths: list[str],
    framework: str | None = None,
    only: str | None = None,
    shard: str | None = None,
    costs: dict[str, float] | None = None,
) -> list[str]:
    """Keep one framework's notebooks, those whose path contains ``only``, and shard ``i/n`` of
    them: ``shards`` balances the shards by ``costs`` (default: ``expected_seconds`` at the cpu
    profile)."""
    paths = checks.notebook_paths(paths)
    if framework is not None and framework not in FRAMEWORKS:
        raise ValueError(f"framework must be 'torch', 'tensorflow' or None, got {framework!r}")
    if only is not None and not isinstance(only, str):
        raise TypeError(f"only must be a string or None, got {checks.describe(only)}")
    if shard is not None and not isinstance(shard, str):
        raise TypeError(f"--shard takes i/n with 1 <= i <= n, got {shard!r}")
    paths = [
        p
        for p in paths
        if (framework is None or framework_of(p) == framework) and (only is None or only in p)
    ]
    if shard:
        i, n = _shard(shard)
        paths = shards(paths, n, expected_seconds(paths) if costs is None else costs)[i - 1]
    return paths


def recorded_metrics(notebook) -> dict:
    """The values a notebook recorded with ``companion.record``, read from its outputs."""
    metrics = {}
    for cell in _notebook(notebook).cells:
        for output in cell.get("outputs", []):
            entry = output.get("metadata", {}).get(METRIC_KEY)
            if entry:
                metrics[entry["name"]] = entry["value"]
    return metrics


def run_info(notebook) -> dict:
    """What ``companion.describe_run`` said about the run: profile, CPU, cores, threads, date."""
    for cell in _notebook(notebook).cells:
        for output in cell.get("outputs", []):
            info = output.get("metadata", {}).get(RUN_KEY)
            if info:
                return dict(info)
    return {}


def title_of(notebook) -> str:
    """The lesson's title: its first heading without the edition, '(PyTorch)'."""
    for cell in _notebook(notebook).cells:
        if cell.cell_type == "markdown" and cell.source.startswith("# "):
            return re.sub(r"\s*\(.*\)\s*$", "", cell.source.splitlines()[0][2:]).strip()
    return ""


def entry_of(path: str, notebook) -> dict:
    """A notebook's result entry, read from its outputs and papermill's metadata."""
    framework_of(path)
    run = run_info(notebook)
    seconds = notebook.metadata.get("papermill", {}).get("duration")
    return {
        "framework": framework_of(path),
        "title": title_of(notebook),
        "profile": run.get("profile"),
        "seconds": None if seconds is None else round(seconds, 1),
        "run": run,
        "metrics": recorded_metrics(notebook),
    }


CONFLICT_MARKERS = re.compile(r"^(<{7}|>{7})( |$)|^={7}$", re.MULTILINE)  # as git writes them


def runnable(file) -> nbformat.NotebookNode:
    """``file`` read as a notebook the runner can execute: no merge-conflict markers, and a code
    cell tagged ``parameters`` (papermill sets PROFILE after it; without one the notebook would
    run its own default profile, not the one the results record)."""
    file = checks.existing_file(file, "notebook", "restore it with git")
    text = file.read_text(encoding="utf-8", errors="replace")
    if CONFLICT_MARKERS.search(text):
        fix = "resolve the conflict (git mergetool), then commit"
        raise ValueError(checks.file_error(file, "holds merge-conflict markers", fix))
    try:
        notebook = nbformat.reads(text, as_version=4)
    except Exception as err:  # nbformat raises several kinds for a file that is not a notebook
        problem = f"is not a notebook ({type(err).__name__})"
        raise ValueError(checks.file_error(file, problem, "restore it with git")) from None
    if not any(
        c.cell_type == "code" and "parameters" in c.get("metadata", {}).get("tags", [])
        for c in notebook.cells
    ):
        raise ValueError(
            checks.file_error(
                file,
                "has no code cell tagged 'parameters', so the runner cannot set its profile",
                "tag the cell that sets PROFILE and SEED 'parameters'",
            )
        )
    return notebook


def drop_injected_parameters(file: Path) -> None:
    """Remove papermill's injected parameters cell: the notebook's own parameters cell stays the
    one a reader sees, and ``describe_run``'s output says which profile ran."""
    file = checks.existing_file(file, "notebook")
    try:
        notebook = nbformat.read(file, as_version=4)
    except Exception as err:  # nbformat raises several kinds for a file that is not a notebook
        raise ValueError(
            checks.file_error(
                file,
                f"is not a readable notebook ({type(err).__name__})",
                "restore it with git or re-run it",
            )
        ) from None
    notebook.cells = [
        c
        for c in notebook.cells
        if "injected-parameters" not in c.get("metadata", {}).get("tags", [])
    ]
    nbformat.write(notebook, file)


RESTARTS = 2  # times a notebook whose kernel died runs again


def kernel_died(error: BaseException) -> bool:
    """Whether a papermill run failed because its kernel died (killed, out of memory), not
    because a cell raised."""
    checks.instance(error, BaseException, "error", "an exception")
    return type(error).__name__ == "DeadKernelError" or "Kernel died" in str(error)


def execute(root: Path, path: str, out: Path, profile: str, seed: int | None = None) -> dict:
    """Run one notebook with papermill into ``out/path``; return its result entry.

    The kernel finds ``$COMPANION_RUNS`` at ``out/runs``, where the notebook's long trainings
    keep their resume files (``Profile.resume_file``). A notebook whose kernel dies runs again,
    up to ``RESTARTS`` times; its trainings continue after their last finished epoch, and the
    entry counts the ``restarts``."""
    import papermill

    root, out = _root(root), checks.path(out, "out")
    _profile(profile)
    framework_of(path)
    if not (root / path).is_file():
        raise FileNotFoundError(
            f"notebook {root / path} does not exist: expected a path from _toc.yml"
        )
    if seed is not None:
        checks.integer(seed, "seed", 0)
    target = out / path
    target.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    parameters = {"PROFILE": profile} | ({} if seed is None else {"SEED": seed})
    runs = {RUNS_ENV: str((out / "runs").resolve())}  # the trainings' resume files
    for restarts in range(RESTARTS + 1):
        error = None
        try:
            with environment(runs):
                papermill.execute_notebook(
                    str(root / path),
                    str(target),
                    parameters=parameters,
                    kernel_name="python3",
                    cwd=str((root / path).parent),
                    progress_bar=False,
                )
        except Exception as err:  # papermill wraps the cell's error; keep its first line
            last = str(err).strip().splitlines()[-1][:300] if str(err).strip() else ""
            error = f"{type(err).__name__}: {last}"
            if kernel_died(err) and restarts < RESTARTS:
                print(f"the kernel died; running {path} again (its trainings resume)", flush=True)
                continue
        break
    if target.exists():
        drop_injected_parameters(target)
        entry = entry_of(path, nbformat.read(target, as_version=4))
    else:
        entry = {"framework": framework_of(path), "metrics": {}}
    entry |= {"profile": profile, "seconds": round(time.perf_counter() - start, 1)}
    if restarts:
        entry["restarts"] = restarts
    if error:
        entry["error"] = error
    return entry


def results_markdown(results: dict) -> str:
    """A readable table of the results."""
    lines = ["| notebook | framework | profile | seconds | metrics |", "|---|---|---|---|---|"]
    if not isinstance(results, dict):
        raise TypeError(
            f"results: expected {{notebook path: entry}}, got {checks.describe(results)}"
        )
    for path, r in results.items():
        missing = [k for k in ("framework", "profile", "seconds", "metrics") if k not in r]
        if missing:
            raise ValueError(
                f"results[{path!r}]: expected an entry with framework, profile, "
                f"seconds and metrics, missing {missing}"
            )
        metrics = ", ".join(f"{k} = {v}" for k, v in r["metrics"].items())
        if "error" in r:
            metrics = f"**FAILED** {r['error']}"
        lines.append(f"| {path} | {r['framework']} | {r['profile']} | {r['seconds']} | {metrics} |")
    return "\n".join(lines) + "\n"


def write_results(results: dict, out: Path, stem: str = "results") -> None:
    """``stem.json`` (machine-readable) and ``stem.md`` (a table) in ``out``, each written
    atomically."""
    out, text = checks.path(out, "out"), results_markdown(results)
    if not out.is_dir():
        raise FileNotFoundError(
            f"out folder {out} does not exist: expected the run's output folder"
        )
    checks.text(stem, "stem")
    files = {f"{stem}.json": json.dumps(results, indent=2) + "\n", f"{stem}.md": text}
    for name, content in files.items():
        atomic_write(out / name, lambda tmp, content=content: tmp.write_text(content), "results")


def merge_results(out: Path) -> dict:
    """Merge the shards' ``results-*.json`` in ``out`` into ``results.json`` and ``results.md``."""
    out = checks.path(out, "out")
    parts = sorted(out.glob("results-*.json"))
    if not parts:
        raise FileNotFoundError(
            f"no results-*.json in {out}: expected the shards' output folder "
            f"(python -m companion run --shard i/n --out {out})"
        )
    results = {}
    for part in parts:
        shard = reference_results.read_results(
            part, "re-run that shard with python -m companion run --shard i/n"
        )
        results.update(shard)
    write_results(results, out)
    return results


def build_book(root: Path, out: Path, html_root: Path) -> Path:
    """Build the HTML book from the executed copies in ``out`` (committed ones fill any gap); its
    results page lists the runs it shows."""
    from .results_page import results_page

    root, out, html_root = _root(root), checks.path(out, "out"), checks.path(html_root, "html_root")
    for name in BOOK_FILES:
        source, dest = root / name, out / name
        if source.is_dir():
            shutil.copytree(source, dest, dirs_exist_ok=True)
        else:
            shutil.copyfile(source, dest)
    for path in notebooks_in_toc(root):
        if not (out / path).exists():
            (out / path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(root / path, out / path)
    (out / "book" / "results.md").write_text(
        results_page(
            committed_results(out), "the notebooks executed for this build (profiles as listed)"
        )
    )
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    subprocess.run(
        [
            str(jupyter_book if jupyter_book.exists() else "jupyter-book"),
            "build",
            str(out),
            "--path-output",
            str(html_root),
        ],
        check=True,
    )
    return html_root / "_build" / "html" / "index.html"


@contextlib.contextmanager
def environment(variables: dict):
    """Set environment ``variables`` (for the kernels started inside) and restore them after."""
    if not isinstance(variables, dict) or not all(
        isinstance(k, str) and k and isinstance(v, str) for k, v in variables.items()
    ):
        raise TypeError(
            f"variables: expected a dict of strings {{NAME: value}}, got "
            f"{checks.describe(variables)}"
        )
    saved = {k: os.environ.get(k) for k in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def execute_all(
    root: Path,
    paths: list[str],
    out: Path,
    profile: str,
    seed: int | None = None,
    stem: str | None = None,
    keep: dict | None = None,
) -> dict:
    """Execute ``paths`` one after the other into ``out``, printing progress; their entries.

    With ``stem``, ``out/stem.json`` and ``out/stem.md`` are rewritten (atomically) after every
    notebook, so a run killed midway keeps what finished. The entries of ``keep`` (an earlier
    run's, by path) are kept instead of executing those notebooks again."""
    root, out = _root(root), checks.path(out, "out")
    _profile(profile)
    for path in select(paths):
        framework_of(path)
    if stem is not None:
        checks.text(stem, "stem")
    keep = {} if keep is None else keep
    if not isinstance(keep, dict):
        raise TypeError(f"keep: expected {{notebook path: entry}}, got {checks.describe(keep)}")
    out.mkdir(parents=True, exist_ok=True)
    results = {}
    for i, path in enumerate(paths, 1):
        print(f"[{i}/{len(paths)}] {path} ...", end=" ", flush=True)
        if path in keep:
            results[path] = keep[path]
            print(f"kept from the earlier run in {out} ({keep[path]['seconds']} s)", flush=True)
            continue
        results[path] = r = execute(root, path, out, profile, seed)
        if stem is not None:
            write_results(results, out, stem)
        print(
            f"{r['seconds']} s " + (f"FAILED: {r['error']}" if "error" in r else "ok"), flush=True
        )
    return results


def finished_results(out: Path, stem: str, paths: list[str], profile: str) -> dict:
    """The entries of ``out/stem.json`` a rerun can keep: notebooks of ``paths`` that ran there
    at ``profile`` (a gpu dry run only for a dry run) without error, their executed copies in
    ``out``."""
    out, file = (
        checks.path(out, "out"),
        checks.path(out, "out") / f"{checks.text(stem, 'stem')}.json",
    )
    _profile(profile)
    if not file.exists():
        return {}
    try:
        earlier = json.loads(file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(
            checks.file_error(
                file, f"is not valid JSON ({err})", "delete it to run every notebook again"
            )
        ) from None
    if not isinstance(earlier, dict):
        raise ValueError(
            checks.file_error(
                file, "does not map notebook paths to results", "delete it to run them again"
            )
        )
    dry = dry_run()
    kept = {}
    for path in paths:
        entry = earlier.get(path)
        if (
            isinstance(entry, dict)
            and entry.get("profile") == profile
            and "error" not in entry
            and all(k in entry for k in ("framework", "seconds", "metrics"))
            and bool((entry.get("run") or {}).get("dry_run")) == dry
            and (out / path).is_file()
        ):
            kept[path] = entry
    return kept


def committed_results(root: Path) -> dict:
    """The entries of the committed notebooks, in reading order."""
    root = _root(root)
    entries = {}
    for path in notebooks_in_toc(root):
        if not (root / path).is_file():
            raise FileNotFoundError(
                checks.file_error(
                    root / path,
                    "is listed in _toc.yml but missing",
                    "restore it with git or drop it from _toc.yml",
                )
            )
        entries[path] = entry_of(path, nbformat.read(root / path, as_version=4))
    return entries


def write_committed_results(root: Path) -> None:
    """Rewrite the cpu reference and ``book/results.md`` from the committed notebooks."""
    from ..results import REFERENCE_FILE
    from .results_page import results_page

    root = _root(root)
    reference = committed_results(root)
    REFERENCE_FILE.write_text(json.dumps(reference, indent=1) + "\n")
    (Path(root) / "book" / "results.md").write_text(results_page(reference))


def run(
    root=".",
    profile="smoke",
    framework=None,
    only=None,
    shard=None,
    out="_build/executed",
    build=False,
    inplace=False,
    seed=None,
    resume=False,
) -> int:
    """Execute the selected notebooks, write ``results.json`` and ``results.md`` (after every
    notebook: a killed run keeps what finished); 0 when all passed.

    ``shard`` ``i/n`` runs the i-th of n shards balanced by ``expected_seconds`` at ``profile``,
    into ``results-iofn.json``. ``resume`` keeps the notebooks that results file in ``out``
    already holds at this profile without error (``finished_results``) instead of running them
    again. ``inplace`` copies each notebook that ran without error over the committed one, then
    rewrites the reference and ``book/results.md`` from the committed notebooks. The kernels
    inherit this process's environment (``COMPANION_DRYRUN``, ``COMPANION_MIRROR``, ...)."""
    _profile(profile)
    root, out = _root(root).resolve(), checks.path(out, "out").resolve()
    listed = notebooks_in_toc(root)
    paths = select(listed, framework, only, shard, expected_seconds(listed, profile))
    if not paths:
        print("no notebook matches the selection", file=sys.stderr)
        return 2
    from ..results import MAKING_REFERENCE

    for path in paths:  # every notebook checked before the first one runs
        runnable(root / path)
    stem = f"results-{shard.replace('/', 'of')}" if shard else "results"
    keep = finished_results(out, stem, paths, profile) if resume else {}
    with environment({MAKING_REFERENCE: "1"} if inplace else {}):  # kernels inherit it
        results = execute_all(root, paths, out, profile, seed, stem, keep)
    write_results(results, out, stem)
    print("\n" + results_markdown(results) + f"\nresults: {out / (stem + '.json')}")
    failed = [p for p, r in results.items() if "error" in r]
    if inplace:
        for path in (p for p in paths if p not in failed):
            shutil.copyfile(
                out / path, root / path
            )  # only whole, successful runs replace a notebook
        write_committed_results(root)
        print(
            f"in place: {len(paths) - len(failed)} notebooks; rewrote book/results.md and the "
            f"reference"
        )
    if build and not failed:
        print(f"book: {build_book(root, out, root)}")
    return 1 if failed else 0


def check(root=".", profile="cpu", framework=None, only=None, out="_build/check", seed=None) -> int:
    """Re-execute the selected notebooks and compare their metrics with the committed ones."""
    from .tolerances import compare

    _profile(profile)
    root, out = _root(root).resolve(), checks.path(out, "out").resolve()
    paths = select(notebooks_in_toc(root), framework, only)
    if not paths:
        print("no notebook matches the selection", file=sys.stderr)
        return 2
    for path in paths:  # every notebook checked before the first one runs
        runnable(root / path)
    committed = committed_results(root)
    for path in paths:
        if committed[path]["profile"] != profile:
            print(
                f"warning: {path} holds a {committed[path]['profile']!r} run, not {profile!r}: "
                f"expect drift (make notebooks re-runs it at cpu)",
                file=sys.stderr,
            )
    results = execute_all(root, paths, out, profile, seed)
    write_results(results, out)
    drift = 0
    for path in paths:
        print(
            f"\n{path} ({results[path]['seconds']} "
            f"s{', FAILED: ' + results[path]['error'] if 'error' in results[path] else ''})"
        )
        print("| metric | committed | new | tolerance | ok |\n|---|---|---|---|---|")
        for row in compare(committed[path]["metrics"], results[path]["metrics"]):
            drift += not row["ok"]
            print(
                f"| {row['metric']} | {row['committed']} | {row['new']} | {row['tolerance']} | "
                f"{'yes' if row['ok'] else 'NO'} |"
            )
    print(f"\n{drift} metric(s) outside tolerance" if drift else "\nall metrics within tolerance")
    return 1 if drift or any("error" in r for r in results.values()) else 0

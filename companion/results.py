"""The table every notebook ends with: this run's recorded metrics beside the committed cpu run
and the source article's numbers.

The reference (``companion/data/reference_cpu.json``) is written from the committed notebooks by
``make notebooks``; the articles' numbers live in ``companion/data/articles.json``. The book's
toolkit (``companion.book``) builds the results page and the reproduction check on these.
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path

from . import _RUN_PROFILE, checks, recorded

REFERENCE_FILE = Path(__file__).parent / "data" / "reference_cpu.json"
FIX_REFERENCE = "make notebooks"  # re-executes the notebooks at the cpu profile and rewrites it
MAKING_REFERENCE = "COMPANION_MAKING_REFERENCE"  # set by that run: this run becomes the reference

ARTICLES_FILE = Path(__file__).parent / "data" / "articles.json"


@cache
def articles() -> dict:
    """By chapter: ``{"source": sentence, "metrics": {name: {"article", "why_ours_differs"}}}``;
    a metric the chapter's article publishes no number for has no entry."""
    return json.loads(ARTICLES_FILE.read_text(encoding="utf-8"))["chapters"]


def article_number(chapter: str, name: str) -> str:
    """What the source article of ``chapter`` publishes for metric ``name`` ('' for nothing)."""
    checks.text(chapter, "chapter")
    checks.text(name, "metric name")
    return articles().get(chapter, {}).get("metrics", {}).get(name, {}).get("article", "")


def chapter_of(path: str) -> str:
    """``'05'`` from ``notebooks/torch/05_visualising_cnns.ipynb``."""
    name = checks.path(path, "path").name
    if len(name) < 3 or not name[:2].isdigit():
        raise ValueError(f"expected a notebook path like notebooks/torch/05_x.ipynb, got {path!r}")
    return name[:2]


ENTRY_KEYS = ("framework", "profile", "seconds", "metrics")  # what every result entry holds


def read_results(file, fix: str) -> dict:
    """A results file (a run's ``results.json``, a shard's, the cpu reference) as
    ``{notebook path: entry}``; a file that is missing, not JSON, not such a map, or with an
    entry that is null or lacks one of ``ENTRY_KEYS`` is refused in one line naming the file,
    the entry and ``fix``."""
    file, fix = checks.path(file, "file"), checks.text(fix, "fix")
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(checks.file_error(file, "does not exist", fix)) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(checks.file_error(file, f"is not valid JSON ({err})", fix)) from None
    if not isinstance(data, dict):
        raise ValueError(checks.file_error(file, "does not map notebook paths to results", fix))
    for path, entry in data.items():
        if not (
            isinstance(entry, dict)
            and all(k in entry for k in ENTRY_KEYS)
            and isinstance(entry["metrics"], dict)
        ):
            problem = (
                f"holds no whole result for {path} (expected {', '.join(ENTRY_KEYS)}; "
                f"got {checks.describe(entry)})"
            )
            raise ValueError(checks.file_error(file, problem, fix))
    return data


def load_reference(file: Path = REFERENCE_FILE) -> dict:
    """The committed cpu run: notebook path -> {framework, profile, seconds, run, metrics}."""
    file = checks.path(file, "file")
    if not file.exists():
        raise FileNotFoundError(f"no committed reference {file}: run `{FIX_REFERENCE}` to make it")
    return read_results(file, f"restore it with git or run `{FIX_REFERENCE}`")


def chapter_table(path: str, metrics: dict | None = None, reference: dict | None = None):
    """This run's metrics beside the committed cpu run and the article, for the notebook
    ``path``."""
    import pandas as pd

    if not (isinstance(path, str) and path.startswith("notebooks/") and path.endswith(".ipynb")):
        raise ValueError(f"expected a notebook path like notebooks/torch/05_x.ipynb, got {path!r}")
    metrics = recorded() if metrics is None else metrics
    for value, label in ((metrics, "metrics"), (reference, "reference")):
        if value is not None and not isinstance(value, dict):
            raise TypeError(f"{label}: expected a dict, got {checks.describe(value)}")
    if os.environ.get(MAKING_REFERENCE):
        print("This run is the committed cpu run: `make notebooks` made it, so the columns agree.")
        committed = metrics
    else:
        reference = load_reference() if reference is None else reference
        committed = reference.get(path, {}).get("metrics", {})
    chapter = chapter_of(path)
    names = list(dict.fromkeys([*metrics, *committed]))
    return pd.DataFrame(
        {
            _run_header(): [cell_text(metrics.get(n)) for n in names],
            "committed cpu run": [cell_text(committed.get(n)) for n in names],
            "article": [article_number(chapter, n) for n in names],
        },
        index=pd.Index(names, name="metric"),
    )


def _run_header() -> str:
    """The closing table's first header: "this run", with the profile it ran at."""
    return f"this run ({_RUN_PROFILE[0].name})" if _RUN_PROFILE else "this run"


def cell_text(value) -> str:
    """A value as the tables show it: thousands separated, tiny errors in 3 significant digits."""
    if value is None:
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    if isinstance(value, float) and value and abs(value) < 1e-3:
        return f"{value:.3g}"
    return str(value)

"""Sphinx extension of the book (``_config.yml`` loads it): pages that need no network, and the
front page's pictures and run times taken from the notebooks the build shows.

- MathJax comes from the book's own static files (``make assets`` installs it from npm and copies
  it to ``book/_static/mathjax``); a build without it warns, and the browser check fails.
- sphinx-thebe's scripts are left out: the book has no live-code button, and thebe would be
  fetched from a CDN.
- ``book/figures/<chapter>.png``: one figure from each chapter's PyTorch notebook (the setting
  ``book_figures`` names, per chapter, a text from the source of the cell that draws it; without
  one, the notebook's first picture), or a placeholder while the notebook has no output.
- MyST substitutions ``{{ times_<chapter> }}``: how long each edition ran and at which profile,
  read from the notebooks' run records, never typed by hand.
- Accessibility (WCAG 2.1 A/AA, which ``make check-book`` checks with axe-core): every rendered
  page gets the theme's markup fixed where axe finds it wanting (``accessible_markup``), and every
  figure a notebook drew gets alternative text (``_figure_alt``): the cell's own
  (myst-nb's ``mystnb: {image: {alt: ...}}`` metadata) where it has one, otherwise a line naming
  the section it belongs to and the plotting function that drew it.
"""

from __future__ import annotations

import ast
import base64
import html
import re
from pathlib import Path

import nbformat
import yaml

from .. import checks

FRAMEWORKS = {"torch": "PyTorch", "tensorflow": "TensorFlow/Keras"}
MATHJAX = "mathjax/tex-mml-chtml.js"


def chapters(srcdir: Path) -> dict:
    """``{chapter: [notebook paths]}`` for every theory page in ``_toc.yml`` with notebook sections;
    the chapter is the theory page's file name (``01_cnn_basics``)."""
    toc_file = checks.existing_file(
        checks.path(srcdir, "srcdir") / "_toc.yml",
        "table of contents",
        "build from the book's root folder (the one with _toc.yml)",
    )
    try:
        toc = yaml.safe_load(toc_file.read_text())
    except yaml.YAMLError:
        toc = None
    if not isinstance(toc, dict):
        raise ValueError(
            checks.file_error(
                toc_file, "is not a jupyter-book table of contents", "restore it with git"
            )
        )
    found = {}

    def walk(entries):
        for entry in entries or []:
            sections = [s["file"] for s in entry.get("sections", []) if "file" in s]
            notebooks = [
                s.removesuffix(".ipynb") + ".ipynb" for s in sections if s.startswith("notebooks/")
            ]
            if "file" in entry and notebooks:
                found[Path(entry["file"]).name] = notebooks
            walk(entry.get("sections"))
            walk(entry.get("chapters"))

    walk(toc.get("chapters"))
    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    return found


def _pictures(cell) -> list[tuple[str, bytes]]:
    return [
        (kind.split("/")[1], base64.b64decode(data))
        for output in cell.get("outputs", [])
        for kind, data in output.get("data", {}).items()
        if kind in ("image/png", "image/jpeg")
    ]


def chapter_figure(notebook, marker: str | None = None) -> tuple[str, bytes] | None:
    """``(extension, bytes)`` of the first picture drawn by a cell whose source contains ``marker``
    (any cell without one); None when there is no such picture."""
    if not isinstance(getattr(notebook, "cells", None), list):
        raise TypeError(f"expected a notebook (nbformat.read), got {checks.describe(notebook)}")
    if marker is not None:
        checks.text(marker, "marker")
    for cell in notebook.cells:
        if cell.cell_type == "code" and (marker is None or marker in cell.source):
            pictures = _pictures(cell)
            if pictures:
                return pictures[0]
    return None


def as_png(figure: tuple[str, bytes] | None) -> bytes:
    """The figure as PNG bytes (JPEG outputs converted), or a placeholder that says the notebook
    has not been executed yet."""
    import io

    from PIL import Image, ImageDraw, ImageFont

    kinds = ("png", "jpeg")
    if figure is not None and not (
        isinstance(figure, tuple)
        and len(figure) == 2
        and figure[0] in kinds
        and isinstance(figure[1], bytes)
    ):
        raise TypeError(
            f"figure: expected None or ('png' or 'jpeg', bytes), got {checks.describe(figure)}"
        )
    if figure is not None and figure[0] == "png":
        return figure[1]
    if figure is not None:
        try:
            image = Image.open(io.BytesIO(figure[1])).convert("RGB")
        except OSError:  # PIL's UnidentifiedImageError, a truncated picture
            raise ValueError(
                "figure: expected the bytes of a JPEG picture, got unreadable "
                f"bytes ({len(figure[1])} of them)"
            ) from None
    else:
        image = Image.new("RGB", (480, 270), "#f2f2f2")
        ImageDraw.Draw(image).text(
            (240, 135),
            "the figure appears once\nthe notebook is executed",
            fill="#555555",
            anchor="mm",
            align="center",
            font=ImageFont.load_default(size=24),
        )
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _duration(seconds) -> str:
    seconds = round(seconds)
    return f"{seconds} s" if seconds < 120 else f"{seconds // 60} min {seconds % 60:02d} s"


def run_times(entries: dict) -> str:
    """One line for a chapter: each edition's wall time and the profile it ran at, from
    ``runner.entry_of``'s entries (``PyTorch 3 min 33 s, TensorFlow/Keras 6 min 07 s (cpu
    profile, 2 cores)``)."""

    def where(entry):
        cores = entry.get("run", {}).get("cores")
        return f"{entry.get('profile')} profile" + (f", {cores} cores" if cores else "")

    if not isinstance(entries, dict) or not all(
        isinstance(e, dict) and "framework" in e for e in entries.values()
    ):
        raise TypeError(
            f"entries: expected {{notebook path: runner.entry_of(...)}} entries with a "
            f"'framework', got {checks.describe(entries)}"
        )
    ran = [e for e in entries.values() if e.get("seconds") is not None]
    places = {where(e) for e in ran}
    shared = places.pop() if len(places) == 1 and len(ran) == len(entries) else None
    parts = []
    for entry in entries.values():
        name = FRAMEWORKS.get(entry["framework"], entry["framework"])
        if entry.get("seconds") is None:
            parts.append(f"{name} not executed yet")
        else:
            parts.append(
                f"{name} {_duration(entry['seconds'])}" + ("" if shared else f" ({where(entry)})")
            )
    return ", ".join(parts) + (f" ({shared})" if shared else "")


def _write_if_changed(path: Path, data: bytes) -> None:
    """Write ``data`` unless the file already holds it (an unchanged file triggers no rebuild)."""
    if not (path.exists() and path.read_bytes() == data):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def _front_page(app, config) -> None:
    """Write the chapters' figures and set the run-time substitutions (``config-inited``)."""
    from sphinx.util import logging

    from .runner import entry_of

    log = logging.getLogger(__name__)
    srcdir = Path(app.srcdir)
    substitutions = dict(config.myst_substitutions or {})
    for chapter, notebooks in chapters(srcdir).items():
        entries = {}
        for path in notebooks:
            if (srcdir / path).exists():
                entries[path] = entry_of(path, nbformat.read(srcdir / path, as_version=4))
        substitutions[f"times_{chapter}"] = run_times(entries) or "not executed yet"
        torch = [p for p in notebooks if p.startswith("notebooks/torch/") and (srcdir / p).exists()]
        if not torch:
            continue
        notebook = nbformat.read(srcdir / torch[0], as_version=4)
        marker = (config.book_figures or {}).get(chapter)
        figure = chapter_figure(notebook, marker) or chapter_figure(notebook)
        if figure is None:
            log.warning(
                f"[companion.book.extension] {torch[0]} shows no picture yet: "
                f"book/figures/{chapter}.png "
                "says so until the notebook is executed"
            )
        _write_if_changed(srcdir / "book" / "figures" / f"{chapter}.png", as_png(figure))
    config.myst_substitutions = substitutions


def _check_mathjax(app) -> None:
    """Warn when the offline MathJax is not among the static files (``builder-inited``)."""
    from sphinx.util import logging

    if app.builder.format != "html" or str(app.config.mathjax_path).startswith(("http:", "https:")):
        return
    static = [Path(app.confdir) / p for p in app.config.html_static_path]
    if not any((folder / app.config.mathjax_path).is_file() for folder in static):
        logging.getLogger(__name__).warning(
            f"[companion.book.extension] {app.config.mathjax_path} is in no static folder: "
            f"formulas will show "
            "as raw LaTeX (`make assets` installs MathJax from npm into book/_static/mathjax)"
        )


def _drop_thebe(app, pagename, templatename, context, doctree) -> None:
    """Leave sphinx-thebe's scripts and style out of every page (``html-page-context``)."""

    def thebe(asset) -> bool:
        text = str(getattr(asset, "filename", asset) or "") + str(
            getattr(asset, "attributes", {}).get("body", "")
        )
        return "thebe" in text.lower()

    for key in ("script_files", "css_files"):
        if key in context:
            context[key] = [asset for asset in context[key] if not thebe(asset)]


# The pages of the assignments' student versions: they offer no launch button.
ASSIGNMENT_PAGES = "book/assignments/"


def _no_colab_for_assignments(app, pagename, templatename, context, doctree) -> None:
    """Drop the Colab launch button from the student versions of the assignments: otter's
    ``grader.check`` cannot find their tests in Colab (``html-page-context``, after the theme)."""
    if not pagename.startswith(ASSIGNMENT_PAGES):
        return
    for group in context.get("header_buttons", []):
        if group.get("label") == "launch-buttons":
            group["buttons"] = [b for b in group["buttons"] if b.get("text") != "Colab"]


# The theme's markup that axe-core finds wanting, and its fix: (pattern, replacement).
_MARKUP_FIXES = [
    # the sidebar's expand/collapse toggles hold only a chevron icon: name them after their entry
    (
        re.compile(
            r'(<a class="[^"]*reference[^"]*" href="[^"]*">((?:(?!</a>).)*)</a>'
            r"<details[^>]*>)<summary>"
        ),
        lambda m: (
            f'{m[1]}<summary aria-label="Sections of '
            f'{html.escape(html.unescape(re.sub("<[^>]+>", "", m[2])))}">'
        ),
    ),
    # the search buttons show "Search Ctrl+K" but are named only "Search": name them by their text
    (re.compile(r'(<button class="btn search-button-field[^"]*"[^>]*?) aria-label="[^"]*"'), r"\1"),
    # the colour-mode icons' titles become text inside a button named "Color mode": drop them (the
    # button keeps its name and tooltip)
    (re.compile(r'(<i class="theme-switch [^"]*" data-mode="\w+") +title="[^"]*"'), r"\1"),
    # docutils marks each reference with the deprecated doc-biblioentry role inside role="list"
    (re.compile(r'role="doc-biblioentry"'), 'role="listitem"'),
]


def accessible_markup(page: str) -> str:
    """A rendered page with the theme's markup fixed where axe-core finds WCAG violations."""
    if not isinstance(page, str):
        raise TypeError(f"page: expected the HTML of a page as a str, got {checks.describe(page)}")
    for pattern, fix in _MARKUP_FIXES:
        page = pattern.sub(fix, page)
    return page


def _fix_rendered_pages(app) -> None:
    """Pass each page the HTML builder renders through ``accessible_markup`` (builder-inited)."""
    templates = getattr(app.builder, "templates", None)
    if app.builder.format != "html" or templates is None:
        return
    render = templates.render
    templates.render = lambda template, context: accessible_markup(render(template, context))


def _figure_alt(section: str, source: str) -> str:
    """Alternative text for a figure without its own: the section it belongs to and the plotting
    function(s) of the cell's code that drew it."""
    from .. import plotting

    try:
        calls = [
            getattr(node.func, "id", getattr(node.func, "attr", ""))
            for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Call)
        ]
    except SyntaxError:  # IPython magics: no plotting call named
        calls = []
    drawers = list(dict.fromkeys(c for c in calls if callable(getattr(plotting, c, None))))
    return f"Figure in the section “{section}”" + (
        f", drawn by {' and '.join(drawers)}" if drawers else ""
    )


def _notebook_figures_alt(app, doctree) -> None:
    """Give each image a notebook cell drew alternative text where it has none (doctree-read)."""
    from docutils import nodes

    for cell in doctree.findall(nodes.container):
        if cell.get("nb_element") != "cell_code":
            continue
        images = [i for i in cell.findall(nodes.image) if not i.get("alt")]
        if not images:
            continue
        section = cell.parent
        while section is not None and not isinstance(section, nodes.section):
            section = section.parent
        title = section[0].astext() if section is not None else app.env.docname
        code = cell.next_node(nodes.literal_block)
        alt = _figure_alt(title, code.astext() if code is not None else "")
        for image in images:
            image["alt"] = alt


def setup(app):
    if not all(hasattr(app, name) for name in ("add_config_value", "connect")):
        raise TypeError(f"app: expected the Sphinx application, got {checks.describe(app)}")
    app.add_config_value("book_figures", {}, "env")
    app.connect("config-inited", _front_page)
    app.connect("builder-inited", _check_mathjax)
    app.connect("builder-inited", _fix_rendered_pages)
    app.connect("doctree-read", _notebook_figures_alt)
    app.connect("html-page-context", _drop_thebe)
    app.connect("html-page-context", _no_colab_for_assignments, priority=502)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

"""The book's own tooling: the notebook layout pass, the front page's data, the page list."""

import ast
import base64
import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from IPython.core.inputtransformer2 import TransformerManager

from companion.book import extension, layout, pages

LONG_COMMENT = "x = compute(alpha, beta)  # " + "a comment that is far too long to fit " * 2
LONG_STRING = (
    'print(\n    f"train {len(a)}, validation {len(b)}, test {len(c)} images of {a.shape[1:]}"\n)'
)


def test_trailing_comment_moves_above_its_line():
    fitted = layout.fit_lines("# NBVAL_CHECK_OUTPUT\n" + LONG_COMMENT)
    lines = fitted.splitlines()
    assert lines[0] == "# NBVAL_CHECK_OUTPUT"
    assert lines[-1] == "x = compute(alpha, beta)"
    assert all(line.startswith("# ") and len(line) <= layout.LINE_LENGTH for line in lines[1:-1])
    assert ast.dump(ast.parse(fitted)) == ast.dump(ast.parse(LONG_COMMENT))


def test_long_string_splits_into_the_same_string():
    fitted = layout.fit_lines(LONG_STRING)
    assert max(map(len, fitted.splitlines())) <= layout.LINE_LENGTH
    assert ast.dump(ast.parse(fitted)) == ast.dump(ast.parse(LONG_STRING))


def test_string_outside_brackets_and_short_lines_stay():
    statement = 'x = "' + "word " * 20 + '"'
    assert layout.fit_lines(statement) == statement
    assert layout.fit_lines("y = 1  # short") == "y = 1  # short"
    magic = "%pip install -q x  # " + "long " * 20  # the comment is the magic's argument
    assert layout.fit_lines(magic) == magic


ROOT = Path(__file__).resolve().parents[2]
FAR = "a comment far too long to fit the book's column, " * 2
TAIL = " then words that go on and on past the end of the column"


def _printed(literal: str) -> str:
    """A call whose one string argument is too long for the column."""
    return f"print(\n    {literal}\n)"


TRICKY = {  # what the layout pass must never change into other code
    "comment after a backslash continuation": "y = alpha + \\\n    beta  # " + FAR,
    "comment after a multi-line string": 's = """first\nsecond"""  # ' + FAR,
    "comment-like text inside a string": 's = """first\nx = 1  # ' + FAR + '\n"""',
    "nested f-strings": _printed("f\"{f'{a} and {b}'}" + TAIL + ' {c!r}"'),
    "f-string field with a space": _printed("f\"{d['key one']}" + TAIL + '"'),
    "escaped quote": _printed('"an escaped \\" quote' + TAIL + '"'),
    "raw string with a backslash": _printed('r"C:\\ raw' + TAIL + '"'),
    "line magic with a comment": "%pip install -q something  # " + FAR,
    "shell line with a comment": "!ls -la  # " + FAR,
    "cell magic": "%%time\nx = compute(alpha, beta)  # " + FAR,
}


def syntax_tree(source: str) -> str:
    """The syntax tree of a cell as IPython runs it (line magics turned into calls); a cell
    magic's line, then its Python body's tree (ruff formats that body)."""
    if source.startswith("%%"):
        magic, _, body = source.partition("\n")
        return magic + "\n" + syntax_tree(body)
    return ast.dump(ast.parse(TransformerManager().transform_cell(source)))


@pytest.mark.parametrize("name", TRICKY)
def test_layout_leaves_the_syntax_tree_of_tricky_cells_unchanged(name):
    source = TRICKY[name]
    assert syntax_tree(layout.fit_lines(source)) == syntax_tree(source)


def test_make_format_leaves_every_notebook_cell_syntax_tree_unchanged(tmp_path):
    """layout then ruff format, twice, as make format runs them, on copies of every notebook and
    on a notebook of the tricky cells."""
    copies = tmp_path / "notebooks"
    shutil.copytree(ROOT / "notebooks", copies)
    tricky = nbformat.v4.new_notebook()  # and the tricky cells, the long lines of above
    tricky.cells = [nbformat.v4.new_code_cell(s) for s in [*TRICKY.values(), LONG_STRING]]
    nbformat.write(tricky, copies / "tricky.ipynb")
    before = {p: nbformat.read(p, as_version=4) for p in sorted(copies.rglob("*.ipynb"))}
    ruff = [str(Path(sys.executable).with_name("ruff")), "format", "-q", "--config"]
    for _ in range(2):
        assert layout.main([str(copies)]) == 0
        subprocess.run([*ruff, str(ROOT / "notebooks/ruff.toml"), str(copies)], check=True)
    for path, notebook in before.items():
        after = nbformat.read(path, as_version=4).cells
        for i, (old, new) in enumerate(zip(notebook.cells, after)):
            if old.cell_type == "code":
                assert syntax_tree(new.source) == syntax_tree(old.source), f"{path.name}: cell {i}"


def test_field_of_an_fstring_is_never_split():
    source = 'f(\n    f"{' + "a" * 90 + '} end"\n)'
    assert layout.fit_lines(source) == source


def test_layout_tags_the_colab_cell_and_is_idempotent(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell('import sys\nif "google.colab" in sys.modules:\n    pass'),
        nbformat.v4.new_code_cell(LONG_COMMENT),
    ]
    path = tmp_path / "n.ipynb"
    nbformat.write(nb, path)
    assert layout._layout_main([tmp_path], check=True) == 1
    assert layout._layout_main([tmp_path], check=False) == 0
    cells = json.loads(path.read_text())["cells"]
    assert cells[0]["metadata"]["tags"] == ["remove-cell"]
    assert layout._layout_main([tmp_path], check=True) == 0
    nbformat.validate(nbformat.read(path, as_version=4))


def test_a_code_cell_over_fifteen_lines_fails_the_layout_unless_hidden(tmp_path, capsys):
    sixteen = "\n".join(f"x{i} = {i}" for i in range(16))
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell(sixteen),
        nbformat.v4.new_code_cell(sixteen[: sixteen.rindex("\n")]),  # 15 lines
        nbformat.v4.new_code_cell(sixteen + "\n"),
        nbformat.v4.new_code_cell(sixteen, metadata={"tags": ["remove-cell"]}),
    ]
    path = tmp_path / "n.ipynb"
    nbformat.write(nb, path)
    assert layout.long_cells(json.loads(path.read_text())) == [(2, 16)]
    assert layout._layout_main([tmp_path], check=True) == 1
    assert f"{path}: code cell 2 has 16 lines" in capsys.readouterr().err
    nb.cells.pop(2)
    nbformat.write(nb, path)
    assert layout._layout_main([tmp_path], check=True) == 0


def test_chapters_come_from_the_toc(tmp_path):
    (tmp_path / "_toc.yml").write_text(
        "format: jb-book\nroot: book/intro\nparts:\n  - caption: C\n    chapters:\n"
        "      - file: book/01_x\n        sections:\n          - file: notebooks/torch/01_x\n"
        "          - file: notebooks/tensorflow/01_x\n      - file: book/results\n"
    )
    assert extension.chapters(tmp_path) == {
        "01_x": ["notebooks/torch/01_x.ipynb", "notebooks/tensorflow/01_x.ipynb"]
    }


def test_run_times_name_the_profile_once_when_shared():
    ran = {"framework": "torch", "seconds": 213.2, "profile": "cpu", "run": {"cores": 2}}
    keras = {"framework": "tensorflow", "seconds": 9.0, "profile": "cpu", "run": {"cores": 2}}
    assert (
        extension.run_times({"a": ran, "b": keras})
        == "PyTorch 3 min 33 s, TensorFlow/Keras 9 s (cpu profile, 2 cores)"
    )
    assert (
        extension.run_times({"a": ran, "b": {"framework": "tensorflow", "seconds": None}})
        == "PyTorch 3 min 33 s (cpu profile, 2 cores), TensorFlow/Keras not executed yet"
    )


def test_chapter_figure_follows_the_marker():
    png = base64.b64encode(b"\x89PNG-first").decode()
    other = base64.b64encode(b"\x89PNG-second").decode()
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "show_images(x)", outputs=[nbformat.v4.new_output("display_data", {"image/png": png})]
        ),
        nbformat.v4.new_code_cell(
            "plot_history(h)",
            outputs=[nbformat.v4.new_output("display_data", {"image/png": other})],
        ),
    ]
    assert extension.chapter_figure(nb) == ("png", b"\x89PNG-first")
    assert extension.chapter_figure(nb, "plot_history(") == ("png", b"\x89PNG-second")
    assert extension.chapter_figure(nb, "nothing") is None
    assert extension.as_png(None).startswith(b"\x89PNG")  # the placeholder


def test_pages_and_redirects(tmp_path):
    (tmp_path / "index.html").write_text(
        '<meta http-equiv="Refresh" content="0; url=book/intro.html" />'
    )
    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "intro.html").write_text("<p>hi</p>")
    (tmp_path / "_static").mkdir()
    (tmp_path / "_static" / "x.html").write_text("")
    assert pages._pages_of(tmp_path) == ["book/intro.html", "index.html"]
    assert pages._redirect_of(tmp_path / "index.html") == "book/intro.html"
    assert pages._redirect_of(tmp_path / "book" / "intro.html") is None


def test_assignment_pages_lose_only_the_colab_button():
    def context():
        buttons = [{"text": name} for name in ("Binder", "JupyterHub", "Colab")]
        return {
            "header_buttons": [
                {"label": "download-buttons", "buttons": [{"text": "Colab"}]},
                {"label": "launch-buttons", "buttons": buttons},
            ]
        }

    page = context()
    extension._no_colab_for_assignments(
        None, "book/assignments/torch/01_cnn_basics", "", page, None
    )
    assert [b["text"] for b in page["header_buttons"][1]["buttons"]] == ["Binder", "JupyterHub"]
    assert page["header_buttons"][0]["buttons"] == [{"text": "Colab"}]
    chapter = context()
    extension._no_colab_for_assignments(None, "notebooks/torch/01_cnn_basics", "", chapter, None)
    assert chapter == context()


def _run_colab_cell(source: str, modules: dict) -> dict:
    """Execute a Colab cell's Python (IPython turns its magics into calls) with a fake ``sys``."""
    from IPython.core.inputtransformer2 import TransformerManager

    calls = []

    class Shell:
        def run_line_magic(self, name, line):
            calls.append((name, line))

        def system(self, command):
            calls.append(("!", command))

    code = TransformerManager().transform_cell(source).replace("import sys\n", "")
    scope = {"get_ipython": Shell, "sys": type("S", (), {"modules": modules})}
    exec(compile(code, "colab", "exec"), scope)
    return {"calls": calls, "scope": scope}


def test_colab_cell_installs_the_release_and_only_the_assets_a_chapter_needs():
    import tomllib
    from pathlib import Path

    from companion.book import colab

    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    version = tomllib.loads(pyproject.read_text())["project"]["version"]
    assert colab.RELEASE == f"v{version}"
    basics = colab.setup_cell("notebooks/torch/01_cnn_basics.ipynb")
    assert "assets" not in basics and "fdet" not in basics
    assert _run_colab_cell(basics, {})["calls"] == []  # outside Colab: nothing
    keras = _run_colab_cell(
        colab.setup_cell("notebooks/tensorflow/05_visualising_cnns.ipynb"),
        {"google.colab": object()},
    )
    assert keras["calls"][0] == ("pip", 'install -q "companion @ {COMPANION}"')
    assert keras["scope"]["COMPANION"].endswith(f"how-cnns-see@{colab.RELEASE}")
    assert keras["calls"][2] == (
        "!",
        "python -m companion assets --only torch-weights keras-weights",
    )
    assert colab.assets_for("notebooks/torch/05_visualising_cnns.ipynb") == ["torch-weights"]


# The theme's markup as sphinx-book-theme 1.3 / pydata-sphinx-theme 0.17 and docutils render it.
THEME_MARKUP = (
    '<li class="toctree-l1 has-children"><a class="reference internal" href="01.html">'
    "Chapter 1: <em>CNN</em> &amp; basics</a><details><summary>"
    '<span class="toctree-toggle" role="presentation"></span></summary>\n'
    '<button class="btn search-button-field search-button__button pst-js-only" title="Search" '
    'aria-label="Search" data-bs-placement="bottom">\n'
    '<i class="theme-switch fa-solid fa-moon               fa-lg" data-mode="dark"  title="Dark">'
    '</i>\n<div class="citation" id="id13" role="doc-biblioentry">'
)


def test_accessible_markup_fixes_the_themes_markup():
    assert extension.accessible_markup(THEME_MARKUP) == (
        '<li class="toctree-l1 has-children"><a class="reference internal" href="01.html">'
        "Chapter 1: <em>CNN</em> &amp; basics</a><details>"
        '<summary aria-label="Sections of Chapter 1: CNN &amp; basics">'
        '<span class="toctree-toggle" role="presentation"></span></summary>\n'
        '<button class="btn search-button-field search-button__button pst-js-only" title="Search" '
        'data-bs-placement="bottom">\n'
        '<i class="theme-switch fa-solid fa-moon               fa-lg" data-mode="dark"></i>\n'
        '<div class="citation" id="id13" role="listitem">'
    )
    assert extension.accessible_markup("<p>plain</p>") == "<p>plain</p>"


def test_figure_alt_names_the_section_and_the_plotting_functions():
    source = 'maps = grad_cam(model, x)\nplotting.show_overlays(x, {"Grad-CAM": maps})\n'
    assert extension._figure_alt("3. CAM", source) == (
        "Figure in the section “3. CAM”, drawn by show_overlays"
    )
    both = "fig = plot_history(h)\nshow_images(x)\nshow_images(y)"
    assert extension._figure_alt("Training", both) == (
        "Figure in the section “Training”, drawn by plot_history and show_images"
    )
    assert extension._figure_alt("Setup", "%matplotlib inline\nplt.plot(x)") == (
        "Figure in the section “Setup”"
    )


def _page(body: str) -> str:
    return f'<!DOCTYPE html><html lang="en"><head><title>t</title></head><body>{body}</body></html>'


@pytest.mark.skipif(
    pages._find_chromium() is None or not pages.AXE.is_file(),
    reason="no Chromium or axe-core: `make chromium axe` installs them",
)
def test_page_check_fails_wcag_violations_and_passes_their_fix(tmp_path):
    from PIL import Image

    Image.new("RGB", (8, 8), "red").save(tmp_path / "red.png")
    (tmp_path / "index.html").write_text(
        _page('<img src="red.png" alt="A red square"><button aria-label="Close">x</button>')
    )
    (tmp_path / "broken.html").write_text(
        _page('<main><img src="red.png"><button><img src="red.png" alt=""></button></main>')
    )
    (tmp_path / "named.html").write_text(_page('<img src="red.png" alt="red.png">'))
    found = pages.check_book(tmp_path, None, pages._find_chromium(), timeout_s=30)
    assert found["index.html"] == []
    assert found["broken.html"] == [
        "image without alternative text: red.png",
        "image without alternative text: red.png",
        "WCAG button-name on 1 element (Buttons must have discernible text): button",
        "WCAG image-alt on 1 element (Images must have alternative text): main > img",
    ]
    assert found["named.html"] == ["image without alternative text: red.png"]

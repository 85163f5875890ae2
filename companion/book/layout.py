"""Notebook code laid out for the book's column.

``python -m companion.book.layout [--check] notebooks`` prepares notebooks for ``ruff format``
(``make format`` runs both): a trailing comment that makes a code line longer than the column goes
on its own line above (ruff would wrap the code in parentheses instead), long comment lines are
wrapped, a long one-line string inside brackets is split into adjacent literals (the same
string), and the Colab set-up cell is tagged ``remove-cell`` so the book leaves it out. What the
code does and the outputs stay as they are. A code cell a reader sees with more than 15 lines is
named (it fails the command): a person splits it where the idea changes.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import textwrap
import tokenize
from pathlib import Path

from .colab import setup_cell

LINE_LENGTH = 80  # as notebooks/ruff.toml: the book's content column holds about 80 characters
COLAB_MARK = "google.colab"
COLAB_TAG = "remove-cell"
MAX_CELL_LINES = 15  # the house rule: a student reads a code cell at a glance


def _wrap_comment(indent: str, comment: str) -> list[str]:
    text = comment.lstrip("#").strip()
    width = max(20, LINE_LENGTH - len(indent) - 2)
    return [
        f"{indent}# {piece}" for piece in textwrap.wrap(text, width, break_long_words=False)
    ] or [indent + "#"]


def _split_point(body: str, room: int, fstring: bool) -> int | None:
    """Where to split a string literal's ``body``: after the last space that leaves at most
    ``room`` characters on the first line, outside any ``{...}`` field of an f-string."""
    depth, best, i = 0, None, 0
    while i < len(body) and i < room:
        c = body[i]
        if fstring and body[i : i + 2] in ("{{", "}}"):
            i += 2
            continue
        if fstring and c in "{}":
            depth += 1 if c == "{" else -1
        elif c == " " and depth == 0 and i > 0 and body[i - 1] != "\\":
            best = i + 1
        i += 1
    return best


def _split_string(line: str, token) -> list[str] | None:
    """A line that holds one long one-line string literal (inside brackets) as two or more
    lines of adjacent literals, which Python joins into the same string."""
    text, (_, col), (_, end) = token.string, token.start, token.end
    prefix = text[: len(text) - len(text.lstrip("rRfFbBuU"))]
    quote = text[len(prefix)]
    if prefix.lower() not in ("", "f", "r", "rf", "fr") or text[len(prefix) :].startswith(
        quote * 3
    ):
        return None
    indent, rest = line[:col], line[end:]
    body = text[len(prefix) + 1 : -1]
    pieces = []
    while len(indent) + len(prefix) + len(body) + 2 + len(rest) > LINE_LENGTH:
        k = _split_point(body, LINE_LENGTH - len(indent) - len(prefix) - 2, "f" in prefix.lower())
        if not k:
            break
        pieces.append(f"{indent}{prefix}{quote}{body[:k]}{quote}")
        body = body[k:]
    if not pieces:
        return None
    return pieces + [f"{indent}{prefix}{quote}{body}{quote}{rest}"]


def fit_lines(source: str) -> str:
    """``source`` with its long lines made to fit what ruff cannot fit: a trailing comment that
    takes a line past LINE_LENGTH goes on its own line above, long comment lines are wrapped, and
    a long one-line string literal inside brackets is split into adjacent literals (the same
    string). The code's syntax tree is untouched (a comment stays where moving it would change
    code: inside a multi-line string, after a backslash continuation, on a magic's line); ruff
    formats the rest."""
    if not isinstance(source, str):
        raise TypeError(f"source: expected a code cell's source (str), got {type(source).__name__}")
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return source
    lines = source.split("\n")
    if source.lstrip().startswith("%%"):  # a cell magic: its body is not Python
        return source
    comments, strings, depth = {}, {}, 0
    # rows a comment cannot move above: a comment line there would end up inside a multi-line
    # string, break a backslash continuation, or leave a magic's argument
    fixed = {i for i, line in enumerate(lines) if line.lstrip().startswith(("%", "!"))}
    fixed |= {i + 1 for i, line in enumerate(lines) if line.endswith("\\")}
    for token in tokens:
        row = token.start[0] - 1
        if token.type == tokenize.STRING and token.end[0] > token.start[0]:
            fixed |= set(range(row + 1, token.end[0]))
        if token.type == tokenize.OP and token.string in "([{":
            depth += 1
        elif token.type == tokenize.OP and token.string in ")]}":
            depth -= 1
        elif token.type == tokenize.COMMENT:
            comments[row] = token.start[1]
        elif (
            token.type == tokenize.STRING
            and depth > 0
            and token.start[0] == token.end[0]
            and not lines[row][: token.start[1]].strip()
        ):
            strings[row] = token
    out = []
    for i, line in enumerate(lines):
        col = comments.get(i)
        if len(line) <= LINE_LENGTH:
            out.append(line)
        elif (
            col is not None
            and i not in fixed
            and not line[col:].lstrip("#").strip().startswith(("noqa", "type:", "NBVAL"))
        ):
            code, comment = line[:col].rstrip(), line[col:]
            indent = line[: len(line) - len(line.lstrip())]
            out.extend(_wrap_comment(indent, comment))
            if code.strip():
                out.append(code)
        elif i in strings and col is None:
            out.extend(_split_string(line, strings[i]) or [line])
        else:
            out.append(line)
    return "\n".join(out)


def _cells_of(notebook: dict) -> list[dict]:
    """The cells of a notebook's JSON, checked."""
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    if not isinstance(cells, list) or not all(
        isinstance(c, dict) and "cell_type" in c and "source" in c for c in cells
    ):
        raise TypeError(
            "notebook: expected a notebook's JSON (a dict whose 'cells' have "
            f"'cell_type' and 'source'), got {type(notebook).__name__}"
        )
    return cells


def lay_out(notebook: dict, colab_cell: str | None = None) -> bool:
    """Apply ``fit_lines`` to every code cell and tag the Colab set-up cell, whose source becomes
    ``colab_cell`` when given; whether anything changed."""
    changed = False
    for cell in _cells_of(notebook):
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        fitted = fit_lines(source)
        if fitted != source:
            cell["source"] = fitted.splitlines(keepends=True)
            changed = True
        if COLAB_MARK in source and "sys.modules" in source:
            if colab_cell is not None and "".join(cell["source"]) != colab_cell:
                cell["source"] = colab_cell.splitlines(keepends=True)
                changed = True
            tags = cell.setdefault("metadata", {}).setdefault("tags", [])
            if COLAB_TAG not in tags:
                tags.append(COLAB_TAG)
                changed = True
    return changed


def long_cells(notebook: dict) -> list[tuple[int, int]]:
    """(index, lines) of each code cell a reader sees that has more than MAX_CELL_LINES lines."""
    found = []
    for i, cell in enumerate(_cells_of(notebook)):
        hidden = COLAB_TAG in cell.get("metadata", {}).get("tags", [])
        lines = len("".join(cell["source"]).splitlines())
        if cell["cell_type"] == "code" and not hidden and lines > MAX_CELL_LINES:
            found.append((i, lines))
    return found


def _notebook_files(paths) -> list[Path]:
    """The notebooks in ``paths`` (files, or folders searched recursively)."""
    found = []
    for path in map(Path, paths):
        found += sorted(path.rglob("*.ipynb")) if path.is_dir() else [path]
    return [p for p in found if ".ipynb_checkpoints" not in p.parts]


def _layout_main(paths, check: bool) -> int:
    """Lay out (or, with ``check``, list) the notebooks that need it and list code cells too long
    to read at a glance; 1 when ``check`` finds a notebook to lay out, or any cell is too long."""
    todo, too_long = [], []
    for path in _notebook_files(paths):
        notebook = json.loads(path.read_text(encoding="utf-8"))
        try:  # a chapter notebook gets the Colab cell of companion.book.colab
            colab_cell = setup_cell(path)
        except ValueError:
            colab_cell = None
        if lay_out(notebook, colab_cell):
            todo.append(path)
            if not check:  # nbformat's own layout: one-space indent, UTF-8, final newline
                path.write_text(
                    json.dumps(notebook, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
                )
        too_long += [f"{path}: code cell {i} has {n} lines" for i, n in long_cells(notebook)]
    for path in todo:
        print(f"{'would lay out' if check else 'laid out'} {path}")
    if check and todo:
        print("run `make format` (then ruff format re-flows the code)", file=sys.stderr)
    for line in too_long:
        print(
            f"{line}, more than {MAX_CELL_LINES}: split it where the idea changes", file=sys.stderr
        )
    return 1 if (check and todo) or too_long else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m companion.book.layout",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("paths", nargs="+", help="notebooks or folders of notebooks")
    parser.add_argument(
        "--check", action="store_true", help="change nothing; exit 1 if a notebook needs it"
    )
    args = parser.parse_args(argv)
    return _layout_main(args.paths, args.check)


if __name__ == "__main__":
    sys.exit(main())

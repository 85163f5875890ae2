"""The book as a reader sees it.

``python -m companion.bookcheck pages [_build/html]`` (``make check-book`` builds first) opens every
page of the built book in headless Chromium, offline, as a reader would, in a window of
1366 x 768 pixels (the commonest laptop screen; its text column holds 85 characters of code).

The pages are served from 127.0.0.1 and every other request is refused (DNS too). A page fails
when it requests anything outside the machine or a request fails; a page with math shows a raw
``\\(`` or ``\\[`` outside code, or no MathJax output; an image does not load (natural width 0);
the console shows an error; a code cell is wider than its container; a notebook page still holds
papermill's injected parameters cell, or its launch buttons do not open that page's own notebook.
A full-page screenshot of every page goes to ``--screens`` for a person to look at.

Needs Playwright (pip) and a Chromium on the machine (Debian's ``chromium``; ``make setup``
installs it); Playwright's own browser downloads are never used.

``python -m companion.bookcheck layout [--check] notebooks`` prepares notebooks for ``ruff format``
(``make format`` runs both): a trailing comment that makes a code line longer than the column goes
on its own line above (ruff would wrap the code in parentheses instead), long comment lines are
wrapped, a long one-line string inside brackets is split into adjacent literals (the same
string), and the Colab set-up cell is tagged ``remove-cell`` so the book leaves it out. What the
code does and the outputs stay as they are. A code cell a reader sees with more than 15 lines is
named (it fails the command): a person splits it where the idea changes.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import io
import json
import os
import re
import shutil
import sys
import tempfile
import textwrap
import threading
import time
import tokenize
from pathlib import Path
from urllib.parse import urlsplit

from .colab import setup_cell

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# No background traffic to Google's hosts: updates, sync, field trials, QUIC, safe browsing.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-default-apps",
    "--disable-extensions",
    "--metrics-recording-only",
    "--disable-domain-reliability",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]
VIEWPORT = {"width": 1366, "height": 768}  # the commonest laptop screen: 85 characters of code fit
LAUNCH_HOSTS = ("colab.research.google.com", "mybinder.org")

# Runs in the page: every finding as a list of strings (empty when the page is fine).
PAGE_SCRIPT = r"""
async ({notebook}) => {
  const problems = [];
  // MathJax: wait for its typesetting, then look for TeX left in the text outside code.
  const hasMath = document.querySelector('.math, div.math, span.math') !== null;
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await Promise.race([MathJax.startup.promise, new Promise(r => setTimeout(r, 20000))]);
  }
  if (hasMath) {
    if (!window.MathJax || !MathJax.startup) {
      problems.push('math on the page but MathJax did not load');
    }
    if (document.querySelectorAll('mjx-container').length === 0) {
      problems.push('math on the page but no MathJax output');
    }
    const root = document.querySelector('main') || document.body;
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    const skip = 'pre, code, script, style, mjx-container, textarea, .highlight, .cell_output';
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const text = node.textContent;
      if ((text.includes('\\(') || text.includes('\\[')) && !node.parentElement.closest(skip)) {
        problems.push('raw LaTeX in the text: ' + JSON.stringify(text.trim().slice(0, 80)));
        break;
      }
    }
  }
  // Images: load the lazy ones too, then every one must have a width.
  const images = Array.from(document.images);
  images.forEach(img => { img.loading = 'eager'; });
  await Promise.all(images.map(img => img.decode().catch(() => null)));
  for (const img of images) {
    if (!img.complete || img.naturalWidth === 0) {
      problems.push('image does not load: ' + img.getAttribute('src'));
    }
  }
  // Code cells and code blocks: no horizontal scrolling.
  for (const pre of document.querySelectorAll('div.highlight pre, .cell_input pre')) {
    if (pre.scrollWidth > pre.clientWidth + 1) {
      const line = pre.textContent.split('\n').reduce((a, b) => (b.length > a.length ? b : a), '');
      problems.push(`code wider than its column (${pre.scrollWidth} > ${pre.clientWidth} px): ` +
                    JSON.stringify(line.slice(0, 100)));
    }
  }
  if (notebook) {
    if (document.querySelector('.tag_injected-parameters')) {
      problems.push("papermill's injected parameters cell is shown");
    }
    const launch = Array.from(document.querySelectorAll('a[href]')).map(a => a.href)
      .filter(h => LAUNCH_HOSTS.some(host => h.includes(host)));
    if (launch.length === 0) problems.push('no launch buttons');
    for (const href of launch) {
      if (!href.replace(/\/\.\//g, '/').endsWith('/' + notebook)) {
        problems.push('launch button opens another notebook: ' + href);
      }
    }
  }
  return problems;
}
""".replace("LAUNCH_HOSTS", repr(list(LAUNCH_HOSTS)))


def _find_chromium() -> str | None:
    """The Chromium to drive: $CHROMIUM, else the first browser on the PATH."""
    if os.environ.get("CHROMIUM"):
        return os.environ["CHROMIUM"]
    for name in CHROMIUM_CANDIDATES:
        if shutil.which(name):
            return shutil.which(name)
    return None


def _pages_of(html: Path) -> list[str]:
    """Every HTML page of the build, relative to ``html``, in a stable order."""
    return sorted(
        p.relative_to(html).as_posix()
        for p in html.rglob("*.html")
        if not p.relative_to(html).parts[0].startswith("_")
    )


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def _serve(folder: Path):
    """An HTTP server for ``folder`` on 127.0.0.1 (a free port), running in a thread."""
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Quiet, directory=str(folder))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _notebook_of(page: str, html: Path) -> str | None:
    """The notebook a page was built from (``notebooks/torch/01_cnn_basics.ipynb``), or None."""
    source = html / "_sources" / (page[: -len(".html")] + ".ipynb")
    return page[: -len(".html")] + ".ipynb" if source.exists() else None


def _router(origin: str, problems: list):
    """A route handler: requests to ``origin`` go through, any other is refused and noted."""

    def route(route):
        url = route.request.url
        try:
            if url.startswith(origin + "/") or url.startswith(("data:", "blob:")):
                route.continue_()
            else:
                problems.append(f"request leaves the machine: {url[:120]}")
                route.abort("blockedbyclient")
        except Exception:  # the page closed while the request was in flight
            pass

    return route


def _redirect_of(file: Path) -> str | None:
    """The target of a redirect-only page (Jupyter Book's ``index.html``), or None."""
    match = re.search(
        r'http-equiv="refresh"[^>]*url=([^"]+)"', file.read_text(errors="replace"), re.I
    )
    return match.group(1).strip() if match else None


def check_book(html: Path, screens: Path | None, chromium: str, timeout_s: float = 60) -> dict:
    """``{page: [problems]}`` for every page of the build in ``html``."""
    from . import checks

    html = checks.path(html, "html")
    if not (html / "index.html").is_file():
        raise FileNotFoundError(checks.file_error(html / "index.html", "does not exist",
                                                  "run `make book` first"))
    if screens is not None:
        screens = checks.path(screens, "screens")
    checks.text(chromium, "chromium")
    if checks.number(timeout_s, "timeout_s") <= 0:
        raise ValueError(f"timeout_s must be > 0 seconds, got {timeout_s}")
    from playwright.sync_api import Error as PlaywrightError, sync_playwright

    html = html.resolve()
    server = _serve(html)
    origin = f"http://127.0.0.1:{server.server_address[1]}"
    found = {}
    if screens:  # this build's pages only
        screens.mkdir(parents=True, exist_ok=True)
        for old in screens.glob("*.png"):
            old.unlink()
    with (
        tempfile.TemporaryDirectory(prefix="bookcheck-profile-") as profile,
        sync_playwright() as pw,
    ):
        browser = pw.chromium.launch_persistent_context(
            profile,
            executable_path=chromium,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport=VIEWPORT,
            service_workers="block",
            accept_downloads=False,
        )
        try:
            for page_path in _pages_of(html):
                problems = []
                target = _redirect_of(html / page_path)
                if target is not None:  # nothing to see: its target must exist
                    exists = (
                        (html / page_path).parent.joinpath(target.split("#")[0]).resolve().is_file()
                    )
                    found[page_path] = [] if exists else [f"redirects to a missing page: {target}"]
                    continue
                page = browser.new_page()

                page.route("**/*", _router(origin, problems))
                page.on(
                    "console",
                    lambda msg, p=problems: (
                        msg.type == "error" and p.append(f"console error: {msg.text[:200]}")
                    ),
                )
                page.on(
                    "pageerror", lambda err, p=problems: p.append(f"script error: {str(err)[:200]}")
                )
                page.on(
                    "requestfailed",
                    lambda req, p=problems: (
                        urlsplit(req.url).hostname == "127.0.0.1"
                        and p.append(
                            f"request failed: {req.url[len(origin) :][:120]} ({req.failure})"
                        )
                    ),
                )
                page.on(
                    "response",
                    lambda res, p=problems: (
                        res.status >= 400
                        and p.append(f"HTTP {res.status}: {res.url[len(origin) :][:120]}")
                    ),
                )
                try:
                    page.goto(f"{origin}/{page_path}", wait_until="load", timeout=timeout_s * 1000)
                    problems.extend(
                        page.evaluate(PAGE_SCRIPT, {"notebook": _notebook_of(page_path, html)})
                    )
                    page.wait_for_load_state("networkidle", timeout=timeout_s * 1000)
                    if screens:
                        name = page_path[: -len(".html")].replace("/", "__") + ".png"
                        page.screenshot(
                            path=str(screens / name), full_page=True, timeout=timeout_s * 1000
                        )
                except PlaywrightError as err:
                    problems.append(
                        f"the page could not be checked: {str(err).splitlines()[0][:200]}"
                    )
                finally:
                    page.close()
                found[page_path] = problems
        finally:
            browser.close()
            server.shutdown()
    return found


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
    string). The code's meaning is untouched; ruff formats the rest."""
    if not isinstance(source, str):
        raise TypeError(f"source: expected a code cell's source (str), got {type(source).__name__}")
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return source
    lines = source.split("\n")
    comments, strings, depth = {}, {}, 0
    for token in tokens:
        row = token.start[0] - 1
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
        elif col is not None and not line[col:].lstrip("#").strip().startswith(
            ("noqa", "type:", "NBVAL")
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
            isinstance(c, dict) and "cell_type" in c and "source" in c for c in cells):
        raise TypeError("notebook: expected a notebook's JSON (a dict whose 'cells' have "
                        f"'cell_type' and 'source'), got {type(notebook).__name__}")
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
        try:  # a chapter notebook gets the Colab cell of companion.colab
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
        print(f"{line}, more than {MAX_CELL_LINES}: split it where the idea changes",
              file=sys.stderr)
    return 1 if (check and todo) or too_long else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m companion.bookcheck",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    pages = sub.add_parser("pages", help="open every page of the built book in headless Chromium")
    pages.add_argument(
        "html", nargs="?", default="_build/html", help="the built book (default: _build/html)"
    )
    pages.add_argument(
        "--screens", default="_build/screens", help="folder for the screenshots ('' for none)"
    )
    pages.add_argument(
        "--chromium", default=None, help="the browser to drive (default: $CHROMIUM or chromium)"
    )
    layout = sub.add_parser(
        "layout", help="move long trailing comments, tag the Colab cell remove-cell"
    )
    layout.add_argument("paths", nargs="+", help="notebooks or folders of notebooks")
    layout.add_argument(
        "--check", action="store_true", help="change nothing; exit 1 if a notebook needs it"
    )
    args = parser.parse_args(argv)
    if args.command == "layout":
        return _layout_main(args.paths, args.check)
    html = Path(args.html)
    if not (html / "index.html").exists():
        print(f"no built book in {html}: run `make book` first", file=sys.stderr)
        return 2
    chromium = args.chromium or _find_chromium()
    if chromium is None:
        print(
            "no Chromium found: `sudo apt-get install chromium` (or `make setup` as root), "
            "or set CHROMIUM to a Chromium or Chrome binary",
            file=sys.stderr,
        )
        return 2
    try:
        import playwright  # noqa: F401
    except ImportError:
        print("Playwright is missing: pip install playwright (or `make setup`)", file=sys.stderr)
        return 2
    start = time.perf_counter()
    found = check_book(html, Path(args.screens) if args.screens else None, chromium)
    bad = {page: problems for page, problems in found.items() if problems}
    for page, problems in found.items():
        print(f"{'FAIL' if problems else 'ok  '} {page}")
        for problem in problems:
            print(f"       {problem}")
    print(
        f"{len(found)} pages in {time.perf_counter() - start:.0f} s, {len(bad)} with problems"
        + (f"; screenshots in {args.screens}" if args.screens else "")
    )
    return 1 if bad or not found else 0


if __name__ == "__main__":
    sys.exit(main())

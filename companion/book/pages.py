"""The book as a reader sees it.

``python -m companion.book.pages [_build/html]`` (``make check-book`` builds first) opens every
page of the built book in headless Chromium, offline, as a reader would, in a window of
1366 x 768 pixels (the commonest laptop screen; its text column holds 85 characters of code).

The pages are served from 127.0.0.1 and every other request is refused (DNS too). A page fails
when it requests anything outside the machine or a request fails; a page with math shows a raw
``\\(`` or ``\\[`` outside code, or no MathJax output; an image does not load (natural width 0);
the console shows an error; a code cell is wider than its container; a notebook page still holds
papermill's injected parameters cell; a chapter's notebook page has no launch button, or one that
opens another notebook; an assignment's page has a launch button (Colab cannot run its checks);
an image has no alternative text (or only its file name, myst-nb's default). Accessibility:
axe-core (``make axe`` installs it from npm; it is injected from that copy, never a CDN) runs
on every page, and any violation of WCAG 2.1 at level A or AA fails it.
A full-page screenshot of every page goes to ``--screens`` for a person to look at.

Needs Playwright (pip), axe-core (npm) and a Chromium on the machine (Debian's ``chromium``;
``make chromium`` installs it); Playwright's own browser downloads are never used.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import os
import re
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

from .extension import ASSIGNMENT_PAGES

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
LAUNCH_HOSTS = ("colab.research.google.com",)  # no Binder: book/setup.md says why
# axe-core from npm (the Makefile's `axe` rule pins its version), injected into each page from
# this copy; a page fails on any violation of WCAG 2.1 at levels A and AA.
AXE = Path(".axe/node_modules/axe-core/axe.min.js")
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
AXE_RUN = """tags => axe.run(document, {runOnly: {type: 'tag', values: tags},
                                      resultTypes: ['violations']})
  .then(r => r.violations.map(v => [v.id, v.help, v.nodes.map(n => n.target.join(' '))]))"""

# Runs in the page (page_check.js beside this file): every finding as a list of strings.
PAGE_SCRIPT = (
    Path(__file__)
    .with_name("page_check.js")
    .read_text(encoding="utf-8")
    .replace("LAUNCH_HOSTS", repr(list(LAUNCH_HOSTS)))
)


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


def _axe_problems(page, axe: Path) -> list[str]:
    """One problem per WCAG 2.1 A/AA rule that axe-core finds violated on the open page."""
    page.add_script_tag(path=str(axe))
    return [
        f"WCAG {rule} on {len(targets)} element{'s' * (len(targets) > 1)} ({help_}): "
        + ", ".join(targets[:3])[:200]
        for rule, help_, targets in page.evaluate(AXE_RUN, WCAG_TAGS)
    ]


def check_book(
    html: Path, screens: Path | None, chromium: str, timeout_s: float = 60, axe: Path = AXE
) -> dict:
    """``{page: [problems]}`` for every page of the build in ``html``; ``axe`` is axe-core's
    ``axe.min.js``."""
    from .. import checks

    html = checks.path(html, "html")
    if not (html / "index.html").is_file():
        raise FileNotFoundError(
            checks.file_error(html / "index.html", "does not exist", "run `make book` first")
        )
    if screens is not None:
        screens = checks.path(screens, "screens")
    checks.text(chromium, "chromium")
    if checks.number(timeout_s, "timeout_s") <= 0:
        raise ValueError(f"timeout_s must be > 0 seconds, got {timeout_s}")
    axe = checks.existing_file(axe, "axe", "`make axe` installs axe-core from npm").resolve()
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
        tempfile.TemporaryDirectory(prefix="pagecheck-profile-") as profile,
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
                        page.evaluate(
                            PAGE_SCRIPT,
                            {
                                "notebook": _notebook_of(page_path, html),
                                "launches": not page_path.startswith(ASSIGNMENT_PAGES),
                            },
                        )
                    )
                    problems.extend(_axe_problems(page, axe))
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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m companion.book.pages",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "html", nargs="?", default="_build/html", help="the built book (default: _build/html)"
    )
    parser.add_argument(
        "--screens", default="_build/screens", help="folder for the screenshots ('' for none)"
    )
    parser.add_argument(
        "--chromium", default=None, help="the browser to drive (default: $CHROMIUM or chromium)"
    )
    parser.add_argument(
        "--axe", default=str(AXE), help=f"axe-core's axe.min.js (default: {AXE}, `make axe`)"
    )
    args = parser.parse_args(argv)
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
    if not Path(args.axe).is_file():
        print(f"no axe-core at {args.axe}: `make axe` installs it from npm", file=sys.stderr)
        return 2
    found = check_book(html, Path(args.screens) if args.screens else None, chromium, axe=args.axe)
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

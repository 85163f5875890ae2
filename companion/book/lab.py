"""The notebooks as a student meets them in JupyterLab.

``python -m companion.book.lab [--only TEXT] [--out _build/lab] [--jobs N]`` (``make check-lab``)
copies the notebooks, outputs cleared, to ``--out``/root, starts ``jupyter lab`` there on
127.0.0.1 with JupyterLab's own test configuration (``jupyterlab.galata``: no token, the
application exposed to the page), and opens each notebook in headless Chromium, offline (every
request outside 127.0.0.1 is refused). It runs all cells through the application's own command
(``notebook:run-all-cells``), waits for the kernel to go idle, saves through the application
(``docmanager:save``) and takes a screenshot (``--out``/<edition>__<notebook>.png).

A notebook fails on an error output, a code cell left unexecuted, a page error, a request that
leaves the machine or fails, or a run past ``--timeout`` seconds. The run fails too when no
notebook shows a progress bar as a widget (tqdm's notebook bar; a missing widget manager shows
text instead). The kernels run the ``$COMPANION_PROFILE`` profile (``smoke`` when unset); with
``--jobs`` above 1, each kernel gets one thread.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat

from .. import checks
from .pages import CHROMIUM_ARGS, VIEWPORT, _find_chromium, _router

PROGRESS_WIDGET = ".jp-OutputArea-output .widget-hprogress"  # ipywidgets 8's progress bar
ONE_THREAD = {"OMP_NUM_THREADS": "1", "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"}
SERVER_CONFIG = """\
from jupyterlab.galata import configure_jupyter_server

configure_jupyter_server(c)
c.ServerApp.port = {port}
c.ServerApp.root_dir = {root!r}
c.LabApp.workspaces_dir = {workspaces!r}
c.ServerApp.allow_root = True  # containers and CI runners run as root
# offline: no update check, no news feed, no extension search on PyPI
c.LabApp.check_for_updates_class = "jupyterlab.NeverCheckForUpdate"
c.LabApp.news_url = None
c.LabApp.extension_manager = "readonly"
"""

# Runs in the page, in the background: waits for the notebook and its kernel, runs every cell
# through JupyterLab's command, waits for idle, saves, shuts the kernel down, and leaves in
# window.labCheck whether the run finished and how many progress widgets rendered during it.
# Every wait is bounded by the deadline, and window.labStep names the step it is in, so a run
# that stalls (a dialog waiting for a click, say) ends with a reason instead of hanging.
START = """([timeoutMs, widget]) => { window.labCheck = null; (async () => {
  const deadline = Date.now() + timeoutMs;
  const step = (what) => { window.labStep = what; };
  const sleep = (ms) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
  const bounded = (promise) => Promise.race([
    promise,
    sleep(deadline - Date.now()).then(() => { throw new Error("no answer in time"); }),
  ]);
  const until = async (ok, withinMs = timeoutMs) => {
    const end = Math.min(deadline, Date.now() + withinMs);
    while (!ok()) {
      if (Date.now() > end) return false;
      await sleep(250);
    }
    return true;
  };
  step("waiting for JupyterLab");
  if (!(await until(() => window.jupyterapp)))
    return { finished: false, why: "JupyterLab never started" };
  const app = window.jupyterapp;
  step("starting JupyterLab");
  await bounded(app.started);
  await bounded(app.restored);
  const notebook = () => {
    const w = app.shell.currentWidget;
    return w && w.sessionContext && w.content && w.content.widgets ? w : null;
  };
  step("opening the notebook");
  if (!(await until(notebook))) return { finished: false, why: "the notebook never opened" };
  const panel = notebook();
  await bounded(panel.context.ready);
  step("starting the kernel");
  await bounded(panel.sessionContext.ready);
  const kernel = () => panel.sessionContext.session && panel.sessionContext.session.kernel;
  if (!(await until(() => kernel() && kernel().status === "idle", 120000)))
    return { finished: false, why: "no kernel started in 120 s: does the notebook name one?" };
  // progress bars are counted as they render: tqdm's leave=False removes them when done
  let widgets = 0;
  const seen = new WeakSet();
  const count = (el) => { if (!seen.has(el)) { seen.add(el); widgets += 1; } };
  const observer = new MutationObserver((records) => {
    for (const record of records)
      for (const node of record.addedNodes)
        if (node.nodeType === 1) {
          if (node.matches(widget)) count(node);
          node.querySelectorAll(widget).forEach(count);
        }
  });
  observer.observe(document.body, { childList: true, subtree: true });
  step("running all cells");
  const ran = await Promise.race([
    app.commands.execute("notebook:run-all-cells"),
    sleep(deadline - Date.now()).then(() => "timeout"),
  ]);
  if (ran === "timeout") return { finished: false, why: "the run did not finish in time" };
  if (!(await until(() => kernel().status === "idle")))
    return { finished: false, why: "the kernel stayed busy after the run" };
  observer.disconnect();
  step("saving");
  await bounded(app.commands.execute("docmanager:save"));
  step("shutting the kernel down");
  await bounded(panel.sessionContext.shutdown());  // JupyterLab keeps a kernel when its page closes
  return { finished: true, why: "", widgets };
})().then((r) => { window.labCheck = r; },
          (e) => { window.labCheck = { finished: false, why: `${window.labStep}: ${e}` }; }); }"""

# What the page shows when a run has no result past its deadline: the step, and any dialog.
STALLED = """() => {
  const dialog = document.querySelector(".jp-Dialog");
  const text = dialog ? dialog.innerText.replace(/\\s+/g, " ").slice(0, 200) : "";
  return `${window.labStep || "before the check started"}` + (text ? `; dialog: ${text}` : "");
}"""
GRACE_S = 60  # past the page's own deadline before the page is given up as stalled


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def copy_cleared(notebooks: list[str], root: Path) -> list[Path]:
    """Each notebook copied under ``root`` (same relative path), outputs and counts cleared, so a
    cell the run skips shows as unexecuted."""
    root = checks.path(root, "root")
    copies = []
    for path in checks.notebook_paths(notebooks, "notebooks"):
        source = checks.existing_file(path, "notebook", "git checkout -- " + path)
        nb = nbformat.read(source, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, target)
        copies.append(target)
    return copies


def saved_problems(path) -> list[str]:
    """What a saved, run notebook shows wrong: error outputs and unexecuted code cells."""
    path = checks.existing_file(path, "notebook")
    try:
        nb = nbformat.read(path, as_version=4)
    except (nbformat.reader.NotJSONError, ValueError, KeyError) as err:
        raise ValueError(
            checks.file_error(path, f"is not a notebook ({err})", "expected a saved .ipynb")
        ) from None
    problems = []
    for number, cell in enumerate(nb.cells, 1):
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        if cell.execution_count is None:
            problems.append(f"cell {number} was not executed")
        for out in cell.outputs:
            if out.output_type == "error":
                problems.append(f"cell {number}: {out.ename}: {checks.one_line(out.evalue)[:160]}")
    return problems


def _start_lab(root: Path, out: Path, env: dict) -> tuple[subprocess.Popen, str]:
    """``jupyter lab`` over ``root`` on a free port of 127.0.0.1 with galata's test configuration;
    returns the process and its origin once the server answers."""
    port = _free_port()
    config = out / "config"
    shutil.rmtree(config, ignore_errors=True)
    config.mkdir(parents=True)
    (config / "jupyter_server_config.py").write_text(
        SERVER_CONFIG.format(port=port, root=str(root), workspaces=str(out / "workspaces"))
    )
    env = {**env, "JUPYTER_CONFIG_DIR": str(config), "JUPYTER_RUNTIME_DIR": str(out / "runtime")}
    log = out / "jupyter-lab.log"
    with open(log, "w") as stream:  # the server keeps its own copy of the handle
        lab = subprocess.Popen(
            [sys.executable, "-m", "jupyterlab", "--no-browser"],
            cwd=root,
            env=env,
            stdout=stream,
            stderr=subprocess.STDOUT,
        )
    origin = f"http://127.0.0.1:{port}"
    for _ in range(240):
        if lab.poll() is not None:
            raise RuntimeError(f"jupyter lab exited with {lab.returncode}: see {log}")
        try:
            urllib.request.urlopen(origin + "/api/status", timeout=1)
            return lab, origin
        except OSError:
            time.sleep(0.5)
    lab.terminate()
    raise RuntimeError(f"jupyter lab did not answer on {origin} in 120 s: see {log}")


def _open(browser, origin: str, relative: str, timeout_s: float) -> dict:
    """A page on ``relative`` with its run started (the script stores its result in the page).

    Each page gets a browser context of its own: JupyterLab's window resolver claims a window
    name through localStorage, and two pages starting at once in one context can claim the same
    one, so that the second fails ("Window name candidate ... already exists") and reloads."""
    problems: list[str] = []
    context = browser.new_context(viewport=VIEWPORT, service_workers="block")
    page = context.new_page()
    page.route("**/*", _router(origin, problems))
    page.on("pageerror", lambda err: problems.append(f"page error: {str(err)[:200]}"))
    page.on("crash", lambda _: problems.append("the page crashed"))
    page.on(
        "response",
        lambda res: res.status >= 400 and problems.append(f"HTTP {res.status}: {res.url[:120]}"),
    )
    # a workspace of its own: two windows on one workspace make JupyterLab reload the second
    workspace = relative.replace("/", "-").removesuffix(".ipynb")
    page.goto(f"{origin}/lab/workspaces/{workspace}/tree/{relative}", wait_until="load")
    page.evaluate(START, [timeout_s * 1000, PROGRESS_WIDGET])
    print(f"running {relative} in JupyterLab", flush=True)
    return {"page": page, "problems": problems, "start": time.perf_counter(), "reloads": 0}


def _poll(page):
    """The page's result, None while it runs (or navigates), "gone" once it has reloaded."""
    from playwright.sync_api import Error

    try:
        return page.evaluate("() => window.labCheck === undefined ? 'gone' : window.labCheck")
    except Error:  # the page is navigating: the context the script ran in is being replaced
        return None


def _finish(run: dict, relative: str, out: Path, timeout_s: float) -> dict:
    """The run's result once its page holds one, else None; the page closed after a screenshot.
    A page that reloaded (JupyterLab does, for one) gets the script again with the time left; one
    with no result past its deadline and the grace is given up, named with the step it was in."""
    page, seconds = run["page"], time.perf_counter() - run["start"]
    result = _poll(page)
    if result == "gone" and seconds < timeout_s:
        run["reloads"] += 1
        page.evaluate(START, [(timeout_s - seconds) * 1000, PROGRESS_WIDGET])
        return None
    if result == "gone" or (result is None and seconds > timeout_s + GRACE_S):
        where = "the page reloaded" if result == "gone" else _poll_quietly(page, STALLED)
        why = f"no result after {seconds:.0f} s (at {where})"
        result = {"finished": False, "why": why}
    if result is None:
        return None
    page.screenshot(path=str(out / (relative.replace("/", "__") + ".png")))
    page.context.close()
    if not result["finished"]:
        reloads = f" (after {run['reloads']} page reloads)" if run["reloads"] else ""
        run["problems"].append(result["why"] + reloads)
    return {
        "problems": run["problems"],
        "seconds": seconds,
        "widgets": result.get("widgets", 0),
        "reloads": run["reloads"],
    }


def _poll_quietly(page, script: str) -> str:
    """``script``'s answer, or why the page gave none."""
    from playwright.sync_api import Error

    try:
        return page.evaluate(script)
    except Error as err:
        return f"no answer: {checks.one_line(str(err))[:120]}"


def _run_all(origin, notebooks, out, chromium, jobs, timeout_s) -> dict:
    """Every notebook run in its own page, ``jobs`` at once."""
    from playwright.sync_api import sync_playwright

    waiting, running, found = list(notebooks), {}, {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            while waiting or running:
                while waiting and len(running) < jobs:
                    relative = waiting.pop(0)
                    running[relative] = _open(browser, origin, relative, timeout_s)
                for relative in list(running):
                    result = _finish(running[relative], relative, out, timeout_s)
                    if result is not None:
                        found[relative] = result
                        del running[relative]
                time.sleep(1)
        finally:
            browser.close()
    return found


def check_lab(notebooks, out, chromium: str, jobs: int = 1, timeout_s: float = 1800) -> dict:
    """``{notebook: {"problems": [...], "seconds": s, "widgets": n}}`` for each of ``notebooks``
    (paths relative to the repository root) run in JupyterLab as the module says."""
    notebooks = checks.notebook_paths(notebooks, "notebooks")
    if not notebooks:
        raise ValueError("notebooks: expected at least one notebook path, got none")
    out = checks.path(out, "out").resolve()
    checks.text(chromium, "chromium")
    checks.integer(jobs, "jobs", 1)
    if checks.number(timeout_s, "timeout_s") <= 0:
        raise ValueError(f"timeout_s must be > 0 seconds, got {timeout_s}")
    root = out / "root"
    shutil.rmtree(root, ignore_errors=True)
    copy_cleared(notebooks, root)
    env = {**os.environ, **(ONE_THREAD if jobs > 1 else {})}
    env.setdefault("COMPANION_PROFILE", "smoke")
    lab, origin = _start_lab(root, out, env)
    try:
        found = _run_all(origin, notebooks, out, chromium, jobs, timeout_s)
    finally:
        lab.terminate()
        lab.wait(timeout=30)
    for relative, result in found.items():
        result["problems"] += saved_problems(root / relative)
    return found


def main(argv=None) -> int:
    from .runner import notebooks_in_toc, select

    parser = argparse.ArgumentParser(
        prog="python -m companion.book.lab",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--only", default=None, help="keep notebooks whose path holds this text")
    parser.add_argument("--out", default="_build/lab", help="copies, log and screenshots")
    parser.add_argument("--jobs", type=int, default=1, help="notebooks run at once")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per notebook")
    args = parser.parse_args(argv)
    if args.jobs < 1 or args.timeout <= 0:
        parser.error(f"expected --jobs >= 1 and --timeout > 0, got {args.jobs} and {args.timeout}")
    chromium = _find_chromium()
    if chromium is None:
        print(
            "no Chromium found: `sudo apt-get install chromium`, or set CHROMIUM", file=sys.stderr
        )
        return 2
    notebooks = select(notebooks_in_toc("."), None, args.only)
    if not notebooks:
        print(f"no notebook matches --only {args.only!r}", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    found = check_lab(notebooks, out, chromium, args.jobs, args.timeout)
    for notebook, result in found.items():
        status = "FAIL" if result["problems"] else "ok  "
        reloads = f", {result['reloads']} page reloads" if result["reloads"] else ""
        print(
            f"{status} {notebook} ({result['seconds']:.0f} s, "
            f"{result['widgets']} progress widgets{reloads})"
        )
        for problem in result["problems"]:
            print(f"       {problem}")
    no_widget = not any(r["widgets"] for r in found.values())
    if no_widget:
        print("no notebook showed a progress bar as a widget: is ipywidgets installed?")
    bad = sum(bool(r["problems"]) for r in found.values())
    print(f"{len(found)} notebooks, {bad} with problems; screenshots in {out}")
    return 1 if bad or no_widget else 0


if __name__ == "__main__":
    sys.exit(main())

"""``python -m companion``: set up the offline assets, list or run the book's notebooks."""
from __future__ import annotations

import argparse

from . import PROFILES, profile


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m companion", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("assets", help="install and verify the offline assets")
    listing = sub.add_parser("list", help="print the notebooks _toc.yml lists")
    listing.add_argument("--framework", choices=["torch", "tensorflow"])
    run = sub.add_parser("run", help="execute notebooks with papermill and collect their results")
    run.add_argument("--profile", choices=list(PROFILES), default=None,
                     help="execution profile (default: $COMPANION_PROFILE or smoke)")
    run.add_argument("--framework", choices=["torch", "tensorflow"])
    run.add_argument("--only", help="keep notebooks whose path contains this text, e.g. 01 or torch/05")
    run.add_argument("--shard", help="run shard i of n, written i/n")
    run.add_argument("--out", default="_build/executed", help="folder for executed copies and results")
    run.add_argument("--build", action="store_true", help="then build the HTML book into _build/html")
    build = sub.add_parser("build", help="merge sharded results and build the HTML book from executed copies")
    build.add_argument("--out", default="_build/executed", help="folder holding the executed copies")
    args = parser.parse_args(argv)

    if args.command == "assets":
        from .assets import install_all

        return 0 if install_all() else 1
    from pathlib import Path

    from .runner import build_book, merge_results, notebooks_in_toc, run as run_notebooks, select

    if args.command == "build":
        out = Path(args.out).resolve()
        if any(out.glob("results-*.json")):
            merge_results(out)
        print(f"book: {build_book(Path('.').resolve(), out, Path('.').resolve())}")
        return 0
    if args.command == "list":
        print("\n".join(select(notebooks_in_toc("."), args.framework)))
        return 0
    try:
        return run_notebooks(".", profile(args.profile).name, args.framework, args.only, args.shard,
                             args.out, args.build)
    except ValueError as err:
        parser.error(str(err))

"""``python -m companion``: set up the offline assets; list, run or check the book's notebooks."""

from __future__ import annotations

import argparse
import os

from .. import FRAMEWORKS, PROFILE_ENV, PROFILES, profile
from .assets import STEPS, install_all


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m companion", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    assets = sub.add_parser("assets", help="install and verify the offline assets")
    assets.add_argument(
        "--only",
        nargs="+",
        metavar="ASSET",
        choices=list(STEPS),
        help="install only these (default: all)",
    )
    listing = sub.add_parser("list", help="print the notebooks _toc.yml lists")
    listing.add_argument("--framework", choices=FRAMEWORKS)
    listing.add_argument("--shard", help="only shard i of n, written i/n (as run --shard splits)")
    listing.add_argument(
        "--profile",
        choices=list(PROFILES),
        default="cpu",
        help="the profile whose expected seconds balance the shards (default: cpu)",
    )
    listing.add_argument(
        "--seconds", action="store_true", help="print each notebook's expected seconds too"
    )
    run = sub.add_parser("run", help="execute notebooks with papermill and collect their results")
    run.add_argument(
        "--profile",
        choices=list(PROFILES),
        default=None,
        help="execution profile (default: $COMPANION_PROFILE or smoke: a batch run is a test "
        "unless a profile is named)",
    )
    run.add_argument("--framework", choices=FRAMEWORKS)
    run.add_argument(
        "--only", help="keep notebooks whose path contains this text, e.g. 01 or torch/05"
    )
    run.add_argument(
        "--shard",
        help="run shard i of n, written i/n: n shards of about equal expected time (the committed "
        "cpu run's seconds, scaled for the gpu profile), results in results-iofn.json",
    )
    run.add_argument(
        "--out", default="_build/executed", help="folder for executed copies and results"
    )
    run.add_argument(
        "--build", action="store_true", help="then build the HTML book into _build/html"
    )
    run.add_argument(
        "--inplace",
        action="store_true",
        help="copy successful runs over the committed notebooks, rewrite book/results.md",
    )
    run.add_argument("--seed", type=int, help="override the notebooks' SEED parameter")
    run.add_argument(
        "--resume",
        action="store_true",
        help="skip the notebooks that results.json (results-iofn.json for a shard) in --out "
        "already holds at this profile without error, their executed copies there: a rerun "
        "after a killed run (the results are written after every notebook)",
    )
    check = sub.add_parser(
        "check",
        help="cpu: re-execute notebooks, compare their metrics with the committed ones; "
        "gpu: check a gpu run's results.json against the gpu bands (executes nothing)",
    )
    check.add_argument("--profile", choices=list(PROFILES), default="cpu")
    check.add_argument("--framework", choices=FRAMEWORKS)
    check.add_argument(
        "--only", help="keep notebooks whose path contains this text, e.g. 05 or torch/05"
    )
    check.add_argument(
        "--out", default="_build/check", help="folder for executed copies and results"
    )
    check.add_argument("--seed", type=int, help="override the notebooks' SEED parameter")
    check.add_argument(
        "--results",
        help="gpu profile only: the results.json of `run --profile gpu --out DIR` to check",
    )
    sub.add_parser(
        "results", help="rewrite book/results.md and the cpu reference from the committed notebooks"
    )
    build = sub.add_parser(
        "build", help="merge sharded results and build the HTML book from executed copies"
    )
    build.add_argument(
        "--out", default="_build/executed", help="folder holding the executed copies"
    )
    args = parser.parse_args(argv)

    if args.command == "assets":
        return 0 if install_all(args.only) else 1
    from pathlib import Path

    from .runner import (
        build_book,
        check as check_notebooks,
        expected_seconds,
        merge_results,
        notebooks_in_toc,
        run as run_notebooks,
        select,
        write_committed_results,
    )

    if args.command == "build":
        out = Path(args.out).resolve()
        if any(out.glob("results-*.json")):
            merge_results(out)
        print(f"book: {build_book(Path('.').resolve(), out, Path('.').resolve())}")
        return 0
    if args.command == "results":
        write_committed_results(Path(".").resolve())
        print("rewrote book/results.md and companion/data/reference_cpu.json")
        return 0
    if args.command == "check":
        if args.profile == "gpu":
            from .tolerances import check_gpu

            if args.results is None:
                parser.error("check --profile gpu needs --results DIR/results.json of a gpu run")
            return check_gpu(args.results, ".", args.framework, args.only)
        if args.results is not None:
            parser.error("--results is for --profile gpu: the other profiles re-execute")
        try:
            return check_notebooks(
                ".", args.profile, args.framework, args.only, args.out, args.seed
            )
        except ValueError as err:
            parser.error(str(err))
    if args.command == "list":
        listed = notebooks_in_toc(".")
        costs = expected_seconds(listed, args.profile)
        try:
            paths = select(listed, args.framework, shard=args.shard, costs=costs)
        except ValueError as err:
            parser.error(str(err))
        if args.seconds:
            total = sum(costs[p] for p in paths)
            paths = [f"{p}\t{costs[p]:.0f}" for p in paths] + [f"total\t{total:.0f}"]
        print("\n".join(paths))
        return 0
    try:
        return run_notebooks(
            ".",
            profile(args.profile or os.environ.get(PROFILE_ENV) or "smoke").name,
            args.framework,
            args.only,
            args.shard,
            args.out,
            args.build,
            args.inplace,
            args.seed,
            args.resume,
        )
    except ValueError as err:
        parser.error(str(err))

"""``book/results.md``: every chapter's recorded metrics, both editions side by side, beside the
source articles' numbers and the tolerance of the reproduction check."""

from __future__ import annotations

from .. import FRAMEWORKS, checks
from ..results import articles, cell_text, chapter_of
from .tolerances import (
    ABSOLUTE,
    BANDS_FILE,
    ERROR_BOUND,
    FACTOR,
    TIME_FACTOR,
    band_text,
    check_band,
    checked_band,
    load_bands,
    tolerance,
)

COMMITTED = (
    "the committed notebooks: a `cpu`-profile run made by `make notebooks`, which also "
    "writes this page, so it cannot drift from what the notebooks show"
)


EDITIONS = {"torch": "PyTorch", "tensorflow": "Keras"}


def _band_on_page(band: dict) -> str:
    """``band_text``, with the metric a relative band compares with set as code."""
    return f"> `{band['above']}`" if "above" in band else band_text(band)


def gpu_target(bands: list[dict], name: str, entries: dict) -> str:
    """The gpu bands of metric ``name`` as the page shows them; where an edition's column holds a
    gpu run (``entries``: framework -> result entry), whether that run met each band."""
    checks.instance(bands, list, "bands", "a list of bands (one chapter's of load_bands())")
    checks.text(name, "metric name")
    if not isinstance(entries, dict) or not set(entries) <= set(EDITIONS):
        raise TypeError(
            f"entries: expected {{'torch' or 'tensorflow': result entry}}, "
            f"got {checks.describe(entries)}"
        )
    cells = []
    for band in (b for b in map(checked_band, bands) if b["metric"] == name):
        text = _band_on_page(band)
        if band.get("framework"):
            text += f" ({EDITIONS[band['framework']]})"
        verdicts = [
            f"{EDITIONS[fw]} {'met' if check_band(band, e.get('metrics', {}))['ok'] else 'MISSED'}"
            for fw, e in entries.items()
            if e.get("profile") == "gpu" and band.get("framework") in (None, fw)
        ]
        cells.append(text + (f" ({', '.join(verdicts)})" if verdicts else ""))
    return "; ".join(cells)


def results_page(reference: dict, source: str = COMMITTED, bands: dict | None = None) -> str:
    """The markdown of ``book/results.md``: every chapter's metrics, both editions side by side,
    beside the article's numbers and the gpu targets (``bands``: by default the gpu bands)."""
    bands = load_bands() if bands is None else bands
    if not isinstance(reference, dict) or not all(isinstance(r, dict) for r in reference.values()):
        raise TypeError(
            f"reference: expected {{notebook path: result entry}}, got {checks.describe(reference)}"
        )
    for path, r in reference.items():
        chapter_of(path)
        if r.get("framework") not in FRAMEWORKS:
            raise ValueError(
                f"reference[{path!r}]: expected a 'framework' of 'torch' or "
                f"'tensorflow', got {r.get('framework')!r}"
            )
    lines = [
        "# Results",
        "",
        f"Every number the notebooks record with `companion.record`, from {source}. The article "
        "column holds what the chapter's source article publishes; the last column says how "
        "`python -m companion check` compares a re-run with these values (see the end of the "
        "page).",
        "",
        "The gpu target column gives the acceptance bands a `gpu`-profile run must meet "
        f"(`companion/data/{BANDS_FILE.name}`, checked by `python -m companion check --profile "
        "gpu --results DIR/results.json`); "
        + (
            "the columns marked with a gpu profile below hold such a run, and each target says "
            "whether it was met."
            if any(r.get("profile") == "gpu" for r in reference.values())
            else "no gpu run has been published yet, so these targets stand beside the "
            "article's numbers until a real gpu run replaces them."
        ),
        "",
    ]
    chapters = sorted({chapter_of(p) for p in reference})
    for chapter in chapters:
        paths = {r["framework"]: p for p, r in reference.items() if chapter_of(p) == chapter}
        torch_r, tf_r = (
            reference.get(paths.get("torch"), {}),
            reference.get(paths.get("tensorflow"), {}),
        )
        source = articles().get(chapter, {})
        article = source.get("metrics", {})
        chapter_bands = bands.get(chapter, [])
        entries = {fw: reference[p] for fw, p in paths.items()}
        title = (torch_r or tf_r).get("title", "")
        lines += [
            f"## Chapter {chapter}: {title}",
            "",
            f"Source article: {source.get('source', '')}.",
            "",
            "| metric | PyTorch | TensorFlow/Keras | article | gpu target "
            "| tolerance of the check |",
            "|---|---|---|---|---|---|",
        ]
        names = list(dict.fromkeys([*torch_r.get("metrics", {}), *tf_r.get("metrics", {})]))
        for name in names:
            t, k = torch_r.get("metrics", {}).get(name), tf_r.get("metrics", {}).get(name)
            lines.append(
                f"| `{name}` | {cell_text(t)} | {cell_text(k)} | "
                f"{article.get(name, {}).get('article', '')} | "
                f"{gpu_target(chapter_bands, name, entries)} | "
                f"{tolerance(name, t if t is not None else k)} |"
            )
        lines.append(
            f"| notebook seconds | {cell_text(torch_r.get('seconds'))} | "
            f"{cell_text(tf_r.get('seconds'))} | | | |"
        )
        lines.append("")
        for r, edition in ((torch_r, "PyTorch"), (tf_r, "TensorFlow/Keras")):
            run = r.get("run", {})
            if run:
                lines.append(
                    f"- {edition}: profile `{run.get('profile')}`, {run.get('cpu')}, "
                    f"{run.get('cores')} cores, threads {run.get('threads')}, {run.get('date')}."
                )
        for name, entry in article.items():
            lines.append(f"- `{name}` differs from the article's: {entry['why_ours_differs']}.")
        for band in chapter_bands:
            lines.append(
                f"- gpu target `{band['metric']}` {_band_on_page(band)}: {band['reason']}."
            )
        lines.append("")
    lines += [
        "## How the check compares",
        "",
        "`python -m companion check --profile cpu --only 05` re-executes the chosen notebooks and "
        "compares each recorded metric with the committed value; it prints a table and exits "
        "non-zero when one is outside its tolerance:",
        "",
        "- labels, counts and flags: exactly equal;",
        f"- accuracies, IoUs, F1 scores, pointing game, rank correlations: within ± {ABSOLUTE:g} "
        "(a few metrics whose measured spread is wider have their own, listed in the tables);",
        f"- `*_diff` rounding errors: both below {ERROR_BOUND:g};",
        "- losses without a fixed scale ("
        + ", ".join(f"`{n}`" for n in FACTOR)
        + "): within the listed factor either way (only their order of magnitude reproduces);",
        f"- `*_seconds` timings and `*_speedup` ratios: within a factor of {TIME_FACTOR:g} either "
        "way (machines differ).",
        "",
        "Training results differ in their last digits from one CPU, thread count or seed to the "
        "next. The tolerances come from the spread measured at the cpu profile: the same seed "
        "with one thread instead of the default, and other seeds (`--seed`); the chapter 1 "
        "imbalance lab and the chapter 5 classifier were made stable (three seeds and a "
        "decaying learning rate; a decaying learning rate and the best validation epoch) "
        "before their tolerances were set.",
        "",
    ]
    return "\n".join(lines)

"""make bench's toolkit without its peers or frameworks: the interleaved timer, the agreement
check, the page, the figure and the notebooks' seconds (the comparisons themselves are checked in
tests/torch/test_bench_peers_torch.py, where the peers are installed)."""

import time
from pathlib import Path

import nbformat
import pytest

from companion.book import bench

ROOT = Path(__file__).resolve().parents[2]


def test_timings_interleave_the_sides_and_leave_out_the_warm_up():
    calls = []
    result = bench.timings(
        {
            "slow": lambda: (calls.append("slow"), time.sleep(0.02)),
            "fast": lambda: calls.append("fast"),
        },
        repeats=3,
        warmup=2,
    )
    assert calls == ["slow", "fast"] * 5
    assert result["slow"][0] >= 0.02 > result["fast"][0]
    assert all(spread >= 0 for _, spread in result.values())


def test_agreement_fails_above_its_tolerance_and_says_the_gap_below_it():
    assert bench._agree([1.0, 2.0], [1.0, 2.0 + 5e-6], 1e-5, "Δ") == "Δ 5e-06 ≤ 1e-05"
    with pytest.raises(AssertionError, match="Δ = 0.001, above the tolerance 1e-05"):
        bench._agree([1.0], [1.001], 1e-5, "Δ")
    with pytest.raises(AssertionError, match="shapes differ"):
        bench._agree([1.0], [1.0, 1.0], 1.0)


def _row(comparison, size, peer, ours_s, peer_s):
    return {
        "comparison": comparison,
        "size": size,
        "peer": peer,
        "ours_s": ours_s,
        "ours_spread": 0.001,
        "peer_s": peer_s,
        "peer_spread": 0.002,
        "ratio": ours_s / peer_s,
        "goal": bench.GOALS.get((comparison, size)),
        "agreement": "Δ 0 ≤ 1e-05",
    }


ROWS = [
    _row("cosine top-10 search", "10,000 x 256", "faiss IndexFlatIP", 0.2, 0.1),
    _row("cosine top-10 search", "10,000 x 256", "row-by-row apply", 0.2, 300.0),
    _row("cosine top-10 search", "100,000 x 256", "faiss IndexFlatIP", 1.0, 2.0),
    _row("info-NCE fwd+bwd", "batch 1024", "lightly NTXentLoss", 0.03, 0.02),
]
RUN = {
    "cpu": "AMD EPYC",
    "cores": 2,
    "threads": "1",
    "python": "3.11",
    "load": 5.0,
    "load_after": 0.2,
    "minutes": 9.6,
    "date": "2026-12-07 15:00 UTC",
    "blas": "numpy SkylakeX",
    "versions": {"faiss-cpu": "1.15.1"},
}


def test_the_page_gives_every_ratio_its_goal_the_load_and_the_books_cost():
    page = bench.performance_page(ROWS, RUN, {"torch": (6, 3000.0), "tensorflow": (6, 4500.0)})
    assert (
        "| cosine top-10 search | 100,000 x 256 | faiss IndexFlatIP | 1e+03 ± 1 ms | "
        "2e+03 ± 2 ms | 0.50 | ≤ 1.5 (met) | Δ 0 ≤ 1e-05 |" in page
    )
    assert "| 1.50 | ≤ 1 (above) |" in page  # info-NCE: 30 ms against 20 ms
    assert "| 2.00 |  |" in page  # no goal for the 10,000 search
    assert "**The machine was loaded**" in page and "load average 5.0 at the start" in page
    assert "| torch | 6 | 3000 | 50.0 |" in page and "| tensorflow | 6 | 4500 | 75.0 |" in page
    assert f"]({bench.FIGURE})" in page and "faiss-cpu 1.15.1" in page
    quiet = bench.performance_page(ROWS, RUN | {"load": 0.3}, {})
    assert "machine was loaded" not in quiet and "Load average 0.3 at the start" in quiet


def test_the_search_figure_is_an_svg_written_the_same_twice(tmp_path):
    first = bench.search_figure(ROWS, tmp_path / "a" / "s.svg").read_bytes()
    second = bench.search_figure(ROWS, tmp_path / "b.svg").read_bytes()
    assert first.startswith(b"<?xml") and b"<svg" in first and first == second
    fewer = bench.search_figure(ROWS[:1], tmp_path / "c.svg").read_bytes()
    assert fewer.count(b"<path") < first.count(b"<path")  # one series and one point fewer drawn


def test_notebook_seconds_sum_what_papermill_recorded_in_each_edition():
    expected = {}
    for path in sorted(ROOT.glob("notebooks/*/*.ipynb")):
        seconds = nbformat.read(path, 4).metadata.get("papermill", {}).get("duration") or 0
        count, total = expected.get(path.parent.name, (0, 0.0))
        expected[path.parent.name] = (count + 1, total + round(seconds, 1))
    measured = bench.notebook_seconds(ROOT)
    assert set(measured) == set(expected) == {"torch", "tensorflow"}
    for framework, (count, total) in expected.items():
        assert measured[framework][0] == count
        assert measured[framework][1] == pytest.approx(total)

"""The benchmark harness's size parsing, run summaries and Markdown section."""

from __future__ import annotations

from benchmarks.run import parse_sizes, summarise_runs
from benchmarks.summary import END, START, growth, render_markdown, write_markdown


def _run(scale: float) -> dict[str, dict]:
    return {"synth": {"wall_s": 10.0 * scale, "peak_rss_mb": 100.0 * scale},
            "link": {"wall_s": 30.0 * scale, "peak_rss_mb": 400.0 * scale}}


def _result() -> dict:
    machine = {"cpu": "test cpu", "cores": 2, "memory_gb": 8.0, "os": "linux", "commit": "abc", "date": "2026-01-01"}
    return {"machine": machine, "python": "3.11",
            "sizes": {"100000": summarise_runs([_run(1.0), _run(1.2), _run(0.8)]),
                      "300000": summarise_runs([_run(3.6)])}}


def test_parse_sizes_takes_per_size_repeats_and_a_default():
    assert parse_sizes("10000:3, 300000:1,5000", 2) == [(10000, 3), (300000, 1), (5000, 2)]


def test_summary_takes_medians_and_sums_them_for_the_pipeline():
    s = summarise_runs([_run(1.0), _run(1.2), _run(0.8)])
    assert s["stages"]["link"]["median_wall_s"] == 30.0
    assert s["total_wall_s"] == 40.0
    assert s["peak_rss_mb"] == 400.0  # the largest stage peak, not a sum: stages are separate processes
    assert s["repeats"] == 3


def test_growth_compares_the_two_largest_sizes():
    ratios = growth(_result())
    assert abs(ratios["total"] - 3.6) < 1e-9
    assert abs(ratios["link"] - 3.6) < 1e-9


def test_markdown_names_the_slowest_stage_and_flags_superlinear_growth():
    text = render_markdown(_result(), generated_by="python benchmarks/run.py")
    assert "Slowest stage at 300,000 children: **link**" in text
    assert "worse than linear" in text and "no worse than linear" not in text
    assert text.startswith(START) and text.endswith(END)


def test_rewriting_the_markdown_keeps_notes_written_by_people(tmp_path):
    path = tmp_path / "benchmarks.md"
    write_markdown(path, _result(), generated_by="x")
    path.write_text(path.read_text().replace("(notes)", "profile the linkage EM step"))
    write_markdown(path, _result(), generated_by="y")
    text = path.read_text()
    assert "profile the linkage EM step" in text and text.count(START) == 1 and "`y`" in text


def test_a_failed_stage_is_shown_and_left_out_of_the_total():
    failed = {**_run(1.0), "train": {"wall_s": float("nan"), "peak_rss_mb": float("nan"), "failed": True}}
    s = summarise_runs([failed])
    assert not s["complete"] and s["total_wall_s"] == 40.0
    result = {**_result(), "sizes": {"300000": s}}
    text = render_markdown(result, generated_by="x")
    assert "| train | failed |" in text and "incomplete" in text

"""The whole population at scale (issue #17): the largest adult extracts are formatted and written in parts,
and the parts make the same file a whole frame would; the whole-population benchmark's params and section."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from benchmarks.whole_population import whole_population_params
from benchmarks.whole_population_report import END, START, render_section, write_section
from pipeline.core import io
from pipeline.core.config import SynthParams, load_params
from pipeline.synthetic.export_adult_health import adult_health_extracts
from pipeline.synthetic.export_adult_health_recording import row_parts
from tests.test_pipeline.test_sources.test_adult_health_export import adult_lives

PARTED = {"health/hes_apc.csv", "health/ecds.csv", "health/hes_op.csv", "gp/gp_events.csv", "gp/gp_medications.csv"}
KEYS = {"health/hes_apc.csv": "EPIKEY", "health/ecds.csv": "EC_Ident", "health/hes_op.csv": "ATTENDKEY"}


def test_row_parts_cover_every_row_once_and_an_empty_table_once():
    for n, size in ((10, 3), (9, 3), (1, 5), (7, None)):
        parts = row_parts(n, size)
        assert np.array_equal(np.concatenate([np.arange(n)[p] for p in parts]), np.arange(n))
    assert row_parts(0, 4) == [slice(0, 0)]


def test_csv_written_in_parts_is_byte_for_byte_the_whole_frame(tmp_path):
    frame = pd.DataFrame({"a": ['x', 'y,"z"', "", "é"] * 3, "b": [str(i) for i in range(12)]})
    io.write_csv(frame, tmp_path / "whole.csv")
    io.write_csv_parts((frame.iloc[p] for p in row_parts(len(frame), 5)), tmp_path / "parts.csv")
    assert (tmp_path / "parts.csv").read_bytes() == (tmp_path / "whole.csv").read_bytes()
    with pytest.raises(ValueError, match="no parts"):
        io.write_csv_parts([], tmp_path / "none.csv")


def _extracts(lives, part_rows):
    out = {}
    for kind, rel, content in adult_health_extracts(np.random.default_rng(5), SynthParams(), lives,
                                                    part_rows=part_rows):
        if kind == "csv_parts":
            parts = list(content)
            out[rel] = (pd.concat(parts, ignore_index=True), len(parts))
        elif kind == "csv":
            out[rel] = (content[0], 1)
    return out


def test_largest_adult_extracts_come_in_parts_with_the_same_rows_and_unbroken_keys():
    lives = adult_lives()
    whole, parted = _extracts(lives, None), _extracts(lives, 2)
    assert set(whole) == set(parted)
    assert {rel for rel, (_, n) in parted.items() if n > 1} == PARTED
    for rel, (frame, _) in parted.items():
        assert list(frame.columns) == list(whole[rel][0].columns), rel
        # the recording noise is drawn part by part, so only GP rows (re-coded later, keyed twice) may differ
        if not rel.startswith("gp/gp_"):
            assert len(frame) == len(whole[rel][0]), rel
    for rel, key in KEYS.items():
        frame = parted[rel][0]
        numbers = frame[key].str.lstrip("EOPC").astype(int).to_numpy()
        assert np.array_equal(numbers, np.arange(1, len(frame) + 1)), rel  # numbered on across parts


def test_whole_population_params_apply_the_adults_overrides_sized_by_people():
    params = whole_population_params(250_000, ["emergency_admission"])
    assert params["synth"]["adults"]["enabled"] is True
    assert params["synth"]["adults"]["population"] == 250_000
    assert params["synth"]["children"] == 50_000
    assert params["models"] == ["emergency_admission"]
    assert "synth.children" not in params  # dotted keys are nested, not copied


def test_whole_population_params_load_as_valid_params(tmp_path):
    import yaml

    (tmp_path / "params.yaml").write_text(yaml.safe_dump(whole_population_params(1000, ["emergency_admission"])))
    cfg = load_params(tmp_path / "params.yaml")
    assert cfg.synth.adults.enabled and cfg.synth.adults.population == 1000


def _result(total_s: float, peak_mb: float, complete: bool = True) -> dict:
    stages = {"synth": {"wall_s": total_s, "peak_rss_mb": peak_mb, "load_before": 3.1},
              "link": {"wall_s": float("nan"), "peak_rss_mb": float("nan"), "failed": not complete},
              "base_rates": {"top5pct_by_risk": 0.41, "2C_per_100k": 590.0}}
    if complete:
        stages.pop("link")
    return {"stages": stages, "complete": complete, "total_wall_s": total_s, "peak_rss_mb": peak_mb,
            "command": "python benchmarks/whole_population.py --people 1000000"}


def test_section_reports_the_targets_and_base_rates_and_leaves_the_rest_of_the_file(tmp_path):
    result = {"machine": {"date": "2026-11-28", "commit": "abc", "cpu": "cpu", "cores": 2, "memory_gb": 23.5},
              "python": "3.11", "sizes": {"1000000": _result(4000.0, 12_000.0, complete=False)}}
    text = render_section(result)
    assert "60 min — 66.7 min ✗" in text and "16 GB — 11.7 GB ✓" in text and "over the stages that ran" in text
    assert "| link | failed |" in text and "0.41" in text and "590" in text
    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n\n<!-- benchmark:generated:start -->children<!-- benchmark:generated:end -->\n"
                   "\n## Linkage at scale\n\nkept\n")
    write_section(doc, result)
    first = doc.read_text()
    assert "children" in first and "## Linkage at scale\n\nkept" in first and first.count(START) == 1
    result["sizes"]["1000000"] = _result(3000.0, 12_000.0)
    write_section(doc, result)
    second = doc.read_text()
    assert second.count(START) == 1 and second.count(END) == 1 and "50.0 min ✓" in second
    assert second.split(START)[0] == first.split(START)[0]


def test_a_county_with_no_hospital_or_gp_events_still_writes_each_file_with_its_header():
    import dataclasses

    lives = adult_lives()
    lives = dataclasses.replace(lives, **{name: getattr(lives, name).iloc[:0] for name in (
        "admissions", "attendances", "outpatients", "gp_events", "medications")})
    for part_rows in (None, 3):
        out = _extracts(lives, part_rows)
        for rel in PARTED:
            frame, parts = out[rel]
            assert frame.empty and parts == 1 and len(frame.columns) >= 5, rel


def test_a_stage_past_the_memory_limit_is_stopped_and_recorded_not_left_running(tmp_path):
    from benchmarks.whole_population import _guarded, _tree_rss_mb

    assert _tree_rss_mb(os.getpid()) > 10  # this interpreter
    out = _guarded("synth", tmp_path, [], dict(os.environ), max_rss_mb=5)
    assert out["failed"] and out["over_memory_limit"] and out["tree_peak_mb"] > 5
    result = {"machine": {"date": "d", "commit": "c", "cpu": "x", "cores": 2, "memory_gb": 1}, "python": "3",
              "sizes": {"1000000": {"stages": {"ingest": {**out, "load_before": 1.0}}, "complete": False,
                                    "total_wall_s": 0.0, "peak_rss_mb": 0.0, "command": "c"}}}
    text = render_section(result)
    assert "over the limit" in text and "stopped past the memory limit: ingest" in text and "GB ✓" not in text

"""The link stage's phase timings (pipeline/linkage/timing.py): what a record holds, and that a block outside
a record only runs. The stage's own ``timings`` block is checked on the small county of test_family_links.py."""

from __future__ import annotations

import pytest

from pipeline.linkage.timing import phase, record_phases


def test_phases_are_recorded_in_the_order_they_first_ran_and_a_repeated_phase_adds_up():
    with record_phases() as times:
        with phase("reading"):
            sum(range(10_000))
        with phase("clustering"):
            pass
        with phase("reading"):
            pass
    report = times.as_report()
    assert [p["phase"] for p in report["phases"]] == ["reading", "clustering"]
    assert all(p["wall_s"] >= 0 and p["cpu_s"] >= 0 for p in report["phases"])
    assert set(report["phases"][0]) == {"phase", "wall_s", "cpu_s", "peak_rss_mb"}
    assert report["total_wall_s"] >= sum(p["wall_s"] for p in report["phases"]) - 0.01
    assert report["other_wall_s"] >= 0


def test_a_phase_that_fails_is_still_timed_and_the_error_passes_through():
    with record_phases() as times:
        with pytest.raises(ValueError), phase("splink: predict"):
            raise ValueError("backend gone")
    assert [p["phase"] for p in times.as_report()["phases"]] == ["splink: predict"]


def test_outside_a_record_a_phase_only_runs_its_block_and_records_nest():
    ran = []
    with phase("alone"):
        ran.append(1)
    assert ran == [1]
    with record_phases() as outer:
        with record_phases() as inner, phase("inner only"):
            pass
        with phase("outer only"):
            pass
    assert [p["phase"] for p in inner.as_report()["phases"]] == ["inner only"]
    assert [p["phase"] for p in outer.as_report()["phases"]] == ["outer only"]

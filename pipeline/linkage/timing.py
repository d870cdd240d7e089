"""Wall and CPU time of the link stage's phases, for the ``timings`` block of reports/linkage.json (#17).

At a million people the link stage was the pipeline's largest by far, and its phases (reading, the
deterministic pass, Splink's training and prediction, clustering, the review population, family links,
quality against truth, writing) had never been timed apart. ``record_phases`` starts a record;
``phase(name)`` anywhere below it adds that block's time under ``name``, so the functions that run
a phase need no extra argument; outside a record ``phase`` only runs the block.

Per phase: wall seconds, CPU seconds of the whole process (every DuckDB thread included, so CPU over
wall says how many cores a phase kept busy) and the process's peak resident memory when it ended.
Names and numbers only: never a token or an identifier.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from pipeline.linkage.memory import peak_rss_mb


@dataclass
class PhaseTimes:
    """Phases in the order they first ran: name -> wall seconds, CPU seconds, peak RSS (MiB) at its end."""

    wall_s: dict[str, float] = field(default_factory=dict)
    cpu_s: dict[str, float] = field(default_factory=dict)
    peak_rss_mb: dict[str, float | None] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)

    def add(self, name: str, wall: float, cpu: float) -> None:
        """Add one run of phase ``name`` (a phase run twice counts both)."""
        self.wall_s[name] = self.wall_s.get(name, 0.0) + wall
        self.cpu_s[name] = self.cpu_s.get(name, 0.0) + cpu
        self.peak_rss_mb[name] = peak_rss_mb()

    def as_report(self) -> dict[str, Any]:
        """The report's ``timings`` block: ``phases``, a list in the order they first ran (the report's keys are
        sorted) of ``phase``, ``wall_s``, ``cpu_s``, ``peak_rss_mb``; ``total_wall_s`` from the record's start
        and the part of it no phase covers (``other_wall_s``)."""
        total = time.perf_counter() - self.started
        phases = [{"phase": name, "wall_s": round(wall, 2), "cpu_s": round(self.cpu_s[name], 2),
                   "peak_rss_mb": None if self.peak_rss_mb[name] is None else round(self.peak_rss_mb[name])}
                  for name, wall in self.wall_s.items()]
        return {"phases": phases, "total_wall_s": round(total, 2),
                "other_wall_s": round(max(total - sum(self.wall_s.values()), 0.0), 2)}


_CURRENT: ContextVar[PhaseTimes | None] = ContextVar("riskpipe_link_phase_times", default=None)


@contextmanager
def record_phases() -> Iterator[PhaseTimes]:
    """Record the ``phase`` blocks run inside this one (an enclosing record is restored afterwards)."""
    times = PhaseTimes()
    token = _CURRENT.set(times)
    try:
        yield times
    finally:
        _CURRENT.reset(token)


@contextmanager
def phase(name: str) -> Iterator[None]:
    """Time the block as phase ``name`` of the current record (none: the block only runs).

    Phases are meant to follow one another; a phase inside another is counted in both.
    """
    times = _CURRENT.get()
    if times is None:
        yield
        return
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        yield
    finally:
        times.add(name, time.perf_counter() - wall, time.process_time() - cpu)

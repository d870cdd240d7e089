"""Resident memory of the link stage: logged at each phase (``riskpipe -v link``), freed between.

A county-sized link holds several large frames at once; knowing which phase sets the peak is what
keeps the stage inside a machine's memory. Peak (``ru_maxrss``) and current RSS are read from the
operating system, so measuring costs nothing and changes nothing (tracemalloc would slow the
stage and miss DuckDB's own allocations).
"""

from __future__ import annotations

import gc
import logging
import sys

log = logging.getLogger(__name__)


def peak_rss_mb() -> float | None:
    """Peak resident set size of this process so far, in MiB (None where the OS cannot say)."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # macOS: bytes; Linux: KiB


def current_rss_mb() -> float | None:
    """Current resident set size of this process in MiB (None without psutil)."""
    try:
        import psutil
    except ImportError:
        return None
    return psutil.Process().memory_info().rss / 2**20


def release_unused_memory() -> None:
    """Hand freed memory back to the operating system before the next phase grows.

    Arrow's allocator keeps freed blocks for reuse (reading a county's school censuses leaves
    hundreds of MB of them), and Splink's objects sit in reference cycles that only the garbage
    collector frees.
    """
    import pyarrow as pa

    gc.collect()
    pa.default_memory_pool().release_unused()


def log_memory(phase: str) -> None:
    """Debug-log current and peak RSS after ``phase``."""
    if log.isEnabledFor(logging.DEBUG):
        log.debug("memory after %s: rss %s MiB, peak %s MiB", phase, _mb(current_rss_mb()), _mb(peak_rss_mb()))


def _mb(value: float | None) -> str:
    return "?" if value is None else f"{value:,.0f}"

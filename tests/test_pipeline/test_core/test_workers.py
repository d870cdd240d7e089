"""Workers of ``worker_pool`` die with their parent, however the parent dies (issue 16: ``kill -9``)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from pipeline.core.workers import worker_pool

PARENT = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from pipeline.core.workers import worker_pool

    def task(out):
        Path(out).write_text(str(os.getpid()))
        while True:  # a table that is still being written when the parent is killed
            time.sleep(0.05)

    if __name__ == "__main__":
        with worker_pool(2) as pool:
            pool.submit(task, sys.argv[1])
            time.sleep(600)
    """
)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (dead, not yet reaped by init) counts as dead
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "State:\tZ" in status.read_text())


def _square(x: int) -> int:
    return x * x


def test_pool_still_runs_work():
    with worker_pool(2) as pool:
        assert sorted(pool.map(_square, range(4))) == [0, 1, 4, 9]


def test_workers_die_when_the_parent_is_killed(tmp_path):
    script = tmp_path / "parent.py"
    script.write_text(PARENT)
    pid_file = tmp_path / "worker.pid"
    root = Path(__file__).resolve().parents[3]
    parent = subprocess.Popen(
        [sys.executable, str(script), str(pid_file)], cwd=root, env={**os.environ, "PYTHONPATH": str(root)}
    )
    try:
        deadline = time.monotonic() + 60
        while not (pid_file.exists() and pid_file.read_text()) and time.monotonic() < deadline:
            time.sleep(0.05)
        worker = int(pid_file.read_text())
        assert _alive(worker)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(timeout=10)
        deadline = time.monotonic() + 10
        while _alive(worker) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(worker), "worker outlived its killed parent"
    finally:
        if parent.poll() is None:
            parent.kill()

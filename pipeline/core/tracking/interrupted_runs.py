"""Training runs that outlive their process: ended FAILED, never left RUNNING.

MLflow's run context ends a run FAILED on an exception, but a signal kills Python before the context
can close: :func:`failing_on_signals` turns SIGTERM and SIGHUP into an exception while a run is open.
``kill -9`` cannot be caught, so every run is tagged with its ``<host>:<pid>`` and the next ``train`` of
the model ends FAILED any RUNNING run whose process on this host is gone (:func:`end_orphaned_runs`).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)

PROCESS_TAG = "riskpipe.process"  # "<host>:<pid>" of the process that started a run


class TrainingInterrupted(RuntimeError):
    """A signal stopped training while its MLflow run was open; the run was ended FAILED."""


@contextmanager
def failing_on_signals() -> Iterator[None]:
    """While open, SIGTERM and SIGHUP raise :class:`TrainingInterrupted`, so an open run ends FAILED, not RUNNING.

    Only the main thread may set signal handlers; elsewhere this does nothing. The previous handlers are
    put back on leaving.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, _frame) -> None:
        raise TrainingInterrupted(f"training stopped by {signal.Signals(signum).name}; its MLflow run ended FAILED")

    caught = [s for s in (signal.SIGTERM, getattr(signal, "SIGHUP", None)) if s is not None]
    previous = {s: signal.signal(s, interrupt) for s in caught}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def this_process() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _process_gone(owner: str) -> bool:
    """Whether ``<host>:<pid>`` names a process on this host that no longer exists (other hosts: unknown)."""
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # someone else's live process
        return False
    return False


def end_orphaned_runs(experiment: str) -> list[str]:
    """End FAILED every RUNNING run of ``experiment`` whose process (tag ``riskpipe.process``) is gone.

    Returns:
        The run ids ended (each also tagged ``riskpipe.ended`` with why).
    """
    from mlflow.tracking import MlflowClient

    client = MlflowClient()
    found = client.get_experiment_by_name(experiment)
    if found is None:
        return []
    ended = []
    for run in client.search_runs([found.experiment_id], filter_string="attributes.status = 'RUNNING'"):
        owner = run.data.tags.get(PROCESS_TAG, "")
        if owner and _process_gone(owner):
            client.set_tag(run.info.run_id, "riskpipe.ended", "its train process was killed; ended by a later train")
            client.set_terminated(run.info.run_id, status="FAILED")
            log.warning("MLflow run %s was left RUNNING by a killed train; ended FAILED", run.info.run_id)
            ended.append(run.info.run_id)
    return ended

"""Process pools for stages that run tables in parallel, with workers' logs shown by the parent.

Fork (where the OS has it) starts workers without re-importing pandas and friends; each worker
sends its log records to the parent through a queue, so messages reach the same console and files.

Workers die with their parent: a parent killed outright (``kill -9``, the OOM killer) runs no
clean-up, and orphaned workers would go on writing outputs after the stage has failed. On Linux the
kernel kills each worker when its parent dies (``prctl(PR_SET_PDEATHSIG)``); elsewhere a watchdog
thread in the worker ends it once its parent is gone.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from logging.handlers import QueueHandler, QueueListener

PR_SET_PDEATHSIG = 1  # linux/prctl.h
WATCHDOG_SECONDS = 0.5


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(WATCHDOG_SECONDS)
    os._exit(1)  # the parent is gone: stop now, write nothing more


def die_with_parent(parent: int) -> None:
    """Make this process end when ``parent`` (the pid that started it) dies, however it dies."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0:
                if os.getppid() != parent:  # the parent died before the signal was armed
                    os._exit(1)
                return
        except (OSError, AttributeError):
            pass
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True, name="parent-watchdog").start()


def _start_worker(
    queue, level: int, initializer: Callable[..., None] | None, initargs: tuple, parent: int | None = None
) -> None:
    if parent is not None:
        die_with_parent(parent)
    # a forked worker must not touch the parent's progress display (its locks may be held mid-refresh)
    sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
    root = logging.getLogger()
    root.handlers = [QueueHandler(queue)]
    root.setLevel(level)
    if initializer is not None:
        initializer(*initargs)


@contextmanager
def worker_pool(workers: int, initializer: Callable[..., None] | None = None,
                initargs: tuple = ()) -> Iterator[ProcessPoolExecutor]:
    """A ``ProcessPoolExecutor`` of ``workers`` processes whose log records the parent handles.

    ``initializer(*initargs)`` runs in each worker after its logging is set up. Each worker dies
    with the process that made the pool (see the module docstring).
    """
    context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    queue = context.Queue()
    listener = QueueListener(queue, *logging.getLogger().handlers, respect_handler_level=True)
    listener.start()
    try:
        init = (queue, logging.getLogger().getEffectiveLevel(), initializer, initargs, os.getpid())
        with ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker, initargs=init) as pool:
            yield pool
    finally:
        listener.stop()

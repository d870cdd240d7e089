"""Process pools for stages that run tables in parallel, with workers' logs shown by the parent.

Fork (where the OS has it) starts workers without re-importing pandas and friends; each worker
sends its log records to the parent through a queue, so messages reach the same console and files.
"""

from __future__ import annotations

import logging
import multiprocessing
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from logging.handlers import QueueHandler, QueueListener


def _start_worker(queue, level: int, initializer: Callable[..., None] | None, initargs: tuple) -> None:
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

    ``initializer(*initargs)`` runs in each worker after its logging is set up.
    """
    context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    queue = context.Queue()
    listener = QueueListener(queue, *logging.getLogger().handlers, respect_handler_level=True)
    listener.start()
    try:
        init = (queue, logging.getLogger().getEffectiveLevel(), initializer, initargs)
        with ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker, initargs=init) as pool:
            yield pool
    finally:
        listener.stop()

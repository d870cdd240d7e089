"""The one file-level error of ingest: raised when a whole file cannot be taken in."""

from __future__ import annotations


class IngestError(ValueError):
    """A file cannot be ingested (unreadable, undecodable, empty, malformed, wrong columns).

    The message names the file and what is wrong with it; it never quotes a data value.
    """

    def __init__(self, file: str, problem: str) -> None:
        super().__init__(f"{file}: {problem}")
        self.file = file
        self.problem = problem

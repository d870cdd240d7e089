"""Which raw files exist, which table takes each, and which are ignored and why.

File names are matched case-insensitively (council systems export ``2024_Spring_PupilOnRoll.csv`` as
readily as the lower-case name), every file under a raw folder is accounted for in the report, and
symbolic links may not lead outside the raw folder.
"""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path, PurePosixPath

from pipeline.sources.errors import IngestError


def raw_files(raw_dir: Path) -> list[PurePosixPath]:
    """Every file under ``raw_dir`` (relative, sorted), symbolic links included; linked folders are
    listed as themselves, not entered, so nothing outside the raw folder is walked into."""
    if not raw_dir.is_dir():
        return []
    found = []
    for folder, dirs, names in os.walk(raw_dir, followlinks=False):
        here = Path(folder)
        linked = [d for d in dirs if (here / d).is_symlink()]
        found += [PurePosixPath((here / n).relative_to(raw_dir).as_posix()) for n in [*names, *linked]]
    return sorted(found)


def matches(rel: PurePosixPath, pattern: str) -> bool:
    """Whether a file's path under the raw folder matches a table's glob, ignoring case.

    Part by part, as ``Path.glob`` does (``*`` never crosses a folder), but ``2024_Spring_PupilOnRoll.csv``
    matches ``*_spring_pupilonroll.csv``: council systems export names in any case. Hidden files never match.
    """
    parts, pats = rel.parts, PurePosixPath(pattern).parts
    if len(parts) != len(pats) or any(p.startswith(".") for p in parts):
        return False
    return all(fnmatch.fnmatchcase(p.lower(), q.lower()) for p, q in zip(parts, pats, strict=True))


def file_inventory(plans: list, selected: set[str] | None = None) -> dict:
    """Every file under the planned raw folders: which table took it, or why it was ignored.

    Args:
        plans: every enabled table's ``pipeline.ingest.files.TablePlan`` (not only those selected
            with ``--table``).
        selected: the tables this run ingests (None: all of ``plans``).

    Returns:
        ``{"taken": [{"file", "table"}], "ignored": [{"file", "reason"}]}``; files are relative to
        the project folder holding the raw folders where possible, never absolute machine paths.
    """
    taken, ignored = [], []
    for raw_dir in sorted({p.raw_dir for p in plans}):
        mine = [p for p in plans if p.raw_dir == raw_dir]
        for rel in raw_files(raw_dir):
            shown = f"{raw_dir.name}/{rel}"
            tables = [p.spec.name for p in mine if matches(rel, p.pattern)]
            chosen = [t for t in tables if selected is None or t in selected]
            if chosen:
                taken += [{"file": shown, "table": t} for t in chosen]
            elif tables:
                ignored.append({"file": shown, "reason": f"table {tables[0]} not selected (--table)"})
            elif (raw_dir / rel).is_symlink() and (raw_dir / rel).is_dir():
                ignored.append({"file": shown, "reason": "symbolic link to a folder (not followed)"})
            elif any(part.startswith(".") for part in rel.parts):
                ignored.append({"file": shown, "reason": "hidden file"})
            else:
                ignored.append({"file": shown, "reason": "matches no enabled table's file pattern"})
    return {"taken": taken, "ignored": ignored}


def check_inside(path: Path, raw_dir: Path, file: str) -> None:
    """Refuse a file that is (or sits under) a symbolic link leading outside the raw folder.

    A link can bring in any file the account can read, and a census file is dated by its name, so
    a link named ``2025_spring_pupilonroll.csv`` would re-date whatever it points to.

    Raises:
        IngestError: the file resolves outside ``raw_dir``.
    """
    if not path.resolve().is_relative_to(raw_dir.resolve()):
        raise IngestError(
            file,
            "is a symbolic link to a file outside the raw folder; refused (copy the extract into the "
            "raw folder instead)",
        )

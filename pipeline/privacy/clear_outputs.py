"""Side doors: commands that can read clear identifiers must not write them where the pipeline's data travel.

``link-pair`` on raw extracts pairs clear local IDs with clear hospital IDs; ``audit`` reads any scored
file, which may carry NHS numbers or names. Their outputs are the user's to place, but never inside the
project's ``data/``, ``reports/`` or ``outputs/``: those are versioned by DVC, published as reports and
shared as risk lists, and everything in them is meant to hold tokens only (``scan-pii`` checks). A command
whose inputs are pseudonymised may write there. ``audit`` also refuses to compare groups by a column that
identifies people: each "group" would be one person, and its name would be printed in the audit.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipeline.core.paths import ProjectPaths
from pipeline.privacy.identifier_detectors import HEX_TOKEN, is_name_column, scan_frame

# column names that say a column identifies a person or a record (after lower-casing, non-letters removed);
# riskpipe's own ``person_id`` (P00000001, made by link) is pseudonymous and not among them
IDENTIFIER_NAME_WORDS = ("nhsnumber", "nhsno", "upn", "postcode", "dob", "dateofbirth", "birthdate",
                         "childid", "localid", "patientid", "pupilid", "recordid", "mrn", "hospitalnumber",
                         "address", "email", "phone", "token")
# a group holding this share of the rows or fewer, on average, is near one person per group
MIN_ROWS_PER_GROUP = 2.0


class ClearOutputRefused(ValueError):
    """A command that read clear identifiers was asked to write inside the project's data folders."""


def protected_folders(paths: ProjectPaths) -> dict[str, Path]:
    """The project's folders that must hold tokens only: ``data/``, ``reports/``, ``outputs/``."""
    return {"data": paths.data, "reports": paths.reports, "outputs": paths.outputs}


def refuse_clear_output(out: Path, paths: ProjectPaths, *, command: str, why: str) -> None:
    """Refuse ``out`` inside :func:`protected_folders` for a command whose inputs hold clear identifiers.

    Args:
        out: the file or folder the command would write.
        command: the command's name, for the message.
        why: what makes the inputs clear ("the tables are not pseudonymised").

    Raises:
        ClearOutputRefused: ``out`` lies inside data/, reports/ or outputs/ (after resolving links).
    """
    where = Path(out).resolve()
    for name, folder in protected_folders(paths).items():
        if where.is_relative_to(folder.resolve()):
            raise ClearOutputRefused(
                f"{command} will not write {out}: it lies inside the project's {name}/ folder, which must hold "
                f"tokens only, and {why}. Write it outside the project (it holds clear identifiers), or "
                "pseudonymise the inputs first")


def _named_like_identifier(column: str) -> bool:
    squashed = "".join(ch for ch in column.lower() if ch.isalpha())
    return is_name_column(column) or squashed in {"id", "ids"} or any(w in squashed for w in IDENTIFIER_NAME_WORDS)


def identifier_columns(frame: pd.DataFrame) -> dict[str, str]:
    """Columns of ``frame`` holding clear identifiers, as ``{column: kind}``.

    Found by scan-pii's detectors (NHS numbers, UPNs, postcodes, names), or named like an identifier
    (``LAchildID``, ``dob``) while holding anything but 32-hex-character tokens.
    """
    text = frame.astype("string").astype(object)
    found = {column: kind for column, kind, _ in scan_frame(text)}
    for column in text.columns:
        values = text[column].dropna().astype(str)
        if column not in found and _named_like_identifier(str(column)) and len(values) and \
                not values.str.fullmatch(HEX_TOKEN).all():
            found[str(column)] = "identifier_column"
    return found


def identifier_like_group(column: str, values: pd.Series) -> str | None:
    """Why ``column`` cannot be an audit group (it identifies people), or None.

    A column is identifier-like when its name says so (NHS number, UPN, IDs, names, postcode, date of
    birth, tokens), when its values hold identifiers (valid NHS numbers, UPNs, postcodes), or when its
    groups hold fewer than :data:`MIN_ROWS_PER_GROUP` rows on average (one group per person).
    """
    if _named_like_identifier(column):
        return "its name says it identifies people"
    found = {c: kind for c, kind, _ in scan_frame(pd.DataFrame({column: values.dropna().astype(str).astype(object)}))}
    if found:
        return f"it holds identifiers ({found[column].replace('_', ' ')})"
    present = values.dropna()
    if len(present) and len(present) / max(present.nunique(), 1) < MIN_ROWS_PER_GROUP:
        return (f"it has {present.nunique():,} distinct values in {len(present):,} rows: "
                "nearly every group is one person")
    return None

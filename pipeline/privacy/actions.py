"""What pseudonymise does with each column: the privacy actions a source spec must choose from.

Every declared column names one (``Column.privacy`` has no default), so a new column can never slip
through pseudonymisation by omission (docs/contracts.md).
"""

from __future__ import annotations

from enum import StrEnum


class Privacy(StrEnum):
    """What pseudonymise does with a column (see docs/contracts.md)."""

    KEEP = "keep"
    DROP = "drop"
    RECORD_KEY = "record_key"
    NHS_NUMBER = "nhs_number"
    UPN = "upn"
    FORENAME = "forename"
    SURNAME = "surname"
    DOB = "dob"
    POSTCODE = "postcode"
    ETHNICITY = "ethnicity"


# actions whose values stay in clear in data/pseudo (the rest become tokens or are dropped)
CLEAR_PRIVACY = (Privacy.KEEP, Privacy.ETHNICITY)


class PseudonymisationError(RuntimeError):
    """A table cannot be pseudonymised safely. Messages name tables and columns, never values."""

"""Which model version a risk list comes from and on whose authority, and what every list must say.

A list is issued from the version holding the ``approved`` alias, and only while that approval still
stands when the list is made (its sign-offs, re-read then, all approve and governance.json backs it:
the alias alone is never enough); with no alias, only as a DRAFT from the candidate, and only when
``score.draft_mode`` is on. A version whose approval was withdrawn issues nothing, draft or not.
Every list carries the standing caveats (and, when a draft, the DRAFT banner first); its CSV's
SHA-256 goes into the hash-chained audit log.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

DRAFT_BANNER = "DRAFT — NOT APPROVED FOR OPERATIONAL USE"
LIST_CAVEATS = (
    "Every entry must be reviewed by a practitioner before any contact; the score never decides anything.",
    "Risk is a calibrated probability for the cohort as a whole; most people on this list will not have the outcome.",
    "Reasons show what pushed this score up in the model; they are associations, not causes.",
    "'No record' for a source means the model saw nothing there: it is not evidence of low risk.",
    "Tokens are pseudonymous; only the data controller can re-identify them (riskpipe reidentify).",
    "Do not share this list beyond the early help team; do not tell families they are 'on a list'.",
)


class NotApprovedError(RuntimeError):
    """No approved model version and draft mode is off: no list may be produced."""


class ApprovalWithdrawnError(NotApprovedError):
    """A version holds the ``approved`` alias but its approval no longer stands: no list may be produced."""


@dataclass(frozen=True)
class Release:
    """Which version a list comes from and on whose authority."""

    draft: bool
    version: str
    approval: str


def decide_release(approved: Mapping[str, str] | None, candidate_version: str, draft_mode: bool, *,
                   withdrawn: Sequence[str]) -> Release:
    """Use the ``approved`` alias's version while its approval stands; without one, a DRAFT if draft mode is on.

    Args:
        approved: ``{"version", "approval_ref"}`` of the version holding the ``approved`` alias, or None.
        withdrawn: why that version's approval no longer stands, read when the list is made
            (:func:`ethics.govern_stage.approval_problems`); empty when it stands.

    Raises:
        ApprovalWithdrawnError: a version holds the alias but ``withdrawn`` is not empty (fail closed:
            no list, not even a draft, until ``riskpipe govern`` has removed the alias).
        NotApprovedError: nothing approved and draft mode off.
    """
    if approved and withdrawn:
        raise ApprovalWithdrawnError(
            f"v{approved['version']} holds the `approved` alias but its approval no longer stands: "
            f"{'; '.join(withdrawn)}. Run `riskpipe govern` (it removes the alias) before any list is issued")
    if approved:
        return Release(draft=False, version=str(approved["version"]), approval=str(approved["approval_ref"]))
    if not draft_mode:
        raise NotApprovedError("no model version holds the `approved` alias; run `riskpipe govern` after every "
                               "sign-off, or turn on score.draft_mode for a DRAFT list")
    return Release(draft=True, version=str(candidate_version), approval=DRAFT_BANNER)


def caveats_table(release: Release, extra: Mapping[str, str]) -> pd.DataFrame:
    """The caveats sheet: DRAFT notice first when draft, the standing caveats, then lineage lines.

    Returns:
        One column, ``caveat``.
    """
    lines = ([DRAFT_BANNER] if release.draft else []) + list(LIST_CAVEATS)
    lines += [f"{k}: {v}" for k, v in extra.items()]
    return pd.DataFrame({"caveat": lines})


def list_sha256(csv_bytes: bytes) -> str:
    """Hash recorded in the audit log: SHA-256 of the list's CSV file."""
    return hashlib.sha256(csv_bytes).hexdigest()

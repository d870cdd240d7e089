"""Which model version a risk list comes from and on whose authority, and what every list must say.

A list is issued from the release holding the ``approved`` alias, and only while that approval still
stands when the list is made (the alias names a recorded release whose every digest matches the disk
and MLflow now, its sign-offs, re-read then, all approve and governance.json backs it: the alias alone
is never enough), with that release's own feature list, capacity and base rate; with no alias, only
as a DRAFT from the candidate, and only when ``score.draft_mode`` is on. A version whose approval was
withdrawn issues nothing, draft or not. Every list carries the standing caveats (and, when a draft,
the DRAFT banner first); its CSV's SHA-256 goes into the hash-chained audit log.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

DRAFT_BANNER = "DRAFT — NOT APPROVED FOR OPERATIONAL USE"
LIST_CAVEATS = (
    "Every entry must be reviewed by a practitioner before any contact; the score never decides anything.",
    "Risk is a calibrated probability for the cohort as a whole; most people on this list will not have the outcome.",
    "Reasons show what pushed this score up in the model; they are associations, not causes.",
    "County averages are over every child scored for this list, not only those listed.",
    "Where the model's pull runs against how a fact is read (a suspension or a referral lowering the score, "
    "attendance above the county average raising it), it is hidden, never shown as protective; the score "
    "still includes it.",
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
    release_digest: str = ""


@dataclass(frozen=True)
class ScoringInputs:
    """What the list is made with: the model's inputs, the list length and the base rate for the bands."""

    feature_columns: list[str]
    capacity: int
    base_rate: float


def decide_release(approved: Mapping[str, str] | None, candidate_version: str, draft_mode: bool, *,
                   withdrawn: Sequence[str]) -> Release:
    """Use the ``approved`` alias's version while its approval stands; without one, a DRAFT if draft mode is on.

    Args:
        approved: ``{"version", "approval_ref", "release_digest"}`` of the version holding the ``approved``
            alias, or None.
        withdrawn: why that version's approval no longer stands, read when the list is made
            (:func:`ethics.release_store.approved_release_problems`); empty when it stands.

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
        return Release(draft=False, version=str(approved["version"]), approval=str(approved["approval_ref"]),
                       release_digest=str(approved.get("release_digest") or ""))
    if not draft_mode:
        raise NotApprovedError("no model version holds the `approved` alias; run `riskpipe govern` after every "
                               "sign-off, or turn on score.draft_mode for a DRAFT list")
    return Release(draft=True, version=str(candidate_version), approval=DRAFT_BANNER)


def scoring_inputs(release: Release, approved_release: Mapping[str, Any] | None, run: Mapping[str, Any],
                   metrics: Mapping[str, Any]) -> ScoringInputs:
    """Feature list, capacity and base rate: the approved release's own, or (a DRAFT) the latest candidate's.

    An approved list never reads them from run.json or metrics.json, which may already belong to a newer
    candidate than the release that was approved.

    Args:
        approved_release: the release record the ``approved`` alias names (:mod:`ethics.release`).
        run: ``data/models/<model>/run.json`` (``feature_columns``); metrics: ``metrics.json``
            (``capacity``, ``test.prevalence``).

    Raises:
        ApprovalWithdrawnError: not a draft, but no approved release record was given.
    """
    if not release.draft:
        if not approved_release:
            raise ApprovalWithdrawnError(f"v{release.version} holds the `approved` alias but no recorded release "
                                         "backs it")
        return ScoringInputs(list(approved_release["feature_columns"]), int(approved_release["capacity"]),
                             float(approved_release["base_rate"]))
    # the columns the released model reads (a released rule may read an input its learners left out)
    inputs = run.get("released_inputs") or run["feature_columns"]
    return ScoringInputs(list(inputs), int(metrics["capacity"]), float(metrics["test"]["prevalence"]))


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

"""Which lists and children a signed-in practitioner or manager may reach: their team's assignments only."""

from __future__ import annotations

from typing import Any

from webapp.practice.models import ListAssignment, Team


def team_of(user: Any) -> Team | None:
    """The user's team (None without a staff profile or team)."""
    staff = getattr(user, "staff", None)
    return staff.team if staff is not None else None


def assigned_models(team: Team | None) -> dict[str, list[str] | None]:
    """Model -> the localities the team sees (None = the whole list), from its assignments."""
    if team is None:
        return {}
    found: dict[str, list[str] | None] = {}
    for assignment in ListAssignment.objects.filter(team=team):
        if not assignment.locality or found.get(assignment.model, []) is None:
            found[assignment.model] = None
        else:
            found.setdefault(assignment.model, []).append(assignment.locality)  # type: ignore[union-attr]
    return found

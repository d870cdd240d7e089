"""What the app keeps in its own database: teams, which list each team gets, staff, and the offers recorded.

Everything else (lists, cards, sign-offs, audit) is the pipeline's, read from or appended to its files.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class Team(models.Model):
    """An early help team (a locality team, a school-based team ...)."""

    name = models.CharField(max_length=120, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ListAssignment(models.Model):
    """Team <-> model <-> locality: the team sees model ``model``'s list, only rows of ``locality`` when set.

    A blank locality means the whole list. A locality set on a list without a ``locality`` column shows no
    rows (the app cannot tell whose children they are, so it shows none).
    """

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="assignments")
    model = models.CharField(max_length=80, help_text="a model params.yaml lists (e.g. neet18)")
    locality = models.CharField(max_length=120, blank=True, help_text="blank = the whole list")

    class Meta:
        ordering = ["team__name", "model", "locality"]
        constraints = [models.UniqueConstraint(fields=["team", "model", "locality"], name="one_assignment")]

    def __str__(self) -> str:
        return f"{self.team}: {self.model}" + (f" ({self.locality})" if self.locality else "")


class StaffProfile(models.Model):
    """A user's team (practitioners, managers) and signing role on the checklist (IG reviewers: DPO, SIRO ...)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff")
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="staff")
    signing_role = models.CharField(max_length=80, blank=True,
                                    help_text="IG reviewers: the checklist role they sign as (ethics/checklist.yaml)")

    def __str__(self) -> str:
        return f"{self.user} ({self.team or 'no team'})"


class Offer(models.Model):
    """What the team did for one child on a list: one event of the offers file (docs/contracts.md)."""

    STATUSES = [("offered", "Offered"), ("accepted", "Accepted"), ("declined", "Declined"),
                ("not_appropriate", "Not appropriate"),
                ("already_known", "Already known to another service")]
    ROUTES = [("list", "From the risk list"), ("professional", "Professional referral"), ("self", "Self-referral")]

    offer_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    person_token = models.CharField(max_length=64, db_index=True)
    model = models.CharField(max_length=80)
    release = models.CharField(max_length=200, help_text="the list's approval reference, or DRAFT")
    list_date = models.DateField()
    route = models.CharField(max_length=20, choices=ROUTES, default="list")
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="offers")
    status = models.CharField(max_length=20, choices=STATUSES)
    date = models.DateField()
    reason = models.TextField(blank=True)
    recorded_by_role = models.CharField(max_length=40)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["recorded_at"]

    def __str__(self) -> str:
        return f"{self.person_token} {self.status} {self.date}"

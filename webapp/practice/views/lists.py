"""A team's lists, a person's page, exports and recording what the team did.

The pages call the people on a list by its population's nouns (children, adults: ``risk_lists.list_nouns``).

Practitioners and team managers only, and only for models their team is assigned (and, where the
assignment names a locality, only that locality's rows). Anything else is a 403 with the attempt logged.
Every page or file served is audited first; if the audit ledger refuses, nothing is served.
"""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

import pandas as pd
from django import forms
from django.contrib import messages
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from pipeline.core.io import write_xlsx_sheets
from pipeline.lists.release import DRAFT_BANNER
from webapp.practice.access import refuse, role_required
from webapp.practice.audit import audit
from webapp.practice.models import Offer
from webapp.practice.project import current_project
from webapp.practice.risk_lists import (
    ListNotFound,
    is_draft,
    list_columns,
    list_date,
    list_file,
    list_nouns,
    read_list,
    release_of,
    scoped,
    shape_row,
    shape_rows,
)
from webapp.practice.roles import LIST_READERS, MANAGER, PRACTITIONER, user_roles
from webapp.practice.teams import assigned_models, team_of

WRAPPED = ("reasons", "protective_factors", "cannot_see", "records_seen", "sources_seen")  # long text in Excel


def team_list(request: HttpRequest, model: str) -> tuple[pd.DataFrame | None, HttpResponse | None]:
    """The team's rows of ``model``'s list, or the refusal to return (not the team's list: 403, logged)."""
    team = team_of(request.user)
    allowed = assigned_models(team)
    if model not in allowed:
        return None, refuse(request, f"the {model} list is not assigned to your team", model=model)
    frame = scoped(read_list(current_project().paths, model), allowed[model])
    return frame, None


@role_required(*LIST_READERS)
def lists_index(request: HttpRequest) -> HttpResponse:
    team = team_of(request.user)
    project = current_project()
    found = []
    for model, localities in assigned_models(team).items():
        nouns = list_nouns(project.paths, model)
        try:
            frame = scoped(read_list(project.paths, model), localities)
            found.append({"model": model, "rows": len(frame), "draft": is_draft(frame),
                          "localities": localities, "missing": False, "nouns": nouns})
        except ListNotFound:
            found.append({"model": model, "rows": 0, "draft": True, "localities": localities, "missing": True,
                          "nouns": nouns})
    recorded = (Offer.objects.filter(team=team).values("model", "status").annotate(events=Count("id"))
                .order_by("model", "status") if team else [])
    statuses = dict(Offer.STATUSES)
    summary = [{"model": r["model"], "status": statuses.get(r["status"], r["status"]), "events": r["events"]}
               for r in recorded]
    return render(request, "practice/lists_index.html", {"team": team, "lists": found, "summary": summary})


@role_required(*LIST_READERS)
def list_view(request: HttpRequest, model: str) -> HttpResponse:
    try:
        frame, refused = team_list(request, model)
    except ListNotFound as exc:
        return render(request, "practice/message.html", {"title": "No list yet", "text": str(exc)}, status=404)
    if refused:
        return refused
    audit(request, "list_view", model=model, rows=len(frame))
    recorded = dict(Offer.objects.filter(model=model, team=team_of(request.user))
                    .order_by("recorded_at").values_list("person_token", "status"))
    return render(request, "practice/list.html", {
        "model": model, "rows": shape_rows(frame), "draft": is_draft(frame), "banner": DRAFT_BANNER,
        "team": team_of(request.user), "recorded": recorded, "statuses": dict(Offer.STATUSES),
        "nouns": list_nouns(current_project().paths, model)})


class OfferForm(forms.Form):
    """What the team did for this person (``singular``: the list's noun for them, "child" or "adult")."""

    status = forms.ChoiceField(choices=Offer.STATUSES, widget=forms.RadioSelect, label="What happened",
                               error_messages={"required": "Select what happened"})
    route = forms.ChoiceField(choices=Offer.ROUTES, widget=forms.RadioSelect, initial="list",
                              label="How the person came to the team",
                              error_messages={"required": "Select how the person came to the team"})
    date_day = forms.CharField(required=False, max_length=2, label="Day")
    date_month = forms.CharField(required=False, max_length=2, label="Month")
    date_year = forms.CharField(required=False, max_length=4, label="Year")
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=1000,
                             label="Reason (optional)",
                             help_text="Why, in a few words. Do not write names or other identifying details.")

    def __init__(self, *args, singular: str = "person", **kwargs):
        super().__init__(*args, **kwargs)
        route = self.fields["route"]
        route.label = f"How the {singular} came to the team"
        route.error_messages = {**route.error_messages, "required": f"Select how the {singular} came to the team"}

    def clean(self):
        """The GOV.UK date pattern: day, month and year typed apart, checked together as ``date``."""
        data = super().clean()
        parts = [str(data.get(f"date_{p}") or "").strip() for p in ("day", "month", "year")]
        if not all(parts):
            self.add_error("date_day", "Enter the date it happened, with a day, month and year")
            return data
        try:
            value = date(int(parts[2]), int(parts[1]), int(parts[0]))
        except ValueError:
            self.add_error("date_day", "The date must be a real date, for example 27 3 2026")
            return data
        if value > timezone.localdate():
            self.add_error("date_day", "The date must be today or in the past")
        elif value.year < 2000:
            self.add_error("date_day", "The year must have 4 digits, for example 2026")
        data["date"] = value
        return data


@role_required(*LIST_READERS)
def person_view(request: HttpRequest, model: str, token: str) -> HttpResponse:
    try:
        frame, refused = team_list(request, model)
    except ListNotFound as exc:
        return render(request, "practice/message.html", {"title": "No list yet", "text": str(exc)}, status=404)
    if refused:
        return refused
    nouns = list_nouns(current_project().paths, model)
    match = frame[frame["person_token"] == token]
    if match.empty:
        return refuse(request, f"this {nouns.singular} is not on your team's list", model=model, person_token=token)
    team = team_of(request.user)
    form = OfferForm(request.POST or None, singular=nouns.singular)
    if request.method == "POST":
        if form.is_valid():
            role = next(r for r in user_roles(request.user) if r in (PRACTITIONER, MANAGER))
            path = list_file(current_project().paths, model)
            offer = Offer(person_token=token, model=model, release=release_of(frame),
                          list_date=list_date(frame, path), route=form.cleaned_data["route"], team=team,
                          status=form.cleaned_data["status"], date=form.cleaned_data["date"],
                          reason=form.cleaned_data["reason"], recorded_by_role=role, recorded_by=request.user)
            audit(request, "offer_recorded", model=model, person_token=token, offer_id=str(offer.offer_id),
                  status=offer.status)
            offer.save()
            messages.success(request, f"Recorded: {offer.get_status_display()} on {offer.date:%d %B %Y}")
            return redirect("person", model=model, token=token)
    else:
        audit(request, "person_view", model=model, person_token=token)
    history = Offer.objects.filter(model=model, person_token=token, team=team).order_by("-recorded_at")
    return render(request, "practice/person.html", {
        "model": model, "row": shape_row(match.iloc[0]), "draft": is_draft(frame), "banner": DRAFT_BANNER,
        "form": form, "history": history, "team": team, "nouns": nouns,
        "date_parts": [("day", "Day", 2), ("month", "Month", 2), ("year", "Year", 4)]})


@role_required(*LIST_READERS)
def export_list(request: HttpRequest, model: str, kind: str) -> HttpResponse:
    if kind not in ("csv", "xlsx"):
        raise Http404("exports are .csv or .xlsx")
    try:
        frame, refused = team_list(request, model)
    except ListNotFound as exc:
        return render(request, "practice/message.html", {"title": "No list yet", "text": str(exc)}, status=404)
    if refused:
        return refused
    draft = is_draft(frame)
    frame = frame[list_columns(frame)]  # the columns people read, as in risk_list.csv
    audit(request, "list_export", model=model, rows=len(frame), format=kind)
    stem = f"{model}_risk_list{'_DRAFT' if draft else ''}"
    if kind == "csv":
        # as risk_list.csv: a plain table whose status and approval columns say DRAFT on every row of a draft
        body = frame.to_csv(index=False, lineterminator="\n").encode("utf-8")
        response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    else:
        with tempfile.TemporaryDirectory() as tmp:
            out = write_xlsx_sheets({"risk list": frame}, Path(tmp) / "list.xlsx",
                                    title_rows={"risk list": [DRAFT_BANNER] if draft else []},
                                    wrap_columns=tuple(c for c in WRAPPED if c in frame))
            body = out.read_bytes()
        response = HttpResponse(body, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = f'attachment; filename="{stem}.{kind}"'
    response["Cache-Control"] = "no-store"
    return response

"""The data controller: re-identify a list's tokens through the controller's own extract.

Runs the existing path (:func:`pipeline.lists.stage.run_reidentify`): the uploaded extract is tokenised
under the pseudonymisation key and matched to the person index, so only children in the controller's own
extract get an ID. The result is written to a private temporary folder, sent once as a download and
deleted; the ledger records who did it, for which list and source, and how many rows matched (no IDs).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from pipeline.lists.stage import OutputRefusedError, run_reidentify
from pipeline.privacy.keys import PseudonymisationKeyError
from pipeline.privacy.reidentify import ReidentifyError
from pipeline.sources.registry import person_sources
from webapp.practice.access import role_required
from webapp.practice.audit import audit
from webapp.practice.project import current_project
from webapp.practice.risk_lists import ListNotFound, list_folder
from webapp.practice.roles import CONTROLLER


class ReidentifyForm(forms.Form):
    model = forms.ChoiceField(label="Which list")
    source = forms.ChoiceField(label="Which source your extract is")
    id_column = forms.CharField(max_length=80, label="The column holding your IDs",
                                help_text="For example la_child_id or upn")
    extract = forms.FileField(label="Your own extract (CSV)")

    def __init__(self, *args, models: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["model"].choices = [(m, m) for m in models]
        self.fields["source"].choices = [(s.name, s.name.replace("_", " ")) for s in person_sources()]


@role_required(CONTROLLER)
def reidentify_view(request: HttpRequest) -> HttpResponse:
    project = current_project()
    form = ReidentifyForm(request.POST or None, request.FILES or None, models=project.models)
    problem = ""
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        listed = list_folder(project.paths, data["model"]) / "risk_list.csv"
        with tempfile.TemporaryDirectory(prefix="riskpipe-reid-") as tmp:
            extract = Path(tmp) / "extract.csv"
            with extract.open("wb") as fh:
                for chunk in data["extract"].chunks():
                    fh.write(chunk)
            try:
                if not listed.exists():
                    raise ListNotFound(f"no risk list for {data['model']} yet")
                done = run_reidentify(project.params, project.paths, risk_list=listed, extract=extract,
                                      source=data["source"], id_column=data["id_column"], out=Path(tmp) / "out.csv")
            except (ReidentifyError, OutputRefusedError, PseudonymisationKeyError, ListNotFound) as exc:
                problem = str(exc)
            else:
                audit(request, "reidentify", model=data["model"], source=data["source"], rows=done.rows,
                      held=done.held, changed=done.changed)
                response = HttpResponse(done.out.read_bytes(), content_type="text/csv; charset=utf-8")
                response["Content-Disposition"] = f'attachment; filename="{data["model"]}_reidentified.csv"'
                response["Cache-Control"] = "no-store"
                return response
    return render(request, "practice/reidentify.html", {"form": form, "problem": problem})

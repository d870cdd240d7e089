"""IG reviewers: model cards, the checklist with each item's sign-off, and signing as the signed-in account."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from ethics.ledger_store import LedgerError
from ethics.signoff import SignOffError
from ethics.signoff_stage import SignOffNotRecordedError, SignOffNotTaggedError
from pipeline.core.io import read_json
from webapp.practice.access import refuse, role_required
from webapp.practice.audit import audit
from webapp.practice.project import current_project
from webapp.practice.roles import IG_REVIEWER
from webapp.practice.signing import checklist_state, current_release, sign


class SignForm(forms.Form):
    item = forms.CharField(widget=forms.HiddenInput)
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("reject", "Reject")], widget=forms.RadioSelect,
                                 label="Decision")
    evidence = forms.CharField(max_length=500, label="Evidence",
                               help_text="A DPIA reference, a minute or a document link")
    note = forms.CharField(max_length=1000, required=False, label="Note (optional)",
                           widget=forms.Textarea(attrs={"rows": 2}))


def _known(model: str) -> bool:
    return model in current_project().models


@role_required(IG_REVIEWER)
def governance_index(request: HttpRequest) -> HttpResponse:
    project = current_project()
    models = []
    for model in project.models:
        governance = project.paths.model_reports(model) / "governance.json"
        decided = read_json(governance) if governance.exists() else {}
        models.append({"model": model, "status": decided.get("status", "not governed yet"),
                       "version": decided.get("version", ""),
                       "card": (project.paths.model_reports(model) / "model_card.html").exists()})
    return render(request, "practice/governance_index.html", {"models": models})


@role_required(IG_REVIEWER)
def model_card(request: HttpRequest, model: str) -> HttpResponse:
    if not _known(model):
        raise Http404("no such model")
    card = current_project().paths.model_reports(model) / "model_card.html"
    if not card.exists():
        raise Http404("no model card yet")
    return HttpResponse(card.read_bytes(), content_type="text/html; charset=utf-8")


@role_required(IG_REVIEWER)
def signoff_view(request: HttpRequest, model: str) -> HttpResponse:
    if not _known(model):
        raise Http404("no such model")
    project = current_project()
    staff = getattr(request.user, "staff", None)
    role = staff.signing_role if staff else ""
    if request.method == "POST":
        form = SignForm(request.POST)
        if not role:
            return refuse(request, "your account holds no signing role; an administrator sets it", model=model)
        if form.is_valid():
            data = form.cleaned_data
            try:
                entry = sign(project, model=model, item=data["item"], decision=data["decision"],
                             evidence=data["evidence"], note=data["note"],
                             signer=request.user.get_full_name() or request.user.get_username(),
                             username=f"web:{request.user.get_username()}", role=role)
            except SignOffError as exc:
                messages.error(request, str(exc))
            except (SignOffNotRecordedError, SignOffNotTaggedError) as exc:
                messages.error(request, f"Not signed: {exc}")
            else:
                audit(request, "signoff", model=model, item=data["item"], decision=data["decision"],
                      signoff_hash=entry["hash"])
                messages.success(request, f"Signed {data['item']}: {data['decision']}")
            return redirect("signoff", model=model)
    release = current_release(project, model)
    try:
        items = checklist_state(project, model, release)
        problem = ""
    except LedgerError as exc:
        items, problem = [], str(exc)
    human = [i for i in items if i["kind"] == "human"]
    return render(request, "practice/signoff.html", {
        "model": model, "release": release, "items": items, "problem": problem, "signing_role": role,
        "human_count": len(human), "signed_count": sum(1 for i in human if (i["signed"] or {}).get("decision")
                                                       == "approve"),
        "form": SignForm(), "decisions": [("approve", "Approve"), ("reject", "Reject")]})

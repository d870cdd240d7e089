"""Each role's can and cannot, through Django's test client, against the files the pipeline wrote.

Refusals are 403 pages and ``web_access_denied`` entries in the audit ledger; every list view, person
view, export, re-identification, sign-off and recorded offer is an audit entry with the signed-in identity.
"""

from __future__ import annotations

import io
import json
import os
from datetime import date

import pandas as pd
import pytest
from django.core.management import call_command
from django.test import Client

from ethics.ledger_store import AUDIT_LOG, SIGNOFF_LOG, ledger_key, read_verified_entries
from pipeline.core.paths import project_paths
from pipeline.ingest.files import read_table_frames
from pipeline.ingest.tables import ingest_table
from pipeline.sources.registry import table_spec
from webapp.practice.models import Offer
from webapp.practice.offers import OFFER_COLUMNS
from webapp.practice.risk_lists import Nouns, list_nouns, risk_in_words, scoped

MODEL = "m1"


def signed_in(username: str) -> Client:
    from django.contrib.auth.models import User

    client = Client()
    client.force_login(User.objects.get(username=username))
    return client


def audit_entries(web, event: str | None = None, user: str | None = None) -> list[dict]:
    paths = project_paths(web["root"])
    entries = read_verified_entries(paths, AUDIT_LOG, ledger_key(paths))
    return [e for e in entries if (event is None or e.get("event") == event)
            and (user is None or e.get("user") == f"web:{user}")]


def listed(web) -> pd.DataFrame:
    return pd.read_csv(web["root"] / "outputs/risk_lists" / MODEL / "risk_list.csv", dtype=str)


def test_signed_out_visitors_are_sent_to_sign_in(web):
    for url in ("/", "/lists/", f"/lists/{MODEL}/", "/governance/", "/analysis/", "/reidentify/"):
        response = Client().get(url)
        assert response.status_code == 302 and response["Location"].startswith("/sign-in/")


@pytest.mark.parametrize("username", ["practitioner", "manager"])
def test_the_team_reads_its_list_and_child_pages_each_audited(web, username):
    client, tokens = signed_in(username), listed(web)["person_token"].tolist()
    before = len(audit_entries(web))
    page = client.get(f"/lists/{MODEL}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "DRAFT — NOT APPROVED FOR OPERATIONAL USE" in html and all(t in html for t in tokens)
    person = client.get(f"/lists/{MODEL}/people/{tokens[0]}/")
    assert person.status_code == 200 and "What the model cannot see" in person.content.decode()
    views = audit_entries(web, user=username)[-2:]
    assert [e["event"] for e in views] == ["web_list_view", "web_person_view"]
    assert views[0]["rows"] == len(tokens) and views[1]["person_token"] == tokens[0]
    assert views[0]["team"] == "North early help team" and views[0]["roles"]
    assert len(audit_entries(web)) == before + 2


def test_exports_carry_the_same_rows_and_the_draft_banner_and_are_audited(web):
    client = signed_in("practitioner")
    csv = client.get(f"/lists/{MODEL}/export.csv")
    assert csv.status_code == 200 and csv["Content-Disposition"].endswith('_DRAFT.csv"')
    exported = pd.read_csv(io.BytesIO(csv.content), dtype=str, keep_default_na=False)
    assert exported.equals(listed(web).fillna(""))  # the team's rows and columns, as risk_list.csv has them
    assert (exported["status"] == "DRAFT").all()
    xlsx = client.get(f"/lists/{MODEL}/export.xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    assert [e["format"] for e in audit_entries(web, "web_list_export", "practitioner")][-2:] == ["csv", "xlsx"]
    assert client.get(f"/lists/{MODEL}/export.pdf").status_code == 404


@pytest.mark.parametrize("url", [f"/lists/{MODEL}/", f"/lists/{MODEL}/export.csv"])
def test_another_teams_practitioner_is_refused_and_the_attempt_logged(web, url):
    response = signed_in("practitioner_south").get(url)
    assert response.status_code == 403
    assert "not assigned to your team" in response.content.decode()
    denied = audit_entries(web, "web_access_denied", "practitioner_south")[-1]
    assert denied["path"] == url and denied["model"] == MODEL and denied["team"] == "South early help team"
    assert not audit_entries(web, "web_list_view", "practitioner_south")


def test_a_child_of_another_teams_list_is_refused_and_logged(web):
    token = listed(web)["person_token"].iloc[0]
    assert signed_in("practitioner_south").get(f"/lists/{MODEL}/people/{token}/").status_code == 403
    assert audit_entries(web, "web_access_denied", "practitioner_south")[-1]["path"].endswith(f"/{token}/")
    # a token that is not on the team's list at all (a child scored but not listed) is refused too
    assert signed_in("practitioner").get(f"/lists/{MODEL}/people/P99999999/").status_code == 403
    assert audit_entries(web, "web_access_denied", "practitioner")[-1]["person_token"] == "P99999999"


@pytest.mark.parametrize(("username", "allowed", "refused"), [
    ("practitioner", ["/lists/"], ["/governance/", f"/governance/{MODEL}/", "/analysis/", "/reidentify/"]),
    ("ig_reviewer", ["/governance/", f"/governance/{MODEL}/", f"/governance/{MODEL}/card/"],
     ["/lists/", f"/lists/{MODEL}/", "/analysis/", "/reidentify/"]),
    ("analyst", ["/analysis/"], ["/lists/", f"/lists/{MODEL}/", "/governance/", "/reidentify/"]),
    ("controller", ["/reidentify/"], ["/lists/", f"/lists/{MODEL}/", "/governance/", "/analysis/"]),
])
def test_each_role_reaches_its_own_pages_only(web, username, allowed, refused):
    client = signed_in(username)
    for url in allowed:
        assert client.get(url).status_code == 200, url
    for url in refused:
        assert client.get(url).status_code == 403, url
    assert {e["path"] for e in audit_entries(web, "web_access_denied", username)} >= set(refused)


def test_the_analyst_sees_metrics_but_no_person_level_data(web):
    html = signed_in("analyst").get("/analysis/").content.decode()
    assert "Runs and metrics" in html and "auc" in html
    assert not any(token in html for token in listed(web)["person_token"])


def test_a_recorded_offer_is_audited_and_exported_as_an_offers_event(web, tmp_path):
    token = listed(web)["person_token"].iloc[2]
    client = signed_in("practitioner")
    bad = client.post(f"/lists/{MODEL}/people/{token}/",
                      {"route": "list", "date_day": "1", "date_month": "1", "date_year": "2999"}).content.decode()
    assert "Select what happened" in bad and "The date must be today or in the past" in bad
    impossible = client.post(f"/lists/{MODEL}/people/{token}/", {
        "status": "declined", "route": "list", "date_day": "31", "date_month": "2", "date_year": "2026"})
    assert "must be a real date" in impossible.content.decode()
    assert not Offer.objects.exists()
    done = client.post(f"/lists/{MODEL}/people/{token}/", {
        "status": "declined", "route": "list", "date_day": "2", "date_month": "3", "date_year": "2026",
        "reason": "family said no"})
    assert done.status_code == 302
    entry = audit_entries(web, "web_offer_recorded", "practitioner")[-1]
    assert entry["person_token"] == token and entry["status"] == "declined"
    out = tmp_path / "offers.csv"
    call_command("export_offers", out=out, stdout=io.StringIO())
    events = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert list(events.columns) == OFFER_COLUMNS and len(events) == 1
    row = events.iloc[0]
    assert (row["person_token"], row["model"], row["status"], row["date"], row["route"]) == (
        token, MODEL, "declined", "2026-03-02", "list")
    assert row["offer_id"] == entry["offer_id"] and row["release"] == "DRAFT"
    assert row["team"] == "North early help team" and row["recorded_by_role"] == "early help practitioner"
    page = client.get(f"/lists/{MODEL}/").content.decode()
    assert "Declined" in page
    summary = signed_in("manager").get("/lists/").content.decode()  # the team's count of what it recorded
    assert "What North early help team has recorded" in summary and "Declined" in summary
    assert "Declined" not in signed_in("practitioner_south").get("/lists/").content.decode()
    call_command("export_offers", stdout=io.StringIO())  # by default, where the impact stage reads it
    assert (web["root"] / "data/raw/interventions/app_offers.csv").read_bytes() == out.read_bytes()
    spec = table_spec("app_offer")  # the interventions source reads the export as it is written
    staged = ingest_table(read_table_frames(spec, [out], tmp_path), spec, date.today())
    assert staged.quarantined.empty and staged.accepted.loc[0, "person_token"] == token
    assert staged.accepted.loc[0, "reason"] == "family said no" and staged.accepted.loc[0, "status"] == "declined"


def test_the_ig_reviewer_signs_as_their_account_in_their_own_role_only(web):
    client = signed_in("ig_reviewer")
    page = client.get(f"/governance/{MODEL}/").content.decode()
    assert "Sign lawful_basis" in page and "Sign necessity_proportionality" not in page  # DPO items only
    client.post(f"/governance/{MODEL}/", {"item": "lawful_basis", "decision": "approve", "evidence": "DPIA-7"})
    paths = project_paths(web["root"])
    signed = [e for e in read_verified_entries(paths, SIGNOFF_LOG, ledger_key(paths)) if e.get("event") == "signoff"]
    assert [(s["item"], s["role"], s["user"], s["by"], s["decision"]) for s in signed] == [
        ("lawful_basis", "DPO", "web:ig_reviewer", "Dana Price", "approve")]
    assert web["tracking"].tags[(f"riskpipe-{MODEL}", "3")]["signoff.lawful_basis"].startswith("approve by DPO")
    assert audit_entries(web, "web_signoff", "ig_reviewer")[-1]["item"] == "lawful_basis"
    # an item of another role, posted by hand, is refused by the sign-off rules and nothing is logged
    refused = client.post(f"/governance/{MODEL}/", {"item": "necessity_proportionality", "decision": "approve",
                                                      "evidence": "x"}, follow=True)
    assert "signed by the Caldicott Guardian, not the DPO" in refused.content.decode()
    assert len([e for e in read_verified_entries(paths, SIGNOFF_LOG, ledger_key(paths))
                if e.get("event") == "signoff"]) == 1


def test_the_controller_reidentifies_through_their_own_extract_only(web, tmp_path):
    extract = tmp_path / "csc.csv"
    pd.DataFrame({"LAchildID": web["child_ids"]}).to_csv(extract, index=False)
    client = signed_in("controller")
    with extract.open("rb") as fh:
        response = client.post("/reidentify/", {"model": MODEL, "source": "social_care", "id_column": "LAchildID",
                                                "extract": fh})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    result = pd.read_csv(io.BytesIO(response.content), dtype=str)
    expected = result["person_token"].map(lambda t: f"C{int(t[1:])}" if int(t[1:]) % 4 == 0 else "not in this extract")
    assert (result["local_id"] == expected).all()
    entry = audit_entries(web, "web_reidentify", "controller")[-1]
    assert entry["rows"] == len(result) and entry["held"] == int((expected != "not in this extract").sum())
    assert not any(c in str(entry) for c in web["child_ids"])  # the ledger holds counts, never the IDs
    with extract.open("rb") as fh:
        wrong = client.post("/reidentify/", {"model": MODEL, "source": "social_care", "id_column": "nope",
                                             "extract": fh})
    assert wrong.status_code == 200 and "the extract has no column" in wrong.content.decode()


def test_nothing_is_shown_when_the_audit_ledger_cannot_take_the_entry(web):
    (web["root"] / ".secrets/ledger.key").rename(web["root"] / "ledger.key.away")
    try:
        response = signed_in("practitioner").get(f"/lists/{MODEL}/")
        assert response.status_code == 503
        assert listed(web)["person_token"].iloc[0] not in response.content.decode()
    finally:
        (web["root"] / "ledger.key.away").rename(web["root"] / ".secrets/ledger.key")


def test_a_locality_bound_team_sees_only_its_locality():
    frame = pd.DataFrame({"person_token": ["a", "b", "c"], "locality": ["North", "South", "North"]})
    assert scoped(frame, ["North"])["person_token"].tolist() == ["a", "c"]
    assert scoped(frame, None)["person_token"].tolist() == ["a", "b", "c"]
    assert scoped(frame.drop(columns="locality"), ["North"]).empty  # whose children they are cannot be told


def test_an_adult_models_pages_call_its_people_adults(web):
    """The pages speak of the listed model's population (run.json ``population``, as the score stage read it)."""
    run_file = project_paths(web["root"]).model_artifacts(MODEL) / "run.json"
    original = run_file.read_text(encoding="utf-8")
    client, rows = signed_in("practitioner"), listed(web)
    token = rows["person_token"].iloc[0]
    as_children = client.get(f"/lists/{MODEL}/").content.decode()
    assert f"list: {len(rows)} children" in as_children and ">Child<" in as_children  # no population: children
    try:
        run_file.write_text(json.dumps({**json.loads(original), "population": "adults"}), encoding="utf-8")
        index = client.get("/lists/").content.decode()
        page = client.get(f"/lists/{MODEL}/").content.decode()
        person = client.get(f"/lists/{MODEL}/people/{token}/").content.decode()
    finally:
        run_file.write_text(original, encoding="utf-8")
    assert f"{len(rows)} adults" in index and "Children" not in index
    assert f"list: {len(rows)} adults" in page and ">Adult<" in page and "Each adult must be reviewed" in page
    assert "children" not in page and ">Child<" not in page
    assert f"Adult {token}" in person and "placed this adult on the list" in person
    assert "How the adult came to the team" in person and "this child" not in person


def test_a_list_whose_population_cannot_be_told_says_people(tmp_path):
    paths = project_paths(tmp_path)
    assert list_nouns(paths, "m1") == Nouns("people", "person")  # no run.json
    paths.model_artifacts("m1").mkdir(parents=True)
    (paths.model_artifacts("m1") / "run.json").write_text(json.dumps({"population": "martians"}), encoding="utf-8")
    assert list_nouns(paths, "m1") == Nouns("people", "person")
    (paths.model_artifacts("m1") / "run.json").write_text(json.dumps({"population": "adults"}), encoding="utf-8")
    assert list_nouns(paths, "m1") == Nouns("adults", "adult")


def test_risk_reads_in_words():
    assert risk_in_words("33.3") == "about 1 in 3"
    assert risk_in_words("4") == "about 1 in 25"
    assert risk_in_words("") == "not given"


def test_the_database_is_the_one_database_url_names(web):
    from django.db import connection

    expected = "postgresql" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "sqlite"
    assert connection.vendor == expected


def test_single_sign_on_roles_come_from_the_providers_claim_and_unknown_ones_are_ignored():
    from webapp.practice.oidc import claimed_roles

    assert claimed_roles({"roles": ["IG reviewer", "admin", "analyst"]}) == ["IG reviewer", "analyst"]
    assert claimed_roles({"roles": "team manager"}) == ["team manager"]
    assert claimed_roles({}) == []

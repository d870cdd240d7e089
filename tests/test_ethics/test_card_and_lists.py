"""Model card, ATRS record, re-identification, and no identifier in any card or list."""

from __future__ import annotations

import json

import pandas as pd
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.privacy.scan_pii import scan_paths

runner = CliRunner()


def _run(project, *args):
    result = runner.invoke(app, [*args, "--params", str(project["params"]), "--root", str(project["root"])])
    assert result.exit_code == 0, result.output
    return result


def test_card_has_every_section_suppresses_small_groups_and_atrs_marks_gaps(project):
    _run(project, "govern", "--model", "m1")
    _run(project, "card", "--model", "m1")
    reports = project["root"] / "reports/m1"
    html = (reports / "model_card.html").read_text(encoding="utf-8")
    for section in ("details", "intended-use", "data", "method", "evaluation", "disaggregated", "ethics",
                    "caveats", "checklist"):
        assert f'id="{section}"' in html
    assert "BLOCKED" in html and html.count("data:image/png;base64,") >= 2 and "http" not in html.split("<body>")[1]
    markdown = (reports / "model_card.md").read_text(encoding="utf-8")
    other_row = next(line for line in markdown.splitlines() if line.startswith("| ethnicity_group | Other"))
    assert "suppressed" in other_row and "12" not in other_row  # n=12 < 50: no figure shown at all
    atrs = json.loads((reports / "atrs.json").read_text())
    assert "tier_2.risks_mitigations_and_impact_assessments.dpia" in atrs["fields_to_complete"]
    assert atrs["tier_1"]["contact_email"] == "team@example.org"
    assert {"governance.json", "model_card.html", "atrs.json"} <= set(project["tracking"].artifacts)


def test_no_identifier_in_any_card_or_list(project):
    _run(project, "govern", "--model", "m1")
    _run(project, "card", "--model", "m1")
    _run(project, "score", "--model", "m1")
    root = project["root"]
    upns = project["upns"].head(50).tolist()
    assert scan_paths([root / "reports/m1", root / "outputs/risk_lists"]) == []
    listed = (root / "outputs/risk_lists/m1/risk_list.csv").read_text()
    assert not any(u in listed for u in upns)


def test_reidentify_maps_tokens_to_the_controllers_own_ids_only(project, tmp_path_factory):
    _run(project, "score", "--model", "m1")
    root = project["root"]
    extract = tmp_path_factory.mktemp("controller") / "csc_persons.csv"
    pd.DataFrame({"LAchildID": project["child_ids"]}).to_csv(extract, index=False)
    out = extract.parent / "list_with_ids.csv"
    _run(project, "reidentify", "--list", str(root / "outputs/risk_lists/m1/risk_list.csv"), "--extract",
         str(extract), "--source", "social_care", "--id-column", "LAchildID", "--out", str(out))
    result = pd.read_csv(out)
    # fixture: person P{i} holds child id C{i} when i is a multiple of 4
    expected = result["person_token"].map(lambda t: f"C{int(t[1:])}" if int(t[1:]) % 4 == 0 else "not in this extract")
    assert (result["local_id"] == expected).all() and (expected != "not in this extract").any()
    inside = runner.invoke(app, ["reidentify", "--list", str(root / "outputs/risk_lists/m1/risk_list.csv"),
                                 "--extract", str(extract), "--source", "social_care", "--id-column", "LAchildID",
                                 "--out", str(root / "outputs/ids.csv"), "--params", str(project["params"]),
                                 "--root", str(root)])
    assert inside.exit_code == 2 and not (root / "outputs/ids.csv").exists()


def test_reidentify_tokenises_as_the_source_declares_its_person_key(project, tmp_path_factory):
    from pipeline.lists.stage import person_key_of
    from pipeline.privacy.actions import Privacy

    assert person_key_of("school") == ("upn", Privacy.UPN)  # the shared upn token domain
    assert person_key_of("social_care") == ("la_child_id", Privacy.RECORD_KEY)  # a domain of its own
    _run(project, "score", "--model", "m1")
    root = project["root"]
    extract = tmp_path_factory.mktemp("controller") / "pupils.csv"
    pd.DataFrame({"UPN": project["upns"].str.lower()}).to_csv(extract, index=False)  # normalised as pseudonymise does
    listed = str(root / "outputs/risk_lists/m1/risk_list.csv")
    out = extract.parent / "list_with_upns.csv"
    _run(project, "reidentify", "--list", listed, "--extract", str(extract), "--source", "school", "--id-column", "UPN",
         "--out", str(out))
    result = pd.read_csv(out)
    # fixture: person P{i} is at school with UPN upns[i]
    assert (result["local_id"] == result["person_token"].map(lambda t: project["upns"][int(t[1:])].lower())).all()
    unknown = runner.invoke(app, ["reidentify", "--list", listed, "--extract", str(extract), "--source", "reference",
                                  "--id-column", "UPN", "--out", str(extract.parent / "x.csv"), "--params",
                                  str(project["params"]), "--root", str(root)])
    assert unknown.exit_code == 2 and "unknown source 'reference'" in unknown.output

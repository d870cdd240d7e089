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


def _card_of(feature_columns, tracking_uri="sqlite:////tmp/pytest-of-someone/project/mlflow.db", status="blocked"):
    """A card built straight from its inputs, for a release with ``feature_columns`` (registry names)."""
    from ethics.card.model import CardInputs, build_model_card

    run = {"run_id": "r1", "model_uri": "models:/m-0123", "model_version": "2", "tracking_uri": tracking_uri,
           "feature_columns": list(feature_columns), "thresholds_sha256": "0" * 64}
    metrics = {"capacity": 20, "test": {"auc": 0.8}, "baselines": {"oracle": {"auc": 0.9}}}
    group_metrics = pd.DataFrame({"attribute": ["fair_sex"], "group": ["F"], "n": [100], "suppressed": [False]})
    return build_model_card(CardInputs(model="m1", spec={"title": "M1"}, context={"purpose": "p"}, metrics=metrics,
                                       group_metrics=group_metrics, run=run, governance={"status": status},
                                       min_group_size=50))


def test_card_and_atrs_state_the_releases_proxy_inputs_from_the_feature_registry():
    from ethics.card.atrs import build_atrs_record
    from ethics.card.render import render_model_card_html, render_model_card_markdown
    from features.registry import FEATURES

    card = _card_of(["referrals_12m", "sen_status", "fsm_now", "imd_decile", "age_months"])
    atrs = build_atrs_record(card)
    texts = [render_model_card_html(card), render_model_card_markdown(card), json.dumps(atrs)]
    for text in texts:
        for name, characteristic in [("sen_status", "disability"), ("fsm_now", "poverty"),
                                     ("imd_decile", "poverty"), ("age_months", "age")]:
            assert FEATURES[name].proxy_for == (characteristic,)
            assert f"{name} ({characteristic})" in text or f"<td>{name}</td>" in text
        assert "not as inputs" not in text and "auditing only" not in text
    sensitive = atrs["tier_2"]["tool_specification"]["sensitive_attributes"]
    assert "sen_status (disability)" in sensitive and "age_months (age)" in sensitive
    assert "No input stands in for sex and ethnicity: audited only." in sensitive  # only fair_* columns see those
    # sources are those of the release's inputs, not a fixed list
    assert card.data["Sources"].startswith("CIN census, school census") and "HES" not in card.data["Sources"]
    assert atrs["tier_1"]["phase"] == "development: not approved for operational use (synthetic data)"
    assert atrs["tier_1"]["phase"] == card.details["Phase"]


def test_a_release_without_proxy_inputs_says_so_and_names_no_characteristic_as_seen():
    card = _card_of(["referrals_12m", "cp_plan_now"])
    assert card.method["Proxies for protected characteristics"].startswith("No model input is registered")
    assert "does see" not in card.sensitive_attributes and card.proxy_inputs.rows == []
    unknown = _card_of(["absence_rate_test"])
    assert "not in the feature registry: absence_rate_test" in unknown.method["Inputs"]


def test_cards_never_show_a_machine_path():
    from ethics.card.atrs import build_atrs_record
    from ethics.card.model import describe_model_uri, describe_tracking
    from ethics.card.render import render_model_card_html, render_model_card_markdown

    card = _card_of(["referrals_12m"])
    assert card.details["Tracking"] == "MLflow, SQLite database in the project"
    for text in (render_model_card_html(card), render_model_card_markdown(card), json.dumps(build_atrs_record(card))):
        assert "/tmp" not in text and "sqlite:" not in text and "mlflow.db" not in text
    assert describe_tracking("file:///home/someone/mlruns") == "MLflow, file store in the project"
    assert describe_tracking("https://mlflow.council.example/") == "MLflow tracking server"
    assert describe_model_uri("/home/someone/mlruns/1/abc/artifacts/model") == "stored model (file)"
    assert describe_model_uri("models:/m-0123") == "models:/m-0123"


def test_no_hand_written_text_claims_what_the_inputs_are():
    """Input, proxy and phase statements are generated: the people-written files and templates hold none."""
    from pathlib import Path

    import ethics

    folder = Path(ethics.__file__).parent
    files = [folder / "checklist.yaml", *sorted((folder / "contexts").glob("*.yaml")),
             *sorted((folder / "templates").glob("*.j2")), *sorted((folder / "card").glob("*.py"))]
    for path in files:
        text = path.read_text(encoding="utf-8").lower()
        for claim in ("audit only", "auditing only", "not as inputs", "pilot (synthetic data)"):
            assert claim not in text, f"{path.name} states {claim!r} by hand"

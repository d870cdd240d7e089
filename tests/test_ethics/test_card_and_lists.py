"""Model card, ATRS record, re-identification, and no identifier in any card or list."""

from __future__ import annotations

import json
from html import unescape

import pandas as pd
import pytest
from typer.testing import CliRunner

from ethics.card.render import render_model_card_html, render_model_card_markdown
from pipeline.cli import app
from pipeline.privacy.scan_pii import scan_paths

runner = CliRunner()


def _run(project, *args):
    result = runner.invoke(app, [*args, "--params", str(project["params"]), "--root", str(project["root"])])
    assert result.exit_code == 0, result.output
    return result


def _first_screen(html: str) -> str:
    return html.split('<section id="first-screen"', 1)[1].split("</section>", 1)[0]


def _expected_headline(metrics: dict) -> dict:
    """The first screen's counts, computed here from metrics.json independently of ethics.card."""
    from scipy.stats import binomtest

    test, rule = metrics["test"], metrics["baselines"]["rule"]
    flagged = min(metrics["capacity"], test["n"])
    def interval(block, found):  # the bootstrap interval of metrics.json where there is one, else Wilson's
        if block.get("precision_at_capacity_ci"):
            return [v * flagged for v in block["precision_at_capacity_ci"]]
        ci = binomtest(round(found), flagged).proportion_ci(method="wilson")
        return [ci.low * flagged, ci.high * flagged]

    found = test["precision_at_capacity"] * flagged
    rule_found = rule["precision_at_capacity"] * flagged
    (low, high), (rule_low, rule_high) = interval(test, found), interval(rule, rule_found)
    return {"flagged": flagged, "found": found, "low": low, "high": high, "random": test["prevalence"] * flagged,
            "rule": rule_found, "rule_low": rule_low, "rule_high": rule_high}


def _about(x: float) -> str:
    return f"{round(x):,}" if x >= 5 else f"{x:.1f}".removesuffix(".0")


def test_card_has_every_section_suppresses_small_groups_and_atrs_marks_gaps(project):
    _run(project, "govern", "--model", "m1")
    _run(project, "card", "--model", "m1")
    reports = project["root"] / "reports/m1"
    html = (reports / "model_card.html").read_text(encoding="utf-8")
    for section in ("first-screen", "gate", "headline", "intended-use", "not-for", "evaluation", "calibration",
                    "fairness", "suppression", "linkage", "data", "method", "ethics", "caveats", "checklist",
                    "details"):
        assert f'id="{section}"' in html
    assert "BLOCKED" in html and "http" not in html.split("<body>")[1]
    # each figure once: calibration, one chart per attribute with a group shown; none of the evaluation
    # stage's duplicates of them
    assert html.count("data:image/png;base64,") == 3
    assert html.count('alt="Observed outcome rate against mean predicted risk') == 1
    assert 'id="fairness-sex"' in html and 'id="fairness-ethnicity_group"' in html
    markdown = (reports / "model_card.md").read_text(encoding="utf-8")
    ethnicity = markdown.split("### ethnicity group", 1)[1].split("###", 1)[0]
    assert "Groups suppressed (no figures shown): Other." in ethnicity
    assert not any(line.startswith("| Other") for line in ethnicity.splitlines())  # n=12 < 50: no figure at all
    assert "fewer than 50 children" in markdown and "fewer than 50 children" in html
    atrs = json.loads((reports / "atrs.json").read_text())
    assert "tier_2.risks_mitigations_and_impact_assessments.dpia" in atrs["fields_to_complete"]
    assert atrs["tier_1"]["contact_email"] == "team@example.org"
    assert {"governance.json", "model_card.html", "atrs.json"} <= set(project["tracking"].artifacts)


def test_first_screen_states_use_gate_blockers_and_headline_counts_from_metrics(project):
    _run(project, "govern", "--model", "m1")
    _run(project, "card", "--model", "m1")
    reports = project["root"] / "reports/m1"
    first = _first_screen((reports / "model_card.html").read_text(encoding="utf-8"))
    metrics = json.loads((reports / "metrics.json").read_text())
    governance = json.loads((reports / "governance.json").read_text())
    want = _expected_headline(metrics)
    assert (f"Of the {want['flagged']} children the model would flag in the test year, about {_about(want['found'])} "
            f"would have the outcome" in first)
    assert f"(95% interval {_about(want['low'])} to {_about(want['high'])})" in first
    assert f"picked at random would hold about {_about(want['random'])}." in first
    assert (f"rule score, on a list of the same length, finds about {_about(want['rule'])} (95% interval "
            f"{_about(want['rule_low'])} to {_about(want['rule_high'])})") in first
    # what it is for and not for, from the context YAML
    assert "What it is for" in first and "testing" in first and "must not be used for" in first and "decisions" in first
    # exactly what blocks it: every failing automatic check, every unsigned item under its role
    assert "Governance gate: BLOCKED" in first
    for item in governance["items"]:
        words = item["id"].replace("_", " ")
        if item["status"] in ("fail", "not_evaluable") and item["kind"] != "human":
            assert words.capitalize() in first or words.upper() in first, item["id"]
        if item["kind"] == "human" and item["status"] == "unsigned":
            role_line = first.split(f"<strong>{item['role']}:</strong>", 1)[1].split("</li>", 1)[0]
            assert words.lower() in role_line.lower(), item["id"]
    assert "{'" not in first and "['" not in first
    # the same figures go to MLflow: atrs.json (logged to the run with the card) holds them
    atrs = json.loads((reports / "atrs.json").read_text())
    spec = atrs["tier_2"]["tool_specification"]
    assert spec["performance_at_capacity"]["found"] == pytest.approx(want["found"])
    assert all(sentence in unescape(first) for sentence in spec["performance_in_words"])
    assert "atrs.json" in project["tracking"].artifacts


def test_headline_counts_and_intervals_match_an_independent_computation():
    from ethics.card.headline import headline_performance

    metrics = {"capacity": 200, "test": {"n": 30000, "prevalence": 0.0095, "precision_at_capacity": 0.05,
                                         "recall_at_capacity": 0.035},
               "baselines": {"rule": {"precision_at_capacity": 0.04}}}
    headline = headline_performance(metrics, "enter care within 12 months")
    want = _expected_headline(metrics)
    assert headline.flagged == 200 and headline.found == pytest.approx(10) and headline.random == pytest.approx(1.9)
    assert (headline.found_low, headline.found_high) == pytest.approx((want["low"], want["high"]))
    assert headline.rule == pytest.approx(8)
    assert headline.sentences[0] == ("Of the 200 children the model would flag in the test year, about 10 would "
                                     f"enter care within 12 months (95% interval {_about(want['low'])} to "
                                     f"{_about(want['high'])}).")
    assert "about 8 (95% interval" in " ".join(headline.sentences) and "about 1.9." in " ".join(headline.sentences)
    # a year with fewer children than the capacity flags them all
    few = headline_performance({**metrics, "test": {**metrics["test"], "n": 120}}, "x")
    assert few.flagged == 120


def test_label_line_comes_from_the_models_own_outcome_spec():
    from models.spec import OutcomeSpec

    care = OutcomeSpec(kind="care_entry", horizon_months=12).model_dump(mode="json")  # definition defaults to neet
    neet = OutcomeSpec(kind="nccis_neet", definition="neet_or_not_known").model_dump(mode="json")
    for outcome, says, never in [(care, "looked-after episode", "neet"), (neet, "NEET or activity not known", "care")]:
        card = _card_of(["referrals_12m"], spec={"title": "M1", "outcome": outcome})
        texts = [render_model_card_html(card), render_model_card_markdown(card)]
        for text in texts:
            assert says in text
            label = card.data["Label definition"]
            assert never not in label.lower() and never not in card.outcome.lower()
    assert "(neet)" not in _card_of(["referrals_12m"], spec={"outcome": care}).data["Label definition"]


def test_card_shows_no_raw_dict_or_list_and_a_release_only_when_governance_has_one():
    spec = {"title": "M1", "cohort": {"kind": "year9_on_roll", "nc_year": 9},
            "split": {"train_years": [2015, 2016, 2017], "validation_year": 2018, "test_year": 2019}}
    governance = {"status": "blocked", "reasons": ["documentation_complete: fail - x"],
                  "items": [{"id": "documentation_complete", "kind": "auto", "status": "fail",
                             "evidence": "marked TO COMPLETE: ['owner', 'contact']"}]}
    card = _card_of(["referrals_12m"], spec=spec, governance=governance)
    assert card.method["Split"] == "out of time: trained on index years 2015-2017, calibrated on 2018, tested on 2019"
    for text in (render_model_card_html(card), render_model_card_markdown(card)):
        assert "{'" not in text and "['" not in text and "[2015" not in text
        assert "marked TO COMPLETE: owner, contact" in text
        assert "Release digest" not in text
    release = {"release_digest": "ab" * 32, "model": "m1", "version": "2", "feature_columns": ["a", "b"],
               "capacity": 20, "base_rate": 0.0123456}
    released = _card_of(["referrals_12m"], spec=spec, governance={**governance, "release": release})
    html = render_model_card_html(released)
    assert 'id="release"' in html and "ab" * 32 in html and "2 (listed under Method and inputs)" in html
    assert released.release["Base rate (test-year prevalence)"] == "0.0123"


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


def test_a_list_names_its_person_index_and_is_refused_after_a_relink_that_renumbered(project, tmp_path_factory):
    from pipeline.linkage.persistent_ids import person_index_digest

    _run(project, "score", "--model", "m1")
    root = project["root"]
    index = pd.read_parquet(root / "data/linked/person_index.parquet")
    listed_file = root / "outputs/risk_lists/m1/risk_list.csv"
    named = f"sha256:{person_index_digest(index)[:16]}"
    assert (pd.read_csv(listed_file, dtype="str")["person_index"] == named).all()
    entry = json.loads((root / "outputs/audit.jsonl").read_text().splitlines()[-1])
    assert entry["person_index_digest"] == person_index_digest(index)
    # a re-link without lasting IDs: the same records, everyone renumbered (as link did before)
    order = {p: f"P{n:08d}" for n, p in enumerate(reversed(sorted(index["person_id"].unique())), start=1)}
    index.assign(person_id=index["person_id"].map(order)).to_parquet(root / "data/linked/person_index.parquet")
    extract = tmp_path_factory.mktemp("controller") / "csc_persons.csv"
    pd.DataFrame({"LAchildID": project["child_ids"]}).to_csv(extract, index=False)
    out = extract.parent / "list_with_ids.csv"
    refused = runner.invoke(app, ["reidentify", "--list", str(listed_file), "--extract", str(extract), "--source",
                                  "social_care", "--id-column", "LAchildID", "--out", str(out), "--params",
                                  str(project["params"]), "--root", str(root)])
    assert refused.exit_code == 2 and not out.exists()
    assert "this list was made from person index" in " ".join(refused.output.split())


def _card_of(feature_columns, tracking_uri="sqlite:////tmp/pytest-of-someone/project/mlflow.db", status="blocked",
             spec=None, governance=None):
    """A card built straight from its inputs, for a release with ``feature_columns`` (registry names)."""
    from ethics.card.model import CardInputs, build_model_card

    run = {"run_id": "r1", "model_uri": "models:/m-0123", "model_version": "2", "tracking_uri": tracking_uri,
           "feature_columns": list(feature_columns), "thresholds_sha256": "0" * 64}
    metrics = {"capacity": 20, "test": {"auc": 0.8}, "baselines": {"generator": {"auc": 0.9}}}
    group_metrics = pd.DataFrame({"attribute": ["fair_sex"], "group": ["F"], "n": [100], "suppressed": [False]})
    return build_model_card(CardInputs(model="m1", spec=spec or {"title": "M1"}, context={"purpose": "p"},
                                       metrics=metrics, group_metrics=group_metrics, run=run,
                                       governance=governance or {"status": status}, min_group_size=50))


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

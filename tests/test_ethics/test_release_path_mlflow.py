"""The release path end to end against a real SQLite MLflow, and each bypass of it refused.

train (pre-registers thresholds and checklist) -> evaluate -> govern records the release -> every human
item signed for its release digest (one person per role) -> govern -> `approved` -> score issues a
non-draft list; then a newer version (another release), v1's release digest copied onto v2 with the
alias, a withdrawn sign-off on the approved one, a hand-set alias, sign-offs for models, versions and
releases that do not exist, one person in two roles and MLflow failures on the release path are each
refused with the message a user sees.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import yaml
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

import models.spec
from ethics.checklist import CHECKLIST_FILE, THRESHOLDS_FILE, parse_checklist
from pipeline.cli import app
from pipeline.core import config as core_config
from pipeline.core.io import read_yaml

MODEL = "toy"
REGISTERED = f"riskpipe-{MODEL}"
runner = CliRunner()
HUMAN_ITEMS = [i for i in parse_checklist(read_yaml(CHECKLIST_FILE)).items if i.kind == "human"]
# one person per signing role: (name given with --by, operating-system identity)
SIGNERS = {"DPO": ("Dana Price", "dprice"), "Caldicott Guardian": ("Cal Guardian", "cguard"),
           "SIRO": ("Sam Iro", "siro"), "service lead": ("Lee Service", "lservice"),
           "lead data scientist": ("Dee Scientist", "dscience")}
# loose enough for the toy model: this test is about the release path, not about the toy's performance
THRESHOLD_OVERRIDES = {"min_precision_at_capacity": 0.0, "min_lift_at_capacity": 0.0, "min_auc_lower_ci": 0.0,
                       "calibration_slope_range": [0.0, 10.0], "oe_ratio_range": [0.0, 10.0],
                       "min_precision_gain_over_rule": -1.0, "max_fnr_gap": 1.0, "max_oe_gap": 100.0,
                       "min_group_size": 10}


def _toy_helpers():
    """tests/test_models/conftest.py as a module (make_features, SPEC, REGISTRY_NAMES): the toy the model tests use."""
    path = Path(__file__).parents[1] / "test_models" / "conftest.py"
    spec = importlib.util.spec_from_file_location("toy_model_helpers", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)  # its dataclass looks its module up while being defined
    spec.loader.exec_module(module)
    return module


def _write_inputs(root: Path) -> tuple[pd.DataFrame, dict]:
    """Features, spec, ethics files, params, keys and the stage outputs govern reads that train does not write."""
    toy = _toy_helpers()
    features = toy.make_features().drop(columns="p_true").rename(columns=toy.REGISTRY_NAMES)
    raw = yaml.safe_load(yaml.safe_dump(toy.SPEC))
    raw["features"]["include"] = [toy.REGISTRY_NAMES.get(n, n) for n in toy.FEATURES]
    for criterion in raw["learners"]["rule"]["criteria"]:
        criterion["feature"] = toy.REGISTRY_NAMES.get(criterion["feature"], criterion["feature"])
    (root / "specs").mkdir()
    (root / "specs" / f"{MODEL}.yaml").write_text(yaml.safe_dump(raw), encoding="utf-8")
    ethics = root / "ethics"
    (ethics / "contexts").mkdir(parents=True)
    thresholds = read_yaml(THRESHOLDS_FILE)
    thresholds["defaults"].update(THRESHOLD_OVERRIDES)
    (ethics / "thresholds.yaml").write_text(yaml.safe_dump(thresholds), encoding="utf-8")
    context = {"title": "Toy model", "owner": "Test directorate", "contact": "team@example.org", "purpose": "Testing",
               "intended_uses": ["testing"], "out_of_scope_uses": ["decisions"], "label_meaning": "a test label",
               "human_review": "always", "challenge_route": "a route", "ethical_considerations": ["none"],
               "caveats": ["synthetic"]}
    (ethics / "contexts" / f"{MODEL}.yaml").write_text(yaml.safe_dump(context), encoding="utf-8")
    params = {"models": [MODEL], "score": {"draft_mode": False},
              "govern": {"thresholds_file": "ethics/thresholds.yaml", "contexts_dir": "ethics/contexts"}}
    (root / "params.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")
    (root / ".secrets").mkdir()
    (root / ".secrets" / "ledger.key").write_text(bytes(range(100, 132)).hex() + "\n", encoding="ascii")
    os.chmod(root / ".secrets" / "ledger.key", 0o600)
    (root / "reports").mkdir()
    linkage = {"truth": {"precision": 0.99, "recall": 0.98}, "link_rates": {"social_care_to_school": {
        "overall": 0.94, "records": 1200, "by_group": {"sex": {"F": {"rate": 0.94, "records": 600},
                                                               "M": {"rate": 0.95, "records": 600}}}}}}
    (root / "reports" / "linkage.json").write_text(json.dumps(linkage), encoding="utf-8")
    monitor = {"series_tested": 40, "breaks": []}  # as `riskpipe monitor` writes it when it finds no break
    (root / "reports" / "monitor.json").write_text(json.dumps(monitor), encoding="utf-8")
    return features, raw


def _write_feature_report(root: Path, features: pd.DataFrame) -> None:
    """reports/toy/features.json as the features stage writes it: every source's events before each index date."""
    dates = sorted(features["index_date"].dt.date.astype(str).unique())
    maxima = {"school": {d: str(pd.Timestamp(d) - pd.Timedelta(days=7))[:10] for d in dates}}
    perturbation = {"sampled": 300, "rows_compared": 300, "differing_rows": 0, "differing_features": {}}
    (root / "reports" / MODEL / "features.json").write_text(json.dumps({"max_event_date_before_index": maxima,
                                                                        "leakage_perturbation": perturbation}))


def _train_and_evaluate(paths, root: Path) -> None:
    from ethics.inputs import read_thresholds
    from ethics.release_store import preregister
    from features.populations import CHILDREN
    from features.registry import feature_columns
    from models.evaluate_stage import run_evaluate
    from models.train_stage import run_train
    from pipeline.core.config import EvaluateParams, GovernParams, TrainParams

    govern = GovernParams(thresholds_file="ethics/thresholds.yaml", contexts_dir="ethics/contexts")
    run_train(MODEL, TrainParams(lightgbm_threads=1), paths, params_file=root / "params.yaml",
              thresholds_file=root / "ethics" / "thresholds.yaml", choose_inputs=feature_columns,
              preregister=lambda model: preregister(paths, govern, model))
    run_evaluate(MODEL, EvaluateParams(n_boot=20), paths, key_file=root / "no.key",
                 fairness_attributes=CHILDREN.fairness_attributes,
                 min_group_n=read_thresholds(paths, govern, MODEL).min_group_size)  # as the CLI reads it


@pytest.fixture(scope="module")
def release_project(tmp_path_factory) -> Iterator[dict]:
    """A project trained and evaluated once (registered version 1), MLflow in its own SQLite file."""
    from pipeline.core.io import write_parquet
    from pipeline.core.paths import project_paths

    root = tmp_path_factory.mktemp("release_project")
    paths = project_paths(root)
    features, _ = _write_inputs(root)
    write_parquet(features, paths.features_table(MODEL))
    # one person-index row per person: every child known to school
    write_parquet(pd.DataFrame({"table": "school_pupil", "record_key_tok": features["person_id"].unique(),
                                "person_id": features["person_id"].unique()}
                               ).assign(match_probability=1.0, match_route="deterministic"), paths.person_index)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(models.spec, "SPECS_DIR", root / "specs")
        patch.setattr(core_config, "MODEL_SPECS_DIR", root / "specs")
        for variable in ("MLFLOW_TRACKING_URI", "RISKPIPE_LEDGER_KEY", "RISKPIPE_PSEUDO_KEY"):
            patch.delenv(variable, raising=False)
        _train_and_evaluate(paths, root)
        _write_feature_report(root, features)
        yield {"root": root, "paths": paths, "features": features, "patch": patch}


def _said(result) -> str:
    """What the command printed, on one line (the console wraps long messages)."""
    return " ".join(result.output.split())


def _run(project, *args):
    return runner.invoke(app, [*args, "--params", str(project["root"] / "params.yaml"), "--root",
                               str(project["root"])])


def _sign(project, monkeypatch, item, role, *, version="1", decision="approve", by=None, user=None, model=MODEL,
          release=None):
    """``riskpipe signoff`` naming ``release`` (a digest) or, without one, ``version`` (its latest release)."""
    name, os_user = SIGNERS[role]
    monkeypatch.setattr("ethics.signoff_stage.current_user", lambda: user or os_user)
    names = ["--release", release] if release else ["--version", version]
    return _run(project, "signoff", "--model", model, *names, "--item", item, "--by", by or name,
                "--role", role, "--decision", decision, "--evidence", f"DOC-{item}")


def _release(project) -> dict:
    return json.loads((project["root"] / "reports" / MODEL / "release.json").read_text())


def _alias(project, alias="approved"):
    client = MlflowClient(tracking_uri=f"sqlite:///{project['root'] / 'mlflow.db'}")
    try:
        return str(client.get_model_version_by_alias(REGISTERED, alias).version)
    except MlflowException:
        return None


def _governance(project):
    return json.loads((project["root"] / "reports" / MODEL / "governance.json").read_text())


def _fail(monkeypatch, method):
    """Make one MlflowClient method fail as an unreachable tracking server would."""
    def broken(*args, **kwargs):
        raise MlflowException(f"{method}: connection refused")
    monkeypatch.setattr(MlflowClient, method, broken)


def test_release_path_and_each_bypass_against_real_mlflow(release_project, monkeypatch):
    project = release_project
    out = project["root"] / "outputs" / "risk_lists" / MODEL

    # sign-offs for a model params.yaml does not list, or a version the registry does not hold: refused
    unknown_model = _sign(project, monkeypatch, "dpia", "DPO", model="neet99")
    assert unknown_model.exit_code == 2 and "unknown model 'neet99'" in _said(unknown_model)
    unknown_version = _sign(project, monkeypatch, "dpia", "DPO", version="7")
    assert unknown_version.exit_code == 2 and "has no version '7' in the MLflow registry" in _said(unknown_version)
    assert (project["root"] / "ethics" / "ledger" / "signoffs.jsonl").read_text() == ""  # started empty by train

    # train pre-registered the thresholds and checklist; govern records the release it judges
    registrations = (project["root"] / "ethics" / "ledger" / "preregistration.jsonl").read_text().splitlines()
    assert len(registrations) == 1  # trained twice would still be one: the first registration holds
    assert _run(project, "govern", "--model", MODEL).exit_code == 0
    release = _release(project)
    assert release["version"] == "1" and release["run_id"] == _governance(project)["release"]["run_id"]
    assert len(release["model_sha256"]) == 64 and release["feature_columns"]
    unknown_release = _sign(project, monkeypatch, "dpia", "DPO", release="0" * 64)
    assert unknown_release.exit_code == 2 and f"unknown release '{'0' * 64}' of riskpipe-toy" in _said(unknown_release)

    # every human item signed by its own person, naming the release digest; govern approves; a non-draft list
    for item in HUMAN_ITEMS:
        result = _sign(project, monkeypatch, item.id, item.role, release=release["release_digest"])
        assert result.exit_code == 0, result.output
    log = project["root"] / "ethics" / "ledger" / "signoffs.jsonl"
    entries = [json.loads(x) for x in log.read_text().splitlines()]
    assert {e["user"] for e in entries} == {u for _, u in SIGNERS.values()}
    assert {e["release"] for e in entries} == {release["release_digest"]} and {e["version"] for e in entries} == {"1"}
    assert _run(project, "govern", "--model", MODEL).exit_code == 0
    assert _governance(project)["status"] == "approved", _governance(project)["reasons"]
    assert _alias(project) == "1"
    client = MlflowClient(tracking_uri=f"sqlite:///{project['root'] / 'mlflow.db'}")
    assert client.get_model_version(REGISTERED, "1").tags["governance.release_digest"] == release["release_digest"]
    issued = _run(project, "score", "--model", MODEL)
    assert issued.exit_code == 0, issued.output
    listed = pd.read_csv(out / "risk_list.csv")
    assert set(listed["status"]) == {"APPROVED"} and len(listed) == release["capacity"]

    # one person cannot take a second signing role for the same version, by name or by OS identity
    by_name = _sign(project, monkeypatch, "equality_impact", "SIRO", by="dana  PRICE", user="someone-else")
    assert by_name.exit_code == 2 and "already signed riskpipe-toy v1 as the DPO" in _said(by_name)
    by_user = _sign(project, monkeypatch, "equality_impact", "SIRO", by="Not Dana", user="dprice")
    assert by_user.exit_code == 2 and "OS user 'dprice'" in _said(by_user)

    # a newer version is blocked, but the approved v1 keeps issuing lists while its sign-offs stand
    _train_and_evaluate(project["paths"], project["root"])
    _write_feature_report(project["root"], project["features"])
    assert _run(project, "govern", "--model", MODEL).exit_code == 0
    gov = _governance(project)
    assert gov["version"] == "2" and gov["status"] == "blocked"
    assert gov["approved_version_review"]["status"] == "approved" and _alias(project) == "1"
    assert gov["release_digest"] != release["release_digest"]  # v2 is another release: v1's sign-offs do not count
    assert all(i["status"] == "unsigned" for i in gov["items"]
               if i["kind"] == "human" and not i["evidence"].startswith("not applicable"))
    assert _run(project, "score", "--model", MODEL).exit_code == 0

    # v1's release digest copied onto v2 and the alias moved there by hand: v2's run and model files are not v1's
    client.set_model_version_tag(REGISTERED, "2", "governance.release_digest", release["release_digest"])
    client.set_registered_model_alias(REGISTERED, "approved", "2")
    moved = _run(project, "score", "--model", MODEL)
    assert moved.exit_code == 1 and "version of the approved release is 1, now 2" in _said(moved)
    assert "run_id of the approved release is" in _said(moved)
    assert "model_sha256 of the approved release" in _said(moved)
    client.delete_model_version_tag(REGISTERED, "2", "governance.release_digest")
    client.set_registered_model_alias(REGISTERED, "approved", "1")

    # the DPO rejects v1's DPIA: score refuses at once, before anyone runs govern (the log is re-read)
    assert _sign(project, monkeypatch, "dpia", "DPO", decision="reject").exit_code == 0
    refused = _run(project, "score", "--model", MODEL)
    assert refused.exit_code == 1 and "approval no longer stands" in _said(refused)
    assert "dpia: rejected by Dana Price (DPO)" in _said(refused)

    # govern re-judges v1 although v2 is the latest: the alias goes, governance.json says so
    assert _run(project, "govern", "--model", MODEL).exit_code == 0
    review = _governance(project)["approved_version_review"]
    assert review["version"] == "1" and review["status"] == "revoked" and _alias(project) is None
    assert "no model version holds the `approved` alias" in _said(_run(project, "score", "--model", MODEL))

    # the alias set back by hand: the alias alone issues nothing
    client.set_registered_model_alias(REGISTERED, "approved", "1")
    by_hand = _run(project, "score", "--model", MODEL)
    assert by_hand.exit_code == 1 and "approval no longer stands" in _said(by_hand)

    # MLflow fails while govern removes that alias: an error (exit 1), and lists still do not flow
    with monkeypatch.context() as broken:
        _fail(broken, "delete_registered_model_alias")
        failed = _run(project, "govern", "--model", MODEL)
    assert failed.exit_code == 1 and "could not remove the `approved` alias" in _said(failed)
    assert _alias(project) == "1"
    assert _run(project, "score", "--model", MODEL).exit_code == 1

    # MLflow fails to tag a sign-off, or to take the model card: errors, not warnings
    with monkeypatch.context() as broken:
        _fail(broken, "set_model_version_tag")
        untagged = _sign(project, monkeypatch, "dpia", "DPO", version="2")
    assert untagged.exit_code == 1 and "not tagged" in _said(untagged)
    with monkeypatch.context() as broken:
        _fail(broken, "log_artifact")
        card = _run(project, "card", "--model", MODEL)
    assert card.exit_code == 1 and "not logged to MLflow" in _said(card)

"""End to end: `dvc repro` runs the pipeline on a small synthetic county from a fresh copy of the repo.

One module-scoped run feeds every test here (the suite runs ``pytest -n 2 --dist loadfile``, so a
module stays on one worker and the pipeline runs once): every output dvc.yaml declares exists, counts
reconcile from stage to stage, metrics.json carries its contract keys, the governance gate blocks and
risk lists are DRAFT, a second `dvc repro` does nothing, nothing downstream of pseudonymise holds an
identifier, and the review notebooks execute against these outputs, with and without synthetic truth.

The copy also declares one more model the way a council would: a copy of the neet18 spec under another
name, listed under ``models:`` in params.yaml and nowhere else; every per-model stage runs for it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CHILDREN = 2500  # a few thousand children: every stage runs, the whole module stays within a few minutes
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
NOTEBOOK_CELL_TIMEOUT_S = 300
ADDED_MODEL, COPIED_FROM = "neet18_copy", "neet18"  # neet18 is the cheaper model to run twice


def uses_synthetic_truth(path: Path) -> bool:
    """Whether a notebook's code looks at synthetic truth (those are also run on outputs without it)."""
    import nbformat

    return "truth" in "".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")


# person source -> (pseudonymised table, record key token): independent of pipeline/linkage/persons.py
PERSON_SOURCES = {
    "school": ("school_pupil", "upn_tok"),
    "social_care": ("csc_person", "la_child_id_tok"),
    "health": ("nhs_patient", "hes_id_tok"),
    "nccis": ("nccis_activity", "ccis_id_tok"),
}
METRIC_KEYS = {"auc", "auc_ci", "average_precision", "brier", "ece", "oe_ratio", "calibration_slope",
               "calibration_intercept", "precision_at_capacity", "recall_at_capacity", "lift_top_0_5pct"}


@dataclass(frozen=True)
class PipelineRun:
    """A temporary copy of the repo after one `dvc repro`."""

    work: Path
    env: dict[str, str]
    dvc_yaml: dict
    params: dict

    def run(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(list(args), cwd=self.work, env=self.env, capture_output=True, text=True)

    @property
    def models(self) -> list[str]:
        """The models dvc.yaml runs: ``foreach: ${models}`` reads them from params.yaml."""
        assert self.dvc_yaml["stages"]["features"]["foreach"] == "${models}"
        return list(self.params["models"])

    def json(self, rel: str):
        return json.loads((self.work / rel).read_text(encoding="utf-8"))


def copy_repo_files(dest: Path) -> None:
    """Tracked and untracked-but-not-ignored files of the repo, as a fresh clone plus local edits would hold."""
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.splitlines()
    for rel in files:
        src = ROOT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)


@pytest.fixture(scope="module")
def pipeline_run(tmp_path_factory) -> PipelineRun:
    if shutil.which("git") is None:
        pytest.skip("git is needed for DVC")
    work = tmp_path_factory.mktemp("e2e") / "repo"
    copy_repo_files(work)
    params = yaml.safe_load((work / "params.yaml").read_text())
    params["synth"]["children"] = CHILDREN
    add_model_by_copy(work, params, COPIED_FROM, ADDED_MODEL)
    (work / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "DVC_NO_ANALYTICS": "1",
           "RISKPIPE_PSEUDO_KEY": bytes(range(32)).hex(), "RISKPIPE_LEDGER_KEY": bytes(range(32, 64)).hex()}
    env.pop("MLFLOW_TRACKING_URI", None)  # the copy's own mlflow.db, as on a fresh machine
    for cmd in (["git", "init", "-q"], ["git", "add", "-A"],
                ["git", "-c", "user.email=t@example.org", "-c", "user.name=t", "commit", "-qm", "x"]):
        subprocess.run(cmd, cwd=work, check=True, env=env, capture_output=True)
    if not (work / ".dvc").exists():
        subprocess.run([str(BIN / "dvc"), "init", "-q"], cwd=work, check=True, env=env)
    run = PipelineRun(work, env, yaml.safe_load((work / "dvc.yaml").read_text()), params)
    proc = run.run(str(BIN / "dvc"), "repro")
    if proc.returncode != 0:
        pytest.fail(f"dvc repro failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return run


def add_model_by_copy(work: Path, params: dict, source: str, name: str) -> None:
    """Declare model ``name`` as a copy of spec ``source``: one spec file and its name in ``params['models']``."""
    spec = (work / f"models/specs/{source}.yaml").read_text(encoding="utf-8")
    assert f"\nname: {source}\n" in spec
    (work / f"models/specs/{name}.yaml").write_text(spec.replace(f"\nname: {source}\n", f"\nname: {name}\n"),
                                                    encoding="utf-8")
    params["models"] = [*params["models"], name]


def declared_outputs(dvc_yaml: dict, models: list[str]) -> list[str]:
    """Every ``outs``/``metrics``/``plots`` path of every stage, ``foreach: ${models}`` expanded to ``models``."""
    paths = []
    for name, stage in dvc_yaml["stages"].items():
        items, body = (stage["foreach"], stage["do"]) if "foreach" in stage else ([None], stage)
        items = models if items == "${models}" else items
        assert isinstance(items, list), f"{name}: only foreach lists and ${{models}} are expanded here"
        for item in items:
            for key in ("outs", "metrics", "plots"):
                for entry in body.get(key, []):
                    path = entry if isinstance(entry, str) else next(iter(entry))
                    paths.append(path if item is None else path.replace("${item}", str(item)))
    return paths


def parquet_rows(path: Path) -> int:
    return pq.ParquetFile(path).metadata.num_rows


# ---------------------------------------------------------------- outputs and reconciliation


@pytest.mark.slow
def test_every_declared_output_exists(pipeline_run):
    stages = pipeline_run.dvc_yaml["stages"]
    assert {"synth", "ingest", "pseudonymise", "link", "features", "train", "evaluate", "govern", "card",
            "score"} <= set(stages)
    declared = declared_outputs(pipeline_run.dvc_yaml, pipeline_run.models)
    assert not [p for p in declared if "${" in p]
    missing = [p for p in declared if not (pipeline_run.work / p).exists()]
    empty = [p for p in declared if (pipeline_run.work / p).is_dir() and not any((pipeline_run.work / p).iterdir())]
    assert not missing, f"declared in dvc.yaml but not written: {missing}"
    assert not empty, f"declared folders left empty: {empty}"


@pytest.mark.slow
def test_ingest_reconciles_read_with_accepted_and_quarantined(pipeline_run):
    report = pipeline_run.json("reports/ingest.json")
    assert report["reconciled"] is True and not report["tables_failed"]
    ingested = {t: v for t, v in report["tables"].items() if v["status"] == "ok"}
    assert ingested
    for table, entry in ingested.items():
        assert entry["rows_read"] == entry["rows_accepted"] + entry["rows_quarantined"], table
        assert parquet_rows(pipeline_run.work / f"data/staged/{table}.parquet") == entry["rows_accepted"], table
        quarantine = pipeline_run.work / f"data/quarantine/{table}.csv"
        quarantined = len(pd.read_csv(quarantine, dtype="str")) if quarantine.exists() else 0
        assert quarantined == entry["rows_quarantined"], table
    totals = report["totals"]
    assert totals["rows_read"] == sum(v["rows_read"] for v in ingested.values())
    assert totals["rows_read"] == totals["rows_accepted"] + totals["rows_quarantined"]


@pytest.mark.slow
def test_pseudonymise_keeps_every_staged_row(pipeline_run):
    report = pipeline_run.json("reports/pseudonymise.json")
    assert not report["failed"]
    for table, entry in report["tables"].items():
        assert entry["rows_in"] == parquet_rows(pipeline_run.work / f"data/staged/{table}.parquet"), table
        assert entry["rows_out"] == entry["rows_in"] == parquet_rows(
            pipeline_run.work / f"data/pseudo/{table}.parquet"), table


@pytest.mark.slow
def test_every_pseudonymised_source_record_is_in_the_person_index_once(pipeline_run):
    index = pd.read_parquet(pipeline_run.work / "data/linked/person_index.parquet",
                            columns=["table", "record_key_tok", "person_id"])
    assert not index.duplicated(["table", "record_key_tok"]).any()
    assert index["person_id"].notna().all()
    assert set(index["table"]) == set(PERSON_SOURCES)
    for source, (table, key) in PERSON_SOURCES.items():
        tokens = pd.read_parquet(pipeline_run.work / f"data/pseudo/{table}.parquet", columns=[key])[key].dropna()
        linked = index.loc[index["table"] == source, "record_key_tok"]
        assert set(linked) == set(tokens), source
    linkage = pipeline_run.json("reports/linkage.json")
    assert linkage["people"] == index["person_id"].nunique()
    assert {s: v["records"] for s, v in linkage["sources"].items()} == index["table"].value_counts().to_dict()


@pytest.mark.slow
def test_feature_rows_match_the_cohort_reports(pipeline_run):
    for model in pipeline_run.models:
        report = pipeline_run.json(f"reports/{model}/features.json")
        rows = parquet_rows(pipeline_run.work / f"data/features/{model}.parquet")
        removed = sum(v["total"] for v in report["exclusions"].values()) + sum(
            v["total"] for v in report["censoring"].values())
        assert rows == report["rows_written"] == sum(v["rows"] for v in report["rows_by_index_year"].values())
        assert report["cohort_rows"] == rows + removed, model
        assert report["leakage_check_passed"] is True, model
        assert parquet_rows(pipeline_run.work / f"data/models/{model}/scores.parquet") == rows, model


@pytest.mark.slow
def test_metrics_json_carries_the_contract_keys(pipeline_run):
    for model in pipeline_run.models:
        metrics = pipeline_run.json(f"reports/{model}/metrics.json")
        assert {"capacity", "test_index_date", "test", "baselines"} <= set(metrics), model
        # the generator probability needs synthetic truth, which the generator writes for the shipped models only
        has_truth = (pipeline_run.work / f"data/truth/outcome_{model}.parquet").exists()
        assert has_truth == (model != ADDED_MODEL), model
        assert {"logistic", "rule", *(["generator"] if has_truth else [])} <= set(metrics["baselines"]), model
        for name, block in {"lightgbm": metrics["test"], **metrics["baselines"]}.items():
            assert METRIC_KEYS <= set(block), f"{model}/{name} lacks {METRIC_KEYS - set(block)}"


@pytest.mark.slow
def test_a_model_listed_in_params_runs_every_per_model_stage(pipeline_run):
    proc = pipeline_run.run(str(BIN / "dvc"), "stage", "list", "--name-only")
    assert proc.returncode == 0, proc.stderr[-2000:]
    stages = set(proc.stdout.split())
    for stage in ("features", "train", "evaluate", "govern", "card", "score"):
        assert {f"{stage}@{m}" for m in pipeline_run.models} <= stages, stage
    # the same spec under another name builds the same rows and scores them the same way
    copied, added = (pd.read_parquet(pipeline_run.work / f"data/features/{m}.parquet") for m in (COPIED_FROM,
                                                                                                  ADDED_MODEL))
    pd.testing.assert_frame_equal(copied, added)
    # synthetic truth is written per model name (data/truth/outcome_<model>.parquet), so only the copied
    # model has the generator comparison; everything measured on the model itself must be the same
    metrics = {m: {k: v for k, v in pipeline_run.json(f"reports/{m}/metrics.json")["test"].items()
                   if k != "against_generator"} for m in (COPIED_FROM, ADDED_MODEL)}
    assert metrics[ADDED_MODEL] == metrics[COPIED_FROM]


@pytest.mark.slow
def test_gate_blocks_without_signoff_so_lists_are_drafts_and_cards_say_so(pipeline_run):
    audit = [json.loads(line) for line in (pipeline_run.work / "outputs/audit.jsonl").read_text().splitlines()]
    for model in pipeline_run.models:
        governance = pipeline_run.json(f"reports/{model}/governance.json")
        assert governance["status"] == "blocked", model
        human = [i for i in governance["items"]
                 if i["kind"] == "human" and not i["evidence"].startswith("not applicable")]
        assert human and all(i["status"] == "unsigned" for i in human), model
        risk_list = pd.read_csv(pipeline_run.work / f"outputs/risk_lists/{model}/risk_list.csv", dtype="str")
        assert len(risk_list) and set(risk_list["status"]) == {"DRAFT"}, model
        assert len(risk_list) <= pipeline_run.json(f"reports/{model}/metrics.json")["capacity"]
        assert [e["draft"] for e in audit if e["model"] == model] == [True], model
        card = (pipeline_run.work / f"reports/{model}/model_card.md").read_text(encoding="utf-8")
        assert "BLOCKED" in card, model
        assert (pipeline_run.work / f"reports/{model}/model_card.html").stat().st_size > 0
        assert pipeline_run.json(f"reports/{model}/atrs.json")


@pytest.mark.slow
def test_dvc_metrics_show_lists_both_models_and_linkage(pipeline_run):
    proc = pipeline_run.run(str(BIN / "dvc"), "metrics", "show", "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    shown = {path for rev in json.loads(proc.stdout).values() for path in rev["data"]}
    assert "reports/linkage.json" in shown
    assert {f"reports/{m}/metrics.json" for m in pipeline_run.models} <= shown


@pytest.mark.slow
def test_dvc_plots_show_draws_each_models_roc_and_calibration(pipeline_run):
    proc = pipeline_run.run(str(BIN / "dvc"), "plots", "show", "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    shown = json.loads(proc.stdout)
    assert not shown.get("errors"), shown.get("errors")
    for model in pipeline_run.models:
        assert f"reports/{model}/calibration.csv" in shown["data"], model
        roc = shown["data"][f"reports/{model}/roc.csv"][0]["content"]
        # the roc_by_model template folds every model column of roc.csv into one line each
        assert {"lightgbm", "logistic", "rule"} <= set(roc["data"]["values"][0]), model
        assert roc["transform"][0]["fold"][:3] == ["lightgbm", "logistic", "rule"], model
        assert roc["title"]["text"] == f"{model} - ROC on the test year"


@pytest.mark.slow
def test_second_repro_is_a_no_op(pipeline_run):
    lock = (pipeline_run.work / "dvc.lock").read_bytes()
    proc = pipeline_run.run(str(BIN / "dvc"), "repro")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    # only the key check runs (always_changed): the same key writes the same fingerprint, so nothing after it runs
    ran = [line for line in proc.stdout.splitlines() if "Running stage" in line]
    assert ran == ["Running stage 'key':"], proc.stdout[-2000:]
    assert (pipeline_run.work / "dvc.lock").read_bytes() == lock


@pytest.mark.slow
def test_nothing_downstream_of_pseudonymise_holds_an_identifier(pipeline_run):
    downstream = ["data/pseudo", "data/linked", "data/features", "data/models", "outputs/risk_lists", "reports"]
    scan = pipeline_run.run(str(BIN / "riskpipe"), "scan-pii", *downstream)
    assert scan.returncode == 0, scan.stdout[-2000:]
    raw = pipeline_run.run(str(BIN / "riskpipe"), "scan-pii", "data/raw")
    assert raw.returncode != 0  # the scan does find the synthetic identifiers where they are meant to be


# ---------------------------------------------------------------- notebooks


def test_the_review_notebooks_are_stored_without_outputs():
    import nbformat

    assert {"01_linkage_quality.ipynb", "02_model_review.ipynb", "03_risk_list_walkthrough.ipynb"} <= {
        p.name for p in NOTEBOOKS}
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: strip outputs"


def execute_notebook(path: Path, cwd: Path):
    """Run every cell with ``cwd`` as the kernel's working directory; CellExecutionError on any error."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=NOTEBOOK_CELL_TIMEOUT_S, kernel_name="python3",
                   resources={"metadata": {"path": str(cwd)}}).execute()
    return nb


def output_texts(nb) -> list[str]:
    """Every text a reader would see: streams, errors, and the text forms of rich outputs."""
    texts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                texts.append(out["text"])
            texts += [v for k, v in out.get("data", {}).items() if k.startswith("text/")]
    return texts


def displayed_tokens(run: PipelineRun) -> set[str]:
    """Person tokens on the risk lists and record/match-key tokens in the linkage review sample."""
    tokens = set()
    for model in run.models:
        tokens |= set(pd.read_csv(run.work / f"outputs/risk_lists/{model}/risk_list.csv", dtype="str")["person_token"])
    review = pd.read_csv(run.work / "reports/linkage_review.csv", dtype="str")
    for column in (c for c in review.columns if c.endswith(("_tok_l", "_tok_r"))):
        tokens |= set(review[column].dropna())
    return tokens


@pytest.mark.slow
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_executes_against_the_pipeline_outputs_and_shows_no_token(pipeline_run, notebook):
    nb = execute_notebook(notebook, pipeline_run.work)
    texts = output_texts(nb)
    assert not [t for t in texts if "Traceback" in t or "Warning" in t], "notebook printed warnings or errors"
    tokens = displayed_tokens(pipeline_run)
    assert tokens
    shown = [tok for tok in tokens if any(tok in text for text in texts)]
    assert not shown, f"{notebook.name} displays {len(shown)} token(s)"


def council_copy(run: PipelineRun, dest: Path) -> Path:
    """The report and list outputs as a council's own run would have them: no synthetic truth anywhere.

    Only dvc.yaml, params.yaml, reports/ and outputs/ are copied: notebooks must need nothing else.
    """
    dest.mkdir(parents=True)
    for name in ("dvc.yaml", "params.yaml"):
        shutil.copy2(run.work / name, dest / name)
    for folder in ("reports", "outputs"):
        shutil.copytree(run.work / folder, dest / folder)
    linkage = json.loads((dest / "reports/linkage.json").read_text())
    for key in ("truth", "deterministic_only"):
        linkage.pop(key, None)
    (dest / "reports/linkage.json").write_text(json.dumps(linkage))
    for model in run.models:
        metrics_path, curves_path = dest / f"reports/{model}/metrics.json", dest / f"reports/{model}/calibration.csv"
        metrics = json.loads(metrics_path.read_text())
        for key in ("baselines", "validation_baselines"):
            metrics.get(key, {}).pop("generator", None)
        metrics.pop("generator_comparison", None)
        metrics_path.write_text(json.dumps(metrics))
        curves = pd.read_csv(curves_path, dtype="str")
        curves[curves["model"] != "generator"].to_csv(curves_path, index=False)
    return dest


@pytest.mark.slow
@pytest.mark.parametrize("notebook", [p for p in NOTEBOOKS if uses_synthetic_truth(p)], ids=lambda p: p.stem)
def test_notebook_says_when_synthetic_truth_is_absent(pipeline_run, notebook, tmp_path):
    nb = execute_notebook(notebook, council_copy(pipeline_run, tmp_path / "council"))
    texts = output_texts(nb)
    assert not [t for t in texts if "Traceback" in t or "Warning" in t]
    assert any("No ground truth" in t for t in texts), f"{notebook.name} must say that truth is absent"

"""`riskpipe audit` on any scored file: figures against hand counts, suppression, the stage and CLI outputs."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score
from typer.testing import CliRunner

from models.external_scores import audit_scores, flag_rows, render_audit_html
from models.external_scores_stage import AuditStopped, audit_settings, run_audit
from pipeline.core.config import EvaluateParams


@pytest.fixture
def scored_file():
    rng = np.random.default_rng(2)
    n = 600
    group = rng.choice(["A", "B"], n, p=[0.7, 0.3])
    score = rng.random(n)
    label = (rng.random(n) < 0.1 + 0.4 * score).astype(int)
    frame = pd.DataFrame({"outcome": label, "vendor_score": score * 100, "prob": 0.1 + 0.4 * score, "grp": group})
    frame.loc[:4, "grp"] = "tiny"  # five rows: must be suppressed
    return frame


def test_threshold_flags_and_group_rates_match_hand_counts(scored_file):
    result = audit_scores(scored_file, label="outcome", score="vendor_score", groups=["grp"], threshold=80, n_boot=20)
    flagged = scored_file["vendor_score"] >= 80
    rows_a = scored_file["grp"] == "A"
    cell = result["by_group"]["grp"]["A"]
    y = scored_file["outcome"] == 1
    assert cell["tpr"] == pytest.approx((flagged & y & rows_a).sum() / (y & rows_a).sum())
    assert cell["fpr"] == pytest.approx((flagged & ~y & rows_a).sum() / (~y & rows_a).sum())
    assert cell["ppv"] == pytest.approx((flagged & y & rows_a).sum() / (flagged & rows_a).sum())
    assert result["overall"]["auc"] == pytest.approx(roc_auc_score(y, scored_file["vendor_score"]))
    assert result["by_group"]["grp"]["tiny"] == {"suppressed": True}
    assert result["score_is_probability"] is False and result["overall"]["oe_ratio"] is None


def test_probability_scores_get_calibration(scored_file):
    result = audit_scores(scored_file, label="outcome", score="prob", groups=["grp"], top_frac=0.1, n_boot=0)
    assert result["overall"]["oe_ratio"] == pytest.approx(scored_file["outcome"].sum() / scored_file["prob"].sum())
    assert result["overall"]["selection_rate"] == pytest.approx(0.1)


def test_exactly_one_flagging_rule():
    with pytest.raises(ValueError):
        flag_rows(pd.Series([0.1, 0.2]), threshold=0.1, top_k=1)
    np.testing.assert_array_equal(flag_rows(pd.Series([0.1, 0.9, 0.5]), top_k=1), [0, 1, 0])


def test_cli_writes_json_and_html(scored_file, tmp_path):
    from pipeline.cli import app

    scored_file.to_csv(tmp_path / "scores.csv", index=False)
    result = CliRunner().invoke(app, ["audit", "--scores", str(tmp_path / "scores.csv"), "--label", "outcome",
                                      "--score", "vendor_score", "--group", "grp", "--top-k", "60",
                                      "--out", str(tmp_path / "out"), "--params", str(tmp_path / "none.yaml")])
    assert result.exit_code == 0, result.output
    audit = json.loads((tmp_path / "out" / "audit.json").read_text())
    assert set(audit["by_group"]["grp"]) == {"A", "B", "tiny"}
    html = (tmp_path / "out" / "audit.html").read_text()
    assert "suppressed (small numbers)" in html and "<h2>By grp</h2>" in html
    assert render_audit_html(audit, label="<x>", score="s").count("&lt;x&gt;") == 1  # escaped


def test_parquet_keeps_its_types_and_csv_is_parsed_to_the_same_audit(scored_file, tmp_path):
    scored_file.to_parquet(tmp_path / "scores.parquet", index=False)
    scored_file.to_csv(tmp_path / "scores.csv", index=False)
    kwargs = {"label": "outcome", "score": "prob", "groups": ["grp"], "top_k": 60, "params": EvaluateParams(n_boot=0)}
    from_parquet = run_audit(tmp_path / "scores.parquet", out=tmp_path / "p", **kwargs)
    from_csv = run_audit(tmp_path / "scores.csv", out=tmp_path / "c", **kwargs)
    for figure in ("n", "auc", "tpr", "ppv", "oe_ratio", "calibration_slope"):
        assert from_parquet.result["overall"][figure] == pytest.approx(from_csv.result["overall"][figure])
    assert json.loads(from_parquet.json_file.read_text())["rows"] == len(scored_file)
    assert from_parquet.html_file == tmp_path / "p" / "audit.html" and from_parquet.html_file.exists()


def test_evaluate_settings_reach_the_audit(scored_file, tmp_path):
    scored_file.to_parquet(tmp_path / "scores.parquet", index=False)
    strict = EvaluateParams(n_boot=0, min_group_positives=0)
    written = run_audit(tmp_path / "scores.parquet", label="outcome", score="prob", groups=["grp"], top_k=60,
                        out=tmp_path / "out", params=strict, min_group_n=300)
    assert written.result["suppression"] == {"min_n": 300, "min_positives": 0}
    assert written.result["by_group"]["grp"]["B"] == {"suppressed": True}  # about 180 rows
    assert audit_settings(None) == {}
    assert audit_settings(None, 50) == {"min_n": 50}


def test_an_audit_that_cannot_run_writes_nothing(scored_file, tmp_path):
    scored_file.to_parquet(tmp_path / "scores.parquet", index=False)
    with pytest.raises(AuditStopped, match="not_there"):
        run_audit(tmp_path / "scores.parquet", label="outcome", score="not_there", groups=["grp"], top_k=5,
                  out=tmp_path / "out")
    with pytest.raises(AuditStopped, match="exactly one"):
        run_audit(tmp_path / "scores.parquet", label="outcome", score="prob", groups=["grp"], top_k=5, top_frac=0.1,
                  out=tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_cli_exits_2_when_the_audit_cannot_run(scored_file, tmp_path):
    from pipeline.cli import app

    scored_file.to_csv(tmp_path / "scores.csv", index=False)
    result = CliRunner().invoke(app, ["audit", "--scores", str(tmp_path / "scores.csv"), "--label", "outcome",
                                      "--score", "missing_column", "--group", "grp", "--top-k", "60",
                                      "--out", str(tmp_path / "out"), "--params", str(tmp_path / "none.yaml")])
    assert result.exit_code == 2 and "Audit stopped" in result.output

"""link-pair (clear and pseudonymised), the model JSON round trip, and the backend switch."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from pipeline.linkage import engine, training
from pipeline.linkage.model import build_linkage_settings, load_linkage_model, save_linkage_model
from pipeline.linkage.pair import link_pair, pair_match_keys, parse_mapping

MAPPING = {
    "forename": "given_name",
    "surname": "surname",
    "dob": "date_of_birth",
    "postcode": "postcode",
    "sex": "sex",
}


@pytest.fixture(scope="module")
def clear_pair(noisy_people, noisy_record_copy):
    """400 people; left holds everyone, right 80% of them, each with independent recording errors."""
    people = noisy_people(400, seed=21)
    left = noisy_record_copy(people, seed=22)
    right = noisy_record_copy(people.sample(frac=0.8, random_state=23), seed=24)
    out = []
    for prefix, frame in (("L", left), ("R", right)):
        frame = frame.rename(columns={"forename": "given_name", "dob": "date_of_birth"})
        frame["date_of_birth"] = frame["date_of_birth"].dt.strftime("%Y%m%d")
        frame["sex"] = frame["sex"].map({"M": "1", "F": "2", "U": "9"})
        frame.insert(0, "rec_id", [f"{prefix}{i:04d}" for i in range(len(frame))])
        out.append(frame)
    return out


def _true_pairs(left: pd.DataFrame, right: pd.DataFrame) -> set[tuple[str, str]]:
    merged = left[["rec_id", "person_id"]].merge(right[["rec_id", "person_id"]], on="person_id")
    return set(zip(merged["rec_id_x"], merged["rec_id_y"], strict=True))


@pytest.fixture(scope="module")
def clear_pairs(clear_pair, test_key):
    """link_pair on the clear tables at threshold 0.9."""
    left, right = clear_pair
    return link_pair(
        left,
        right,
        id_left="rec_id",
        id_right="rec_id",
        mapping=MAPPING,
        dob_format="%Y%m%d",
        key=test_key,
        threshold=0.9,
    )


def test_link_pair_on_clear_tables_finds_true_pairs(clear_pair, clear_pairs):
    left, right = clear_pair
    pairs = clear_pairs
    assert list(pairs.columns) == ["left_id", "right_id", "match_probability"]
    assert (pairs["match_probability"] >= 0.9).all()
    found, truth = set(zip(pairs["left_id"], pairs["right_id"], strict=True)), _true_pairs(left, right)
    precision, recall = len(found & truth) / len(found), len(found & truth) / len(truth)
    assert precision >= 0.99
    assert recall >= 0.96


def test_link_pair_on_pseudonymised_tables_matches_clear(clear_pair, clear_pairs, test_key):
    left, right = clear_pair
    tok = {
        name: pair_match_keys(
            frame, id_column="rec_id", mapping=MAPPING, dob_format="%Y%m%d", pseudonymised=False, key=test_key
        ).rename(columns={"unique_id": "rec_id"})
        for name, frame in (("left", left), ("right", right))
    }
    pseudo = link_pair(
        tok["left"],
        tok["right"],
        id_left="rec_id",
        id_right="rec_id",
        mapping=dict.fromkeys(MAPPING, ""),
        pseudonymised=True,
        threshold=0.9,
    )
    pd.testing.assert_frame_equal(pseudo, clear_pairs)


def test_link_pair_small_tables_fall_back_to_priors(noisy_people, noisy_record_copy, test_key):
    people = noisy_people(25, seed=31)
    left, right = noisy_record_copy(people, seed=32), noisy_record_copy(people, seed=33)
    left["rec_id"], right["rec_id"] = people["person_id"], people["person_id"]
    mapping = {f: f for f in ("forename", "surname", "dob", "postcode")}
    pairs = link_pair(
        left, right, id_left="rec_id", id_right="rec_id", mapping=mapping, key=test_key, threshold=0.9
    )
    assert (pairs["left_id"] == pairs["right_id"]).mean() == 1.0
    assert len(pairs) >= 20


def test_parse_mapping_rejects_unknown_fields():
    assert parse_mapping("forename=given_name, dob=date_of_birth") == {
        "forename": "given_name",
        "dob": "date_of_birth",
    }
    with pytest.raises(ValueError, match="unknown identity fields"):
        parse_mapping("email=email")
    with pytest.raises(ValueError, match="field=column"):
        parse_mapping("forename")


def test_settings_round_trip_through_json_gives_same_predictions(clear_pair, test_key, tmp_path):
    left, right = clear_pair
    sides = {
        name: pair_match_keys(
            frame, id_column="rec_id", mapping=MAPPING, dob_format="%Y%m%d", pseudonymised=False, key=test_key
        )
        for name, frame in (("left_table", left), ("right_table", right))
    }
    settings = build_linkage_settings(
        ["forename", "surname", "dob", "postcode", "sex"], link_type="link_only"
    )
    model, _ = training.train_linkage_model(
        sides, settings, engine=engine.LinkageEngine(), n_records=len(left), seed=1, u_max_pairs=1e5, prior_recall=0.7
    )
    before = engine.predict_pairs(engine.make_linker(sides, model), 0.5)
    save_linkage_model(model, tmp_path / "model.json")
    reloaded = load_linkage_model(tmp_path / "model.json")
    assert reloaded == model
    after = engine.predict_pairs(engine.make_linker(sides, str(tmp_path / "model.json")), 0.5)
    key = ["unique_id_l", "unique_id_r"]
    pd.testing.assert_frame_equal(
        before.sort_values(key).reset_index(drop=True)[key + ["match_weight", "match_probability"]],
        after.sort_values(key).reset_index(drop=True)[key + ["match_weight", "match_probability"]],
    )


def test_spark_backend_without_pyspark_is_a_clear_error(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_pyspark(name, *args, **kwargs):
        if name.startswith("pyspark"):
            raise ImportError("no pyspark")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pyspark)
    with pytest.raises(engine.LinkageBackendError, match="pyspark is not installed"):
        engine.make_database_api(engine.LinkageEngine("spark"))
    with pytest.raises(engine.LinkageBackendError, match="unknown link.backend"):
        engine.make_database_api(engine.LinkageEngine("sqlite"))


def test_link_pair_command_writes_pairs(clear_pair, tmp_path, monkeypatch):
    from pipeline.cli import app

    left, right = clear_pair
    left.drop(columns="person_id").to_csv(tmp_path / "left.csv", index=False)
    right.drop(columns="person_id").to_csv(tmp_path / "right.csv", index=False)
    monkeypatch.setenv("RISKPIPE_PSEUDO_KEY", bytes(range(32)).hex())
    result = CliRunner().invoke(
        app,
        [
            "link-pair",
            str(tmp_path / "left.csv"),
            str(tmp_path / "right.csv"),
            "--id-left",
            "rec_id",
            "--id-right",
            "rec_id",
            "--map",
            "forename=given_name,surname=surname,dob=date_of_birth,postcode=postcode",
            "--dob-format",
            "%Y%m%d",
            "--out",
            str(tmp_path / "pairs.csv"),
            "--threshold",
            "0.95",
        ],
    )
    assert result.exit_code == 0, result.output
    pairs = pd.read_csv(tmp_path / "pairs.csv", dtype={"left_id": "str", "right_id": "str"})
    assert list(pairs.columns) == ["left_id", "right_id", "match_probability"]
    assert len(pairs) > 250 and (pairs["match_probability"] >= 0.95).all()


def test_duckdb_limits_reach_the_connection():
    db_api = engine.make_database_api(engine.LinkageEngine("duckdb", threads=1, memory_limit="512MB"))
    con = db_api.duckdb_con
    settings = dict(
        con.execute(
            "SELECT name, value FROM duckdb_settings() "
            "WHERE name IN ('threads', 'memory_limit', 'preserve_insertion_order')"
        ).fetchall()
    )
    assert settings["threads"] == "1"
    assert settings["memory_limit"] == "488.2 MiB"  # 512 MB in MiB
    assert settings["preserve_insertion_order"] == "false"

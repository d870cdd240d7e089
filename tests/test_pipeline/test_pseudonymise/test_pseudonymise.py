"""Pseudonymisation: keyed, domain-separated tokens; the contract's columns; fails closed."""

from __future__ import annotations

import hashlib
import hmac
import json

import pandas as pd
import pytest
from typer.testing import CliRunner

import pipeline.pseudonymise.stage as pseudo_stage
import pipeline.pseudonymise.tables as pseudo
from pipeline.cli import app
from pipeline.core.io import read_parquet, write_parquet
from pipeline.privacy.actions import Privacy, PseudonymisationError
from pipeline.privacy.identifier_detectors import HEX_TOKEN
from pipeline.privacy.keys import KEY_ENV_VAR
from pipeline.privacy.match_keys import identity_match_keys
from pipeline.privacy.tokens import TokenMaker, make_tokens
from pipeline.pseudonymise.tables import build_imd_by_postcode, pseudonymise_table
from pipeline.sources.spec import Column, Kind, TableSpec

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
P = Privacy

PERSON = TableSpec(
    name="test_person",
    source="social_care",
    description="a tiny person table",
    columns=(
        Column("la_child_id", "LAchildID", privacy=P.RECORD_KEY),
        Column("forename", "Forename", privacy=P.FORENAME),
        Column("surname", "Surname", privacy=P.SURNAME),
        Column("middlenames", "Middle", privacy=P.DROP),
        Column("dob", "DOB", Kind.DATE, privacy=P.DOB),
        Column("sex", "Sex", privacy=P.KEEP),
        Column("nhs_number", "NHSNumber", privacy=P.NHS_NUMBER),
        Column("upn", "UPN", privacy=P.UPN),
        Column("former_upn", "FormerUPN", privacy=P.UPN),
        Column("postcode", "Postcode", privacy=P.POSTCODE),
        Column("home_postcode", "HomePost", privacy=P.POSTCODE),
        Column("ethnicity", "Ethnicity", privacy=P.ETHNICITY),
        Column("referral_date", "RefDate", Kind.DATE, privacy=P.KEEP),
    ),
)
CONTRACT_COLUMNS = [
    "la_child_id_tok",
    "forename_tok", "forename_phon_tok", "forename_initial_tok",
    "surname_tok", "surname_phon_tok", "surname_initial_tok",
    "dob_tok", "dob_year_tok", "dob_month_tok", "dob_day_tok", "birth_year", "birth_month",
    "sex", "nhs_number_tok", "upn_tok", "former_upn_tok",
    "postcode_tok", "postcode_sector_tok", "postcode_district_tok", "lsoa_imd_decile",
    "home_postcode_tok", "home_postcode_sector_tok", "home_postcode_district_tok",
    "home_postcode_lsoa_imd_decile",
    "ethnicity", "ethnicity_group", "referral_date", "_source_file", "_source_row",
]
IDENTIFIERS = {"LA0001", "Zoë", "O'Brien-Smith", "9434765919", "B801200005001", "AB1 2CD", "Ann Marie"}


def expected_token(domain: str, value: str, key: bytes = KEY) -> str:
    """Independent computation of the contract's token."""
    message = b"riskpipe/v1/" + domain.encode() + b"\x00" + value.encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


@pytest.fixture
def staged():
    return pd.DataFrame({
        "la_child_id": ["LA0001", "LA0002", "LA0003"],
        "forename": ["Zoë", "Mohammed", None],
        "surname": ["O'Brien-Smith", "Khan", "Jones"],
        "middlenames": ["Ann Marie", None, None],
        "dob": pd.to_datetime(["2012-03-07", "2012-07-03", None]),
        "sex": ["F", "M", "U"],
        "nhs_number": ["943 476 5919", None, "123"],
        "upn": ["B801200005001", "UN1", None],
        "former_upn": [None, "B801200005001", None],
        "postcode": ["ab12cd", "XY9 9ZZ", "not a postcode"],
        "home_postcode": ["AB1 2CD", None, None],
        "ethnicity": ["WBRI", "APKN", None],
        "referral_date": pd.to_datetime(["2020-01-01", "2021-02-02", "2022-03-03"]),
        "_source_file": ["persons.csv"] * 3,
        "_source_row": [1, 2, 3],
    })


@pytest.fixture
def imd():
    return build_imd_by_postcode(
        pd.DataFrame({"postcode": ["AB12CD", "ZZ1 1ZZ"], "lsoa_code": ["E01000001", "E01000002"]}),
        pd.DataFrame({"lsoa_code": ["E01000001", "E01000002"], "imd_decile": ["3", "9"]}),
    )


def test_tokens_match_an_independent_hmac_and_keep_nulls():
    tokens = make_tokens(pd.Series(["B801200005001", None, "", "B801200005001"], dtype="str"), "upn", KEY)
    assert tokens.iloc[0] == expected_token("upn", "B801200005001") == tokens.iloc[3]
    assert tokens.iloc[1:3].isna().all()  # never a token of the empty string
    assert tokens.iloc[0] == tokens.iloc[0].lower() and len(tokens.iloc[0]) == 32


def test_tokens_are_deterministic_domain_separated_and_key_dependent():
    values = pd.Series(["9434765919", "B801200005001"], dtype="str")
    first = make_tokens(values, "nhs_number", KEY)
    assert first.equals(make_tokens(values, "nhs_number", KEY))
    assert not (first == make_tokens(values, "upn", KEY)).any()
    assert not (first == make_tokens(values, "nhs_number", OTHER_KEY)).any()


def test_make_tokens_keeps_the_index():
    values = pd.Series(["a", "b"], index=[10, 20], dtype="str")
    assert list(make_tokens(values, "x", KEY).index) == [10, 20]


def test_day_month_swap_is_detectable():
    keys = identity_match_keys(pd.DataFrame({"dob": pd.to_datetime(["2012-03-07", "2012-07-03"])}), KEY)
    a, b = keys.iloc[0], keys.iloc[1]
    assert a["dob_tok"] != b["dob_tok"]
    assert a["dob_day_tok"] == b["dob_month_tok"] and a["dob_month_tok"] == b["dob_day_tok"]
    assert a["dob_year_tok"] == b["dob_year_tok"]
    assert a["dob_tok"] == expected_token("dob", "2012-03-07")


def test_pseudonymise_table_gives_exactly_the_contract_columns(staged, imd):
    out = pseudonymise_table(staged, PERSON, KEY, imd)
    assert list(out.columns) == CONTRACT_COLUMNS
    assert len(out) == len(staged)
    identifiers = {"forename", "surname", "middlenames", "dob", "nhs_number", "upn", "postcode"}
    assert not identifiers & set(out.columns)
    cells = {str(v) for col in out.columns for v in out[col].dropna()}
    assert not IDENTIFIERS & cells


def test_pseudonymise_table_values(staged, imd):
    out = pseudonymise_table(staged, PERSON, KEY, imd)
    assert out["upn_tok"].iloc[0] == out["former_upn_tok"].iloc[1] == expected_token("upn", "B801200005001")
    assert out["upn_tok"].iloc[1:].isna().all()  # UN1 and missing are not UPNs
    assert out["nhs_number_tok"].iloc[0] == expected_token("nhs_number", "9434765919")
    assert out["nhs_number_tok"].iloc[1:].isna().all()
    postcode = expected_token("postcode", "AB1 2CD")
    assert out["postcode_tok"].iloc[0] == out["home_postcode_tok"].iloc[0] == postcode
    assert out["postcode_sector_tok"].iloc[0] == expected_token("postcode_sector", "AB1 2")
    assert out["postcode_district_tok"].iloc[0] == expected_token("postcode_district", "AB1")
    assert out["postcode_tok"].iloc[2:].isna().all()
    assert out["lsoa_imd_decile"].tolist()[0] == 3 and out["lsoa_imd_decile"].iloc[1:].isna().all()
    assert out["home_postcode_lsoa_imd_decile"].iloc[0] == 3
    assert out["forename_tok"].iloc[0] == expected_token("name", "zoe")
    assert out["surname_tok"].iloc[0] == expected_token("name", "obrien smith")
    assert out["forename_initial_tok"].iloc[0] == expected_token("name_initial", "z")
    assert out["forename_tok"].isna().tolist() == [False, False, True]
    assert out["birth_year"].tolist()[:2] == [2012, 2012] and out["birth_month"].tolist()[:2] == [3, 7]
    assert out["ethnicity_group"].tolist() == ["White", "Asian", "Unknown"]
    assert out["la_child_id_tok"].iloc[0] == expected_token("la_child_id", "LA0001")
    assert out["_source_row"].tolist() == [1, 2, 3]


def test_identity_match_keys_agree_with_pseudonymise_table(staged, imd):
    fields = ["forename", "surname", "dob", "sex", "postcode", "nhs_number", "upn"]
    keys = identity_match_keys(staged[fields], KEY)
    out = pseudonymise_table(staged, PERSON, KEY, imd)
    assert set(keys.columns) <= set(out.columns)
    pd.testing.assert_frame_equal(keys.reset_index(drop=True), out[list(keys.columns)])


def test_missing_lookup_gives_na_deciles(staged):
    out = pseudonymise_table(staged, PERSON, KEY, None)
    assert out["lsoa_imd_decile"].isna().all() and str(out["lsoa_imd_decile"].dtype) == "Int64"


def test_undeclared_column_fails_closed(staged):
    with pytest.raises(PseudonymisationError, match="no privacy action"):
        pseudonymise_table(staged.assign(notes="free text"), PERSON, KEY, None)


def test_identifier_in_a_kept_column_fails_closed_without_quoting_it(staged):
    leaky = TableSpec("leaky", "health", "", columns=(*PERSON.columns, Column("comment", "Comment", privacy=P.KEEP)))
    with pytest.raises(PseudonymisationError) as err:
        comments = ["seen at AB1 2CD", "", "nhs 943 476 5919"]
        pseudonymise_table(staged.assign(comment=comments), leaky, KEY, None)
    message = str(err.value)
    assert "comment" in message and "postcode" in message and "nhs_number" in message
    assert "AB1 2CD" not in message and "943" not in message


def test_bad_dates_fail_closed_without_quoting_them(staged):
    with pytest.raises(PseudonymisationError) as err:
        pseudonymise_table(staged.assign(dob=["07/03/2012", "x", None]), PERSON, KEY, None)
    assert "dob" in str(err.value) and "07/03" not in str(err.value)


def test_make_tokens_hashes_each_distinct_value_once(monkeypatch):
    hashed = []
    real_hash = TokenMaker._hash
    monkeypatch.setattr(TokenMaker, "_hash", lambda self, values, domain: hashed.extend(values)
                        or real_hash(self, values, domain))
    values = pd.Series([f"{i % 1000:010d}" for i in range(100_000)], dtype="str")
    tokens = make_tokens(values, "nhs_number", KEY)
    assert sorted(hashed) == sorted(set(values))
    assert tokens.nunique() == 1000 and tokens.iloc[0] == tokens.iloc[1000]


def test_a_run_hashes_a_value_once_across_tables(monkeypatch):
    hashed = []
    real_hash = TokenMaker._hash
    monkeypatch.setattr(TokenMaker, "_hash", lambda self, values, domain: hashed.extend(values)
                        or real_hash(self, values, domain))
    maker = TokenMaker(KEY, remember=True)
    first = make_tokens(pd.Series(["A1", "A2", None]), "la_child_id", maker)
    second = make_tokens(pd.Series(["A2", "A3", "A1"]), "la_child_id", maker)
    assert sorted(hashed) == ["A1", "A2", "A3"]
    assert second.tolist() == make_tokens(pd.Series(["A2", "A3", "A1"]), "la_child_id", KEY).tolist()
    assert first.iloc[0] == second.iloc[2] and pd.isna(first.iloc[2])


@pytest.mark.parametrize(
    ("values", "only_tokens"),
    [
        (["0123456789abcdef" * 2, None], True),
        (["0123456789ABCDEF" * 2], False),
        (["0123456789abcdef" * 2 + "0"], False),
        (["0123456789abcdeg" * 2], False),
        (["AB1 2CD"], False),
        ([], True),
    ],
)
def test_holds_only_tokens_agrees_with_the_token_pattern(values, only_tokens):
    series = pd.Series(values, dtype="str")
    assert pseudo.holds_only_tokens(series) is only_tokens
    assert bool(series.dropna().str.fullmatch(HEX_TOKEN).all()) is only_tokens


def test_outputs_built_per_distinct_value_match_row_by_row(staged):
    out = pseudonymise_table(staged, PERSON, KEY, None)
    for i in range(len(staged)):
        one = pseudonymise_table(staged.iloc[[i]], PERSON, KEY, None)
        pd.testing.assert_frame_equal(one.reset_index(drop=True), out.iloc[[i]].reset_index(drop=True))


# --- the CLI: every staged table, fail closed -------------------------------------------------

GOOD = TableSpec("good_table", "social_care", "", columns=(
    Column("la_child_id", "LAchildID", privacy=P.RECORD_KEY),
    Column("postcode", "Postcode", privacy=P.POSTCODE)))
LEAKY = TableSpec("leaky_table", "social_care", "", columns=(
    Column("la_child_id", "LAchildID", privacy=P.RECORD_KEY), Column("note", "Note", privacy=P.KEEP)))
REFERENCE = TableSpec("postcode_lsoa", "reference", "", columns=(
    Column("postcode", "postcode", privacy=P.KEEP), Column("lsoa_code", "lsoa_code", privacy=P.KEEP)))
LSOA_IMD = TableSpec("lsoa_imd", "reference", "", columns=(
    Column("lsoa_code", "lsoa_code", privacy=P.KEEP), Column("imd_decile", "imd_decile", Kind.INT, privacy=P.KEEP)))


@pytest.fixture
def project(tmp_path, monkeypatch):
    specs = {s.name: s for s in (GOOD, LEAKY, REFERENCE, LSOA_IMD)}
    monkeypatch.setattr(pseudo_stage, "all_tables", lambda: specs)
    monkeypatch.setenv(KEY_ENV_VAR, KEY.hex())
    staged = tmp_path / "data" / "staged"
    frame = pd.DataFrame({"la_child_id": ["A1", "A2"], "postcode": ["AB1 2CD", None],
                          "_source_file": "f.csv", "_source_row": [1, 2]})
    write_parquet(frame, staged / "good_table.parquet")
    leaky = pd.DataFrame({"la_child_id": ["A1"], "note": ["lives at AB1 2CD"]})
    write_parquet(leaky, staged / "leaky_table.parquet")
    write_parquet(pd.DataFrame({"x": [1]}), staged / "unknown_table.parquet")
    lookup = pd.DataFrame({"postcode": ["AB1 2CD"], "lsoa_code": ["E01"]})
    write_parquet(lookup, staged / "postcode_lsoa.parquet")
    write_parquet(pd.DataFrame({"lsoa_code": ["E01"], "imd_decile": [4]}), staged / "lsoa_imd.parquet")
    (tmp_path / "params.yaml").write_text("pseudonymise:\n  key_file: .secrets/none.key\n")
    return tmp_path


def invoke(root):
    args = ["pseudonymise", "--root", str(root), "--params", str(root / "params.yaml")]
    return CliRunner().invoke(app, args)


def test_cli_fails_closed_per_table(project):
    stale = project / "data" / "pseudo" / "leaky_table.parquet"
    write_parquet(pd.DataFrame({"old": [1]}), stale)
    result = invoke(project)
    assert result.exit_code == 1, result.output
    pseudo_dir = project / "data" / "pseudo"
    assert sorted(p.name for p in pseudo_dir.iterdir()) == ["good_table.parquet"]
    good = read_parquet(pseudo_dir / "good_table.parquet")
    assert good["lsoa_imd_decile"].tolist()[0] == 4
    report = json.loads((project / "reports" / "pseudonymise.json").read_text())
    assert set(report["failed"]) == {"leaky_table", "unknown_table"}
    assert report["tables"]["good_table"]["rows_in"] == report["tables"]["good_table"]["rows_out"] == 2
    assert report["tables"]["good_table"]["tokenised"] == ["la_child_id", "postcode"]
    assert report["reference_tables_not_output"] == ["lsoa_imd", "postcode_lsoa"]
    text = json.dumps(report) + result.output
    assert "AB1 2CD" not in text and "lives at" not in text and KEY.hex() not in text


def test_cli_without_a_key_writes_nothing(project, monkeypatch):
    monkeypatch.delenv(KEY_ENV_VAR)
    result = invoke(project)
    assert result.exit_code == 2
    assert "keygen" in result.output
    assert not (project / "data" / "pseudo").exists()


def test_cli_succeeds_when_every_table_is_clean(project):
    for name in ("leaky_table", "unknown_table"):
        (project / "data" / "staged" / f"{name}.parquet").unlink()
    result = invoke(project)
    assert result.exit_code == 0, result.output
    assert (project / "data" / "pseudo" / "good_table.parquet").exists()


def test_run_in_parallel_gives_the_same_outputs_and_report(project):
    from pipeline.core.paths import project_paths

    reports, outputs = {}, {}
    for workers in (1, 2):
        reports[workers] = pseudo_stage.run_pseudonymise(project_paths(project), KEY, workers=workers)
        pseudo_dir = project / "data" / "pseudo"
        outputs[workers] = {p.name: read_parquet(p) for p in sorted(pseudo_dir.glob("*.parquet"))}
    assert json.dumps(reports[1]) == json.dumps(reports[2])
    assert set(reports[2]["failed"]) == {"leaky_table", "unknown_table"}
    assert outputs[1].keys() == outputs[2].keys() == {"good_table.parquet"}
    pd.testing.assert_frame_equal(outputs[1]["good_table.parquet"], outputs[2]["good_table.parquet"])


def test_a_table_pseudonymised_in_batches_equals_the_whole(project, monkeypatch):
    from pipeline.core.io import write_parquet_parts
    from pipeline.core.paths import project_paths

    rows = pd.DataFrame({"la_child_id": [f"A{i}" for i in range(23)], "postcode": ["AB1 2CD", None] * 11 + [None],
                         "_source_file": "f.csv", "_source_row": list(range(2, 25))})
    staged = project / "data" / "staged" / "good_table.parquet"
    write_parquet_parts((rows.iloc[i:i + 10] for i in range(0, 23, 10)), staged)  # 3 row groups, as ingest writes
    monkeypatch.setattr(pseudo_stage, "BATCH_ROWS", 4)  # 6 batches, across row groups
    report = pseudo_stage.run_pseudonymise(project_paths(project), KEY, workers=1)
    imd = build_imd_by_postcode(pd.DataFrame({"postcode": ["AB1 2CD"], "lsoa_code": ["E01"]}),
                                pd.DataFrame({"lsoa_code": ["E01"], "imd_decile": [4]}))
    whole = pseudonymise_table(read_parquet(staged), GOOD, KEY, imd)
    pd.testing.assert_frame_equal(read_parquet(project / "data" / "pseudo" / "good_table.parquet"), whole)
    summary = report["tables"]["good_table"]
    assert summary["rows_in"] == summary["rows_out"] == 23
    assert summary["non_null_tokens"]["la_child_id_tok"] == 23 and summary["non_null_tokens"]["postcode_tok"] == 11


def test_an_identifier_in_a_later_batch_fails_the_whole_table_closed(project, monkeypatch):
    from pipeline.core.paths import project_paths

    leaky = pd.DataFrame({"la_child_id": [f"A{i}" for i in range(9)], "note": ["fine"] * 8 + ["lives at AB1 2CD"]})
    write_parquet(leaky, project / "data" / "staged" / "leaky_table.parquet")
    monkeypatch.setattr(pseudo_stage, "BATCH_ROWS", 4)
    report = pseudo_stage.run_pseudonymise(project_paths(project), KEY, workers=1)
    assert "leaky_table" in report["failed"]
    assert not (project / "data" / "pseudo" / "leaky_table.parquet").exists()

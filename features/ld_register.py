"""Event frames of the learning-disability case register (source ``ld_register``, issue #18), and the
older-carer register's input frames built from them (``features.ld_older_carer``).

Three event domains, each row carrying the ``person_id`` of the person with a learning disability:

- ``ld_arrangement``: one row per living arrangement, dated by its start (``event_date``), with its end
  (``end_date``), ``recorded_date`` (when the council
  entered it), ``placement`` (1: supported living, residential or nursing care, Shared Lives) and ``family``
  (1: living with family);
- ``ld_carer``: one row per family carer of a family arrangement: ``carer_person_id`` (the carer resolved
  through the person index like anyone else), the carer's ``carer_birth_year``/``carer_birth_month`` as the
  register holds them, ``event_date`` (caring start), ``end_date``, ``recorded_date``, ``relationship``,
  ``main_carer``;
- ``ld_carer_record``: each carer's own GP codes, admissions, social care, care-home moves and death, keyed by
  the person cared for (as the ``family`` domain keys a parent's records by the child), so that the leakage
  perturbation cuts a row's carers' history at its index date with the person's own.

Point in time: :func:`register_inputs` hands the register's rows to ``features.ld_older_carer`` so that a row
counts from the day it was RECORDED (a carer link or an arrangement entered after the index date is not seen
on it); a move out is dated by when it happened, which is what the outcome needs (a move in the 12 months
after the index date), and it takes the person off the register only once recorded.
"""

from __future__ import annotations

import pandas as pd

from features.event_registry import event_builder
from features.feature import Feature
from features.ld_older_carer import (
    CARER_MIN_AGE,
    FEATURE_COLUMNS,
    attach_outcome,
    carer_crises,
    carers_on,
    register_features,
)
from features.row_features import row_feature_builder
from pipeline.sources.ld_register import PLACEMENTS

REGISTER = "Learning disability register and the carers' records"


def _feature(name: str, description: str, window: str, kind: str = "numeric", show: bool = True,
             fill: float | None = 0, reads: tuple[str, ...] = ()) -> Feature:
    return Feature(name, description, REGISTER, window, kind, "model", "ld_register", None, None, fill,
                   proxy_for=("age",) if name == "age" else (), show_on_list=show, reads=reads)


# the register's features are the carers' (features.ld_older_carer), built per row (features.row_features);
# the carers' health is another person's special-category data: the model may use it, a list never prints it;
# ``reads``: the domains each counts, for the coverage of its source (features.coverage: the CLD starts late)
FEATURES = (
    _feature("age", "Age in years on the index date", "now", fill=None),
    _feature("sole_carer", "One family carer at home (no second carer)", "now", "binary", reads=("ld_carer",)),
    _feature("carer_age_max", "Age of the oldest family carer at home", "now", fill=None, reads=("ld_carer",)),
    _feature("carer_age_min", "Age of the youngest family carer at home", "now", fill=None, reads=("ld_carer",)),
    _feature("carer_efi_max", "Frailty deficits on the GP record of the frailest carer", "ever", show=False,
             reads=("gp_code",)),
    _feature("carer_ltc_max", "Long-term conditions of the carer with the most", "ever", show=False,
             reads=("gp_code",)),
    _feature("carer_dementia", "A carer has dementia on the GP record", "ever", "binary", show=False,
             reads=("gp_code",)),
    _feature("carer_emergency_12m", "Carers' emergency hospital admissions, last 12 months", "12m", show=False,
             reads=("hes_spell",)),
    _feature("carer_assessed_ever", "A carer's assessment or support for a carer on record", "ever", "binary",
             reads=("cld",)),
    _feature("carer_own_care_ever", "A carer has had adult social care of their own", "ever", "binary",
             show=False, reads=("cld",)),
    _feature("person_care_12m", "The person's own adult social care contacts, last 12 months", "12m",
             reads=("cld",)),
)
PLACEMENT_KIND = {"Supported living": "supported_living", "Residential care": "care_home",
                  "Nursing care": "care_home", "Shared Lives": "shared_lives"}


def _dates(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values).astype("datetime64[s]")


# not a ``record`` domain: being on a learning-disability register is special-category information, and a
# record domain would make it a coverage feature of every model (children's included)
@event_builder("ld_arrangement", source="ld_register", end_column="end_date", tables={
    "ld_arrangement": ("arrangement_ref_tok", "arrangement", "start_date", "end_date", "recorded_date")})
def build_arrangements(rows: pd.DataFrame) -> pd.DataFrame:
    """``person_id, event_date (start), end_date, recorded_date, arrangement, arrangement_ref_tok, placement,
    family`` (0/1)."""
    arrangement = rows["arrangement"].astype("str")
    out = pd.DataFrame({
        "person_id": rows["person_id"].astype("str"), "event_date": _dates(rows["start_date"]),
        "end_date": _dates(rows["end_date"]), "recorded_date": _dates(rows["recorded_date"]),
        "arrangement": arrangement, "arrangement_ref_tok": rows["arrangement_ref_tok"].astype("str"),
        "placement": arrangement.isin(PLACEMENTS).astype("int8"),
        "family": arrangement.eq("With family").astype("int8"),
    })
    return out.dropna(subset=["event_date"]).reset_index(drop=True)


@event_builder("ld_carer", source="ld_register", events=("ld_arrangement",), tables={
    "ld_carer": ("arrangement_ref_tok", "relationship", "main_carer", "start_date", "end_date", "recorded_date"),
    "ld_register_person": ("birth_year", "birth_month", "register_role")})
def build_carers(carers: pd.DataFrame, persons: pd.DataFrame, arrangements: pd.DataFrame) -> pd.DataFrame:
    """``person_id`` (the person cared for), ``carer_person_id, carer_birth_year, carer_birth_month,
    event_date (caring start), end_date, recorded_date, relationship, main_carer``.

    A carer row is staged under the carer's own person ID (its ``person_id`` here is the carer's); the
    arrangement it belongs to names the person cared for. A row whose arrangement is not on the register
    (quarantined, or not linked) is left out.
    """
    cared_for = arrangements.drop_duplicates("arrangement_ref_tok").set_index("arrangement_ref_tok")["person_id"]
    born = persons.drop_duplicates("person_id").set_index("person_id")[["birth_year", "birth_month"]]
    carer_id = carers["person_id"].astype("str")
    out = pd.DataFrame({
        "person_id": carers["arrangement_ref_tok"].astype("str").map(cared_for),
        "carer_person_id": carer_id,
        "carer_birth_year": carer_id.map(born["birth_year"]).astype("Int64"),
        "carer_birth_month": carer_id.map(born["birth_month"]).astype("Int64"),
        "event_date": _dates(carers["start_date"]), "end_date": _dates(carers["end_date"]),
        "recorded_date": _dates(carers["recorded_date"]),
        "relationship": carers["relationship"].astype("str"), "main_carer": carers["main_carer"].astype("str"),
    })
    return out.dropna(subset=["person_id", "event_date"]).reset_index(drop=True)


def carer_key(frame: pd.DataFrame) -> pd.Series:
    """A carer as seen from one person cared for: ``<person_id>|<carer_person_id>``.

    Each person's carers' history is theirs (``ld_carer_record``), cut at their own index dates; keying a
    carer per person cared for keeps two people's copies (or one person's at two index dates in the leakage
    perturbation) apart.
    """
    return frame["person_id"].astype("str") + "|" + frame["carer_person_id"].astype("str")


def register_inputs(events: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The register's part of ``features.ld_older_carer``'s input frames, from the two domains.

    Returns:
        ``ld_codes``: person_id, date (recorded on the register: the first arrangement entered);
        ``carer_links``: carer_id (:func:`carer_key`), cared_for_id, start (the later of caring start and its
        recording), end;
        ``moves``: person_id, date (the placement's start), recorded (when entered), kind
        (``care_home`` | ``supported_living`` | ``shared_lives``);
        ``carer_dob``: person_id (the carer's :func:`carer_key`), dob (the first of the month of birth the
        register holds).
    """
    arr, car = events["ld_arrangement"], events["ld_carer"]
    ld_codes = arr.groupby("person_id", as_index=False)["recorded_date"].min().rename(
        columns={"recorded_date": "date"})
    links = pd.DataFrame({"carer_id": carer_key(car), "cared_for_id": car["person_id"],
                          "start": car[["event_date", "recorded_date"]].max(axis=1), "end": car["end_date"]})
    placed = arr[arr["placement"] == 1]
    moves = pd.DataFrame({"person_id": placed["person_id"], "date": placed["event_date"],
                          "recorded": placed["recorded_date"],
                          "kind": placed["arrangement"].map(PLACEMENT_KIND)}).reset_index(drop=True)
    born = car.dropna(subset=["carer_birth_year", "carer_birth_month"]).assign(key=carer_key(car))
    born = born.drop_duplicates("key")
    dob = pd.to_datetime(pd.DataFrame({"year": born["carer_birth_year"].astype("int64"),
                                       "month": born["carer_birth_month"].astype("int64"), "day": 1}))
    carer_dob = pd.DataFrame({"person_id": born["key"].to_numpy(), "dob": dob.to_numpy()})
    return {"ld_codes": ld_codes, "carer_links": links.reset_index(drop=True), "moves": moves,
            "carer_dob": carer_dob}


def _blank(values: pd.Series) -> pd.Series:
    """Codes as text with no code as '' (a code-list map leaves NaN, or the text 'nan' once cast)."""
    return values.astype("str").where(values.notna() & values.astype("str").ne("nan"), "")


CARER_RECORD_KINDS = ("gp_code", "admission", "social_care", "care_home", "death")


def _text(frame: pd.DataFrame, column: str) -> pd.Series:
    return _blank(frame[column]) if column in frame else pd.Series("", index=frame.index)


@event_builder("ld_carer_record", source="ld_register",
               events=("ld_carer", "gp_registration", "gp_code", "hes_spell", "cld", "death"))
def build_carer_records(carers: pd.DataFrame, registrations: pd.DataFrame, gp: pd.DataFrame, spells: pd.DataFrame,
                        cld: pd.DataFrame, deaths: pd.DataFrame) -> pd.DataFrame:
    """Each family carer's own records, keyed by the person they care for (like the ``family`` domain keys a
    parent's records by the child), so a row's carers' history is the person's and is cut at the row's index
    date with it (``features.leakage``).

    Returns:
        ``person_id`` (cared for), ``carer_person_id``, ``event_date``, ``kind`` (``CARER_RECORD_KINDS``),
        ``ltc``, ``efi`` (GP codes: register or deficit name, else ''), ``emergency`` (admissions), ``as_carer``
        (social care: an event of the carer as a carer, e.g. a carer's assessment) as 0/1.
    """
    def part(frame: pd.DataFrame, kind: str, date: str, **columns) -> pd.DataFrame:
        return pd.DataFrame({"carer_person_id": frame["person_id"].astype("str"), "event_date": frame[date],
                             "kind": kind, **columns})

    homes_gp, homes_hes = gp[gp["care_home"] == 1], spells[spells["to_care_home"] == 1]
    parts = [
        part(gp, "gp_code", "event_date", ltc=_text(gp, "ltc"), efi=_text(gp, "efi")),
        part(spells, "admission", "event_date", emergency=spells["emergency"].astype("int8")),
        part(cld, "social_care", "event_date", as_carer=cld["carer"].astype("int8")),
        part(homes_gp, "care_home", "event_date"), part(homes_hes, "care_home", "discharge_date"),
        part(cld[cld["care_home"] == 1], "care_home", "event_date"),
        part(registrations, "death", "death_date"), part(deaths, "death", "event_date"),
    ]
    records = pd.concat(parts, ignore_index=True)
    records["event_date"] = pd.to_datetime(records["event_date"]).astype("datetime64[s]")
    records = records.dropna(subset=["event_date"])
    pairs = carers[["person_id", "carer_person_id"]].drop_duplicates()
    out = pairs.merge(records, on="carer_person_id")
    for column in ("ltc", "efi"):
        out[column] = out[column].fillna("").astype("str")
    for column in ("emergency", "as_carer"):
        out[column] = out[column].fillna(0).astype("int8")
    return out[["person_id", "carer_person_id", "event_date", "kind", "ltc", "efi", "emergency",
                "as_carer"]].reset_index(drop=True)


def linked_frames(events: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Every input frame of ``features.ld_older_carer`` from the linked event domains (ids are ``person_id``).

    Args:
        events: ``ld_arrangement``, ``ld_carer``, ``ld_carer_record`` (this module; the carers' own records),
            ``person`` (birth_year, birth_month), and the person's own ``gp_registration`` (death_date),
            ``death`` and ``cld`` (carer).

    Returns:
        ``people`` (person_id, dob, death_date: a carer's dob as the register holds it, else the person
        attributes' month of birth), ``ld_codes``, ``carer_links``, ``moves`` (:func:`register_inputs`),
        ``gp_codes``, ``admissions``, ``social_care``, ``care_home`` (a carer's move: a GP care-home code, a
        hospital discharge to a care home, or council residential or nursing care starting).
    """
    reg = register_inputs(events)
    person = events["person"].dropna(subset=["birth_year", "birth_month"])
    dob = pd.to_datetime(pd.DataFrame({"year": person["birth_year"].astype("int64"),
                                       "month": person["birth_month"].astype("int64"), "day": 1}))
    dob = pd.Series(dob.to_numpy(), index=person["person_id"].astype("str"))
    dob = pd.concat([reg["carer_dob"].set_index("person_id")["dob"], dob])
    dob = dob[~dob.index.duplicated()]  # the register's carer dates of birth first
    rec = events["ld_carer_record"]
    rec = rec.assign(carer=carer_key(rec)).rename(columns={"event_date": "date"})
    own_deaths = [events["gp_registration"][["person_id", "death_date"]].rename(columns={"death_date": "date"}),
                  events["death"][["person_id", "event_date"]].rename(columns={"event_date": "date"})]
    deaths = pd.concat([*own_deaths, rec.loc[rec["kind"] == "death", ["carer", "date"]].rename(
        columns={"carer": "person_id"})], ignore_index=True).dropna()
    died = pd.to_datetime(deaths["date"]).groupby(deaths["person_id"].astype("str")).min()
    people = pd.DataFrame({"person_id": dob.index, "dob": dob.to_numpy()})
    people["death_date"] = died.reindex(people["person_id"]).to_numpy()
    by_carer = rec[["carer", "date", "kind", "ltc", "efi", "emergency", "as_carer"]].rename(
        columns={"carer": "person_id"})
    gp_codes = by_carer.loc[by_carer["kind"] == "gp_code", ["person_id", "date", "ltc", "efi"]]
    adm = by_carer[by_carer["kind"] == "admission"]
    admissions = pd.DataFrame({"person_id": adm["person_id"], "date": adm["date"],
                               "emergency": adm["emergency"].astype(bool)})
    care = by_carer[by_carer["kind"] == "social_care"]
    own = events["cld"]
    social_care = pd.concat([
        pd.DataFrame({"person_id": care["person_id"], "date": care["date"], "carer": care["as_carer"].astype(bool)}),
        pd.DataFrame({"person_id": own["person_id"].astype("str"), "date": own["event_date"],
                      "carer": own["carer"].astype(bool)})], ignore_index=True).drop_duplicates()
    care_home = by_carer.loc[by_carer["kind"] == "care_home", ["person_id", "date"]]
    return {"people": people, "ld_codes": reg["ld_codes"], "carer_links": reg["carer_links"],
            "moves": reg["moves"], "gp_codes": gp_codes.reset_index(drop=True),
            "admissions": admissions.reset_index(drop=True), "social_care": social_care,
            "care_home": care_home.reset_index(drop=True)}


def register_rows(events: dict[str, pd.DataFrame], index_dates: list[pd.Timestamp], extract_date: pd.Timestamp,
                  *, carer_min_age: float | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The older-carer register from linked records: one row per person and index date with the register's
    features (``REGISTER_COLUMNS``) and outcomes (``outcome``, ``outcome_any_move``, ``outcome_death``,
    ``matured``), and the (person, carer, index date) dyads behind them.

    A move out takes someone off the register only from the day it was recorded; the outcome reads moves by
    the day they happened.
    """
    dyads, f = register_dyads(events, index_dates, CARER_MIN_AGE if carer_min_age is None else carer_min_age)
    rows = register_features(dyads, f["gp_codes"], f["admissions"], f["social_care"])
    crises = carer_crises(f["people"], f["admissions"], f["care_home"])
    return attach_outcome(rows, dyads, f["moves"], crises, f["people"], pd.Timestamp(extract_date)), dyads


def register_dyads(events: dict[str, pd.DataFrame], index_dates: list[pd.Timestamp],
                   carer_min_age: float = CARER_MIN_AGE) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """The (person, carer, index date) dyads of the register (moves taking people off it once recorded), and
    the input frames they were read from (:func:`linked_frames`)."""
    f = linked_frames(events)
    known_moves = f["moves"].assign(date=f["moves"]["recorded"])
    return carers_on(index_dates, f["people"], f["ld_codes"], f["carer_links"], known_moves,
                     carer_min_age=carer_min_age), f


@row_feature_builder("ld_register")
def register_feature_rows(cohort: pd.DataFrame, events: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """``row_id`` and the register's features (``FEATURE_COLUMNS``) of each cohort row, from the records
    before its index date; a row not on the register on that day (no carer open) gets nothing."""
    dates = [pd.Timestamp(d) for d in cohort["index_date"].drop_duplicates()]
    dyads, f = register_dyads(events, dates)
    rows = register_features(dyads, f["gp_codes"], f["admissions"], f["social_care"])
    keyed = cohort[["row_id", "person_id", "index_date"]].assign(person_id=cohort["person_id"].astype("str"))
    out = keyed.merge(rows.assign(person_id=rows["person_id"].astype("str")), on=["person_id", "index_date"],
                      how="left")
    return out[["row_id", *FEATURE_COLUMNS]]

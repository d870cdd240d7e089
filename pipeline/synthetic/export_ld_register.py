"""The council's learning-disability case register, exported from the adults' true lives (issue #18).

:func:`ld_register_extracts` yields ``("csv", "ld_register/<file>", (frame, encoding))`` for
``ld_persons.csv``, ``ld_arrangements.csv`` and ``ld_carers.csv`` (columns of
``pipeline/sources/ld_register.py``), then ``("truth", "ld_register_keys", frame)``: ``source, record_key,
person_id`` of every register person ID, merged into ``person_map`` for the linkage quality report.

Who lives with whom comes from the simulation: the register holds most adults with a learning disability
(``COVERAGE``), each from about their 17th birthday or arrival; their first arrangement is with family (a
parent caring for them at home) or their own tenancy, and their first move out (a permanent care-home entry,
or supported living starting) ends it and starts the placement. Their parents caring at home (``caring``
rows, relationship ``parent``) are the carers of the family arrangement, each with their own person record.
Rows are entered some weeks after the event (``recorded_date``); a row not entered by the reference date is
not in the extract, and an end date whose move is not yet entered is blank. Planted faults for ingest to
quarantine: an arrangement whose end date was typed before its start, a carer row with no carer ID.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from pipeline.synthetic import records
from pipeline.synthetic.formatting import format_dates

SOURCE = "ld_register"
COVERAGE = 0.9  # share of adults with LD the register holds (registers beat GP LD registers' 1/4-1/3, S46)
RECORDING_LAG_DAYS = 21.0  # mean days from a change to its entry on the register
NHS_MISSING = 0.08
END_BEFORE_START = 0.005
CARER_ID_MISSING = 0.005
NAT = np.datetime64("NaT", "D")


def _dates(values) -> np.ndarray:
    return format_dates(values, "%d/%m/%Y")


def _lag(rng: np.random.Generator, n: int) -> np.ndarray:
    return np.ceil(rng.exponential(RECORDING_LAG_DAYS, n)).astype("timedelta64[D]")


def first_moves(lives, ref: np.datetime64) -> pd.DataFrame:
    """Each person's first move out of the family home up to ``ref``: person_id, date, arrangement.

    A permanent care-home entry (residential or nursing care) or a supported living service starting.
    """
    homes = lives.care_home_entries[lives.care_home_entries["permanent"]]
    homes = pd.DataFrame({"person_id": homes["person_id"].to_numpy(),
                          "date": homes["entry_date"].to_numpy("datetime64[D]"),
                          "arrangement": np.where(homes["setting"].to_numpy() == "nursing", "Nursing care",
                                                  "Residential care")})
    ev = lives.asc_events
    living = ev[(ev["event_type"] == "Service") & (ev["service_component"] == "Community Supported Living")]
    living = pd.DataFrame({"person_id": living["person_id"].to_numpy(),
                           "date": living["start"].to_numpy("datetime64[D]"),
                           "arrangement": "Supported living"})
    moves = pd.concat([homes, living], ignore_index=True)
    moves = moves[moves["date"].to_numpy() <= ref].sort_values(["person_id", "date"], kind="stable")
    return moves.drop_duplicates("person_id").reset_index(drop=True)


def arrangements(rng: np.random.Generator, people: pd.DataFrame, moves: pd.DataFrame, ref: np.datetime64,
                 with_parents: np.ndarray) -> pd.DataFrame:
    """The register's people with LD and their arrangements (true dates, before recording).

    Args:
        people: lives.people (person_id, dob, arrive_date, leave_date, death_date, learning_disability).
        with_parents: person_ids a parent cares for at home: their first arrangement is ``With family``;
            everyone else's is ``Own tenancy or alone`` (the simulation's other adults with LD live in
            households of their own).

    Returns:
        person_id, registered (date), arrangement, start, end (NaT = open at ``ref``), family (bool).
    """
    ld = people[people["learning_disability"].fillna(False).to_numpy(bool)]
    dob = ld["dob"].to_numpy("datetime64[D]")
    registered = np.maximum(dob + np.timedelta64(17 * 365, "D"), ld["arrive_date"].to_numpy("datetime64[D]"))
    registered = registered + rng.integers(0, 180, len(ld)).astype("timedelta64[D]")
    gone = np.minimum(ld["death_date"].to_numpy("datetime64[D]"), ld["leave_date"].to_numpy("datetime64[D]"))
    gone = np.where(np.isnat(gone), np.datetime64("2100-01-01"), gone)
    keep = (registered <= ref) & (registered < gone) & (rng.random(len(ld)) < COVERAGE)
    pid, registered, gone = ld["person_id"].to_numpy()[keep], registered[keep], gone[keep]
    first = moves.set_index("person_id").reindex(pid)
    move = first["date"].to_numpy("datetime64[D]")
    moved = ~np.isnat(move) & (move > registered) & (move < gone)
    family_end = np.where(moved, move, gone)
    home = np.isin(pid, with_parents)
    family = pd.DataFrame({"person_id": pid, "registered": registered,
                           "arrangement": np.where(home, "With family", "Own tenancy or alone"),
                           "start": registered, "end": family_end, "family": home})
    placed = pd.DataFrame({"person_id": pid[moved], "registered": registered[moved],
                           "arrangement": first["arrangement"].to_numpy()[moved], "start": move[moved],
                           "end": gone[moved], "family": False})
    family["family"] = family["family"].astype(bool)
    out = pd.concat([family, placed], ignore_index=True)
    out["end"] = np.where(out["end"].to_numpy("datetime64[D]") > ref, NAT, out["end"].to_numpy("datetime64[D]"))
    return out.sort_values(["person_id", "start"], kind="stable", ignore_index=True)


def family_carers(caring: pd.DataFrame, arr: pd.DataFrame, ref: np.datetime64) -> pd.DataFrame:
    """The parents caring at home during each family arrangement: arrangement row, carer_id, start, end, hours."""
    fam = arr[arr["family"]].reset_index().rename(columns={"index": "arr_row"})
    parents = caring[caring["relationship"] == "parent"]
    pairs = fam[["arr_row", "person_id", "start", "end"]].merge(
        parents, left_on="person_id", right_on="cared_for_id", suffixes=("_arr", ""))
    arr_end = pairs["end_arr"].to_numpy("datetime64[D]")
    arr_end = np.where(np.isnat(arr_end), np.datetime64("2100-01-01"), arr_end)
    c_end = pairs["end"].to_numpy("datetime64[D]")
    c_end_open = np.where(np.isnat(c_end), np.datetime64("2100-01-01"), c_end)
    start = np.maximum(pairs["start"].to_numpy("datetime64[D]"), pairs["start_arr"].to_numpy("datetime64[D]"))
    end = np.minimum(c_end_open, arr_end)
    keep = (start < end) & (start <= ref)
    out = pd.DataFrame({"arr_row": pairs["arr_row"].to_numpy()[keep], "carer_id": pairs["carer_id"].to_numpy()[keep],
                        "start": start[keep], "end": end[keep], "hours": pairs["hours_per_week"].to_numpy()[keep]})
    out["end"] = np.where(out["end"].to_numpy("datetime64[D]") > ref, NAT, out["end"].to_numpy("datetime64[D]"))
    return out


def _address_on(addresses: pd.DataFrame, when: pd.Series) -> pd.Series:
    """Each person's postcode on ``when`` (indexed by person_id): their last address starting by then."""
    addr = addresses[addresses["person_id"].isin(when.index)].copy()
    addr["when"] = addr["person_id"].map(when)
    addr = addr[addr["start"] <= addr["when"]].sort_values(["person_id", "start"], kind="stable")
    return addr.drop_duplicates("person_id", keep="last").set_index("person_id")["postcode"]


def ld_register_extracts(rng: np.random.Generator, cfg, lives) -> Iterator[tuple[str, str, object]]:
    """Yield the register's three files and its record keys (see the module docstring).

    Args:
        rng: the register's own random stream.
        cfg: ``SynthParams`` (reference_date, identifier_noise).
        lives: ``pipeline.synthetic.adults.AdultLives`` (people, addresses, caring, care_home_entries,
            asc_events used).
    """
    ref = np.datetime64(cfg.reference_date, "D")
    people = lives.people
    parents = lives.caring.loc[lives.caring["relationship"] == "parent", "cared_for_id"].to_numpy()
    arr = arrangements(rng, people, first_moves(lives, ref), ref, parents)
    carers = family_carers(lives.caring, arr, ref)
    # entered some weeks after the change: rows not yet entered are not in the extract
    arr["recorded"] = np.maximum(arr["start"].to_numpy("datetime64[D]") + _lag(rng, len(arr)),
                                 arr["registered"].to_numpy("datetime64[D]"))
    carers["recorded"] = carers["start"].to_numpy("datetime64[D]") + _lag(rng, len(carers))
    arr["ref_id"] = rng.choice(9 * 10**7, len(arr), replace=False) + 10**7
    next_start = arr.groupby("person_id")["recorded"].shift(-1).to_numpy("datetime64[D]")
    unknown_end = ~np.isnat(next_start) & (next_start > ref)  # the move is not entered yet
    arr["end"] = arr["end"].where(~unknown_end)
    carers["arr_ok"] = arr["recorded"].to_numpy("datetime64[D]")[carers["arr_row"].to_numpy()] <= ref
    carers = carers[(carers["recorded"].to_numpy("datetime64[D]") <= ref) & carers["arr_ok"]]
    arr_out = arr[arr["recorded"].to_numpy("datetime64[D]") <= ref]

    who_ids = np.unique(np.r_[arr_out["person_id"].to_numpy(), carers["carer_id"].to_numpy()])
    ids = pd.Series(np.char.add("R", (rng.choice(9 * 10**5, who_ids.size, replace=False) + 10**5).astype(str)),
                    index=who_ids)
    who = people.set_index("person_id").loc[who_ids].reset_index()
    ident = records.recorded_identity(rng, who, cfg.identifier_noise, scale=0.8)
    last_day = who.set_index("person_id")[["death_date", "leave_date"]].min(axis=1).fillna(pd.Timestamp(ref))
    postcode = _address_on(lives.addresses, last_day.clip(upper=pd.Timestamp(ref))).reindex(who["person_id"])
    registered = arr_out.groupby("person_id")["registered"].min().reindex(who["person_id"])
    is_ld = ~np.isnat(registered.to_numpy("datetime64[D]"))
    persons = pd.DataFrame({
        "Person_ID": ids.reindex(who["person_id"]).to_numpy(),
        "NHS_Number": np.where(rng.random(len(who)) < NHS_MISSING, "", who["nhs_number"].fillna("").astype(str)),
        "Forename": ident["forename"].to_numpy(), "Surname": ident["surname"].to_numpy(),
        "Date_of_Birth": _dates(ident["dob"]),
        "Gender": who["sex"].map({"F": "Female", "M": "Male"}).fillna("Unknown").to_numpy(),
        "Postcode": postcode.fillna("").to_numpy(),
        "Register_Role": np.where(is_ld, "Person with a learning disability", "Carer"),
        "Registered_Date": _dates(registered.to_numpy("datetime64[D]")),
    })

    start, end = arr_out["start"].to_numpy("datetime64[D]"), arr_out["end"].to_numpy("datetime64[D]")
    typo = ~np.isnat(end) & (rng.random(len(arr_out)) < END_BEFORE_START)
    end = np.where(typo, start - np.timedelta64(365, "D"), end)
    arrangements_csv = pd.DataFrame({
        "Arrangement_ID": arr_out["ref_id"].astype(str).to_numpy(),
        "Person_ID": ids.reindex(arr_out["person_id"]).to_numpy(),
        "Living_Arrangement": arr_out["arrangement"].to_numpy(),
        "Start_Date": _dates(start), "End_Date": _dates(end), "Recorded_Date": _dates(arr_out["recorded"]),
    })

    sex = people.set_index("person_id")["sex"].reindex(carers["carer_id"]).to_numpy()
    hours = carers["hours"].to_numpy()
    main = hours >= carers.assign(h=hours).groupby("arr_row")["h"].transform("max").to_numpy()
    carer_id = ids.reindex(carers["carer_id"]).to_numpy(dtype=object)
    carer_id = np.where(rng.random(len(carers)) < CARER_ID_MISSING, "", carer_id)
    carers_csv = pd.DataFrame({
        "Carer_Person_ID": carer_id,
        "Arrangement_ID": arr["ref_id"].to_numpy()[carers["arr_row"].to_numpy()].astype(str),
        "Relationship": np.where(sex == "F", "Mother", np.where(sex == "M", "Father", "Parent")),
        "Main_Carer": np.where(main, "Y", "N"),
        "Start_Date": _dates(carers["start"]), "End_Date": _dates(carers["end"]),
        "Recorded_Date": _dates(carers["recorded"]),
    })
    shuffle = int(rng.integers(1 << 31))
    yield "csv", f"{SOURCE}/ld_persons.csv", (persons.sample(frac=1.0, random_state=shuffle).reset_index(drop=True),
                                              "utf-8")
    yield "csv", f"{SOURCE}/ld_arrangements.csv", (arrangements_csv, "utf-8")
    yield "csv", f"{SOURCE}/ld_carers.csv", (carers_csv, "utf-8")
    yield "truth", "ld_register_keys", pd.DataFrame({"source": SOURCE, "record_key": ids.to_numpy(),
                                                     "person_id": ids.index.to_numpy()})

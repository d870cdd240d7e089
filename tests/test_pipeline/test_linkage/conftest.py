"""Noisy test people for the linkage tests: small name pools, realistic recording errors, fixed seed.

Each person gets a true identity; ``record_copy`` writes one source's record of it with the errors
councils see (typos, nickname/transliteration variants, changed surnames, day/month swaps, year
typos, postcode moves and lags, missing values). Values are clear here; tests tokenise them.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

FORENAMES = [
    "Oliver",
    "George",
    "Harry",
    "Noah",
    "Jack",
    "Leo",
    "Arthur",
    "Muhammad",
    "Oscar",
    "Charlie",
    "Jacob",
    "Thomas",
    "Henry",
    "William",
    "Isaac",
    "Olivia",
    "Amelia",
    "Isla",
    "Ava",
    "Mia",
    "Ivy",
    "Lily",
    "Isabella",
    "Rosie",
    "Sophia",
    "Grace",
    "Freya",
    "Aisha",
    "Zara",
    "Fatima",
    "Priya",
    "Chloe",
    "Ella",
    "Evie",
    "Daniel",
    "Joshua",
    "Samuel",
    "Ethan",
    "Amara",
    "Kofi",
]
VARIANTS = {
    "Muhammad": "Mohammed",
    "Oliver": "Olly",
    "William": "Will",
    "Thomas": "Tom",
    "Isabella": "Bella",
    "Samuel": "Sam",
    "Daniel": "Dan",
    "Joshua": "Josh",
    "Aisha": "Ayesha",
    "Sophia": "Sofia",
    "Zara": "Sara",
    "Henry": "Harry",
    "Jacob": "Jake",
    "Fatima": "Fatimah",
}
SURNAMES = [
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Williams",
    "Wilson",
    "Johnson",
    "Davies",
    "Patel",
    "Robinson",
    "Wright",
    "Thompson",
    "Evans",
    "Walker",
    "White",
    "Roberts",
    "Green",
    "Hall",
    "Wood",
    "Jackson",
    "Clarke",
    "Khan",
    "Hussain",
    "Ali",
    "Ahmed",
    "Begum",
    "Okafor",
    "Mensah",
    "Nowak",
    "Kowalski",
]
DISTRICTS = ["LS1", "LS2", "LS6", "LS7", "LS8", "LS11", "LS12", "BD3", "BD5", "BD7"]


def _postcode(rng: np.random.Generator, district: str | None = None) -> str:
    district = district or DISTRICTS[rng.integers(len(DISTRICTS))]
    letters = "ABDEFGHJLNPQRSTUWXYZ"
    return f"{district} {rng.integers(1, 9)}{letters[rng.integers(20)]}{letters[rng.integers(20)]}"


def make_people(n: int, seed: int) -> pd.DataFrame:
    """True identities: person_id, forename, surname, dob, sex, postcode, nhs_number, upn."""
    rng = np.random.default_rng(seed)
    start = date(2006, 9, 1)
    return pd.DataFrame(
        {
            "person_id": [f"T{i:05d}" for i in range(n)],
            "forename": rng.choice(FORENAMES, n),
            "surname": rng.choice(SURNAMES, n),
            "dob": [start + timedelta(days=int(d)) for d in rng.integers(0, 365 * 14, n)],
            "sex": rng.choice(["M", "F"], n),
            "postcode": [_postcode(rng) for _ in range(n)],
            "nhs_number": [f"9{i:09d}" for i in rng.permutation(n) + 100_000],
            "upn": [f"A8881234{i % 100:02d}{i:03d}"[:13] for i in rng.permutation(n)],
        }
    )


def _typo(rng: np.random.Generator, name: str) -> str:
    pos = int(rng.integers(1, len(name)))
    kind = rng.integers(3)
    if kind == 0 and pos < len(name) - 1:  # transposition
        return name[:pos] + name[pos + 1] + name[pos] + name[pos + 2 :]
    if kind == 1:  # deletion
        return name[:pos] + name[pos + 1 :]
    return name[:pos] + "aeioulnrst"[rng.integers(10)] + name[pos + 1 :]


def _noisy_dob(rng: np.random.Generator, dob: date, swap: float, typo: float) -> date:
    draw = rng.random()
    if draw < swap and dob.day <= 12 and dob.day != dob.month:
        return date(dob.year, dob.day, dob.month)
    if draw < swap + typo:
        return dob.replace(year=dob.year + int(rng.choice([-1, 1]))) if dob.month != 2 else dob + timedelta(1)
    return dob


def record_copy(people: pd.DataFrame, seed: int, *, error: float = 1.0) -> pd.DataFrame:
    """One source's record of each person, with recording errors (``error`` scales every rate)."""
    rng = np.random.default_rng(seed)
    rows = []
    for person in people.itertuples(index=False):
        forename, surname, postcode = person.forename, person.surname, person.postcode
        if rng.random() < 0.06 * error and forename in VARIANTS:
            forename = VARIANTS[forename]
        if rng.random() < 0.05 * error:
            forename = _typo(rng, forename)
        if rng.random() < 0.05 * error:
            surname = _typo(rng, surname)
        if rng.random() < 0.03 * error:
            surname = f"{surname}-{SURNAMES[rng.integers(len(SURNAMES))]}"
        if rng.random() < 0.25 * error:  # moved: same district half the time
            postcode = _postcode(rng, postcode.split()[0] if rng.random() < 0.5 else None)
        rows.append(
            {
                "person_id": person.person_id,
                "forename": forename if rng.random() > 0.01 * error else None,
                "surname": surname,
                "dob": _noisy_dob(rng, person.dob, 0.03 * error, 0.02 * error),
                "sex": person.sex if rng.random() > 0.01 * error else "U",
                "postcode": postcode if rng.random() > 0.03 * error else None,
                "nhs_number": person.nhs_number,
                "upn": person.upn,
            }
        )
    out = pd.DataFrame(rows)
    out["dob"] = pd.to_datetime(out["dob"])
    return out


@pytest.fixture(scope="session")
def test_key() -> bytes:
    """A fixed 32-byte pseudonymisation key for tests (never a real key)."""
    return bytes(range(32))


@pytest.fixture(scope="session")
def noisy_people():
    """Factory: ``noisy_people(n, seed)`` -> true identities (see ``make_people``)."""
    return make_people


@pytest.fixture(scope="session")
def noisy_record_copy():
    """Factory: ``noisy_record_copy(people, seed, error=1.0)`` -> one source's noisy records."""
    return record_copy


def pseudonymise_people(records: pd.DataFrame, key: bytes) -> pd.DataFrame:
    """Token columns for clear records, via the same function pseudonymise uses."""
    from pipeline.privacy.match_keys import identity_match_keys

    fields = ["forename", "surname", "dob", "sex", "postcode", "nhs_number", "upn"]
    return identity_match_keys(records[[c for c in fields if c in records]], key)


def make_person_tables(
    people: pd.DataFrame, key: bytes, seed: int
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Pseudonymised person tables as the link stage reads them, and tokenised truth.

    Everyone is at school (two censuses; 5% changed UPN from a temporary one); 40% are known to
    social care (NHS number missing for 20%, UPN for 12%); 90% are in health; 30% in NCCIS.
    """
    from pipeline.privacy.tokens import make_tokens

    rng = np.random.default_rng(seed)
    groups = np.array(["White", "Asian", "Black", "Mixed", "Other"])
    ethnic = pd.Series(rng.choice(groups, len(people), p=[0.7, 0.12, 0.08, 0.07, 0.03]), index=people.index)
    truth = []

    def subset(share: float, salt: int) -> pd.DataFrame:
        picked = people[rng.random(len(people)) < share]
        return record_copy(picked, seed + salt)

    def tokens(records: pd.DataFrame, drop: tuple[str, ...] = ()) -> pd.DataFrame:
        out = pseudonymise_people(records.drop(columns=list(drop)), key)
        out["ethnicity_group"] = records["person_id"].map(ethnic.set_axis(people["person_id"])).to_numpy()
        out["lsoa_imd_decile"] = rng.integers(1, 11, len(records))
        return out

    school = subset(1.0, 1)
    temp = rng.random(len(school)) < 0.05
    school["former_upn"] = np.where(temp, "T" + school["upn"].str[1:], None)
    older = school[temp].assign(upn=lambda d: "T" + d["upn"].str[1:], former_upn=None)
    censuses = []
    for census_date, frame in ((pd.Timestamp("2024-01-18"), older), (pd.Timestamp("2025-01-16"), school)):
        tok = tokens(frame)
        tok["former_upn_tok"] = make_tokens(frame["former_upn"].astype("str"), "upn", key).to_numpy()
        tok["census_date"] = census_date
        censuses.append(tok)
        truth.append(
            pd.DataFrame({"source": "school", "record_key_tok": tok["upn_tok"], "person": frame["person_id"]})
        )
    school_pupil = pd.concat(censuses, ignore_index=True)

    csc = subset(0.4, 2)
    csc.loc[rng.random(len(csc)) < 0.2, "nhs_number"] = None
    csc.loc[rng.random(len(csc)) < 0.12, "upn"] = None
    csc_person = tokens(csc)
    csc_person["la_child_id_tok"] = make_tokens(
        pd.Series([f"C{i}" for i in range(len(csc))]), "la_child_id", key
    )
    truth.append(
        pd.DataFrame(
            {
                "source": "social_care",
                "record_key_tok": csc_person["la_child_id_tok"],
                "person": csc["person_id"].to_numpy(),
            }
        )
    )

    health = subset(0.9, 3)
    nhs_patient = tokens(health, drop=("upn",))
    nhs_patient["hes_id_tok"] = make_tokens(pd.Series([f"H{i}" for i in range(len(health))]), "hes_id", key)
    truth.append(
        pd.DataFrame(
            {
                "source": "health",
                "record_key_tok": nhs_patient["hes_id_tok"],
                "person": health["person_id"].to_numpy(),
            }
        )
    )

    nccis = subset(0.3, 4)
    nccis_activity = tokens(nccis, drop=("nhs_number",)).drop(columns=["ethnicity_group"])
    nccis_activity["ccis_id_tok"] = make_tokens(
        pd.Series([f"N{i}" for i in range(len(nccis))]), "ccis_id", key
    )
    nccis_activity["activity_start"] = pd.Timestamp("2025-09-01")
    truth.append(
        pd.DataFrame(
            {
                "source": "nccis",
                "record_key_tok": nccis_activity["ccis_id_tok"],
                "person": nccis["person_id"].to_numpy(),
            }
        )
    )

    tables = {
        "school_pupil": school_pupil.drop(columns=["nhs_number_tok"]),
        "csc_person": csc_person,
        "nhs_patient": nhs_patient,
        "nccis_activity": nccis_activity,
    }
    true_map = pd.concat(truth, ignore_index=True).rename(columns={"person": "true_person_id"})
    return tables, true_map.drop_duplicates(["source", "record_key_tok"]).astype("string")


@pytest.fixture(scope="session")
def person_tables(test_key):
    """(pseudonymised person tables, tokenised truth) for 300 noisy people."""
    return make_person_tables(make_people(300, seed=11), test_key, seed=12)

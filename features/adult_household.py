"""Adults' household inputs: who else is registered with a GP at the same address on the index date.

GP registrations carry RALF (NHS England's pseudonymised UPRN of the registered address, tokenised as
``ralf_tok``; ``pipeline.sources.gp``). People whose registrations carry the same token live at one address.
The ``household`` event domain re-keys what is known about the others at a person's address to that person,
as the ``family`` domain re-keys a parent's records to the child, so the point-in-time join and the leakage
perturbation treat it like the person's own history:

- ``self``: each of the person's registrations with a token, dated at its start; ``own_end`` is its end (the
  registration's end or the person's death, whichever is first);
- ``member``: each registration of someone else with the same token whose time there overlapped the person's,
  dated when both were registered (the later start); ``other_end`` is the other's end;
- ``death``: such a person died while both were registered there (GP date of death or ONS registration),
  dated at the death;
- ``carer``: such a person was coded by the GP as an unpaid carer, dated at the later of the first carer code
  and the date both were registered there.

Counts are made from the registrations themselves, not from the link stage's ``same_household`` links, which
skip addresses of more than ``MAX_PEOPLE_AT_ADDRESS`` people: those are the communal establishments (care
homes, hostels) one feature is about. On each index date only registrations begun before it and not ended
before it count (an end after it is not yet known: the leakage perturbation makes it open).

Known limit: a GP record holds only one address, the one on the record's last day (the extract date for an
open registration), so for an earlier index date a person who moved within one registration is placed at the
later address, which the leakage perturbation cannot see (the token carries no date). Someone who later moves
into a care home is then "at a communal address" years before: the features are declared ``never`` (kept for
audits, no spec can take them as inputs) until the GP feed dates its addresses (``docs/adult_models.md``,
"Household inputs"; :func:`household_events` reads one row per registration and address as it reads one per
registration).
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from features.feature import Feature
from features.person_lookup import keyed_by_person
from pipeline.linkage.family import MAX_PEOPLE_AT_ADDRESS

HOUSEHOLD_GROUP = HOUSEHOLD_DOMAIN = "adult_household"
HOUSEHOLD_TOKEN = "ralf_tok"
HOUSEHOLD_EVENT_COLUMNS = ("person_id", "event_date", "kind", "other_id", "own_end", "other_end")
SOURCE = "GP registrations (same address)"

# a registration (own or other) open on the index date: begun before it (the join's rule) and not ended before it
_OWN_OPEN = "(e.own_end IS NULL OR e.own_end >= c.index_date)"
_OTHER_OPEN = "(e.other_end IS NULL OR e.other_end >= c.index_date)"
_KNOWN = f"bool_or(e.kind = 'self' AND {_OWN_OPEN})"
_OTHERS = f"count(DISTINCT e.other_id) FILTER (WHERE e.kind = 'member' AND {_OWN_OPEN} AND {_OTHER_OPEN})"
_CAP = MAX_PEOPLE_AT_ADDRESS + 1  # more people than the links allow at one address: a communal establishment


def _feature(name: str, description: str, window: str, kind: str, sql: str, fill: float | None,
             **extra) -> Feature:
    # role never (audit only, fail closed): the address token is undated (module docstring), so no spec can make
    # these inputs until the GP feed dates its addresses
    return Feature(name, description, SOURCE, window, kind, "never", HOUSEHOLD_GROUP, HOUSEHOLD_DOMAIN, sql, fill,
                   **extra)


FEATURES: tuple[Feature, ...] = (
    _feature("household_size", f"People registered with a GP at the same address, the person included (capped at "
             f"{_CAP}: more is a care home or hostel); blank when the address is not known", "now", "numeric",
             f"CASE WHEN {_KNOWN} THEN least(1 + {_OTHERS}, {_CAP}) END", None),
    _feature("household_lives_alone", "No one else registered with a GP at the same address; blank when the "
             "address is not known", "now", "binary", f"CASE WHEN {_KNOWN} THEN CAST({_OTHERS} = 0 AS INTEGER) END",
             None),
    _feature("household_communal", f"More than {MAX_PEOPLE_AT_ADDRESS} people registered at the same address (a "
             "care home, hostel or other communal establishment); blank when the address is not known", "now",
             "binary", f"CASE WHEN {_KNOWN} THEN CAST({_OTHERS} >= {MAX_PEOPLE_AT_ADDRESS} AS INTEGER) END", None),
    _feature("household_carer", "Someone else at the same address is coded by the GP as an unpaid carer", "now",
             "binary", f"CAST(bool_or(e.kind = 'carer' AND {_OWN_OPEN} AND {_OTHER_OPEN}) AS INTEGER)", 0),
    _feature("household_bereaved_12m", "Someone registered at the same address died in the last 12 months",
             "12m", "binary", "CAST(bool_or(e.kind = 'death' AND e.event_date >= c.index_date - INTERVAL 12 MONTH) "
             "AS INTEGER)", 0),
)


def _dates(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values).astype("datetime64[ns]")


def household_events(registrations: pd.DataFrame, deaths: pd.DataFrame, gp_codes: pd.DataFrame) -> pd.DataFrame:
    """The ``adult_household`` event frame (``HOUSEHOLD_EVENT_COLUMNS``), keyed by the person it describes.

    Args:
        registrations: the ``gp_registration`` events (``person_id``, ``event_date``: registration start,
            ``registration_end``, ``death_date``, ``ralf_tok``; a record without a token gives nothing).
        deaths: the ``death`` events (``person_id``, ``event_date``: ONS date of death).
        gp_codes: the ``gp_code`` events (``person_id``, ``event_date``, ``carer``: 0/1).

    Returns:
        ``person_id``, ``event_date``, ``kind`` (self | member | death | carer), ``other_id`` (the other
        person; the person's own id on ``self`` rows), ``own_end``, ``other_end`` (NaT = still open).
    """
    if HOUSEHOLD_TOKEN not in registrations.columns:
        return empty_household_events()
    ons = deaths.assign(person_id=deaths["person_id"].astype("str")).groupby("person_id")["event_date"].min()
    regs = registrations.dropna(subset=[HOUSEHOLD_TOKEN, "event_date"])
    if regs.empty:
        return empty_household_events()
    person = regs["person_id"].astype("str")
    gp_death = _dates(regs["death_date"])
    died = pd.concat([gp_death, _dates(person.map(ons.to_dict()))], axis=1).min(axis=1)
    end = pd.concat([pd.to_datetime(regs["registration_end"]).astype("datetime64[ns]"), died], axis=1).min(axis=1)
    regs = pd.DataFrame({"person_id": person.to_numpy(), "token": regs[HOUSEHOLD_TOKEN].astype("str").to_numpy(),
                         "start": pd.to_datetime(regs["event_date"]).astype("datetime64[ns]").to_numpy(),
                         "end": end.to_numpy(), "died": died.to_numpy()})
    own = pd.DataFrame({"person_id": regs["person_id"], "event_date": regs["start"], "kind": "self",
                        "other_id": regs["person_id"], "own_end": regs["end"], "other_end": regs["end"]})
    pairs = regs.merge(regs, on="token", suffixes=("", "_o"))
    pairs = pairs[pairs["person_id"] != pairs["person_id_o"]]
    # both there at once: each began before the other's time there ended
    overlap = ((pairs["end"].isna() | (pairs["start_o"] <= pairs["end"]))
               & (pairs["end_o"].isna() | (pairs["start"] <= pairs["end_o"])))
    pairs = pairs[overlap]
    together = pairs[["start", "start_o"]].max(axis=1)
    member = pd.DataFrame({"person_id": pairs["person_id"], "event_date": together, "kind": "member",
                           "other_id": pairs["person_id_o"], "own_end": pairs["end"], "other_end": pairs["end_o"]})
    died = pairs["died_o"]
    at_death = died.notna() & (died >= together) & (pairs["end"].isna() | (pairs["end"] >= died))
    death = member[at_death.to_numpy()].assign(kind="death", event_date=died[at_death].to_numpy())
    carers = gp_codes[gp_codes["carer"] == 1].assign(person_id=lambda f: f["person_id"].astype("str"))
    first_coded = carers.groupby("person_id")["event_date"].min()
    coded = _dates(pairs["person_id_o"].map(first_coded.to_dict()))
    has = coded.notna()
    carer = member[has.to_numpy()].assign(kind="carer", event_date=pd.concat(
        [together[has], coded[has]], axis=1).max(axis=1).to_numpy())
    out = pd.concat([own, member, death, carer], ignore_index=True)
    return out[list(HOUSEHOLD_EVENT_COLUMNS)].astype({"person_id": "str", "kind": "str", "other_id": "str"})


def empty_household_events() -> pd.DataFrame:
    """A household event frame with no events."""
    dates, text = pd.Series([], dtype="datetime64[ns]"), pd.Series([], dtype="str")
    return pd.DataFrame({"person_id": text, "event_date": dates, "kind": text, "other_id": text, "own_end": dates,
                         "other_end": dates})


def with_household(events: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """``events`` with the ``adult_household`` domain (given the frames' ``person_key``), built from the
    ``gp_registration``, ``death`` and ``gp_code`` frames; empty when the project holds no GP registrations."""
    out = dict(events)
    if "gp_registration" in events:
        none = pd.DataFrame({"person_id": [], "event_date": pd.Series([], dtype="datetime64[ns]"), "carer": []})
        frame = household_events(events["gp_registration"], events.get("death", none), events.get("gp_code", none))
    else:
        frame = empty_household_events()
    out[HOUSEHOLD_DOMAIN] = keyed_by_person(frame, events["person"]["person_id"])
    return out

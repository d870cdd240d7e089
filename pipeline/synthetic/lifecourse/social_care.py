"""One year of children's social care: entry to care (with its true probability), referrals and what
follows them (assessments, section 47 enquiries, child protection plans), periods of care, early help.

Each function draws from ``rng`` in a fixed order and updates the ``History`` the next year reads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline.synthetic.lifecourse.calendar import DAY, random_dates
from pipeline.synthetic.lifecourse.cohort import Children, History, YearCohort
from pipeline.synthetic.lifecourse.risk import AGE_CARE, AGE_REFERRAL, age_term, sigmoid


@dataclass
class CareEntry:
    """Who enters care this year, and when (aligned to the cohort's ``idx``)."""

    enters: np.ndarray  # bool
    date: np.ndarray  # datetime64[D]; meaningful where ``enters``
    truth: pd.DataFrame  # person_id, index_date, p_true, p_state, outcome: the oracle for care entry


def care_entry_log_odds(
    cp_open: np.ndarray, cin_open: np.ndarray, prev_care: np.ndarray, recent: np.ndarray, need_static: np.ndarray,
    age: np.ndarray, care_group: np.ndarray,
) -> np.ndarray:
    """The yearly log-odds of entering care from the state on a date (the synthetic help scores from it too)."""
    return (
        -6.92
        + 2.2 * cp_open
        + 1.4 * cin_open
        + 1.3 * prev_care
        + 0.7 * recent
        + 0.75 * need_static
        + age_term(age, AGE_CARE)
        + care_group
    )


def decide_care_entry(
    rng: np.random.Generator, cohort: YearCohort, children: Children, history: History,
    risk_shift: np.ndarray | None = None,
) -> CareEntry:
    """Entry to care: the hazard is set by the state on 31 March of the previous year (the index date).

    Args:
        risk_shift: per child (person_id), added to the log-odds (the synthetic help's unobserved
            confounder); None adds nothing.

    The truth holds two probabilities per child: ``p_true``, the probability the entry is drawn with, and
    ``p_state``, the same log-odds without ``risk_shift``: what the child's state on the index date alone
    says. No record holds the confounder, so ``p_state`` is the best ranking a model of the records could
    reach; the two are equal when there is no shift.
    """
    idx, a, ys, ye = cohort.idx, cohort.age, cohort.start, cohort.end
    dob, arrive, leave = children.dob, children.arrive, children.leave
    known_at_index = (a >= 0) & (arrive[idx] <= ys - DAY)
    eligible = history.in_care_until[idx] <= ys
    cp_open = history.cp_until[idx] > ys
    cin_open = history.cin_until[idx] > ys
    recent = history.last_referral[idx] > ys - np.timedelta64(365, "D")
    lp_state = care_entry_log_odds(cp_open, cin_open, history.prev_care[idx], recent, cohort.need_static, a,
                                   children.care_group[idx])
    lp = lp_state if risk_shift is None else lp_state + risk_shift[idx]
    p_entry = np.where(eligible, sigmoid(lp), 0.0)
    p_state = p_entry if risk_shift is None else np.where(eligible, sigmoid(lp_state), 0.0)
    enters = rng.random(idx.size) < p_entry
    entry_date = np.maximum(random_dates(rng, ys, idx.size), dob[idx] + rng.integers(0, 20, idx.size))
    enters &= (entry_date < leave[idx]) & (entry_date < ye) & (entry_date < dob[idx] + np.timedelta64(6570, "D"))
    sel = known_at_index & (a < 18)
    truth = pd.DataFrame(
        {"person_id": idx[sel], "index_date": ys - DAY, "p_true": p_entry[sel], "p_state": p_state[sel],
         "outcome": enters[sel]}
    )
    return CareEntry(enters=enters, date=entry_date, truth=truth)


def simulate_referrals(
    rng: np.random.Generator, cohort: YearCohort, children: Children, history: History, entry: CareEntry,
    rate_factor: np.ndarray | None = None,
    keep: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray] | None = None,
) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """Referrals and what follows (CIN episodes, assessments, section 47, CP plans).

    Args:
        rate_factor: per child (person_id), multiplies the referral rate (the synthetic help's confounder).
        keep: ``keep(person_id, referral_date, forced)`` -> bool per referral drawn: False for one that help
            prevented (drawn from help's own stream, after every draw here, so the rest of the year is drawn
            as without it). None keeps all.

    Returns:
        (referrals: person_id, referral_id, referral_date, closure_date, nfa, assessment_start,
        assessment_auth, s47, dv, mh, sub, need, age, poverty; CP plans: person_id, referral_id,
        cpp_start, cpp_end), each None when there is none this year.
    """
    idx, a, ys, need = cohort.idx, cohort.age, cohort.start, cohort.need
    dob, enters, entry_date = children.dob, entry.enters, entry.date
    lam = np.exp(-3.5 + 0.85 * need + age_term(a, AGE_REFERRAL)) * children.bias[idx]
    if rate_factor is not None:
        lam = lam * rate_factor[idx]
    count = np.minimum(rng.poisson(lam), 3)
    count = np.where(enters & (count == 0), 1, count)
    r_child = np.repeat(np.arange(idx.size), count)
    k = r_child.size
    if not k:
        return None, None
    r_pid = idx[r_child]
    r_date = random_dates(rng, ys, k)
    first_of_child = np.r_[True, r_child[1:] != r_child[:-1]]
    forced = enters[r_child] & first_of_child
    # the referral that leads to an entry falls inside the outcome year, never before the index
    # date: the true probability (the oracle) is set at the index date and cannot know of it
    before_entry = entry_date[r_child] - rng.integers(5, 90, k).astype("timedelta64[D]")
    r_date = np.where(forced, np.maximum(before_entry, ys), r_date)
    r_date = np.maximum(r_date, dob[r_pid])
    r_need = need[r_child]
    nfa = (rng.random(k) < 0.32 * (1 - sigmoid(r_need - 1.5))) & ~forced
    ass_start = r_date + rng.integers(0, 10, k).astype("timedelta64[D]")
    ass_auth = ass_start + rng.integers(15, 45, k).astype("timedelta64[D]")
    s47 = ~nfa & (rng.random(k) < sigmoid(-2.0 + 0.8 * r_need + 1.5 * forced))
    cp = s47 & (rng.random(k) < 0.45)
    cp_start = r_date + rng.integers(15, 45, k).astype("timedelta64[D]")
    cp_len = np.exp(rng.normal(np.log(250), 0.6, k)).astype(int).astype("timedelta64[D]")
    cp_end = cp_start + cp_len
    services = ~nfa & (rng.random(k) < 0.55 + 0.3 * s47)
    closure = np.where(
        nfa,
        r_date + rng.integers(0, 7, k).astype("timedelta64[D]"),
        np.where(
            services,
            r_date + np.exp(rng.normal(np.log(270), 0.6, k)).astype(int).astype("timedelta64[D]"),
            ass_auth,
        ),
    )
    closure = np.where(cp, np.maximum(closure, cp_end + rng.integers(0, 90, k).astype("timedelta64[D]")), closure)
    if keep is not None:
        kept = keep(r_pid, r_date, forced)
        r_child, r_pid, r_date, r_need, nfa, ass_start, ass_auth, s47, cp, cp_start, cp_end, closure = (
            v[kept]
            for v in (r_child, r_pid, r_date, r_need, nfa, ass_start, ass_auth, s47, cp, cp_start, cp_end, closure)
        )
        k = r_child.size
        if not k:
            return None, None
    ids = np.arange(history.referrals_so_far, history.referrals_so_far + k)
    history.referrals_so_far += k
    adv = {name: v[r_child] for name, v in cohort.adversity.items()}
    referrals = pd.DataFrame(
        {
            "person_id": r_pid,
            "referral_id": ids,
            "referral_date": r_date,
            "closure_date": closure,
            "nfa": nfa,
            "assessment_start": ass_start,
            "assessment_auth": ass_auth,
            "s47": s47,
            "dv": adv["dv"],
            "mh": adv["mh"],
            "sub": adv["sub"],
            "need": r_need,
            "age": a[r_child],
            "poverty": cohort.poverty[r_child],
        }
    )
    plans = None
    if cp.any():
        plans = pd.DataFrame(
            {"person_id": r_pid[cp], "referral_id": ids[cp], "cpp_start": cp_start[cp], "cpp_end": cp_end[cp]}
        )
    np.maximum.at(history.cin_until, r_pid, closure)
    np.maximum.at(history.last_referral, r_pid, r_date)
    if cp.any():
        np.maximum.at(history.cp_until, r_pid[cp], cp_end[cp])
    return referrals, plans


def start_care_periods(
    rng: np.random.Generator, cohort: YearCohort, children: Children, history: History, entry: CareEntry
) -> pd.DataFrame | None:
    """Periods of care of the children entering care this year (lengths log-normal, ending by 18).

    Returns:
        person_id, start, end, aged_out; None when no child enters care.
    """
    e_idx = cohort.idx[entry.enters]
    if not e_idx.size:
        return None
    start = entry.date[entry.enters]
    years_in = np.exp(rng.normal(np.log(1.7), 1.1, e_idx.size))
    end = start + (years_in * 365.25).astype(int).astype("timedelta64[D]")
    eighteen = children.dob[e_idx] + np.timedelta64(6574, "D")
    end = np.minimum(end, eighteen)
    history.in_care_until[e_idx] = end
    history.prev_care[e_idx] = True
    np.maximum.at(history.cin_until, e_idx, end)
    return pd.DataFrame({"person_id": e_idx, "start": start, "end": end, "aged_out": end == eighteen})


def simulate_early_help(rng: np.random.Generator, cohort: YearCohort, children: Children) -> pd.DataFrame | None:
    """Early help episodes started this year.

    Returns:
        person_id, start, end, need; None when there is none.
    """
    idx, need = cohort.idx, cohort.need
    eh = rng.random(idx.size) < sigmoid(-4.4 + 0.8 * need) * np.sqrt(children.bias[idx])
    if not eh.any():
        return None
    s = np.maximum(random_dates(rng, cohort.start, int(eh.sum())), children.dob[idx[eh]])
    return pd.DataFrame(
        {
            "person_id": idx[eh],
            "start": s,
            "end": s + rng.integers(60, 330, int(eh.sum())).astype("timedelta64[D]"),
            "need": need[eh],
        }
    )

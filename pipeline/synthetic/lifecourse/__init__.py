"""Year-by-year life courses: the true events of every child, before any source records them.

The county is simulated one financial year (1 April – 31 March) at a time, vectorised over children.
Latent causes (household poverty; parental domestic violence, mental ill-health and substance misuse;
child SEN and health) drive referrals, assessments, child protection, care, early help, school
attendance and exclusions, hospital use and NEET status. The true probability of each modelled
outcome is kept for evaluation (the oracle); nothing here is visible to features except through the
records that the export modules write.

- ``simulate``: the year loop and the ``LifeCourse`` it returns.
- ``cohort``: each child's fixed traits, what years carry forward, one year's cohort and need.
- ``social_care``, ``schooling``, ``hospital``: one year of each kind of event.
- ``moves``: house moves within the county. ``risk`` and ``calendar``: what they share.
"""

from __future__ import annotations

from pipeline.synthetic.lifecourse.calendar import DAY, census_day, year_start, years_between
from pipeline.synthetic.lifecourse.moves import simulate_moves
from pipeline.synthetic.lifecourse.risk import sigmoid
from pipeline.synthetic.lifecourse.simulate import LifeCourse, simulate_lifecourse

__all__ = [
    "DAY",
    "LifeCourse",
    "census_day",
    "sigmoid",
    "simulate_lifecourse",
    "simulate_moves",
    "year_start",
    "years_between",
]

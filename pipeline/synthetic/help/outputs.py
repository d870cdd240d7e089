"""Everything help writes, composed for ``generate_county``: the planted recording break in the CIN census,
the council's event files, and the truth (scores, area panel, effects)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from pipeline.core.synth_params import SynthParams
from pipeline.synthetic.help.county import STREAM, HelpCounty
from pipeline.synthetic.help.effects import area_effects, offer_effects
from pipeline.synthetic.help.export import help_extracts
from pipeline.synthetic.help.recording import plant_factor_break
from pipeline.synthetic.help.truth import area_panel, score_rows


def cin_with_break(cfg: SynthParams, helped: HelpCounty, referrals: pd.DataFrame,
                   frames: dict[int, dict[str, pd.DataFrame]]) -> dict[int, dict[str, pd.DataFrame]]:
    """The CIN census frames with the planted recording break (its summary kept on ``helped``).

    Args:
        referrals: ``LifeCourse.referrals`` (referral_id = the CIN episode_id, person_id, assessment_start).
    """
    brk = cfg.help.recording_break
    ward = helped.wards.at(helped.children.hid[referrals["person_id"].to_numpy()],
                           referrals["assessment_start"].to_numpy())
    out, summary = plant_factor_break(
        np.random.default_rng([cfg.seed, STREAM, 3]), frames, pd.Series(ward, index=referrals["referral_id"]),
        helped.areas.break_ward, np.datetime64(brk.start, "D"), brk.code, brk.factor,
    )
    helped.break_summary = summary
    return out


def help_outputs(cfg: SynthParams, helped: HelpCounty, kids: pd.DataFrame, pupils: pd.DataFrame
                 ) -> Iterator[tuple[str, str, object]]:
    """Yield the interventions extracts, ``lsoa_ward.csv``, and the truth ``help/scores``, ``help/area`` and
    ``help/effects.json``."""
    reference = np.datetime64(cfg.reference_date)
    scores = score_rows(helped, reference)
    yield from help_extracts(cfg, helped, scores, kids, pupils)
    area = area_panel(helped, reference)
    plan, brk = helped.areas, cfg.help.recording_break
    kw = cfg.help.key_worker.model_dump(mode="json")
    effects = {
        "early_help_offer": offer_effects(scores, cfg.help, helped.capacity),
        "key_worker": area_effects(area, "key_worker", kw),
        "pilot": area_effects(area, "pilot", cfg.help.pilot.model_dump(mode="json")),
        "recording_break": {
            "ward_code": str(plan.codes[plan.break_ward]), "date": brk.start.isoformat(), "source": "social_care",
            "table": "cin_assessment", "field": "factors", "code": brk.code, "factor": brk.factor, "true_change": 0,
            **helped.break_summary,
        },
    }
    yield "truth", "help/scores", scores
    yield "truth", "help/area", area
    yield "json", "help/effects.json", effects

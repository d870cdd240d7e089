"""Which help works (``riskpipe impact``): what was done for whom, and what difference it made.

Events first: the interventions source (``pipeline/sources/interventions.py``) is ingested and
pseudonymised like every source; ``persons`` maps each event row to the person index and ``events``
turns the pseudonymised tables into typed frames (``events_io.load_events`` reads them). Estimators
take those frames: person-level designs (``aipw``, ``rd``, with ``balance``), area designs
(``staggered``, ``synthetic_control``, ``its``), each returning an ``estimate.Estimate``; ``costs``
values the effects; ``stage`` and ``io`` run it all and write the impact card (docs/impact.md).
"""

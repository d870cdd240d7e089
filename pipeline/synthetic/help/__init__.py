"""The help the synthetic county gives (issue #19, ``synth.help``): what was done, and what it changed.

- ``wards``: wards as groups of LSOAs and each household's ward on a date (``lsoa_ward.csv``).
- ``areas``: the key-worker waves, the pilot ward, the recording-break ward and their effects.
- ``lists``: one monthly list run: score, rank, list, override, offer, latent acceptance.
- ``county``: help's state and random stream inside the year loop; prevented entries and referrals.
- ``truth``: potential outcomes per child and run, per ward and quarter, and the realised effects.
- ``recording``: the planted recording break in the CIN census assessments.
- ``export``: the council's event files (data/raw/interventions/) and the truth (data/truth/help/).
"""

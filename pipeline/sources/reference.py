"""Reference lookups provided by the county (not personal data): postcode to LSOA, LSOA to IMD, LSOA to ward."""

from __future__ import annotations

from pipeline.privacy.actions import Privacy
from pipeline.sources.registry import Source
from pipeline.sources.spec import Column, Kind, TableSpec

P = Privacy

# Directory postcodes are places, not people: kept in clear so pseudonymise can look up LSOA and IMD.
POSTCODE_LSOA = TableSpec(
    name="postcode_lsoa",
    source="reference",
    description="ONS-style postcode directory extract: postcode to LSOA.",
    files="postcode_lsoa.csv",
    keys=("postcode",),
    columns=(
        Column("postcode", "postcode", row_required=True, validator="postcode", privacy=P.KEEP),
        Column("lsoa_code", "lsoa_code", row_required=True, privacy=P.KEEP),
    ),
)

LSOA_IMD = TableSpec(
    name="lsoa_imd",
    source="reference",
    description="Index of Multiple Deprivation decile per LSOA (1 = most deprived).",
    files="lsoa_imd.csv",
    keys=("lsoa_code",),
    columns=(
        Column("lsoa_code", "lsoa_code", row_required=True, privacy=P.KEEP),
        Column("imd_decile", "imd_decile", Kind.INT, valid_range=(1, 10), privacy=P.KEEP),
    ),
)

LSOA_WARD = TableSpec(
    name="lsoa_ward",
    source="reference",
    description="The ward each LSOA lies in: wards are the areas programmes roll out to (docs/contracts.md).",
    files="lsoa_ward.csv",
    keys=("lsoa_code",),
    optional=True,  # only the impact stage's area designs need it
    columns=(
        Column("lsoa_code", "lsoa_code", row_required=True, privacy=P.KEEP),
        Column("ward_code", "ward_code", row_required=True, privacy=P.KEEP),
        Column("ward_name", "ward_name", required=False, privacy=P.KEEP),
    ),
)

SOURCE = Source(
    name="reference",
    display_name="reference lookups",
    description="Places, not people: postcode to LSOA and LSOA to IMD decile, used to add deprivation; LSOA to ward.",
    order=90,
    raw_dir="data/raw/reference",
    tables=(POSTCODE_LSOA, LSOA_IMD, LSOA_WARD),
)

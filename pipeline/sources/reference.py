"""Reference lookups provided by the county (not personal data): postcode to LSOA, LSOA to IMD."""

from __future__ import annotations

from pipeline.sources.spec import Column, Kind, TableSpec

# Directory postcodes are places, not people: kept in clear so pseudonymise can look up LSOA and IMD.
POSTCODE_LSOA = TableSpec(
    name="postcode_lsoa",
    source="reference",
    description="ONS-style postcode directory extract: postcode to LSOA.",
    files="postcode_lsoa.csv",
    keys=("postcode",),
    columns=(
        Column("postcode", "postcode", row_required=True, validator="postcode"),
        Column("lsoa_code", "lsoa_code", row_required=True),
    ),
)

LSOA_IMD = TableSpec(
    name="lsoa_imd",
    source="reference",
    description="Index of Multiple Deprivation decile per LSOA (1 = most deprived).",
    files="lsoa_imd.csv",
    keys=("lsoa_code",),
    columns=(
        Column("lsoa_code", "lsoa_code", row_required=True),
        Column("imd_decile", "imd_decile", Kind.INT, valid_range=(1, 10)),
    ),
)

TABLES: list[TableSpec] = [POSTCODE_LSOA, LSOA_IMD]

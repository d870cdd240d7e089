"""Which DfE schema a CIN census year follows, and validation of a return against it.

Years up to 2024 follow ``CIN_schema_2024.xsd`` (``GenderCurrent`` 1/2/0/9); 2025 onwards follow
``CIN_schema_2026.xsd`` (``Sex`` M/F/U).
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from lxml import etree

XSD_DIR = Path(__file__).parents[2] / "sources" / "xsd"
FIRST_SEX_YEAR = 2025  # collection year from which the return carries Sex (M/F/U), not GenderCurrent
_IDENTIFYING = ("LAchildID", "UPN", "FormerUPN", "PersonBirthDate", "ExpectedPersonBirthDate",
                "PersonDeathDate")


def xsd_path(year: int) -> Path:
    """The schema a collection year's return must validate against."""
    return XSD_DIR / ("CIN_schema_2026.xsd" if year >= FIRST_SEX_YEAR else "CIN_schema_2024.xsd")


@lru_cache(maxsize=4)
def _schema(path: Path) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(path)))


def validate_cin_xml(xml: bytes, year: int) -> list[str]:
    """XSD validation errors of a CIN return as ``"line N: path: message"``; empty when valid.

    Values of identifying elements (LAchildID, UPNs, dates of birth and death) are redacted from
    the messages, so the list can be logged.
    """
    try:
        doc = etree.fromstring(xml, parser=etree.XMLParser(huge_tree=True))
    except etree.XMLSyntaxError as exc:
        return [f"line {exc.lineno}: not well-formed XML: {exc.msg}"]
    schema = _schema(xsd_path(year))
    if schema.validate(doc):
        return []
    errors = []
    for err in schema.error_log:
        message = err.message
        element = re.match(r"Element '(\w+)'", message)
        if element and element.group(1) in _IDENTIFYING:
            message = f"Element '{element.group(1)}': value not valid (value redacted)"
        errors.append(f"line {err.line}: {err.path}: {message}")
    return errors

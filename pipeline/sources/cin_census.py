"""CIN census XML: validate against the DfE schema for its year, flatten to four text tables.

Schema errors do not stop ingest: each is mapped to the row (Child, CINdetails, Assessments or
ChildProtectionPlans element) it sits in and carried in that row's ``_reader_flags`` as
``column:rule``, and listed with its line number (never its value) for the DQ report. What
parses is flattened; ``_source_row`` is the line on which the row's element starts.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pandas as pd
from lxml import etree

from pipeline.sources.errors import IngestError
from pipeline.sources.layout import collection_year_from_path

XSD_DIR = Path(__file__).parent / "xsd"
ROW_TAGS = {
    "ChildProtectionPlans": "cin_cp_plan",
    "Assessments": "cin_assessment",
    "CINdetails": "cin_episode",
    "Child": "cin_child",
}
CHILD_FIELDS = (
    "LAchildID",
    "UPN",
    "FormerUPN",
    "UPNunknown",
    "PersonBirthDate",
    "Ethnicity",
    "PersonDeathDate",
    "Sex",
)
EPISODE_FIELDS = (
    "CINreferralDate",
    "ReferralSource",
    "PrimaryNeedCode",
    "CINclosureDate",
    "ReasonForClosure",
)
COLUMNS = {
    "cin_child": CHILD_FIELDS,
    "cin_episode": ("LAchildID", *EPISODE_FIELDS),
    "cin_assessment": (
        "LAchildID",
        "CINreferralDate",
        "AssessmentActualStartDate",
        "AssessmentAuthorisationDate",
        "AssessmentFactors",
    ),
    "cin_cp_plan": (
        "LAchildID",
        "CINreferralDate",
        "CPPstartDate",
        "CPPendDate",
        "InitialCategoryOfAbuse",
        "LatestCategoryOfAbuse",
    ),
}


@cache
def cin_schema(year: int) -> etree.XMLSchema:
    """The DfE CIN schema for a collection year: 2024 schema to 2024, 2026 schema from 2025."""
    name = "CIN_schema_2024.xsd" if year <= 2024 else "CIN_schema_2026.xsd"
    return etree.XMLSchema(etree.parse(str(XSD_DIR / name)))


def cin_collection_year(tree: etree._ElementTree, file: str) -> int:
    """Collection year from ``Header/CollectionDetails/Year``, else from the file name."""
    text = tree.findtext("Header/CollectionDetails/Year")
    if text and text.strip().isdigit():
        return int(text.strip())
    year = collection_year_from_path(Path(file))
    if year is None:
        raise IngestError(
            file, "CIN census: no collection year in Header/CollectionDetails/Year or file name"
        )
    return year


def child_texts(parent) -> dict[str, str]:
    """Stripped text of each child element of ``parent`` by tag, first occurrence only, blanks left out.

    One pass over the children gives what ``parent.findtext(tag)`` gives for every tag, which matters
    because a census holds hundreds of thousands of elements and ``findtext`` searches per call.
    """
    texts: dict[str, str] = {}
    if parent is None:
        return texts
    for element in parent:
        if element.tag not in texts:
            texts[element.tag] = element.text.strip() if element.text else ""
    return {tag: text for tag, text in texts.items() if text}


def _row_element(element):
    """The nearest ancestor-or-self that is a row of one of the flattened tables."""
    for node in (element, *element.iterancestors()):
        if node.tag in ROW_TAGS:
            return node
    return None


def validate_cin(tree: etree._ElementTree, year: int) -> list[dict]:
    """Validate against the year's schema; one dict per error: line, element, rule, table, row.

    ``rule`` is the libxml2 error type (e.g. ``xsd_cvc_pattern_valid``); messages, which can quote
    values, are not kept.
    """
    schema = cin_schema(year)
    if schema.validate(tree):
        return []
    errors = []
    for err in schema.error_log:
        element = tree.xpath(err.path)[0] if err.path and tree.xpath(err.path) else None
        row = _row_element(element) if element is not None else None
        errors.append(
            {
                "line": err.line,
                "element": element.tag if element is not None else "",
                "rule": "xsd_" + err.type_name.lower().removeprefix("schemav_"),
                "table": ROW_TAGS[row.tag] if row is not None else "",
                "row": row.sourceline if row is not None else None,
            }
        )
    return errors


def flatten_cin(
    tree: etree._ElementTree, file: str, errors: list[dict] | None = None
) -> dict[str, pd.DataFrame]:
    """Flatten a CIN census document to text frames keyed by staged table name.

    Columns keep the XML element names (``GenderCurrent`` is read into ``Sex``); assessment
    factors are ';'-joined. Each frame has ``_source_file``, ``_source_row`` (line of the row's
    element) and ``_reader_flags`` (schema errors in that row, as ``element:rule``).
    """
    rows: dict[str, list[dict]] = {table: [] for table in COLUMNS}
    for child in tree.getroot().iterfind("Children/Child"):
        ids, chars = child.find("ChildIdentifiers"), child.find("ChildCharacteristics")
        id_texts, char_texts = child_texts(ids), child_texts(chars)
        la_id = id_texts.get("LAchildID")
        record = {f: id_texts.get(f) for f in CHILD_FIELDS}
        record.update(
            Ethnicity=char_texts.get("Ethnicity"), Sex=id_texts.get("Sex") or id_texts.get("GenderCurrent")
        )
        rows["cin_child"].append({**record, "_source_row": child.sourceline})
        for cin in child.iterfind("CINdetails"):
            cin_texts = child_texts(cin)
            referral = cin_texts.get("CINreferralDate")
            rows["cin_episode"].append(
                {
                    "LAchildID": la_id,
                    **{f: cin_texts.get(f) for f in EPISODE_FIELDS},
                    "_source_row": cin.sourceline,
                }
            )
            for ass in cin.iterfind("Assessments"):
                ass_texts = child_texts(ass)
                factors = [
                    f.text.strip()
                    for f in ass.iterfind("FactorsIdentifiedAtAssessment/AssessmentFactors")
                    if f.text and f.text.strip()
                ]
                rows["cin_assessment"].append(
                    {
                        "LAchildID": la_id,
                        "CINreferralDate": referral,
                        "AssessmentActualStartDate": ass_texts.get("AssessmentActualStartDate"),
                        "AssessmentAuthorisationDate": ass_texts.get("AssessmentAuthorisationDate"),
                        "AssessmentFactors": ";".join(factors) or None,
                        "_source_row": ass.sourceline,
                    }
                )
            for cpp in cin.iterfind("ChildProtectionPlans"):
                cpp_texts = child_texts(cpp)
                rows["cin_cp_plan"].append(
                    {
                        "LAchildID": la_id,
                        "CINreferralDate": referral,
                        **{f: cpp_texts.get(f) for f in COLUMNS["cin_cp_plan"][2:]},
                        "_source_row": cpp.sourceline,
                    }
                )
    flags = pd.DataFrame(errors or [], columns=["line", "element", "rule", "table", "row"])
    frames = {}
    for table, records in rows.items():
        frame = pd.DataFrame(records, columns=[*COLUMNS[table], "_source_row"]).astype(
            {c: "str" for c in COLUMNS[table]}
        )
        mine = flags[flags["table"] == table]
        joined = (
            (mine["element"] + ":" + mine["rule"])
            .groupby(mine["row"])
            .agg(lambda s: ";".join(sorted(set(s))))
        )
        frame["_reader_flags"] = frame["_source_row"].map(joined).astype("str")
        frame["_source_row"] = frame["_source_row"].astype("int64")
        frames[table] = frame.assign(_source_file=file)
    return frames

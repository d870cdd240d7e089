"""CIN census and SSDA903 XML: DTDs and entities refused with a clear message, broken files named by line."""

from __future__ import annotations

import time

import pytest

from pipeline.ingest.cells import MAX_CELL_CHARS
from pipeline.sources.errors import IngestError

CIN = "cin_census/cin_2025.xml"
DTDS = {
    "harmless internal entity": '<!DOCTYPE Message [<!ENTITY la "201">]>\n',
    "external entity": '<!DOCTYPE Message [<!ENTITY pw SYSTEM "file:///etc/passwd">]>\n',
    "billion laughs": '<!DOCTYPE Message [<!ENTITY a "aaaaaaaaaa">'
    + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(9))
    + "]>\n",
    "external DTD": '<!DOCTYPE Message SYSTEM "http://example.invalid/cin.dtd">\n',
}


@pytest.mark.parametrize("prolog", DTDS.values(), ids=DTDS.keys())
def test_cin_xml_with_a_dtd_is_refused_naming_line(ingest_file, raw, prolog):
    xml = raw.cin_xml(prolog).replace("<LEA>201</LEA>", "<LEA>&la;</LEA>" if "la " in prolog else "<LEA>201</LEA>")
    started = time.monotonic()
    with pytest.raises(IngestError, match=r"cin_2025.xml: line 2, column 1: <!DOCTYPE declaration refused"):
        ingest_file("cin_child", xml, rel=CIN)
    assert time.monotonic() - started < 5  # refused before any expansion


def test_entity_declaration_without_doctype_is_refused(ingest_file, raw):
    with pytest.raises(IngestError, match=r"cin_2025.xml: line 2, column 1: <!ENTITY declaration refused"):
        ingest_file("cin_child", raw.cin_xml('<!ENTITY x "y">\n'), rel=CIN)


def test_ssda903_xml_with_a_dtd_is_refused(ingest_file):
    xml = '<?xml version="1.0"?>\n<!DOCTYPE EXPSSDA903 [<!ENTITY x "1">]>\n<EXPSSDA903></EXPSSDA903>\n'
    with pytest.raises(IngestError, match=r"ssda903/2024/return.xml: line 2, column 1: <!DOCTYPE declaration refused"):
        ingest_file("cla_header", xml, rel="ssda903/2024/return.xml")


def test_truncated_cin_xml_names_line_and_column(ingest_file, raw):
    xml = raw.cin_xml()
    with pytest.raises(IngestError, match=r"cin_2025.xml: malformed or truncated XML at line \d+, column \d+"):
        ingest_file("cin_child", xml[: xml.index("<CINdetails>")], rel=CIN)


def test_nul_byte_in_xml_is_malformed(ingest_file, raw):
    xml = raw.cin_xml().replace("<Sex>F</Sex>", "<Sex>F\x00</Sex>")
    with pytest.raises(IngestError, match=r"cin_2025.xml: malformed or truncated XML at line 7"):
        ingest_file("cin_child", xml, rel=CIN)


def test_empty_xml_file(ingest_file):
    with pytest.raises(IngestError, match=r"cin_2025.xml: empty file"):
        ingest_file("cin_child", b"  \n", rel=CIN)


def test_xml_of_another_kind(ingest_file):
    with pytest.raises(IngestError, match=r"wrong schema: root element <Other>"):
        ingest_file("cin_child", "<Other/>", rel=CIN)


def test_absurd_element_text_quarantines_the_child(ingest_file, raw):
    xml = raw.cin_xml().replace("<LAchildID>K1</LAchildID>", f"<LAchildID>{'K' * (MAX_CELL_CHARS + 1)}</LAchildID>")
    got = ingest_file("cin_child", xml, rel=CIN)
    assert list(got.quarantined["reasons"]) == ["field_too_long_in_la_child_id"]
    assert list(got.quarantined["_source_row"]) == [6]  # the line where <Child> starts


def test_stray_bom_inside_an_xml_element_is_removed(ingest_file, raw):
    got = ingest_file("cin_child", raw.cin_xml(child="\ufeffK1"), rel=CIN)
    assert list(got.accepted["la_child_id"]) == ["K1"]
    assert "stray_bom" in got.accepted.loc[0, "_flags"]


def test_entity_used_in_a_child_field_is_refused_not_a_schema_crash(ingest_file, raw):
    xml = raw.cin_xml('<!DOCTYPE Message [<!ENTITY sx "F">]>\n').replace("<Sex>F</Sex>", "<Sex>&sx;</Sex>")
    with pytest.raises(IngestError, match=r"cin_2025.xml: line 2, column 1: <!DOCTYPE declaration refused"):
        ingest_file("cin_child", xml, rel=CIN)

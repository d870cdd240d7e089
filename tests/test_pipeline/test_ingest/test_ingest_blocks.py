"""A large extract read in row blocks (and in parts) ingests exactly as if read whole: same rows, real lines,
same quarantine, reconciliation exact per file and per table, same file-level errors."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from pipeline.core import io
from pipeline.ingest.csv_blocks import last_record_end, record_blocks
from pipeline.ingest.files import read_table_frames, table_blocks
from pipeline.ingest.seen_rows import SeenHashes
from pipeline.ingest.tables import IngestError, TableIngest, ingest_table
from pipeline.sources.registry import all_tables

SPEC = all_tables()["csc_person"]
EXTRACT = date(2026, 3, 31)
HEADER = "LAchildID,Forename,Surname,DOB,Sex,NHSNumber,UPN,Postcode,Ethnicity"
BLOCK = 1500  # bytes: a few dozen records a block


def record(i: int, **change: str) -> str:
    values = {"LAchildID": f"C{i}", "Forename": "Amy", "Surname": "Lee", "DOB": "01/02/2015", "Sex": "F",
              "NHSNumber": "", "UPN": "", "Postcode": "AB1 2CD", "Ethnicity": "WBRI", **change}
    return ",".join(values.values())


def county_file(n: int, special: dict[int, str]) -> tuple[str, dict[int, int]]:
    """CSV text of ``n`` records (CRLF), ``special`` replacing some; returns it and each record's real line."""
    lines, at, physical = [HEADER], {}, 2
    for i in range(n):
        if i == 5:
            lines.append("")  # a blank line: lines after it still count it
            physical += 1
        at[i] = physical
        lines.append(special.get(i, record(i)))
        physical += 1 + lines[-1].count("\n")
    return "\r\n".join(lines) + "\r\n", at


def ingest_whole(files: list[Path], raw: Path):
    return ingest_table(read_table_frames(SPEC, files, raw), SPEC, EXTRACT)


def ingest_in_blocks(files: list[Path], raw: Path, block_bytes: int = BLOCK):
    run = TableIngest(SPEC, EXTRACT)
    parts = [run.add(frames) for frames in table_blocks(SPEC, files, raw, block_bytes=block_bytes)]
    accepted = pd.concat([a for a, _ in parts], ignore_index=True)
    quarantined = pd.concat([q for _, q in parts], ignore_index=True)
    return accepted, quarantined, run.finish(), len(parts)


SPECIAL = {
    40: record(40, DOB="31/02/2015"),  # impossible date of birth, in a later block
    41: record(41, Forename='"Amy\r\nJane"'),  # a quoted value over two lines: one record, two lines
    90: record(3),  # exact duplicate of a row of the first block
    120: record(120, LAchildID="C7", Surname="Other"),  # repeats the key of a first-block row
}


def test_blocks_give_the_whole_file_outcome_with_real_lines(tmp_path):
    text, line = county_file(160, SPECIAL)
    path = tmp_path / "csc_person.csv"
    path.write_bytes(text.encode())
    whole = ingest_whole([path], tmp_path)
    accepted, quarantined, report, blocks = ingest_in_blocks([path], tmp_path)

    assert blocks > 3
    pd.testing.assert_frame_equal(accepted, whole.accepted)
    pd.testing.assert_frame_equal(quarantined, whole.quarantined)
    assert report == whole.report
    assert report["rows_read"] == 160 == report["rows_accepted"] + report["rows_quarantined"]
    assert report["files"][0]["rows"] == 160
    by_reason = dict(zip(quarantined["reasons"], quarantined["_source_row"], strict=True))
    # the quoted value spans two lines, so every record after it sits one line further down
    assert by_reason == {"unparseable_dob": line[40], "duplicate_row": line[90], "duplicate_key": line[120]}
    assert line[90] == 90 + 2 + 2  # after the header, a blank line and the quoted value's second line
    assert accepted.loc[accepted["la_child_id"] == "C42", "_source_row"].item() == line[42]


def test_parts_of_one_extract_number_lines_per_part_and_find_duplicates_across_them(tmp_path):
    first, _ = county_file(60, {})
    second, line = county_file(60, {30: record(30, DOB="31/02/2015"), 50: record(50, LAchildID="C2")})
    paths = [tmp_path / "csc_person_part1.csv", tmp_path / "csc_person_part2.csv"]
    for path, text in zip(paths, [first, second.replace("C", "D")], strict=True):
        path.write_bytes(text.encode())
    paths[1].write_bytes(paths[1].read_bytes().replace(b"D2,", b"C2,", 1))  # D2's key is C2: part 1's
    whole = ingest_whole(paths, tmp_path)
    accepted, quarantined, report, blocks = ingest_in_blocks(paths, tmp_path)

    assert blocks > 2
    pd.testing.assert_frame_equal(quarantined, whole.quarantined)
    pd.testing.assert_frame_equal(accepted, whole.accepted)
    assert report == whole.report
    got = quarantined.set_index("reasons")[["_source_file", "_source_row"]].to_dict("index")
    assert got["unparseable_dob"] == {"_source_file": "csc_person_part2.csv", "_source_row": line[30]}
    assert got["duplicate_key"]["_source_file"] == "csc_person_part2.csv"
    assert [f["rows"] for f in report["files"]] == [60, 60]
    assert report["rows_read"] == 120 == len(accepted) + len(quarantined)


def test_us_dates_spread_over_blocks_are_judged_over_the_whole_file(tmp_path):
    # one US date in every 8th record: no block holds enough to decide, the file does (over 10%)
    special = {i: record(i, DOB="12/25/2015") for i in range(0, 200, 8)}
    text, line = county_file(200, special)
    path = tmp_path / "csc_person.csv"
    path.write_bytes(text.encode())
    with pytest.raises(IngestError) as whole:
        ingest_whole([path], tmp_path)
    with pytest.raises(IngestError) as blocks:
        ingest_in_blocks([path], tmp_path, block_bytes=600)
    assert str(blocks.value) == str(whole.value)
    assert f"first at line {line[0]}" in str(blocks.value)


def test_a_too_wide_row_in_a_later_block_names_its_real_line(tmp_path):
    text, line = county_file(120, {100: record(100) + ",extra"})
    path = tmp_path / "csc_person.csv"
    path.write_bytes(text.encode())
    with pytest.raises(IngestError, match=rf"csc_person.csv: malformed CSV \(line {line[100]}:"):
        ingest_in_blocks([path], tmp_path)
    with pytest.raises(IngestError, match=rf"line {line[100]}:"):
        ingest_whole([path], tmp_path)


def test_a_cp1252_file_is_read_whole_with_the_same_outcome(tmp_path):
    text, _ = county_file(100, {70: record(70, Forename="Zoë")})
    path = tmp_path / "csc_person.csv"
    path.write_bytes(text.encode("cp1252"))
    whole = ingest_whole([path], tmp_path)
    accepted, quarantined, report, blocks = ingest_in_blocks([path], tmp_path)
    assert blocks == 1 and report == whole.report and report["files"][0]["encoding"] == "cp1252"
    pd.testing.assert_frame_equal(accepted, whole.accepted)


def test_record_blocks_never_cut_a_quoted_value_and_keep_every_byte(tmp_path):
    text = HEADER + "\n" + "".join(f'C{i},"a\nb",x\n' for i in range(300)) + "C300,last,x"
    path = tmp_path / "f.csv"
    path.write_bytes(text.encode())
    blocks = list(record_blocks(path, skip_bom=False, block_bytes=100))
    assert b"".join(b for b, _ in blocks) == text.encode()
    for data, _ in blocks[:-1]:
        assert data.endswith(b",x\n") and last_record_end(data) == len(data)
    assert [before for _, before in blocks] == [sum(b.count(b"\n") for b, _ in blocks[:i]) for i in range(len(blocks))]


def test_seen_hashes_remember_every_earlier_block():
    import numpy as np

    seen = SeenHashes()
    for start in range(0, 1000, 100):
        block = np.arange(start, start + 100, dtype=np.uint64) * np.uint64(7919)
        assert not seen.met(block).any()
        seen.add(block)
    asked = np.array([0, 7919 * 999, 5, 7919 * 1000], dtype=np.uint64)
    assert seen.met(asked).tolist() == [True, True, False, False]


def test_parquet_written_in_parts_reads_back_as_the_whole(tmp_path):
    parts = [pd.DataFrame({"a": ["x", "y"], "b": [1, 2]}), pd.DataFrame({"a": [None, None], "b": [3, 4]})]
    path = io.write_parquet_parts(iter(parts), tmp_path / "t.parquet")
    pd.testing.assert_frame_equal(io.read_parquet(path), pd.concat(parts, ignore_index=True).astype({"a": "str"}))

"""Cut a large CSV extract into blocks of whole records, so ingest holds a bounded part of it at a time.

A block ends just after a newline that lies outside any quoted field (an even number of ``"`` before it
in the block), so a record holding a multi-line quoted value is never split, and each block carries the
number of lines before it: the reader (``pipeline.sources.readers.read_csv_text``) gets the header line
followed by the block and numbers every record by its real line in the file. Only UTF-8 files (with or
without a byte-order mark) are cut: UTF-8 is checked block by block first, and any other file (cp1252,
UTF-16, mixed) is decoded whole by ``pipeline.sources.encoding.decode_bytes`` as before, which names the
line of a bad byte. Bytes are read here only; the caller owns the file's name and errors.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from pipeline.sources.encoding import evidence_in_words

BLOCK_BYTES = 16 << 20  # ~16 MB of text a block: 100,000-250,000 records, a few hundred MB once typed
UTF8_BOM = b"\xef\xbb\xbf"


def utf8_encoding(path: Path, block_bytes: int = BLOCK_BYTES) -> tuple[str, str] | None:
    """``("utf-8" or "utf-8-sig", evidence in words)`` when all of ``path`` is UTF-8, read block by block;
    None for any other file (which is then decoded whole, so its evidence or error is decode_bytes')."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    high = 0
    with path.open("rb") as fh:
        head = fh.read(3)
        if head.startswith((b"\xff\xfe", b"\xfe\xff")):
            return None
        bom = head == UTF8_BOM
        chunk = b"" if bom else head
        while True:
            more = fh.read(block_bytes)
            chunk += more
            try:
                decoder.decode(chunk, final=not more)
            except UnicodeDecodeError:
                return None
            high += len(chunk.translate(None, bytes(range(128))))
            if not more:
                break
            chunk = b""
    encoding = "utf-8-sig" if bom else "utf-8"
    return encoding, ("UTF-8 byte-order mark" if bom else evidence_in_words(encoding, high))


def last_record_end(data: bytes) -> int:
    """Offset just after the last newline of ``data`` outside quotes (0 when there is none)."""
    arr = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(arr == ord("\n"))
    if not len(newlines):
        return 0
    quotes = np.flatnonzero(arr == ord('"'))
    outside = newlines[np.searchsorted(quotes, newlines) % 2 == 0]
    return int(outside[-1]) + 1 if len(outside) else 0


def record_blocks(path: Path, *, skip_bom: bool, block_bytes: int = BLOCK_BYTES) -> Iterator[tuple[bytes, int]]:
    """``(bytes, lines before)`` for consecutive blocks of whole records of ``path``, about ``block_bytes``
    each (a record longer than that makes its block longer; the last block may end without a newline).
    ``lines before`` counts the newlines before the block, so its first line is ``lines before + 1``."""
    lines_before, carry = 0, b""
    with path.open("rb") as fh:
        if skip_bom:
            fh.read(len(UTF8_BOM))
        while True:
            more = fh.read(block_bytes)
            data = carry + more if carry else more
            if not more:
                if data:
                    yield data, lines_before
                return
            cut = last_record_end(data)
            if cut == 0:  # no record ends in it yet (a quoted value longer than a block): read on
                carry = data
                continue
            yield data[:cut], lines_before
            lines_before += data.count(b"\n", 0, cut)
            carry = data[cut:]

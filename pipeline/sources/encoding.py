"""Decide each raw file's text encoding on evidence, and say what the evidence was.

Councils export UTF-8 (with or without a byte-order mark), cp1252 and now and then UTF-16. The choice is
made per file: a BOM decides; else a file that is valid UTF-8 is UTF-8; else a file with no UTF-8
character in it is cp1252. A file holding both (valid UTF-8 letters and bytes that are not UTF-8) is
refused, naming the line and column of the first bad byte, rather than guessed.
"""

from __future__ import annotations

import re

from pipeline.sources.errors import IngestError

# a valid UTF-8 character from U+00C0 up (accented letters and beyond) among the bytes: evidence that a
# file failing UTF-8 is mixed, not cp1252. Characters below U+00C0 are left out: their UTF-8 form (C2 xx)
# is "Â" before a symbol in cp1252, which a real cp1252 file can hold; "Ã©" (C3 A9) it practically never does.
_LETTER_OR_BEYOND = re.compile("[\u00c0-\U0010ffff]")


def _holds_utf8_letters(data: bytes) -> bool:
    return _LETTER_OR_BEYOND.search(data.decode("utf-8", errors="ignore")) is not None


def decode_bytes(data: bytes, file: str) -> tuple[str, str]:
    """Decode an extract: BOM -> utf-8-sig (or utf-16); else UTF-8; else cp1252. Returns (text, encoding).

    The choice is made per file on evidence (:func:`encoding_evidence` says which): a file that is
    valid UTF-8 except for some bytes is refused rather than guessed, because decoding all of it as
    cp1252 turns every real UTF-8 character into two (``Chloé`` -> ``ChloÃ©``) and the same child's
    tokens no longer match elsewhere.

    Raises:
        IngestError: the file is empty, is not text in any of those encodings, or mixes UTF-8 with
            bytes that are not UTF-8 (message gives the line and column of the first such byte).
    """
    # the BOM is a prefix, not a set of bytes: a cp1252 file holding only "»" is not empty
    body = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    if not body.strip(b" \t\r\n\x00"):
        raise IngestError(file, "empty file")
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            line, col = line_and_column(data, exc.start + 3)
            raise IngestError(file, f"has a UTF-8 byte-order mark but line {line}, column {col} is not UTF-8") from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = _as_utf16(data)
        if text is not None:
            return text, "utf-16"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        if _holds_utf8_letters(data):
            line, col = line_and_column(data, exc.start)
            raise IngestError(
                file,
                f"mixed encoding: line {line}, column {col} is not UTF-8 but the file also holds UTF-8 "
                "characters; refused rather than guessed (re-export the whole file as UTF-8)",
            ) from None
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError as exc:
        line, col = line_and_column(data, exc.start)
        raise IngestError(file, f"undecodable: line {line}, column {col} is neither UTF-8 nor cp1252") from None


def line_and_column(data: bytes, offset: int) -> tuple[int, int]:
    """1-based line and column (in bytes) of ``offset`` in ``data``."""
    line_start = data.rfind(b"\n", 0, offset) + 1
    return data.count(b"\n", 0, offset) + 1, offset - line_start + 1


def encoding_evidence(data: bytes, encoding: str) -> str:
    """Why :func:`decode_bytes` chose ``encoding`` for ``data``, in words for the report."""
    return evidence_in_words(encoding, len(data.translate(None, bytes(range(128)))))


def evidence_in_words(encoding: str, high: int) -> str:
    """:func:`encoding_evidence` from the count of bytes above 127 (a file read in blocks counts them so)."""
    if encoding == "utf-8-sig":
        return "UTF-8 byte-order mark"
    if encoding == "utf-16":
        return "UTF-16 byte-order mark"
    if encoding == "utf-8":
        return "valid UTF-8" + (f" ({high} bytes in multi-byte characters)" if high else " (ASCII only)")
    return f"not UTF-8: {high} bytes above 127, none forming a UTF-8 character"


def _as_utf16(data: bytes) -> str | None:
    """The text of a file starting with a UTF-16 byte-order mark, or None when it is not UTF-16.

    A cp1252 file may itself start with "ÿþ" or "þÿ" (the same two bytes); a real UTF-16 extract has
    a body of whole code units, most of them Latin-1 (delimiters, digits and headers are).
    """
    body = data[2:]
    if not body or len(body) % 2:
        return None
    try:
        text = data.decode("utf-16")
    except UnicodeDecodeError:
        return None
    return text if sum(ch < "\u0100" for ch in text) * 2 >= len(text) else None

"""Hash-chained logs: an intact chain verifies; any edit, insertion, removal or reordering does not."""

from __future__ import annotations

import hashlib
import json

import pytest

from ethics.ledger import GENESIS_HASH, canonical_json, chain_entry, verify_chain


def _log(n: int = 4) -> list[str]:
    lines, prev = [], GENESIS_HASH
    for i in range(n):
        entry = chain_entry({"event": "risk_list_issued", "rows": i, "list_sha256": f"{i:064x}"}, prev)
        lines.append(canonical_json(entry))
        prev = entry["hash"]
    return lines


def test_intact_chain_verifies_and_hash_is_sha256_of_the_other_fields():
    lines = _log()
    check = verify_chain(lines)
    assert check.ok and check.entries == 4
    first = json.loads(lines[0])
    body = {k: v for k, v in first.items() if k != "hash"}
    expected = hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    assert first["hash"] == expected and first["prev_hash"] == GENESIS_HASH


@pytest.mark.parametrize("tamper", ["edit", "delete", "swap", "insert", "rehash_edit"])
def test_tampering_is_detected(tamper):
    lines = _log()
    if tamper == "edit":
        lines[1] = lines[1].replace('"rows":1', '"rows":100')
    elif tamper == "delete":
        del lines[1]
    elif tamper == "swap":
        lines[1], lines[2] = lines[2], lines[1]
    elif tamper == "insert":
        lines.insert(2, lines[0])
    else:  # an editor who recomputes the edited line's own hash still breaks the next line's link
        entry = json.loads(lines[1])
        entry["rows"] = 100
        lines[1] = canonical_json(chain_entry({k: v for k, v in entry.items() if k not in ("hash", "prev_hash")},
                                              entry["prev_hash"]))
    check = verify_chain(lines)
    assert not check.ok and check.problems


def test_chain_entry_refuses_chain_fields():
    with pytest.raises(ValueError):
        chain_entry({"hash": "x"}, GENESIS_HASH)

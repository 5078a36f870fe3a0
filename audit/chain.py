"""The hash chain: each entry's hash covers its content and its predecessor's hash."""

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from audit.models import AuditEntry

GENESIS_HASH = "0" * 64
HASHED_FIELDS = (
    "sequence",
    "created_at",
    "action",
    "phase",
    "outcome",
    "attempt_sequence",
    "actor_id",
    "actor_label",
    "team_id",
    "team_label",
    "target_kind",
    "target_id",
    "device_id",
    "summary",
    "asked",
    "answered",
    "ip_address",
    "user_agent",
)


def canonical_content(entry: AuditEntry) -> str:
    content: dict[str, Any] = {name: getattr(entry, name) for name in HASHED_FIELDS}
    content["created_at"] = entry.created_at.isoformat()
    return json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)


def entry_hash(entry: AuditEntry, previous_hash: str) -> str:
    digest = hashlib.sha256()
    digest.update(previous_hash.encode())
    digest.update(canonical_content(entry).encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class BrokenLink:
    sequence: int
    reason: str


def first_broken_link(
    entries: Iterable[AuditEntry], *, head_sequence: int, head_hash: str
) -> BrokenLink | None:
    """Walk the entries in sequence order and report the first that does not chain.

    An edited entry no longer matches its own hash; a deleted one leaves a gap and a
    successor whose previous hash does not match; reordered content breaks both. The chain
    head catches entries deleted from the end.
    """
    expected_previous = GENESIS_HASH
    expected_sequence = 1
    for entry in entries:
        if entry.sequence != expected_sequence:
            return BrokenLink(expected_sequence, f"entry #{expected_sequence} is missing")
        if entry.previous_hash != expected_previous:
            return BrokenLink(entry.sequence, "its link to the previous entry does not match")
        if entry_hash(entry, entry.previous_hash) != entry.entry_hash:
            return BrokenLink(entry.sequence, "its content does not match its hash")
        expected_previous = entry.entry_hash
        expected_sequence += 1
    if expected_sequence - 1 != head_sequence or expected_previous != head_hash:
        return BrokenLink(
            expected_sequence,
            f"the chain ends at #{expected_sequence - 1}, not at #{head_sequence}",
        )
    return None

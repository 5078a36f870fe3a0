"""The hash chain: each entry's hash covers its content and its predecessor's hash.

Two schemes, named per entry by its `key_id`:

- keyed (a key id): HMAC-SHA256 under the AUDIT_CHAIN_KEYS key with that id. Without the key
  nobody can compute a hash that verifies, so a rewritten trail cannot be re-chained.
- unkeyed (no key id): plain SHA-256, as every entry was hashed before keyed hashing began.
  Those entries keep verifying as they were written; they are never rewritten.

Unkeyed entries are only accepted as a prefix of the chain, and (once keys are configured)
only when something nobody can forge without the key follows them: a keyed entry, whose
hash covers its predecessor's and so the whole prefix, or an anchor kept outside the
database. Otherwise rewriting the whole trail with plain SHA-256 would pass for history.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from audit.keys import ChainKey
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
ANCHOR_PATTERN = re.compile(r"(?P<sequence>\d+):(?P<hash>[0-9a-f]{64})")


def canonical_content(entry: AuditEntry) -> str:
    content: dict[str, Any] = {name: getattr(entry, name) for name in HASHED_FIELDS}
    content["created_at"] = entry.created_at.isoformat()
    return json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)


def entry_hash(entry: AuditEntry, previous_hash: str, key: ChainKey | None = None) -> str:
    """The entry's hash under `key`, or under plain SHA-256 (the unkeyed scheme) without one."""
    message = previous_hash.encode() + canonical_content(entry).encode()
    if key is None:
        return hashlib.sha256(message).hexdigest()
    return hmac.new(key.secret, message, hashlib.sha256).hexdigest()


def seal(entry: AuditEntry, key: ChainKey | None) -> None:
    """Set the entry's key id and hash, chaining it to its `previous_hash`."""
    entry.key_id = key.id if key is not None else ""
    entry.entry_hash = entry_hash(entry, entry.previous_hash, key)


@dataclass(frozen=True)
class Anchor:
    """A point of the chain (the head at some time) kept outside the database."""

    sequence: int
    hash: str

    @classmethod
    def parse(cls, text: str) -> Anchor:
        match = ANCHOR_PATTERN.fullmatch(text.strip())
        if match is None:
            raise ValueError(
                f"{text.strip()!r} is not an anchor: expected SEQUENCE:HASH, the hash in "
                "64 lower-case hexadecimal digits"
            )
        return cls(int(match["sequence"]), match["hash"])

    def __str__(self) -> str:
        return f"{self.sequence}:{self.hash}"


@dataclass(frozen=True)
class BrokenLink:
    sequence: int
    reason: str


@dataclass(frozen=True)
class ChainVerification:
    broken: BrokenLink | None
    # The entries that chain correctly (all of them when nothing is broken).
    entries: int
    # How many of the first entries are hashed without a key.
    unkeyed: int
    # The highest anchor that was checked and held, if any.
    anchored_at: int | None


def verify_chain(
    entries: Iterable[AuditEntry],
    *,
    head_sequence: int,
    head_hash: str,
    keys: Sequence[ChainKey] = (),
    anchors: Iterable[Anchor] = (),
) -> ChainVerification:
    """Walk the entries in sequence order and report the first that does not chain.

    An edited entry no longer matches its own hash; a deleted one leaves a gap and a
    successor whose previous hash does not match; reordered content breaks both. The chain
    head catches entries deleted from the end, and an anchor catches them even when the
    head was moved back with them. An entry whose key is not in `keys` cannot be checked
    and is reported as such.
    """
    keys_by_id = {key.id: key for key in keys}
    anchored: dict[int, set[str]] = {}
    for anchor in anchors:
        anchored.setdefault(anchor.sequence, set()).add(anchor.hash)
    expected_previous = GENESIS_HASH
    expected_sequence = 1
    unkeyed = 0
    keyed_seen = False

    def result(broken: BrokenLink | None) -> ChainVerification:
        held = [sequence for sequence in anchored if sequence < expected_sequence]
        return ChainVerification(
            broken, expected_sequence - 1, unkeyed, max(held) if held else None
        )

    if anchored.get(0, {GENESIS_HASH}) != {GENESIS_HASH}:
        return result(BrokenLink(0, "the anchor at #0 does not hold the chain's start"))
    for entry in entries:
        sequence = entry.sequence
        if sequence != expected_sequence:
            return result(BrokenLink(expected_sequence, f"entry #{expected_sequence} is missing"))
        if entry.previous_hash != expected_previous:
            return result(BrokenLink(sequence, "its link to the previous entry does not match"))
        key: ChainKey | None = None
        if entry.key_id:
            key = keys_by_id.get(entry.key_id)
            if key is None:
                return result(
                    BrokenLink(
                        sequence,
                        f"it is hashed with key {entry.key_id}, which AUDIT_CHAIN_KEYS does not "
                        "list (a key retired too early, or not one of ours), so it cannot be "
                        "checked",
                    )
                )
            keyed_seen = True
        elif keyed_seen:
            return result(
                BrokenLink(sequence, "it is hashed without a key, after entries hashed with one")
            )
        else:
            unkeyed = sequence
        if not hmac.compare_digest(entry_hash(entry, entry.previous_hash, key), entry.entry_hash):
            return result(BrokenLink(sequence, "its content does not match its hash"))
        for anchored_hash in sorted(anchored.get(sequence, ())):
            if anchored_hash != entry.entry_hash:
                return result(
                    BrokenLink(
                        sequence,
                        f"it does not match the anchor {sequence}:{anchored_hash[:12]}…, so the "
                        "chain up to it was rewritten after the anchor was taken",
                    )
                )
        expected_previous = entry.entry_hash
        expected_sequence += 1
    last = expected_sequence - 1
    beyond = [sequence for sequence in anchored if sequence > last]
    if beyond:
        return result(
            BrokenLink(
                last + 1,
                f"the chain ends at #{last}, before the anchor at #{min(beyond)}: entries were "
                "cut from its end",
            )
        )
    if last != head_sequence or expected_previous != head_hash:
        return result(BrokenLink(last + 1, f"the chain ends at #{last}, not at #{head_sequence}"))
    if keys and unkeyed and not keyed_seen and max(anchored, default=0) < unkeyed:
        return result(
            BrokenLink(
                unkeyed,
                "it is the newest entry and is hashed without a key, so nothing proves that "
                f"the entries up to #{unkeyed} were not rewritten: an anchor taken at "
                f"#{unkeyed} or later would, and so will the next entry recorded (hashed with "
                "a key)",
            )
        )
    return result(None)

"""The chain is keyed: each hash is an HMAC under a key the database does not hold, so a
trail rewritten by someone without the key no longer verifies. Entries hashed before keyed
hashing began keep verifying, keys can be rotated, and an entry under a key no longer listed
is reported."""

import hashlib
import hmac
from typing import Any

import pytest

from audit.chain import GENESIS_HASH, canonical_content, entry_hash
from audit.keys import ChainKey
from audit.models import Action, AuditEntry, ChainHead
from audit.trail import Origin, TeamRef, record
from tests.audit.conftest import FIRST_KEY, SECOND_KEY, broken_at, verify

CHAIN_LENGTH = 5
# Someone's own key, not one of ours.
FORGER_KEY = ChainKey.from_setting("a-key-the-forger-made-up-for-the-rewrite")


def write_chain(count: int = CHAIN_LENGTH, start: int = 0) -> list[AuditEntry]:
    return [
        record(
            Action.MEMBER_ADDED,
            origin=Origin(index, f"person-{index}", "192.0.2.1", "agent"),
            team=TeamRef(7, "lighthouse"),
            summary=f"entry {index + 1}",
            asked={"index": index},
        )
        for index in range(start, start + count)
    ]


def rewrite_from(sequence: int, *, key: ChainKey | None, claimed_key_id: str | None = None) -> None:
    """Edit entry `sequence` and recompute every later hash and the chain head, as someone
    with write access to the database but without our key: hashing with `key` (none: plain
    SHA-256) and storing `claimed_key_id` (by default the id of `key`)."""
    previous = AuditEntry.objects.get(sequence=sequence - 1).entry_hash if sequence > 1 else None
    for entry in AuditEntry.objects.filter(sequence__gte=sequence).order_by("sequence"):
        if entry.sequence == sequence:
            entry.summary = "nothing happened"
        entry.previous_hash = previous or GENESIS_HASH
        entry.entry_hash = entry_hash(entry, entry.previous_hash, key)
        if claimed_key_id is not None:
            entry.key_id = claimed_key_id
        else:
            entry.key_id = key.id if key is not None else ""
        AuditEntry.objects.filter(pk=entry.pk).update(
            summary=entry.summary,
            previous_hash=entry.previous_hash,
            entry_hash=entry.entry_hash,
            key_id=entry.key_id,
        )
        previous = entry.entry_hash
    ChainHead.objects.filter(pk=1).update(last_hash=previous)


@pytest.mark.django_db
def test_new_entries_are_hashed_with_the_newest_key(chain_key: ChainKey, settings: Any) -> None:
    settings.AUDIT_CHAIN_KEYS = [SECOND_KEY, FIRST_KEY]
    entry = record(Action.SIGN_IN, origin=Origin(1, "dora"))

    second = ChainKey.from_setting(SECOND_KEY)
    assert entry.key_id == second.id != chain_key.id
    message = (GENESIS_HASH + canonical_content(entry)).encode()
    assert entry.entry_hash == hmac.new(second.secret, message, hashlib.sha256).hexdigest()
    assert entry.entry_hash != hashlib.sha256(message).hexdigest()
    assert AuditEntry.objects.get().key_id == second.id


def test_a_key_id_names_the_key_without_revealing_it() -> None:
    first, second = ChainKey.from_setting(FIRST_KEY), ChainKey.from_setting(SECOND_KEY)

    assert first.id == ChainKey.from_setting(FIRST_KEY).id
    assert first.id != second.id
    assert len(first.id) == 8
    assert FIRST_KEY not in repr(first)


@pytest.mark.django_db
def test_a_keyed_chain_is_intact(chain_key: ChainKey) -> None:
    write_chain()

    output = verify()

    assert f"intact: {CHAIN_LENGTH} entries" in output
    assert "without a key" not in output


@pytest.mark.parametrize(
    ("key", "claimed_key_id", "reason"),
    [
        pytest.param(
            None, None, "hashed without a key, after entries hashed with one", id="sha256"
        ),
        pytest.param(
            FORGER_KEY,
            ChainKey.from_setting(FIRST_KEY).id,
            "content does not match its hash",
            id="wrong-key-our-id",
        ),
        pytest.param(
            FORGER_KEY,
            None,
            f"hashed with key {FORGER_KEY.id}, which AUDIT_CHAIN_KEYS does not list",
            id="own-key",
        ),
    ],
)
def test_a_rewrite_with_every_later_hash_recomputed_without_the_key_is_found(
    chain_key: ChainKey,
    tamperable: None,
    key: ChainKey | None,
    claimed_key_id: str | None,
    reason: str,
) -> None:
    write_chain()
    rewrite_from(2, key=key, claimed_key_id=claimed_key_id)

    with broken_at(2, reason):
        verify()


def test_a_whole_trail_rewritten_without_a_key_is_found(
    chain_key: ChainKey, tamperable: None
) -> None:
    """Every entry and the head rewritten with plain SHA-256, as if keyed hashing had never
    begun: nothing the forger could write vouches for the entries."""
    write_chain()
    rewrite_from(1, key=None)

    with broken_at(CHAIN_LENGTH, "newest entry and is hashed without a key"):
        verify()


@pytest.mark.django_db
def test_entries_under_an_older_key_still_listed_verify(chain_key: ChainKey, settings: Any) -> None:
    write_chain(3)
    settings.AUDIT_CHAIN_KEYS = [SECOND_KEY, FIRST_KEY]  # rotation: a new key, newest first
    write_chain(2, start=3)

    assert {entry.key_id for entry in AuditEntry.objects.all()} == {
        chain_key.id,
        ChainKey.from_setting(SECOND_KEY).id,
    }
    assert f"intact: {CHAIN_LENGTH} entries" in verify()


@pytest.mark.django_db
def test_an_entry_under_a_key_no_longer_listed_is_reported(
    chain_key: ChainKey, settings: Any
) -> None:
    write_chain(3)
    settings.AUDIT_CHAIN_KEYS = [SECOND_KEY]  # the old key dropped too early

    with broken_at(
        1, f"hashed with key {chain_key.id}, which AUDIT_CHAIN_KEYS does not list .* cannot be"
    ):
        verify()


@pytest.mark.django_db
def test_entries_hashed_before_keyed_hashing_keep_verifying(settings: Any) -> None:
    settings.AUDIT_CHAIN_KEYS = []  # as before this change: plain SHA-256
    legacy = write_chain(3)
    assert all(entry.key_id == "" for entry in legacy)
    # Hashed exactly as the code before keyed hashing hashed them.
    assert legacy[1].entry_hash == (
        hashlib.sha256(
            legacy[0].entry_hash.encode() + canonical_content(legacy[1]).encode()
        ).hexdigest()
    )
    assert "AUDIT_CHAIN_KEYS is not set" in verify()

    settings.AUDIT_CHAIN_KEYS = [FIRST_KEY]
    write_chain(2, start=3)

    output = verify()
    assert f"intact: {CHAIN_LENGTH} entries" in output
    assert "Entries #1 to #3 were hashed without a key" in output


@pytest.mark.django_db
def test_unkeyed_entries_need_a_keyed_successor_or_an_anchor_once_keys_are_set(
    settings: Any,
) -> None:
    """Right after keys are configured, the unkeyed trail proves nothing by itself."""
    settings.AUDIT_CHAIN_KEYS = []
    legacy = write_chain(3)
    settings.AUDIT_CHAIN_KEYS = [FIRST_KEY]

    with broken_at(3, "newest entry and is hashed without a key"):
        verify()
    assert "intact: 3 entries" in verify("--anchor", f"3:{legacy[-1].entry_hash}")

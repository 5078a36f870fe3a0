"""Anchors: the chain head written down outside the database (`audit.tasks.export_anchor`),
which `verify_audit --anchor` / `--anchor-file` hold the chain to. They catch what the chain
cannot show by itself: entries cut from its end with the head moved back, and a rewrite by
someone who holds the chain key."""

import logging
import stat
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError

from audit.keys import ChainKey
from audit.models import Action, AuditEntry, ChainHead
from audit.tasks import export_anchor
from audit.trail import Origin, record
from tests.audit.conftest import broken_at, rehashed, verify

CHAIN_LENGTH = 15
CUT = 10


def write_chain(count: int) -> list[AuditEntry]:
    return [
        record(Action.SIGN_IN, origin=Origin(index, f"person-{index}"), summary=f"#{index}")
        for index in range(count)
    ]


def head_anchor() -> str:
    head = ChainHead.objects.get()
    return f"{head.sequence}:{head.last_hash}"


def test_a_cut_tail_with_the_head_moved_back_is_found_with_an_anchor(
    chain_key: ChainKey, tamperable: None
) -> None:
    entries = write_chain(CHAIN_LENGTH)
    anchor = head_anchor()
    kept = entries[-CUT - 1]
    AuditEntry.objects.filter(sequence__gt=kept.sequence).delete()
    ChainHead.objects.update(sequence=kept.sequence, last_hash=kept.entry_hash)

    # The chain itself is consistent again: only the anchor knows it was longer.
    assert "intact" in verify()
    with broken_at(
        kept.sequence + 1,
        f"ends at #{kept.sequence}, before the anchor at #{CHAIN_LENGTH}: entries were cut",
    ):
        verify("--anchor", anchor)


def test_a_rewrite_up_to_the_anchor_is_found_even_with_the_key(
    chain_key: ChainKey, tamperable: None
) -> None:
    """Someone who has the key too rewrites #2 and re-chains everything after it."""
    write_chain(5)
    anchor = f"3:{AuditEntry.objects.get(sequence=3).entry_hash}"
    previous = AuditEntry.objects.get(sequence=1).entry_hash
    for entry in AuditEntry.objects.filter(sequence__gte=2).order_by("sequence"):
        entry.summary = "nothing happened" if entry.sequence == 2 else entry.summary
        entry.previous_hash = previous
        entry.entry_hash = previous = rehashed(entry)
        AuditEntry.objects.filter(pk=entry.pk).update(
            summary=entry.summary, previous_hash=entry.previous_hash, entry_hash=entry.entry_hash
        )
    ChainHead.objects.update(last_hash=previous)
    assert "intact" in verify()

    with broken_at(3, "does not match the anchor 3:.*rewritten after the anchor was taken"):
        verify("--anchor", anchor)


@pytest.mark.django_db
def test_entries_after_an_anchor_continue_the_chain(chain_key: ChainKey) -> None:
    write_chain(3)
    anchor = head_anchor()
    write_chain(2)

    output = verify("--anchor", anchor)

    assert "intact: 5 entries" in output
    assert "Nothing up to entry #3 was cut or rewritten" in output


def test_a_missing_entry_after_an_anchor_is_found(chain_key: ChainKey, tamperable: None) -> None:
    write_chain(3)
    anchor = head_anchor()
    write_chain(3)
    AuditEntry.objects.filter(sequence=5).delete()

    with broken_at(5, "entry #5 is missing"):
        verify("--anchor", anchor)


@pytest.mark.django_db
def test_an_anchor_of_the_empty_trail_holds() -> None:
    assert "intact: 0 entries" in verify("--anchor", f"0:{'0' * 64}")
    with broken_at(0, "anchor at #0 does not hold"):
        verify("--anchor", f"0:{'1' * 64}")


@pytest.mark.django_db
@pytest.mark.parametrize("text", ["12", "12:abc", f"x:{'0' * 64}", f"3:{'A' * 64}"])
def test_a_malformed_anchor_is_refused_in_words(text: str) -> None:
    with pytest.raises(CommandError, match="not an anchor: expected SEQUENCE:HASH"):
        verify("--anchor", text)


@pytest.mark.django_db
def test_export_anchor_logs_the_head_and_appends_it_to_the_anchor_file(
    chain_key: ChainKey, settings: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    anchor_file = tmp_path / "audit-anchors"
    settings.AUDIT_ANCHOR_FILE = str(anchor_file)
    caplog.set_level(logging.INFO, logger="audit.anchor")
    write_chain(2)

    first = export_anchor.apply().get()
    write_chain(2)
    second = export_anchor.apply().get()

    assert first.startswith(f"2:{AuditEntry.objects.get(sequence=2).entry_hash} ")
    assert second.startswith(f"{head_anchor()} ")
    assert anchor_file.read_text().splitlines() == [first, second]
    assert stat.S_IMODE(anchor_file.stat().st_mode) == 0o600
    logged = [record.getMessage() for record in caplog.records if record.name == "audit.anchor"]
    assert logged == [f"audit chain anchor {first}", f"audit chain anchor {second}"]
    output = verify("--anchor-file", str(anchor_file))
    assert "Nothing up to entry #4 was cut or rewritten" in output


@pytest.mark.django_db
def test_export_anchor_without_a_file_only_logs(
    settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings.AUDIT_ANCHOR_FILE = ""
    caplog.set_level(logging.INFO, logger="audit.anchor")

    line = export_anchor.apply().get()

    assert line.startswith(f"0:{'0' * 64} ")
    assert f"audit chain anchor {line}" in caplog.text


@pytest.mark.django_db
def test_a_bad_line_in_an_anchor_file_is_named(tmp_path: Path) -> None:
    anchor_file = tmp_path / "anchors"
    anchor_file.write_text(f"# anchors\n\n0:{'0' * 64} 2026-01-01T00:00:00+00:00\nnonsense\n")

    with pytest.raises(CommandError, match=rf"{anchor_file}, line 4: 'nonsense' is not an anchor"):
        verify("--anchor-file", str(anchor_file))
    with pytest.raises(CommandError, match="could not be read"):
        verify("--anchor-file", str(tmp_path / "missing"))

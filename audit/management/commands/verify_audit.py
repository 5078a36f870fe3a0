"""`python manage.py verify_audit`: check the audit trail's hash chain end to end.

With `--anchor SEQUENCE:HASH` or `--anchor-file PATH` (each may be repeated) it also proves
that nothing up to each anchor was cut or rewritten: the entry at SEQUENCE exists with that
hash, the chain verifies up to it, and the entries after it continue the chain.
"""

from argparse import ArgumentParser
from collections.abc import Generator
from contextlib import closing
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from audit.anchors import anchors_in_file
from audit.chain import GENESIS_HASH, Anchor, verify_chain
from audit.keys import configured_keys
from audit.models import AuditEntry, ChainHead


def _entries_in_order() -> Generator[AuditEntry]:
    """The entries, read in chunks. Closed as soon as the walk stops at a broken link: on
    PostgreSQL an abandoned server-side cursor is closed by the garbage collector, which
    can happen in the middle of another query on the same connection and deadlock it."""
    yield from AuditEntry.objects.order_by("sequence").iterator(chunk_size=2000)


class Command(BaseCommand):
    help = "Verify the audit trail's hash chain and report the first broken link."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--anchor",
            action="append",
            default=[],
            metavar="SEQUENCE:HASH",
            help="A chain head written down earlier (export_anchor); may be repeated.",
        )
        parser.add_argument(
            "--anchor-file",
            action="append",
            default=[],
            metavar="PATH",
            help="A file of such anchors, one per line (AUDIT_ANCHOR_FILE); may be repeated.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            anchors = [Anchor.parse(text) for text in options["anchor"]]
            for path in options["anchor_file"]:
                anchors.extend(anchors_in_file(Path(path)))
        except (OSError, ValueError) as error:
            raise CommandError(f"The anchors could not be read: {error}") from None
        keys = configured_keys()
        head = ChainHead.objects.filter(pk=1).first()
        head_sequence = head.sequence if head else 0
        head_hash = head.last_hash if head else GENESIS_HASH
        with closing(_entries_in_order()) as entries:
            verification = verify_chain(
                entries,
                head_sequence=head_sequence,
                head_hash=head_hash,
                keys=keys,
                anchors=anchors,
            )
        broken = verification.broken
        if broken is not None:
            raise CommandError(
                f"The audit trail is broken at entry #{broken.sequence}: {broken.reason}."
            )
        self.stdout.write(f"The audit trail is intact: {head_sequence} entries chain correctly.")
        if verification.anchored_at:
            self.stdout.write(
                f"Nothing up to entry #{verification.anchored_at} was cut or rewritten since "
                "its anchor was taken."
            )
        elif head_sequence and not anchors:
            self.stdout.write(
                "No anchor was given: entries cut from the end, with the chain head moved "
                "back, would not show."
            )
        if not keys:
            self.stdout.write(
                "AUDIT_CHAIN_KEYS is not set: new entries are hashed without a key, so anyone "
                "able to write to the database could rewrite them unnoticed."
            )
        elif verification.unkeyed:
            self.stdout.write(
                f"Entries #1 to #{verification.unkeyed} were hashed without a key, before keyed "
                "hashing began."
            )

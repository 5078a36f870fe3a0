"""`python manage.py verify_audit`: check the audit trail's hash chain end to end."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from audit.chain import GENESIS_HASH, first_broken_link
from audit.models import AuditEntry, ChainHead


class Command(BaseCommand):
    help = "Verify the audit trail's hash chain and report the first broken link."

    def handle(self, *args: Any, **options: Any) -> None:
        head = ChainHead.objects.filter(pk=1).first()
        head_sequence = head.sequence if head else 0
        head_hash = head.last_hash if head else GENESIS_HASH
        entries = AuditEntry.objects.order_by("sequence").iterator(chunk_size=2000)
        broken = first_broken_link(entries, head_sequence=head_sequence, head_hash=head_hash)
        if broken is not None:
            raise CommandError(
                f"The audit trail is broken at entry #{broken.sequence}: {broken.reason}."
            )
        self.stdout.write(f"The audit trail is intact: {head_sequence} entries chain correctly.")

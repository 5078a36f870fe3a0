"""`python manage.py rotate_encryption_keys`: re-encrypt every stored secret with the newest key.

Rotation: put a new key first in FIELD_ENCRYPTION_KEYS (keep the old ones after it), deploy,
run this command, then remove the old keys.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from audit.trail import Origin
from teams import services
from teams.connections import forget_clients
from teams.crypto import DecryptionError


class Command(BaseCommand):
    help = "Re-encrypt every stored secret with the first key in FIELD_ENCRYPTION_KEYS."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            count = services.encryption_keys_rotate(
                origin=Origin.system("manage.py rotate_encryption_keys")
            )
        except DecryptionError as error:
            raise CommandError(str(error)) from None
        forget_clients()
        self.stdout.write(f"Re-encrypted {count} secret(s) with the newest key.")

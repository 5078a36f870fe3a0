"""python manage.py simulator_client: register (or update, or revoke) a simulator client."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from simulator.config import settings_from_django
from simulator.management.commands.simulator_token import parse_scopes
from simulator.store import Store
from simulator.tokens import ALL_SCOPES


class Command(BaseCommand):
    help = (
        "Register an OAuth2 client (client credentials) in the simulator's store, or update "
        "it; idempotent. With --revoke, revoke it instead."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", default="demo", help="Tenant id the client belongs to.")
        parser.add_argument("--client-id", required=True)
        parser.add_argument("--client-secret", default="", help="Required unless --revoke.")
        parser.add_argument(
            "--scopes",
            default=",".join(ALL_SCOPES),
            help="Comma-separated scopes the client may ask for (default: all three).",
        )
        parser.add_argument("--revoke", action="store_true", help="Revoke the client.")

    def handle(self, *args: Any, **options: Any) -> None:
        store = Store(settings_from_django().database)
        try:
            client_id = options["client_id"]
            if options["revoke"]:
                if not store.revoke_client(client_id):
                    raise CommandError(f"There is no client {client_id!r}.")
                self.stdout.write(f"Revoked client {client_id!r}.")
                return
            if not options["client_secret"]:
                raise CommandError("--client-secret is required.")
            scopes = parse_scopes(options["scopes"])
            store.register_client(options["tenant"], client_id, options["client_secret"], scopes)
        finally:
            store.close()
        self.stdout.write(
            f"Client {client_id!r} registered for tenant {options['tenant']!r} "
            f"with scopes {' '.join(scopes)}."
        )

"""python manage.py simulator_token: print a bearer token the simulator accepts, alone."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from simulator.app import create_app
from simulator.config import settings_from_django
from simulator.tokens import ALL_SCOPES, TOKEN_TTL_SECONDS


def parse_scopes(text: str) -> tuple[str, ...]:
    scopes = tuple(part for part in text.replace(",", " ").split() if part)
    unknown = [scope for scope in scopes if scope not in ALL_SCOPES]
    if unknown:
        raise CommandError(f"Unknown scopes {unknown}; known: {', '.join(ALL_SCOPES)}.")
    return scopes


class Command(BaseCommand):
    help = (
        "Print a bearer token for the simulator (signed with the key it persists), alone on stdout."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", default="demo", help="Tenant id (tid claim).")
        parser.add_argument(
            "--scopes",
            default=",".join(ALL_SCOPES),
            help="Comma-separated scopes (default: all three).",
        )
        parser.add_argument(
            "--ttl", type=int, default=TOKEN_TTL_SECONDS, help="Lifetime in seconds."
        )
        parser.add_argument("--subject", default="simulator-token", help="The sub claim.")

    def handle(self, *args: Any, **options: Any) -> None:
        scopes = parse_scopes(options["scopes"])
        if options["ttl"] <= 0:
            raise CommandError("--ttl must be a positive number of seconds.")
        app = create_app(settings_from_django())
        try:
            token = app.issue_token(
                options["tenant"], scopes, subject=options["subject"], ttl_seconds=options["ttl"]
            )
        finally:
            app.store.close()
        self.stdout.write(token)

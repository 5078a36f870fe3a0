"""`python manage.py create_team`: a team with its Things credential, for operators.

Secrets are never taken from the command line (other users of the machine could read them
in the process list): the client secret or token comes from an environment variable named
with --secret-env, or is asked for at a prompt.
"""

import getpass
import os
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.trail import Origin
from teams import services
from teams.models import AuthKind, Team


class Command(BaseCommand):
    help = "Create a team (or update its credential) for the Things API."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--slug", required=True, help="short name used in URLs, e.g. acme")
        parser.add_argument("--name", help="display name (default: the slug)")
        parser.add_argument("--api-url", default=settings.THINGS_API_URL)
        parser.add_argument(
            "--auth", choices=[kind.value for kind in AuthKind], default=AuthKind.CLIENT_CREDENTIALS
        )
        parser.add_argument("--tenant-id", default="")
        parser.add_argument("--client-id", default="")
        parser.add_argument("--token-url", default=settings.THINGS_TOKEN_URL)
        parser.add_argument("--audience", default=settings.THINGS_AUDIENCE)
        parser.add_argument(
            "--secret-env",
            help="name of an environment variable holding the client secret or bearer token "
            "(default: ask at a prompt)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        origin = Origin.system("manage.py create_team")
        kind = AuthKind(options["auth"])
        if kind == AuthKind.CLIENT_CREDENTIALS and not (
            options["tenant_id"] and options["client_id"]
        ):
            raise CommandError("GRIP client credentials need --tenant-id and --client-id.")
        secret = self._secret(options["secret_env"], kind)
        team = Team.objects.filter(slug=options["slug"]).first()
        try:
            if team is None:
                team = services.team_create(
                    slug=options["slug"], name=options["name"] or options["slug"], origin=origin
                )
                self.stdout.write(f"Created team {team.slug}.")
            services.credential_update(
                team=team,
                data=services.CredentialInput(
                    api_url=options["api_url"],
                    auth_kind=kind,
                    tenant_id=options["tenant_id"],
                    client_id=options["client_id"],
                    token_url=options["token_url"] if kind == AuthKind.CLIENT_CREDENTIALS else "",
                    audience=options["audience"] if kind == AuthKind.CLIENT_CREDENTIALS else "",
                    secret=secret,
                ),
                origin=origin,
            )
        except services.TeamRuleError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"Stored the credential of {team.slug}.")

    def _secret(self, env_name: str | None, kind: AuthKind) -> str:
        label = "client secret" if kind == AuthKind.CLIENT_CREDENTIALS else "bearer token"
        if env_name:
            value = os.environ.get(env_name, "")
            if not value:
                raise CommandError(f"The environment variable {env_name} is empty or not set.")
            return value
        value = getpass.getpass(f"{label.capitalize()}: ")
        if not value:
            raise CommandError(f"No {label} given.")
        return value

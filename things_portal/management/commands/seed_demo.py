"""Demo data for `make run`: idempotent, and only for a portal running in DEBUG mode."""

import json
import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

DEMO_USERS = ("admin",)


def demo_passwords_file() -> Path:
    return Path(settings.VAR_DIR) / "demo-sign-in.json"


def demo_passwords() -> dict[str, str]:
    """One random password per demo user, made once and kept under var/ (git-ignored)."""
    path = demo_passwords_file()
    passwords: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    changed = False
    for username in DEMO_USERS:
        if username not in passwords:
            passwords[username] = secrets.token_urlsafe(9)
            changed = True
    if changed:
        path.touch(mode=0o600)
        path.write_text(json.dumps(passwords, indent=2))
    return passwords


class Command(BaseCommand):
    help = "Create the demo users (DEBUG only); --print-sign-in shows how to sign in."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--print-sign-in", action="store_true")
        parser.add_argument("--portal-url", default="http://127.0.0.1:8000")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError("Demo data is only for a portal running with DEBUG=true.")
        passwords = demo_passwords()
        if options["print_sign_in"]:
            self.print_sign_in(options["portal_url"], passwords)
            return
        user_model = get_user_model()
        admin, created = user_model.objects.get_or_create(
            username="admin", defaults={"is_staff": True, "is_superuser": True}
        )
        if created or not admin.check_password(passwords["admin"]):
            admin.set_password(passwords["admin"])
            admin.save()

    def print_sign_in(self, portal_url: str, passwords: dict[str, str]) -> None:
        self.stdout.write("")
        self.stdout.write(f"Things Portal is running on {portal_url}")
        self.stdout.write(f"  Things API simulator: {settings.THINGS_API_URL}")
        self.stdout.write("  Sign in as:")
        for username, password in passwords.items():
            self.stdout.write(f"    {username:<10} password {password}")
        self.stdout.write(f"  (passwords are kept in {demo_passwords_file()})")
        self.stdout.write("")

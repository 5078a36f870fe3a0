"""`python manage.py add_member`: put a user in a team with a role (or change the role)."""

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.trail import Origin
from teams import services
from teams.models import Membership, Role, Team


class Command(BaseCommand):
    help = "Add an existing user to a team with a role, or change their role."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--team", required=True, help="the team's slug")
        parser.add_argument("--user", required=True, help="username")
        parser.add_argument("--role", choices=[role.value for role in Role], required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        origin = Origin.system("manage.py add_member")
        team = Team.objects.filter(slug=options["team"]).first()
        if team is None:
            raise CommandError(f"There is no team {options['team']!r}.")
        role = Role(options["role"])
        user = get_user_model().objects.filter(username=options["user"]).first()
        membership = Membership.objects.filter(team=team, user=user).first() if user else None
        try:
            if membership is None:
                services.member_add(team=team, username=options["user"], role=role, origin=origin)
                self.stdout.write(f"Added {options['user']} to {team.slug} as {role.value}.")
            else:
                services.member_change_role(membership=membership, role=role, origin=origin)
                self.stdout.write(f"{options['user']} is now {role.value} in {team.slug}.")
        except services.TeamRuleError as error:
            raise CommandError(str(error)) from None

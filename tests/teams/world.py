"""People, teams and credentials for the access tests, built through the real services.

`build_world()` makes two teams, each with a member per role, a superuser who is in no team
and a signed-in person who is in no team. The tests sign people in with `force_login` (the
sign-in page itself is tested in tests/accounts). `member_client` is a new member of a team,
signed in; `unaudited_member` the one way round the services, for the tests that count audit
entries.

A team whose credential points at a running simulator comes from
`benchmarks.simulated_team` (the benchmarks use it too, and tests may import the benchmarks,
never the other way round).
"""

from dataclasses import dataclass

from django.contrib.auth.models import User
from django.test import Client

from audit.trail import Origin
from teams import services
from teams.models import AuthKind, Membership, Role, Team, ThingsCredential

PASSWORD = "correct-horse-battery-staple-42"
SYSTEM = Origin.system("tests")


def make_user(username: str, *, superuser: bool = False, password: str | None = None) -> User:
    """Without a password the user can only be signed in by `sign_in` (hashing a password
    takes a good part of a second, and most tests sign people in with force_login)."""
    if superuser:
        return User.objects.create_superuser(username, password=password)
    return User.objects.create_user(username, password=password)


def make_team(slug: str, name: str) -> Team:
    return services.team_create(slug=slug, name=name, origin=SYSTEM)


def join(user: User, team: Team, role: Role) -> Membership:
    return services.member_add(team=team, username=user.username, role=role, origin=SYSTEM)


def sign_in(client: Client, user: User) -> Client:
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def member_client(team: Team, username: str, role: Role) -> Client:
    """A client signed in as a new person, `username`, who has `role` in `team`."""
    person = make_user(username)
    join(person, team, role)
    return sign_in(Client(), person)


def unaudited_member(team: Team, username: str, role: Role) -> User:
    """A new person with `role` in `team`, put straight in the database: unlike `join`, it
    writes no audit entry (for the tests that count the trail's entries)."""
    person = make_user(username)
    Membership.objects.create(team=team, user=person, role=role)
    return person


@dataclass(frozen=True)
class TeamObjects:
    """A team and the objects in it that a route's URL can point at."""

    team: Team
    # A non-admin member's membership (the target of the role and remove routes).
    membership: Membership


@dataclass(frozen=True)
class TeamPeople:
    objects: TeamObjects
    viewer: User
    operator: User
    admin: User

    @property
    def team(self) -> Team:
        return self.objects.team

    def with_role(self, role: Role) -> User:
        return {Role.VIEWER: self.viewer, Role.OPERATOR: self.operator, Role.ADMIN: self.admin}[
            role
        ]


@dataclass(frozen=True)
class World:
    alpha: TeamPeople
    beta: TeamPeople
    superuser: User
    teamless: User


def _team_people(slug: str, name: str) -> TeamPeople:
    team = make_team(slug, name)
    viewer, operator, admin, target = (
        make_user(f"{slug}-{suffix}") for suffix in ("viewer", "operator", "admin", "target")
    )
    join(viewer, team, Role.VIEWER)
    join(operator, team, Role.OPERATOR)
    join(admin, team, Role.ADMIN)
    target_membership = join(target, team, Role.VIEWER)
    return TeamPeople(TeamObjects(team, target_membership), viewer, operator, admin)


def build_world() -> World:
    return World(
        alpha=_team_people("alpha", "Alpha Metering"),
        beta=_team_people("beta", "Beta Logistics"),
        superuser=make_user("root", superuser=True),
        teamless=make_user("drifter"),
    )


def static_token(team: Team, api_url: str, token: str) -> ThingsCredential:
    return services.credential_update(
        team=team,
        data=services.CredentialInput(
            api_url=api_url, auth_kind=AuthKind.STATIC_TOKEN, secret=token
        ),
        origin=SYSTEM,
    )

"""A team whose credential points at a running simulator: the client registered there, the
team and its credential, made through the real services. The benchmarks' and the suite's one
way to a team that reaches the API (it lives here because tests may import the benchmarks,
never the other way round)."""

from __future__ import annotations

from audit.trail import Origin
from simulator.config import DEFAULT_AUDIENCE
from simulator.server import RunningSimulator
from simulator.tokens import ALL_SCOPES
from teams import services
from teams.models import AuthKind, Team, ThingsCredential

SYSTEM = Origin.system("tests")


def register_simulator_client(
    simulator: RunningSimulator, tenant_id: str, client_id: str, secret: str
) -> None:
    simulator.store.register_client(tenant_id, client_id, secret, ALL_SCOPES)


def client_credentials(
    team: Team,
    api_url: str,
    *,
    tenant_id: str,
    client_id: str,
    secret: str,
    audience: str = DEFAULT_AUDIENCE,
    origin: Origin = SYSTEM,
) -> ThingsCredential:
    """GRIP client credentials against a simulator at `api_url` (its token endpoint)."""
    return services.credential_update(
        team=team,
        data=services.CredentialInput(
            api_url=api_url,
            auth_kind=AuthKind.CLIENT_CREDENTIALS,
            tenant_id=tenant_id,
            client_id=client_id,
            token_url=f"{api_url}/v2/{{tenant_id}}/oidc/idp/c1/token",
            audience=audience,
            secret=secret,
        ),
        origin=origin,
    )


def connect_to_simulator(
    team: Team,
    simulator: RunningSimulator,
    *,
    tenant_id: str = "",
    client_id: str = "",
    secret: str = "",
    origin: Origin = SYSTEM,
) -> ThingsCredential:
    """Gives `team` a GRIP client credential that the running `simulator` accepts: the client is
    registered with the simulator, in tenant `tenant_id`, and the team's credential points at
    it. By default the tenant is the team's slug, the client `<slug>-portal`, with a secret of
    its own."""
    tenant_id = tenant_id or team.slug
    client_id = client_id or f"{team.slug}-portal"
    secret = secret or f"{team.slug}-client-secret-value"
    register_simulator_client(simulator, tenant_id, client_id, secret)
    return client_credentials(
        team,
        simulator.url,
        tenant_id=tenant_id,
        client_id=client_id,
        secret=secret,
        audience=simulator.app.config.audience,
        origin=origin,
    )


def team_on_simulator(
    simulator: RunningSimulator,
    slug: str,
    name: str = "",
    *,
    origin: Origin = SYSTEM,
    **client: str,
) -> Team:
    """A new team (named `name`, by default its slug capitalized) whose credential points at
    the running `simulator`, as `connect_to_simulator` makes it (`client`: its tenant_id,
    client_id and secret)."""
    team = services.team_create(slug=slug, name=name or slug.capitalize(), origin=origin)
    connect_to_simulator(team, simulator, origin=origin, **client)
    return team

"""Who may use which route: every URL pattern of the project against its access rule.

`ROUTES` is the access table. A route in the URL configuration that the table lacks fails the
build (`test_every_route_has_an_access_rule`), so a new route cannot ship without a rule and
these tests for it. Django's admin is covered separately at the bottom.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Literal
from urllib.parse import quote
from uuid import UUID, uuid4

import httpx
import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.db.models import Model
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.test import Client, override_settings
from django.urls import (
    URLPattern,
    URLResolver,
    get_resolver,
    include,
    path,
    resolve,
    reverse,
)

from audit.models import AuditEntry
from benchmarks.simulated_team import connect_to_simulator
from campaigns.models import Campaign, CampaignRow
from command_templates.models import CommandTemplate, TemplateVersion, definition_for
from devices.models import CodecVersion, Device, DeviceType, Kind
from downlinks.models import Downlink, SendState
from simulator.server import RunningSimulator
from teams.connections import forget_clients
from teams.models import ROLE_RANK, Membership, Role, Team
from tests.downlinks.conftest import lora_form
from tests.teams.capture import body_of
from tests.teams.world import TeamObjects, TeamPeople, World, build_world, sign_in

type Access = Literal["public", "signed-in", "superuser"] | Role
type KwargsBuilder = Callable[[TeamObjects], dict[str, object]]
type DataBuilder = Callable[[TeamObjects], dict[str, str]]

SIGN_IN_URL = "/accounts/sign-in/"


def no_kwargs(objects: TeamObjects) -> dict[str, object]:
    return {}


def no_data(objects: TeamObjects) -> dict[str, str]:
    return {}


def team_slug(objects: TeamObjects) -> dict[str, object]:
    return {"team_slug": objects.team.slug}


def team_membership(objects: TeamObjects) -> dict[str, object]:
    return {"team_slug": objects.team.slug, "membership_id": objects.membership.pk}


@dataclass(frozen=True)
class TeamWithDownlinks(TeamObjects):
    """A team whose credential points at the simulator, with one downlink of each kind in
    the team's own tenant (made there directly, not through the portal)."""

    downlink_ids: dict[str, UUID]
    # A create the portal attempted, of unknown outcome (its page is the send attempt's).
    attempt_id: int


# The kind the table's URLs use; the other kind is checked by a test of its own below.
TABLE_KIND = "lora"
# For objects without downlinks (other suites reuse the table): an id no tenant has.
NO_DOWNLINK = UUID("00000000-0000-4000-8000-000000000000")


def team_kind(objects: TeamObjects) -> dict[str, object]:
    return {"team_slug": objects.team.slug, "kind": TABLE_KIND}


def downlink_of(objects: TeamObjects, kind: str) -> UUID:
    if isinstance(objects, TeamWithDownlinks):
        return objects.downlink_ids[kind]
    return NO_DOWNLINK


# For objects without an attempt: a record id no team has.
NO_ATTEMPT = 0


def team_attempt(objects: TeamObjects) -> dict[str, object]:
    attempt = objects.attempt_id if isinstance(objects, TeamWithDownlinks) else NO_ATTEMPT
    return {"team_slug": objects.team.slug, "kind": TABLE_KIND, "record_id": attempt}


def team_downlink(objects: TeamObjects) -> dict[str, object]:
    return {
        "team_slug": objects.team.slug,
        "kind": TABLE_KIND,
        "downlink_id": downlink_of(objects, TABLE_KIND),
    }


def lora_send_form(objects: TeamObjects) -> dict[str, str]:
    """A LoRa send form that the portal accepts and sends (a new rendering each time)."""
    return lora_form()


# The team's catalogue (a device type with a codec, a device, a template), made by
# `with_catalogue`; objects without one get an id no team has (like NO_DOWNLINK).
NO_OBJECT = 0


def _first_pk(model: type[Model], team: Team) -> int:
    found = model._default_manager.filter(team=team).values_list("pk", flat=True).first()
    return found if found is not None else NO_OBJECT


def team_device(objects: TeamObjects) -> dict[str, object]:
    return {"team_slug": objects.team.slug, "device_pk": _first_pk(Device, objects.team)}


def team_device_type(objects: TeamObjects) -> dict[str, object]:
    return {"team_slug": objects.team.slug, "type_pk": _first_pk(DeviceType, objects.team)}


def team_codec(objects: TeamObjects) -> dict[str, object]:
    return {**team_device_type(objects), "number": 1}


def team_template(objects: TeamObjects) -> dict[str, object]:
    return {"team_slug": objects.team.slug, "template_pk": _first_pk(CommandTemplate, objects.team)}


def team_campaign(objects: TeamObjects) -> dict[str, object]:
    return {"team_slug": objects.team.slug, "pk": _first_pk(Campaign, objects.team)}


def with_catalogue(team: Team) -> None:
    """A device type with a codec, a device of it, a template sending through the codec, and
    a campaign (a draft) of one row."""
    device_type = DeviceType.objects.create(
        team=team, name="Meter", kind=Kind.LORA, default_f_port=2
    )
    source = "function encodeDownlink(input) { return {bytes: [1], fPort: 2}; }"
    CodecVersion.objects.create(
        device_type=device_type, number=1, source=source, sha256=CodecVersion.digest(source)
    )
    Device.objects.create(
        team=team, kind=Kind.LORA, device_id=LORA_ID, key=LORA_ID, device_type=device_type
    )
    template = CommandTemplate.objects.create(
        team=team, name="Ping", kind=Kind.LORA, device_type=device_type
    )
    text = "payload: {codec: {}}\n"
    definition = definition_for(text, kind=Kind.LORA, device_type=device_type)
    TemplateVersion.objects.create(
        template=template,
        number=1,
        source=text,
        definition=definition.model_dump(mode="json", by_alias=True),
    )
    campaign = Campaign.objects.create(team=team, kind=Kind.LORA, name="Reboot")
    CampaignRow.objects.create(
        campaign=campaign, position=1, device_id=LORA_ID, submission_key=f"{team.slug}-row-1"
    )


LORA_ID = "deveui:0004a30b001c0530"


@dataclass(frozen=True)
class Rule:
    """The least a person needs for a route, the methods it answers, and how to fill its URL
    (`kwargs`, from a team and its objects) and its form (`data`) for a request that works."""

    access: Access
    methods: tuple[str, ...] = ("GET",)
    kwargs: KwargsBuilder = field(default=no_kwargs)
    data: DataBuilder = field(default=no_data)


# A new route gets a line here. A team route's URL objects come from TeamObjects (give it a
# field for a new kind of object, filled in tests/teams/world.py), so the other-team tests can
# point the URL at another team's object.
ROUTES: dict[str, Rule] = {
    "accounts:sign_in": Rule("public", ("GET", "POST")),
    "accounts:sign_out": Rule("signed-in", ("POST",)),
    "accounts:settings": Rule(
        "signed-in", ("GET", "POST"), data=lambda objects: {"time_zone": "Europe/Lisbon"}
    ),
    "accounts:password_change": Rule("signed-in", ("GET", "POST")),
    "accounts:password_changed": Rule("signed-in"),
    "accounts:password_reset": Rule(
        "public", ("GET", "POST"), data=lambda objects: {"email": "nobody@example.invalid"}
    ),
    "accounts:password_reset_done": Rule("public"),
    # A link for no user ("MA" is pk 0): the page that says the link does not work.
    "accounts:password_reset_confirm": Rule(
        "public", ("GET", "POST"), kwargs=lambda objects: {"uidb64": "MA", "token": "0-0"}
    ),
    "accounts:password_reset_complete": Rule("public"),
    "teams:home": Rule("signed-in"),
    "teams:team_list": Rule("signed-in"),
    "teams:all_audit": Rule("superuser"),
    "teams:all_audit_csv": Rule("superuser"),
    "teams:team_home": Rule(Role.VIEWER, kwargs=team_slug),
    "teams:members": Rule(Role.ADMIN, kwargs=team_slug),
    "teams:member_add": Rule(
        Role.ADMIN,
        ("POST",),
        kwargs=team_slug,
        data=lambda objects: {"username": "drifter", "role": Role.VIEWER.value},
    ),
    "teams:member_role": Rule(
        Role.ADMIN,
        ("POST",),
        kwargs=team_membership,
        data=lambda objects: {"role": Role.OPERATOR.value},
    ),
    "teams:member_remove": Rule(Role.ADMIN, ("GET", "POST"), kwargs=team_membership),
    "teams:credential": Rule(Role.ADMIN, ("GET", "POST"), kwargs=team_slug),
    "teams:credential_test": Rule(Role.ADMIN, ("POST",), kwargs=team_slug),
    "teams:audit": Rule(Role.ADMIN, kwargs=team_slug),
    "teams:audit_csv": Rule(Role.ADMIN, kwargs=team_slug),
    "downlinks:list": Rule(Role.VIEWER, kwargs=team_kind),
    "downlinks:detail": Rule(Role.VIEWER, kwargs=team_downlink),
    "downlinks:attempt": Rule(Role.VIEWER, kwargs=team_attempt),
    "downlinks:raw": Rule(Role.VIEWER, kwargs=team_downlink),
    "downlinks:send": Rule(Role.OPERATOR, ("GET", "POST"), kwargs=team_kind, data=lora_send_form),
    "downlinks:send_preview": Rule(Role.OPERATOR, ("POST",), kwargs=team_kind, data=lora_send_form),
    "downlinks:cancel": Rule(Role.OPERATOR, ("GET", "POST"), kwargs=team_downlink),
    "downlinks:sync_status": Rule(Role.ADMIN, kwargs=team_slug),
    "downlinks:template_send": Rule(Role.OPERATOR, ("GET", "POST"), kwargs=team_template),
    "downlinks:template_send_preview": Rule(Role.OPERATOR, ("POST",), kwargs=team_template),
    "devices:list": Rule(Role.VIEWER, kwargs=team_slug),
    "devices:new": Rule(Role.ADMIN, ("GET", "POST"), kwargs=team_slug),
    "devices:import": Rule(Role.ADMIN, ("GET", "POST"), kwargs=team_slug),
    "devices:import_template": Rule(Role.ADMIN, kwargs=team_slug),
    "devices:edit": Rule(Role.ADMIN, ("GET", "POST"), kwargs=team_device),
    "devices:remove": Rule(Role.ADMIN, ("GET", "POST"), kwargs=team_device),
    "devices:types": Rule(Role.ADMIN, kwargs=team_slug),
    "devices:type_new": Rule(Role.ADMIN, ("GET", "POST"), kwargs=team_slug),
    "devices:type_edit": Rule(Role.ADMIN, ("GET", "POST"), kwargs=team_device_type),
    "devices:codec_source": Rule(Role.ADMIN, kwargs=team_codec),
    "command_templates:list": Rule(Role.VIEWER, kwargs=team_slug),
    "command_templates:new": Rule(Role.ADMIN, ("GET", "POST"), kwargs=team_slug),
    "command_templates:edit": Rule(Role.ADMIN, ("GET", "POST"), kwargs=team_template),
    "command_templates:templates_only": Rule(Role.ADMIN, ("POST",), kwargs=team_slug),
    "campaigns:list": Rule(Role.VIEWER, kwargs=team_slug),
    "campaigns:new": Rule(Role.OPERATOR, ("GET", "POST"), kwargs=team_kind),
    "campaigns:new_from_template": Rule(Role.OPERATOR, ("GET", "POST"), kwargs=team_template),
    "campaigns:detail": Rule(Role.VIEWER, kwargs=team_campaign),
    "campaigns:export": Rule(Role.VIEWER, kwargs=team_campaign),
    "campaigns:settings": Rule(
        Role.ADMIN, ("POST",), kwargs=team_slug, data=lambda objects: {"campaign_rate": "5"}
    ),
    "campaigns:start": Rule(Role.OPERATOR, ("POST",), kwargs=team_campaign),
    "campaigns:approve": Rule(Role.OPERATOR, ("POST",), kwargs=team_campaign),
    "campaigns:pause": Rule(Role.OPERATOR, ("POST",), kwargs=team_campaign),
    "campaigns:resume": Rule(Role.OPERATOR, ("POST",), kwargs=team_campaign),
    "campaigns:cancel": Rule(Role.OPERATOR, ("POST",), kwargs=team_campaign),
    "campaigns:rerun": Rule(Role.OPERATOR, ("POST",), kwargs=team_campaign),
}

# Routes served by Django itself that the table does not cover: the admin (tested below) and
# static files.
EXCLUDED_NAMESPACES = frozenset({"admin"})
STATIC_VIEW_MODULES = frozenset({"django.views.static", "django.contrib.staticfiles.views"})


@dataclass(frozen=True)
class ResolvedRoutes:
    named: frozenset[str]
    unnamed: tuple[str, ...]
    # The URL parameters of each named route (from its pattern and its includes' patterns).
    parameters: dict[str, frozenset[str]]


def project_routes() -> ResolvedRoutes:
    """Every route of the URL configuration, walked recursively, as namespace:name."""
    parameters: dict[str, frozenset[str]] = {}
    unnamed: list[str] = []

    def walk(
        resolver: URLResolver, namespaces: tuple[str, ...], prefix: str, outer: frozenset[str]
    ) -> None:
        for pattern in resolver.url_patterns:
            own = outer | _parameters(pattern)
            if isinstance(pattern, URLResolver):
                if pattern.namespace in EXCLUDED_NAMESPACES:
                    continue
                inner = (*namespaces, pattern.namespace) if pattern.namespace else namespaces
                walk(pattern, inner, prefix + str(pattern.pattern), own)
            elif isinstance(pattern, URLPattern):
                if getattr(pattern.callback, "__module__", "") in STATIC_VIEW_MODULES:
                    continue  # static files, served (in development) by Django's own views
                if pattern.name is None:
                    unnamed.append(prefix + str(pattern.pattern))
                else:
                    parameters[":".join((*namespaces, pattern.name))] = own

    walk(get_resolver(), (), "/", frozenset())
    return ResolvedRoutes(frozenset(parameters), tuple(unnamed), parameters)


def _parameters(pattern: URLPattern | URLResolver) -> frozenset[str]:
    # path() patterns know their converters; re_path() ones their named groups.
    converters = getattr(pattern.pattern, "converters", None)
    if converters:
        return frozenset(converters)
    regex = pattern.pattern.regex
    return frozenset(regex.groupindex)


def cases(*accesses: str) -> list[tuple[str, str]]:
    """(route, method) pairs of the table whose access is one of `accesses` ("team" = a role)."""
    wanted = set(accesses)
    return [
        (name, method)
        for name, rule in ROUTES.items()
        for method in rule.methods
        if (rule.access if not isinstance(rule.access, Role) else "team") in wanted
    ]


def url_of(name: str, objects: TeamObjects) -> str:
    return reverse(name, kwargs=ROUTES[name].kwargs(objects))


def call(
    client: Client, method: str, url: str, data: dict[str, str] | None = None
) -> HttpResponseBase:
    if method == "GET":
        return client.get(url)
    assert method == "POST"
    return client.post(url, data or {})


def assert_kept_private(response: HttpResponseBase) -> None:
    """What a signed-in person is answered is not stored by the browser or a proxy, and
    tells nothing of the portal's insides."""
    assert "no-store" in response.get("Cache-Control", ""), response.get("Cache-Control")
    assert response.get("Permissions-Policy", "").startswith("accelerometer=()")
    assert "Server-Timing" not in response


def is_sent_to_sign_in(response: HttpResponseBase) -> bool:
    return response.status_code == 302 and str(response["Location"]).startswith(
        f"{SIGN_IN_URL}?next="
    )


def assert_allowed(response: HttpResponseBase) -> None:
    assert response.status_code not in (403, 404, 405), response.status_code
    assert response.status_code < 500
    assert not is_sent_to_sign_in(response)


@pytest.fixture(autouse=True)
def _fresh_api_clients() -> Iterator[None]:
    forget_clients()
    yield
    forget_clients()


def with_downlinks(people: TeamPeople, simulator: RunningSimulator) -> TeamPeople:
    """The team gets a credential for a tenant of its own, and a downlink of each kind there."""
    tenant = f"{people.team.slug}-tenant"
    connect_to_simulator(people.team, simulator, tenant_id=tenant)
    ids: dict[str, UUID] = {}
    for kind, body in DOWNLINK_BODIES.items():
        response = httpx.post(
            f"{simulator.url}/{kind}/downlinks",
            json=body,
            headers={"Authorization": f"Bearer {simulator.token(tenant)}"},
            timeout=5,
        )
        assert response.status_code == 201, response.text
        ids[kind] = UUID(response.json()["id"])
    attempt = Downlink.objects.create(
        team=people.team,
        kind=TABLE_KIND,
        device_id=str(DOWNLINK_BODIES[TABLE_KIND]["deviceId"]),
        request_body=DOWNLINK_BODIES[TABLE_KIND],
        send_state=SendState.UNKNOWN,
        submission_key=uuid4().hex,
    )
    objects = TeamWithDownlinks(people.team, people.objects.membership, ids, attempt.pk)
    return replace(people, objects=objects)


DOWNLINK_BODIES = {
    "lora": {
        "deviceId": "urn:dev:deveui:ea8fa35e2cf3489f",
        "message": {"payloadHex": "0102", "fPort": 1},
        "feedbackTimeout": "PT1H",
    },
    "mqtt": {
        "deviceId": "imei:350266800610993",
        "message": {"type": "text", "payload": "hello", "topic": "downlink"},
        "feedbackTimeout": "PT1H",
    },
}


@pytest.fixture
def world(db: None, simulator: RunningSimulator) -> World:
    world = build_world()
    with_catalogue(world.alpha.team)
    with_catalogue(world.beta.team)
    world = replace(
        world,
        alpha=with_downlinks(world.alpha, simulator),
        beta=with_downlinks(world.beta, simulator),
    )
    simulator.app.request_log.clear()  # what the tests do starts from an empty log
    return world


# --- The table is complete ------------------------------------------------------------------


def test_every_route_has_an_access_rule() -> None:
    routes = project_routes()
    missing = sorted(routes.named - ROUTES.keys())
    assert not missing, f"routes without an access rule in ROUTES: {missing}"
    stale = sorted(ROUTES.keys() - routes.named)
    assert not stale, f"ROUTES names routes that no longer exist: {stale}"
    for name, rule in ROUTES.items():
        # A URL with a team in it is a team page, and a team page has its team in the URL.
        has_team = "team_slug" in routes.parameters.get(name, frozenset())
        assert has_team == isinstance(rule.access, Role), name


def _new_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse("new")


# A URL configuration with one route more than the project's, for the test below.
urlpatterns = [
    path("", include("things_portal.urls")),
    path("t/<slug:team_slug>/new-thing/<int:thing_id>", _new_view, name="new_thing"),
    path("unnamed/", _new_view),
]


def test_a_route_added_without_a_rule_is_found() -> None:
    with override_settings(ROOT_URLCONF=__name__):
        routes = project_routes()
    assert routes.named - ROUTES.keys() == {"new_thing"}
    assert routes.parameters["new_thing"] == {"team_slug", "thing_id"}
    assert routes.unnamed == ("/unnamed/",)


def test_every_route_has_a_name() -> None:
    """An unnamed route could not be in the table, so it would escape these tests."""
    assert project_routes().unnamed == ()


def test_the_walk_finds_routes_in_nested_namespaces() -> None:
    routes = project_routes()
    assert {"accounts:sign_in", "teams:member_role", "downlinks:attempt"} <= routes.named
    assert not any(name.startswith("admin:") for name in routes.named)


@pytest.mark.django_db
def test_team_views_require_the_role_the_table_says(world: World) -> None:
    """The decorator on each team view and the table agree (the table is not wishful)."""
    for name, rule in ROUTES.items():
        if isinstance(rule.access, Role):
            view = resolve(url_of(name, world.alpha.objects)).func
            assert getattr(view, "required_role", None) == rule.access, name


# --- Anonymous ------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "method"), cases("signed-in", "superuser", "team"))
def test_anonymous_is_sent_to_sign_in(world: World, client: Client, name: str, method: str) -> None:
    url = url_of(name, world.alpha.objects)
    response = call(client, method, url, ROUTES[name].data(world.alpha.objects))
    assert response.status_code == 302
    assert response["Location"] == f"{SIGN_IN_URL}?next={quote(url, safe='/')}"


@pytest.mark.parametrize(("name", "method"), cases("public"))
def test_public_routes_answer_anonymous(
    world: World, client: Client, name: str, method: str
) -> None:
    response = call(client, method, url_of(name, world.alpha.objects))
    assert response.status_code == 200
    assert response.get("Permissions-Policy", "").startswith("accelerometer=()")


# --- Other teams ------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "method"), cases("team"))
def test_a_member_of_another_team_gets_404(
    world: World, simulator: RunningSimulator, client: Client, name: str, method: str
) -> None:
    sign_in(client, world.beta.admin)
    audited = AuditEntry.objects.count()
    response = call(
        client, method, url_of(name, world.alpha.objects), ROUTES[name].data(world.alpha.objects)
    )
    assert response.status_code == 404
    assert len(simulator.app.request_log) == 0  # not even a token was fetched
    page = body_of(response)
    assert "Alpha Metering" not in page
    assert "alpha-target" not in page
    assert AuditEntry.objects.count() == audited
    assert Membership.objects.get(pk=world.alpha.objects.membership.pk).role == Role.VIEWER


@pytest.mark.parametrize(("name", "method"), cases("team"))
def test_a_superuser_who_is_not_a_member_gets_404(
    world: World, client: Client, name: str, method: str
) -> None:
    sign_in(client, world.superuser)
    response = call(
        client, method, url_of(name, world.alpha.objects), ROUTES[name].data(world.alpha.objects)
    )
    assert response.status_code == 404


# URL parameters that name no object: the downlinks' kind ("lora" or "mqtt") is the same in
# every team.
NOT_OBJECTS = frozenset({"team_slug", "kind"})


def routes_pointing_at_objects() -> list[tuple[str, str]]:
    """Team routes whose URL names an object inside the team, not only the team."""
    parameters = project_routes().parameters
    return [
        (name, method)
        for name, method in cases("team")
        if parameters.get(name, frozenset()) - NOT_OBJECTS
    ]


@pytest.mark.parametrize(("name", "method"), routes_pointing_at_objects())
def test_another_teams_objects_are_404_even_under_ones_own_team(
    world: World, simulator: RunningSimulator, client: Client, name: str, method: str
) -> None:
    rule = ROUTES[name]
    own, other = world.alpha.objects, world.beta.objects
    kwargs = {**rule.kwargs(other), "team_slug": own.team.slug}
    assert kwargs != rule.kwargs(own), "the route names no object of its own"
    sign_in(client, world.alpha.admin)
    audited = AuditEntry.objects.count()
    response = call(client, method, reverse(name, kwargs=kwargs), rule.data(other))
    assert response.status_code == 404
    assert "Beta Logistics" not in body_of(response)
    assert str(downlink_of(other, TABLE_KIND)) not in body_of(response)
    assert Membership.objects.get(pk=other.membership.pk).role == Role.VIEWER
    # Another team's downlink is neither read with its credential nor cancelled.
    assert {entry.tenant for entry in simulator.app.request_log.entries()} <= {"alpha-tenant"}
    assert simulator.app.request_log.count(method="DELETE") == 0
    assert AuditEntry.objects.count() == audited


DOWNLINK_ROUTES = [
    (name, method)
    for name, method in cases("team")
    if "downlink_id" in project_routes().parameters.get(name, frozenset())
]


@pytest.mark.parametrize(("name", "method"), DOWNLINK_ROUTES)
def test_another_teams_mqtt_downlinks_are_404_too(
    world: World, simulator: RunningSimulator, client: Client, name: str, method: str
) -> None:
    """The table's URLs use LoRa; the MQTT downlinks of another team are as invisible."""
    other = downlink_of(world.beta.objects, "mqtt")
    own = downlink_of(world.alpha.objects, "mqtt")
    sign_in(client, world.alpha.admin)
    kwargs = {"team_slug": world.alpha.team.slug, "kind": "mqtt"}
    response = call(client, method, reverse(name, kwargs={**kwargs, "downlink_id": other}))
    assert response.status_code == 404
    assert simulator.app.request_log.count(method="DELETE") == 0
    mine = call(client, method, reverse(name, kwargs={**kwargs, "downlink_id": own}))
    assert_allowed(mine)


# --- Roles ------------------------------------------------------------------------------------

PEOPLE = ("viewer", "operator", "admin", "teamless", "superuser")


def person(world: World, who: str) -> User:
    if who == "teamless":
        return world.teamless
    if who == "superuser":
        return world.superuser
    return world.alpha.with_role(Role(who))


def expected(rule: Rule, who: str) -> Literal["allowed", "refused", "not found"]:
    if rule.access == "signed-in":
        return "allowed"
    if rule.access == "superuser":
        return "allowed" if who == "superuser" else "refused"
    assert isinstance(rule.access, Role)
    if who in ("teamless", "superuser"):
        return "not found"  # not a member: the team does not exist for them
    return "allowed" if ROLE_RANK[Role(who)] >= ROLE_RANK[rule.access] else "refused"


@pytest.mark.parametrize("who", PEOPLE)
@pytest.mark.parametrize(("name", "method"), cases("signed-in", "superuser", "team"))
def test_each_role_is_allowed_or_refused_as_specified(
    world: World, simulator: RunningSimulator, client: Client, name: str, method: str, who: str
) -> None:
    rule = ROUTES[name]
    sign_in(client, person(world, who))
    audited = AuditEntry.objects.count()
    api_calls = len(simulator.app.request_log)
    response = call(
        client, method, url_of(name, world.alpha.objects), rule.data(world.alpha.objects)
    )
    assert_kept_private(response)
    outcome = expected(rule, who)
    if outcome == "allowed":
        assert_allowed(response)
        return
    if outcome == "not found":
        assert response.status_code == 404
    else:
        assert response.status_code == 403
        page = body_of(response)
        assert "Not allowed" in page
        if isinstance(rule.access, Role):
            assert f"You are {who} in Alpha Metering" in page
            assert f"This needs the role {rule.access.value}" in page
        else:
            assert "Only superusers" in page
    # A refusal changes nothing, records nothing and asks nothing of the Things API.
    assert AuditEntry.objects.count() == audited
    assert len(simulator.app.request_log) == api_calls
    assert Membership.objects.get(pk=world.alpha.objects.membership.pk).role == Role.VIEWER


# --- Django's admin ---------------------------------------------------------------------------


def admin_urls() -> list[str]:
    urls = [reverse("admin:index")]
    for model in admin.site._registry:
        meta = model._meta
        urls.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
    return urls


@pytest.mark.django_db
def test_the_admin_sends_anonymous_people_to_its_sign_in(client: Client) -> None:
    for url in admin_urls():
        response = client.get(url)
        assert response.status_code == 302, url
        # The index goes to the admin's sign-in; model pages to the portal's (Django's
        # LoginRequiredMiddleware), which sends a non-staff person on to the admin's.
        next_url = quote(url, safe="/")
        assert response["Location"] in (
            f"/admin/login/?next={next_url}",
            f"{SIGN_IN_URL}?next={next_url}",
        ), url
    assert client.get("/admin/")["Location"] == "/admin/login/?next=/admin/"


@pytest.mark.parametrize("who", ["teamless", "admin"])
def test_the_admin_refuses_signed_in_people_who_are_not_staff(
    world: World, client: Client, who: str
) -> None:
    sign_in(client, person(world, who))
    for url in admin_urls():
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/admin/login/"), url
    # The admin's sign-in page says why instead of showing the admin.
    page = client.get("/admin/login/?next=/admin/")
    assert page.status_code == 200
    assert "not authorized to access this page" in body_of(page)


def test_the_admin_is_open_to_superusers(world: World, client: Client) -> None:
    sign_in(client, world.superuser)
    for url in admin_urls():
        assert client.get(url).status_code == 200, url

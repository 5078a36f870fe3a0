"""Demo data for `make run`: two teams on the simulator, a user for each role, printed sign-in.

`seed_demo` makes the teams, their credentials and the users (the database only);
`seed_demo --simulator`, once the simulator answers, registers the teams' clients through its
control API (like any other client of it) and sends a few demo downlinks.

Idempotent (running it again changes nothing that exists), and only for a portal running
with DEBUG=true: it knows the demo passwords. Passwords and the simulator client secrets are
random per machine and kept in var/demo-sign-in.json (git-ignored).
"""

import json
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.trail import Origin
from command_templates.models import CommandTemplate, definition_for
from command_templates.services import template_save
from devices import services as device_services
from devices.example_codecs import WATER_METER_CODEC, WATER_METER_EXAMPLES
from devices.models import DeviceType, Kind
from downlinks.models import Downlink
from downlinks.services import downlink_send as send
from downlinks.services import new_submission_key
from teams import services
from teams.models import AuthKind, Membership, Role, Team, ThingsCredential
from things_api import NewLoraDownlink, NewLoraMessage, NewMqttDownlink, NewMqttTextMessage

SCOPES = ("downlink.read", "downlink.write", "downlink.delete")


@dataclass(frozen=True)
class DemoTeam:
    slug: str
    name: str
    tenant_id: str

    @property
    def client_id(self) -> str:
        return f"{self.slug}-portal"


@dataclass(frozen=True)
class DemoUser:
    username: str
    superuser: bool
    roles: dict[str, Role]


DEMO_TEAMS = (
    DemoTeam("acme", "Acme Metering", "acme"),
    DemoTeam("globex", "Globex Logistics", "globex"),
)
# Payload markers choose the simulator's outcome (see simulator/README.md).
DEMO_LORA = (
    ("deveui:0004a30b001c0530", "config v2", 0),
    ("deveui:0004a30b001c0531", "reboot sim:FEEDBACK_TIMEOUT", 0),
    ("deveui:0004a30b001c0532", "set interval sim:NOT_ACKNOWLEDGED_BY_DEVICE", 2),
    ("deveui:0004a30b001c0533", "ping sim:ACK_AFTER=1", 2),
    ("urn:dev:deveui:0004a30b001c0534", "firmware chunk sim:EVICTED", 0),
)
DEMO_MQTT = (
    ("imei:350266800610993", "reboot"),
    ("imei:350266800610994", "set-config sim:FAILED_TO_TRANSMIT_TO_DEVICE"),
    ("urn:dev:imei:350266800610995", "report-now"),
)
# Acme's device catalogue: labels and tags for the devices above (by index).
DEMO_LORA_LABELS = ("Hall 3", "Hall 4", "Pump house", "Gate", "Roof tank")
DEMO_LORA_TAGS = ("north pilot", "north", "south pilot", "south", "north")
DEMO_MQTT_LABELS = ("Truck 7", "Truck 12", "Van 3")
# Acme's templates: through the water meter's codec, a byte layout, and an MQTT JSON text.
DEMO_TEMPLATES = (
    (
        "Set reporting interval",
        Kind.LORA,
        "meter",
        "How often the meter reports, in minutes.",
        """\
parameters:
  - name: interval_minutes
    label: Reporting interval
    type: integer
    min: 1
    max: 1440
    unit: minutes
    default: 15
payload:
  codec: {command: set_interval}
send: {retry_limit: 1, feedback_timeout: PT2H}
""",
    ),
    (
        "Reboot",
        Kind.LORA,
        "meter",
        "Restart the meter, after a delay.",
        """\
parameters:
  - {name: delay_seconds, label: Delay, type: integer, min: 0, max: 255, unit: seconds, default: 10}
payload:
  codec: {command: reboot}
""",
    ),
    (
        "Valve",
        Kind.LORA,
        "meter",
        "Open or close the valve.",
        """\
parameters:
  - {name: open, label: Open the valve, type: boolean, default: true}
payload:
  codec: {command: set_valve}
""",
    ),
    (
        "Alarm thresholds",
        Kind.LORA,
        None,
        "For devices without a codec: command 0x10, then the flags and the thresholds.",
        """\
parameters:
  - {name: enabled, label: Alarm on, type: boolean, default: true}
  - {name: level, label: Alarm level, type: integer, min: 0, max: 7, default: 3}
  - {name: low, label: Low threshold, type: integer, min: -100, max: 100, unit: °C, default: -5}
  - {name: high, label: High threshold, type: integer, min: -100, max: 100, unit: °C, default: 40}
payload:
  layout:
    - hex: "10"
    - bits: [{parameter: enabled, width: 1}, {parameter: level, width: 3}]
    - {parameter: low, as: i8}
    - {parameter: high, as: i8}
send: {f_port: 10}
""",
    ),
    (
        "Tracker report interval",
        Kind.MQTT,
        "tracker",
        "The tracker's JSON config message.",
        """\
parameters:
  - {name: every, label: Report every, type: duration, min: 60, max: 86400, default: 15 min}
  - {name: note, label: Note for the log, type: text, max_length: 40, required: false}
payload:
  text: '{"report_every_s": {{every}}, "note": "{{note}}"}'
  json: true
""",
    ),
)
DEMO_USERS = (
    DemoUser("admin", True, {"acme": Role.ADMIN, "globex": Role.ADMIN}),
    DemoUser("oscar", False, {"acme": Role.OPERATOR}),
    DemoUser("vera", False, {"acme": Role.VIEWER}),
    DemoUser("olga", False, {"globex": Role.OPERATOR}),
)


def demo_secrets_file() -> Path:
    return Path(settings.VAR_DIR) / "demo-sign-in.json"


def demo_secrets() -> dict[str, dict[str, str]]:
    """Random passwords and client secrets, made once per machine and kept under var/."""
    path = demo_secrets_file()
    stored: dict[str, dict[str, str]] = json.loads(path.read_text()) if path.exists() else {}
    passwords = stored.setdefault("passwords", {})
    clients = stored.setdefault("client_secrets", {})
    for user in DEMO_USERS:
        passwords.setdefault(user.username, secrets.token_urlsafe(9))
    for team in DEMO_TEAMS:
        clients.setdefault(team.slug, secrets.token_urlsafe(24))
    path.touch(mode=0o600)
    path.write_text(json.dumps(stored, indent=2))
    return stored


def register_simulator_client(team: DemoTeam, client_secret: str) -> None:
    """Register (or update) the team's client with the simulator at THINGS_API_URL, through
    its control API: `POST /_sim/clients`, with the control token when one is set."""
    token = settings.SIMULATOR_CONTROL_TOKEN
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        response = httpx.post(
            f"{settings.THINGS_API_URL.rstrip('/')}/_sim/clients",
            json={
                "tenantId": team.tenant_id,
                "clientId": team.client_id,
                "clientSecret": client_secret,
                "scopes": list(SCOPES),
            },
            headers=headers,
            timeout=10,
        )
    except httpx.HTTPError as error:
        raise CommandError(
            f"Could not reach the simulator at {settings.THINGS_API_URL}: {type(error).__name__}"
        ) from None
    if response.status_code != 201:
        raise CommandError(
            f"The simulator refused to register {team.client_id} (HTTP {response.status_code})."
        )


class Command(BaseCommand):
    help = "Create the demo teams, users and simulator clients (DEBUG only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--print-sign-in", action="store_true", help="only print sign-in")
        parser.add_argument(
            "--simulator",
            action="store_true",
            help=(
                "only register the teams' clients with the running simulator and send demo "
                "downlinks through it (once per team)"
            ),
        )
        parser.add_argument("--portal-url", default="http://127.0.0.1:8000")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError("Demo data is only for a portal running with DEBUG=true.")
        stored = demo_secrets()
        if options["print_sign_in"]:
            self.print_sign_in(options["portal_url"], stored["passwords"])
            return
        if options["simulator"]:
            for demo_team in DEMO_TEAMS:
                register_simulator_client(demo_team, stored["client_secrets"][demo_team.slug])
                self.send_demo_downlinks(Team.objects.get(slug=demo_team.slug))
            return
        origin = Origin.system("manage.py seed_demo")
        for demo_team in DEMO_TEAMS:
            self.seed_team(demo_team, stored["client_secrets"][demo_team.slug], origin)
        for demo_user in DEMO_USERS:
            self.seed_user(demo_user, stored["passwords"][demo_user.username], origin)

    def seed_team(self, demo: DemoTeam, client_secret: str, origin: Origin) -> None:
        team = Team.objects.filter(slug=demo.slug).first() or services.team_create(
            slug=demo.slug, name=demo.name, origin=origin
        )
        if not ThingsCredential.objects.filter(team=team).exists():
            services.credential_update(
                team=team,
                data=services.CredentialInput(
                    api_url=settings.THINGS_API_URL,
                    auth_kind=AuthKind.CLIENT_CREDENTIALS,
                    tenant_id=demo.tenant_id,
                    client_id=demo.client_id,
                    token_url=settings.THINGS_TOKEN_URL,
                    audience=settings.THINGS_AUDIENCE,
                    secret=client_secret,
                ),
                origin=origin,
            )

        if demo.slug == "acme" and not DeviceType.objects.filter(team=team).exists():
            self.seed_devices(team, origin)

    def seed_devices(self, team: Team, origin: Origin) -> None:
        """Two device types (the water meter with the project's own codec, which its examples
        check) and Acme's demo devices with labels and tags."""
        meter = DeviceType(team=team, name="Water meter", kind=Kind.LORA, default_f_port=2)
        device_services.device_type_save(
            device_type=meter,
            codec=device_services.CodecUpload(WATER_METER_CODEC, WATER_METER_EXAMPLES),
            origin=origin,
            uploaded_by=None,
        )
        tracker = DeviceType(team=team, name="Tracker", kind=Kind.MQTT, default_topic="config")
        device_services.device_type_save(
            device_type=tracker, codec=None, origin=origin, uploaded_by=None
        )
        rows = [
            device_services.DeviceValues(
                device_id=device_id,
                kind=Kind.LORA,
                label=label,
                device_type=meter,
                tags=tuple(tags.split()),
            )
            for (device_id, _, _), label, tags in zip(
                DEMO_LORA, DEMO_LORA_LABELS, DEMO_LORA_TAGS, strict=True
            )
        ]
        rows += [
            device_services.DeviceValues(
                device_id=device_id,
                kind=Kind.MQTT,
                label=label,
                device_type=tracker,
                tags=("fleet",),
            )
            for (device_id, _), label in zip(DEMO_MQTT, DEMO_MQTT_LABELS, strict=True)
        ]
        device_services.devices_import(team=team, rows=rows, origin=origin)
        for name, kind, device_type, description, source in DEMO_TEMPLATES:
            chosen = {"meter": meter, "tracker": tracker}.get(device_type or "")
            template = CommandTemplate(team=team, name=name, kind=kind, device_type=chosen)
            definition = definition_for(source, kind=kind, device_type=chosen)
            template_save(
                template=template,
                description=description,
                source=source,
                definition=definition,
                origin=origin,
                user=None,
            )

    def send_demo_downlinks(self, team: Team) -> None:
        """A few downlinks of every outcome, sent through the portal, so the lists and the
        poller have something to show. Only for a team that has sent nothing yet."""
        if Downlink.objects.filter(team=team).exists():
            return
        origin = Origin.system("demo data")

        def send_one(kind: Kind, new: NewLoraDownlink | NewMqttDownlink) -> None:
            send(
                team=team,
                kind=kind,
                new=new,
                origin=origin,
                user=None,
                submission_key=new_submission_key(),
            )

        for device_id, text, retry_limit in DEMO_LORA:
            new_lora = NewLoraDownlink(
                device_id=device_id,
                message=NewLoraMessage.from_bytes(text.encode(), f_port=3),
                feedback_timeout="PT1H",
                retry_limit=retry_limit,
            )
            send_one(Kind.LORA, new_lora)
        for device_id, text in DEMO_MQTT:
            new_mqtt = NewMqttDownlink(
                device_id=device_id,
                message=NewMqttTextMessage(type="text", payload=text, topic="commands"),
                feedback_timeout="PT30M",
            )
            send_one(Kind.MQTT, new_mqtt)

    def seed_user(self, demo: DemoUser, password: str, origin: Origin) -> None:
        user_model = get_user_model()
        user, created = user_model.objects.get_or_create(
            username=demo.username,
            defaults={"is_staff": demo.superuser, "is_superuser": demo.superuser},
        )
        # The printed password must work: a demo user's password is reset to it on every run.
        if created or not user.check_password(password):
            user.set_password(password)
            user.save()
        for slug, role in demo.roles.items():
            team = Team.objects.get(slug=slug)
            if not Membership.objects.filter(team=team, user=user).exists():
                services.member_add(team=team, username=demo.username, role=role, origin=origin)

    def print_sign_in(self, portal_url: str, passwords: dict[str, str]) -> None:
        self.stdout.write("")
        self.stdout.write(f"Things Portal is running on {portal_url}")
        self.stdout.write(f"  Things API simulator: {settings.THINGS_API_URL}")
        self.stdout.write("  Sign in as (username / password / what they may do):")
        for user in DEMO_USERS:
            roles = ", ".join(
                f"{role.label.lower()} in {slug}" for slug, role in user.roles.items()
            )
            extra = "superuser; " if user.superuser else ""
            self.stdout.write(
                f"    {user.username:<7} {passwords[user.username]:<14} {extra}{roles}"
            )
        self.stdout.write(f"  (kept in {demo_secrets_file()})")
        self.stdout.write("")

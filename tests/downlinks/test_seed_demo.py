"""`seed_demo`: the demo teams and users, then, through the running simulator's control API,
the teams' clients and a few demo downlinks."""

import json
from io import StringIO
from pathlib import Path

import pytest
from django.conf import LazySettings
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from audit.models import AuditEntry
from command_templates.models import CommandTemplate
from devices.models import CodecVersion, Device, DeviceType
from downlinks.models import Downlink
from simulator.server import RunningSimulator
from teams.models import Membership, Role, Team, ThingsCredential


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=out)
    return out.getvalue()


@pytest.fixture
def demo_settings(
    settings: LazySettings, tmp_path: Path, simulator: RunningSimulator
) -> RunningSimulator:
    settings.DEBUG = True
    settings.VAR_DIR = tmp_path
    # Demo passwords are hashed on every run; the production hasher takes most of a second.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.THINGS_API_URL = simulator.url
    settings.THINGS_TOKEN_URL = simulator.url + "/v2/{tenant_id}/oidc/idp/c1/token"
    settings.THINGS_ALLOWED_HOSTS = ["127.0.0.1"]
    return simulator


def counts() -> dict[str, int]:
    return {
        "users": User.objects.count(),
        "teams": Team.objects.count(),
        "memberships": Membership.objects.count(),
        "credentials": ThingsCredential.objects.count(),
        "device types": DeviceType.objects.count(),
        "codec versions": CodecVersion.objects.count(),
        "devices": Device.objects.count(),
        "templates": CommandTemplate.objects.count(),
        "audit entries": AuditEntry.objects.count(),
    }


@pytest.mark.django_db
def test_seed_demo_refuses_without_debug(settings: LazySettings, tmp_path: Path) -> None:
    settings.DEBUG = False
    settings.VAR_DIR = tmp_path
    with pytest.raises(CommandError, match="only for a portal running with DEBUG=true"):
        run("seed_demo")
    assert counts()["teams"] == 0
    assert not (tmp_path / "demo-sign-in.json").exists()


@pytest.mark.django_db
def test_seed_demo_seeds_once_and_is_idempotent(demo_settings: RunningSimulator) -> None:
    run("seed_demo")
    first = counts()
    assert first["teams"] == 2
    assert first["users"] == 4
    assert first["credentials"] == 2
    # Acme's catalogue: the water meter's codec passed its own examples when it was seeded.
    meter = DeviceType.objects.get(team__slug="acme", name="Water meter")
    codec = meter.current_codec()
    assert codec is not None
    assert codec.examples_run > 0
    assert Device.objects.filter(team__slug="acme", tags__name="north").count() == 3
    kinds = set(CommandTemplate.objects.filter(team__slug="acme").values_list("kind", flat=True))
    assert kinds == {"lora", "mqtt"}
    run("seed_demo")
    assert counts() == first

    from django.conf import settings

    stored = json.loads((Path(settings.VAR_DIR) / "demo-sign-in.json").read_text())
    for username, password in stored["passwords"].items():
        assert User.objects.get(username=username).check_password(password)
    assert User.objects.get(username="admin").is_superuser
    assert Membership.objects.get(user__username="vera", team__slug="acme").role == Role.VIEWER


@pytest.mark.django_db(transaction=True)
def test_the_simulator_step_registers_the_clients_over_http_and_sends_once(
    demo_settings: RunningSimulator,
) -> None:
    run("seed_demo")
    for credential in ThingsCredential.objects.all():
        assert (
            demo_settings.store.authenticate_client(
                credential.tenant_id, credential.client_id, credential.secret()
            )
            is None
        ), "registered before the simulator step"

    run("seed_demo", "--simulator")
    for credential in ThingsCredential.objects.all():
        client = demo_settings.store.authenticate_client(
            credential.tenant_id, credential.client_id, credential.secret()
        )
        assert client is not None, credential.team.slug
    sent = Downlink.objects.count()
    assert sent > 0
    assert Downlink.objects.filter(remote_id__isnull=False).count() == sent

    run("seed_demo", "--simulator")
    assert Downlink.objects.count() == sent


@pytest.mark.django_db
def test_the_simulator_step_says_so_when_the_simulator_is_down(
    demo_settings: RunningSimulator,
) -> None:
    run("seed_demo")
    demo_settings.stop()
    with pytest.raises(CommandError, match="Could not reach the simulator"):
        run("seed_demo", "--simulator")


@pytest.mark.django_db
def test_seed_demo_prints_the_sign_in(demo_settings: RunningSimulator) -> None:
    from django.conf import settings

    run("seed_demo")
    output = run("seed_demo", "--print-sign-in", "--portal-url=http://127.0.0.1:8123")
    assert "Things Portal is running on http://127.0.0.1:8123" in output
    stored = json.loads((Path(settings.VAR_DIR) / "demo-sign-in.json").read_text())
    assert stored["passwords"]["oscar"] in output

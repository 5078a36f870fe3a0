"""docker-compose.yml, the Dockerfile and .env.example, checked by reading them: no Docker
engine runs here, so a test that parses them is what keeps them correct."""

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def test_compose_describes_production_services() -> None:
    services = compose()["services"]
    assert {"postgres", "redis", "web", "worker", "beat", "migrate"} <= set(services)
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["redis"]["image"].startswith("redis:")
    assert services["web"]["command"][0] == "gunicorn"
    assert services["worker"]["command"][:4] == ["celery", "-A", "things_portal", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "things_portal", "beat"]


def test_simulator_only_in_its_profile() -> None:
    services = compose()["services"]
    assert services["simulator"]["profiles"] == ["simulator"]
    assert "run_simulator" in services["simulator"]["command"]
    for name, service in services.items():
        if name != "simulator":
            assert "profiles" not in service, name


def test_portal_services_use_postgres_redis_and_the_real_api() -> None:
    services = compose()["services"]
    for name in ("web", "worker", "beat", "migrate"):
        environment = services[name]["environment"]
        assert environment["DATABASE_URL"].startswith("postgres://"), name
        assert environment["REDIS_URL"].startswith("redis://"), name
        assert "api.kpnthings.com" in environment["THINGS_API_URL"], name
        assert environment["DEBUG"] == "false", name
        assert environment["SECRET_KEY"].startswith("${SECRET_KEY:?"), name
        assert services[name]["build"] == ".", name


def test_dockerfile_copies_every_top_level_package() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    for folder in ("things_portal", "downlinks", "simulator", "templates", "static", "specs"):
        assert re.search(rf"^COPY {folder} ", dockerfile, re.MULTILINE), folder
    assert "collectstatic" in dockerfile


def settings_variables() -> set[str]:
    source = (ROOT / "things_portal" / "settings.py").read_text()
    return set(re.findall(r'env_(?:str|bool|int|float|list)\(\s*"([A-Z_]+)"', source))


def test_every_setting_is_documented_in_env_example() -> None:
    documented = set(re.findall(r"^([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.MULTILINE))
    internal = {"THINGS_PORTAL_VAR_DIR", "STATIC_ROOT"}
    missing = settings_variables() - documented - internal
    assert not missing, f"settings read from the environment but not in .env.example: {missing}"
    assert len(settings_variables()) > 20

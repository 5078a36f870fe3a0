"""docker-compose.yml, the Dockerfile and .env.example, checked by reading them: no Docker
engine runs here, so a test that parses them is what keeps them correct."""

import re
from pathlib import Path

from tests.things_portal.image import ROOT, build_context, compose, dockerfile_env


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


def test_the_build_context_holds_the_package_and_nothing_else(tmp_path: Path) -> None:
    """What `docker build .` sends: the packages pyproject.toml finds, none of the tests."""
    context = build_context(tmp_path)
    assert (context / "pyproject.toml").exists()
    for app in ("things_portal", "downlinks", "audit", "accounts", "teams", "simulator"):
        assert (context / app / "__init__.py").exists(), app
    assert (context / "things_portal" / "templates" / "base.html").exists()
    assert (context / "things_portal" / "static" / "js" / "submit-once.js").exists()
    for left_out in ("tests", "benchmarks", ".venv", "var", ".git"):
        assert not (context / left_out).exists(), left_out


def test_the_web_server_waits_longer_than_a_page_waits_for_the_api() -> None:
    """The image and compose both set the worker timeout and the page deadline explicitly."""
    image = dockerfile_env()
    web = compose()["x-portal"]["environment"]
    assert float(image["THINGS_PAGE_DEADLINE_SECONDS"]) + 5 <= float(image["GUNICORN_TIMEOUT"])
    for name in ("THINGS_PAGE_DEADLINE_SECONDS", "GUNICORN_TIMEOUT"):
        assert web[name] == f"${{{name}:-{image[name]}}}", name


def settings_variables() -> set[str]:
    source = (ROOT / "things_portal" / "settings.py").read_text()
    return set(re.findall(r'env_(?:str|bool|int|float|list)\(\s*"([A-Z_]+)"', source))


def test_every_setting_is_documented_in_env_example() -> None:
    documented = set(re.findall(r"^([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.MULTILINE))
    internal = {"THINGS_PORTAL_VAR_DIR", "STATIC_ROOT"}
    missing = settings_variables() - documented - internal
    assert not missing, f"settings read from the environment but not in .env.example: {missing}"
    assert len(settings_variables()) > 20


def test_the_simulator_is_not_published_and_gets_a_control_token() -> None:
    simulator = compose()["services"]["simulator"]
    assert "ports" not in simulator
    assert simulator["environment"]["SIMULATOR_CONTROL_TOKEN"] == "${SIMULATOR_CONTROL_TOKEN:-}"

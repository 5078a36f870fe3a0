"""The suite's everyday team, as pytest fixtures: Lighthouse with Alice (admin) and Victor
(viewer), and Harbour beside it. Registered for the whole suite in tests/conftest.py; a test
module that needs another team defines its own `team` and wins.

They are made without the services, so a test that counts audit entries starts from none."""

import pytest
from django.contrib.auth.models import User
from django.test import Client

from teams.models import Role, Team
from tests.teams.world import sign_in, unaudited_member


@pytest.fixture
def team(db: None) -> Team:
    return Team.objects.create(slug="lighthouse", name="Lighthouse")


@pytest.fixture
def other_team(db: None) -> Team:
    return Team.objects.create(slug="harbour", name="Harbour")


@pytest.fixture
def admin(team: Team) -> User:
    return unaudited_member(team, "alice", Role.ADMIN)


@pytest.fixture
def viewer(team: Team) -> User:
    return unaudited_member(team, "victor", Role.VIEWER)


@pytest.fixture
def admin_client(admin: User) -> Client:
    return sign_in(Client(), admin)

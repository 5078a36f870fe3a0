"""Static URLs as production writes them: the manifest's hashed names, each worked out once."""

import json
from pathlib import Path

import pytest
from django.test import override_settings

from core.static_storage import PortalStaticFilesStorage


def storage_with_manifest(root: Path, paths: dict[str, str]) -> PortalStaticFilesStorage:
    manifest = {"paths": paths, "version": "1.1", "hash": "0"}
    (root / "staticfiles.json").write_text(json.dumps(manifest), encoding="utf-8")
    return PortalStaticFilesStorage(location=str(root), base_url="/static/")


@override_settings(DEBUG=False)
def test_a_url_is_the_manifests_hashed_name_every_time(tmp_path: Path) -> None:
    storage = storage_with_manifest(tmp_path, {"css/app.css": "css/app.5e1f0c.css"})
    assert storage.url("css/app.css") == "/static/css/app.5e1f0c.css"
    assert storage.url("css/app.css") == "/static/css/app.5e1f0c.css"


@override_settings(DEBUG=False)
def test_a_name_the_manifest_lacks_is_refused_every_time_not_remembered(tmp_path: Path) -> None:
    storage = storage_with_manifest(tmp_path, {})
    for _ in range(2):
        with pytest.raises(ValueError, match="Missing staticfiles manifest entry"):
            storage.url("js/not-built.js")

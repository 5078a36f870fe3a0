"""The production image, as far as it can be built here without a Docker engine: the build
context the Dockerfile sees (the tree minus .dockerignore), its ENV and CMD, and the
environment docker-compose.yml gives the portal's containers."""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]


def dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text()


def dockerignore_patterns() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def ignored(relative: Path, patterns: list[str]) -> bool:
    """Whether .dockerignore keeps `relative` (or a folder it is in) out of the context."""
    parts = relative.parts
    for pattern in patterns:
        if pattern.startswith("**/"):
            if any(fnmatch.fnmatch(part, pattern[3:]) for part in parts):
                return True
            continue
        for depth in range(1, len(parts) + 1):
            if fnmatch.fnmatch("/".join(parts[:depth]), pattern):
                return True
    return False


def build_context(destination: Path) -> Path:
    """A copy of what `docker build .` would send: the tree minus what .dockerignore says."""
    patterns = dockerignore_patterns()
    for path in sorted(ROOT.rglob("*")):
        relative = path.relative_to(ROOT)
        if path.is_dir() or ignored(relative, patterns):
            continue
        target = destination / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    return destination


def dockerfile_env() -> dict[str, str]:
    """The ENV instructions' variables (`ENV A=1 \\` continued lines)."""
    joined = re.sub(r"\\\n", " ", dockerfile())
    found: dict[str, str] = {}
    for line in joined.splitlines():
        if line.startswith("ENV "):
            for name, value in re.findall(r"([A-Z_][A-Z0-9_]*)=(\S+)", line):
                found[name] = value
    return found


def dockerfile_cmd() -> list[str]:
    (command,) = re.findall(r"^CMD (\[.*\])$", dockerfile(), re.MULTILINE)
    parsed: list[str] = json.loads(command)
    return parsed


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def compose_environment(required: dict[str, str]) -> dict[str, str]:
    """The portal containers' environment from docker-compose.yml, with `${NAME:?…}` taken
    from `required` and `${NAME:-default}` resolved to its default."""
    environment: dict[str, Any] = compose()["x-portal"]["environment"]
    resolved: dict[str, str] = {}

    def substitute(match: re.Match[str]) -> str:
        name, operator, rest = match.group(1), match.group(2), match.group(3)
        if operator == ":?":
            return required[name]
        return rest

    for name, value in environment.items():
        resolved[name] = re.sub(r"\$\{([A-Z_]+)(:\?|:-)([^}]*)\}", substitute, str(value))
    return resolved


def clean_venv(directory: Path) -> Path:
    """A new virtual environment with nothing in it, from the interpreter running the tests
    (not this venv: its site-packages hold the editable install of the source tree)."""
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", str(directory)], check=True)
    return directory / "bin"


def pip_install(bin_dir: Path, target: Path) -> None:
    """`pip install <target>`, as the Dockerfile does."""
    subprocess.run(
        [str(bin_dir / "python"), "-m", "pip", "install", "--quiet", str(target)],
        check=True,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
        stdout=subprocess.DEVNULL,
    )

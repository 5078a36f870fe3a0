"""`make` finds a Python >= 3.12 on the PATH or through pyenv, and says so clearly when none."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIND_PYTHON = ROOT / "scripts" / "find-python"


def fake_python(folder: Path, name: str, version: tuple[int, int]) -> Path:
    path = folder / name
    path.write_text(
        "#!/bin/sh\n"
        f'exec {sys.executable} -c "import sys; sys.exit(0 if {version!r} >= (3, 12) else 1)"\n'
    )
    path.chmod(0o755)
    return path


def run(path_dirs: list[Path]) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.pathsep.join([*map(str, path_dirs), "/usr/bin", "/bin"])}
    return subprocess.run(
        ["/bin/sh", str(FIND_PYTHON)], env=env, capture_output=True, text=True, check=False
    )


def test_prefers_a_new_enough_python_on_the_path(tmp_path: Path) -> None:
    fake_python(tmp_path, "python3", (3, 11))
    good = fake_python(tmp_path, "python3.13", (3, 13))
    result = run([tmp_path])
    assert result.returncode == 0
    assert result.stdout.strip() == str(good)


def test_says_clearly_when_there_is_none(tmp_path: Path) -> None:
    fake_python(tmp_path, "python3", (3, 11))
    result = run([tmp_path])
    assert result.returncode == 1
    assert "needs Python 3.12 or newer" in result.stderr

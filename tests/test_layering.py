"""The project's packages depend on each other one way, read from the import statements.

`things_portal` is the roof (settings, URLs, Celery, WSGI): nothing below imports it. The
apps (`teams`, `accounts`, `devices`, `command_templates`, `downlinks`, `campaigns`, each on
those before it) sit under it; `audit`, the API package
`things_api` and the codec sandbox `payload_codecs` (which takes the fPort rules from
`things_api`) are leaves every app may use, `core` is the floor of shared pieces that know no
app, and the simulator stands apart. Every import counts, including those inside functions
and under TYPE_CHECKING: a cycle there is still a cycle in the design.
"""

import ast
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# The tools around the product: they may import anything (each other too: the tests run the
# benchmarks, the benchmarks build their teams with the tests' helpers); nothing in the product
# imports them.
TOOLING = {"tests", "benchmarks", "scripts"}
ROOF = "things_portal"
# What each leaf may import from the project (anything else is a finding).
LEAVES: dict[str, set[str]] = {
    "core": set(),
    "things_api": set(),
    "simulator": set(),
    "payload_codecs": {"things_api"},
    "audit": {"core"},
}

# The apps, each of which may use only those before it (README, "What is where").
APPS = ("teams", "accounts", "devices", "command_templates", "downlinks", "campaigns")

type Graph = dict[str, dict[str, list[str]]]


def top_level_packages(root: Path) -> set[str]:
    return {
        path.name
        for path in root.iterdir()
        if path.is_dir() and (path / "__init__.py").exists() and not path.name.startswith(".")
    }


def imported_modules(tree: ast.AST) -> list[str]:
    modules: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.append(node.module)
    return modules


def import_graph(root: Path) -> Graph:
    """package -> imported package -> the files that import it."""
    packages = top_level_packages(root)
    graph: Graph = defaultdict(lambda: defaultdict(list))
    for package in packages:
        for path in (root / package).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for module in imported_modules(tree):
                target = module.partition(".")[0]
                if target in packages and target != package:
                    graph[package][target].append(str(path.relative_to(root)))
    return graph


def cycles(graph: Graph) -> list[list[str]]:
    """Every strongly connected group of more than one package (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, {}):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def findings(root: Path) -> list[str]:
    graph = import_graph(root)
    packages = top_level_packages(root)
    problems = [f"import cycle between {' and '.join(group)}" for group in cycles(graph)]
    for package in sorted(packages - TOOLING):
        for target, files in sorted(graph.get(package, {}).items()):
            if target in TOOLING:
                problems.append(f"{package} imports {target} ({files[0]})")
            elif package in LEAVES and target not in LEAVES[package]:
                problems.append(f"the leaf {package} imports {target} ({files[0]})")
            elif target == ROOF and package != ROOF:
                problems.append(f"{package} imports the roof {ROOF} ({files[0]})")
    return problems


def test_the_packages_depend_on_each_other_one_way() -> None:
    assert findings(ROOT) == []


def test_the_leaves_named_here_exist() -> None:
    # A renamed package would otherwise drop out of the rules silently.
    assert set(LEAVES) | {ROOF} | set(APPS) <= top_level_packages(ROOT)


def test_each_app_uses_only_the_apps_before_it() -> None:
    """The order the README gives: a new app goes where what it uses is before it."""
    graph = import_graph(ROOT)
    wrong = [
        f"{app} imports {other} ({', '.join(sorted(set(graph[app][other])))})"
        for index, app in enumerate(APPS)
        for other in graph[app]
        if other in APPS[index + 1 :]
    ]
    assert wrong == []


def write_package(root: Path, name: str, source: str) -> None:
    (root / name).mkdir()
    (root / name / "__init__.py").write_text(source)


@pytest.mark.parametrize(
    ("sources", "expected"),
    [
        (
            {"teams": "import downlinks.models\n", "downlinks": "from teams import models\n"},
            "import cycle between downlinks and teams",
        ),
        (
            {"audit": "def f():\n    from teams.models import Team\n", "teams": ""},
            "the leaf audit imports teams (audit/__init__.py)",
        ),
        (
            {"things_api": "from core.redaction import redact\n", "core": ""},
            "the leaf things_api imports core (things_api/__init__.py)",
        ),
        (
            {"teams": "from things_portal import settings\n", "things_portal": ""},
            "teams imports the roof things_portal (teams/__init__.py)",
        ),
        (
            # The tools too: tests may import the benchmarks they test, not the other way.
            {"tests": "import benchmarks.poller\n", "benchmarks": "from tests import world\n"},
            "import cycle between benchmarks and tests",
        ),
        (
            {"downlinks": "import tests.services\n", "tests": ""},
            "downlinks imports tests (downlinks/__init__.py)",
        ),
    ],
)
def test_the_checker_finds_each_kind_of_wrong_import(
    tmp_path: Path, sources: dict[str, str], expected: str
) -> None:
    for name, source in sources.items():
        write_package(tmp_path, name, source)
    assert expected in findings(tmp_path)


def test_the_api_package_runs_without_django() -> None:
    """The API client is usable on its own: importing all of it loads no Django at all."""
    modules = sorted(
        f"things_api.{path.stem}"
        for path in (ROOT / "things_api").glob("*.py")
        if path.stem != "__init__"
    )
    program = (
        "import sys\n"
        + "".join(f"import {module}\n" for module in modules)
        + "print(sorted({m.partition('.')[0] for m in sys.modules if m.startswith('django')}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", program], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert modules
    assert result.stdout.strip() == "[]"
